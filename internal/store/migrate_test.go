package store_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	atlas "ariga.io/atlas/sql/schema"
	entschema "entgo.io/ent/dialect/sql/schema"
	"github.com/stretchr/testify/require"

	"billing/internal/store"
	"billing/internal/testdb"
)

func versions(t *testing.T, db *store.DB) []string {
	t.Helper()
	vs, err := store.MigrationVersions(db.Dialect)
	require.NoError(t, err)
	require.NotEmpty(t, vs, "no embedded migrations for %s", db.Dialect)
	return vs
}

// TestMigrationsMatchEntSchema fails when the ent schema changed without
// `make generate`: after applying the committed files, ent finds nothing
// to create, alter or drop.
func TestMigrationsMatchEntSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)

	var (
		changes []atlas.Change
		ddl     bytes.Buffer
	)
	// WriteTo only prints what auto-migration would run; the diff hook
	// sees every planned change, drops included.
	err := db.Client.Schema.WriteTo(ctx, &ddl,
		entschema.WithDropColumn(true),
		entschema.WithDropIndex(true),
		entschema.WithDiffHook(func(next entschema.Differ) entschema.Differ {
			return entschema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
				cs, err := next.Diff(current, desired)
				changes = append(changes, cs...)
				return cs, err
			})
		}),
	)
	require.NoError(t, err)
	require.Empty(t, changes,
		"the %s migrations do not build the ent schema; run `make generate`. Missing:\n%s", testdb.Engine(), ddl.String())
	require.Empty(t, ddl.String())
}

func TestMigrationStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t, testdb.NewDSN(t))
	all := versions(t, db)

	applied, pending, err := db.MigrationStatus(ctx)
	require.NoError(t, err)
	require.Empty(t, applied, "fresh database")
	require.Equal(t, all, pending)

	require.NoError(t, db.Migrate(ctx))
	applied, pending, err = db.MigrationStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, all, applied)
	require.Empty(t, pending, "/readyz reports ready only when nothing is pending")
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t, testdb.NewDSN(t))
	all := versions(t, db)

	first, err := db.MigrateApplied(ctx)
	require.NoError(t, err)
	require.Equal(t, all, first)

	second, err := db.MigrateApplied(ctx)
	require.NoError(t, err)
	require.Empty(t, second)

	var n int
	require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, len(all), n)
}

// TestMigrateConcurrently starts two instances on one empty database at
// once: both succeed and every file is applied by exactly one of them.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Several rounds, so the interleavings where both instances read "none
	// applied" before either takes the write lock do happen. A PostgreSQL
	// round is slower and its lock covers the whole run.
	rounds := 8
	if testdb.Postgres() {
		rounds = 3
	}
	for range rounds {
		dsn := testdb.NewDSN(t)
		dbs := []*store.DB{testdb.Open(t, dsn), testdb.Open(t, dsn)}
		all := versions(t, dbs[0])

		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			applied = make([][]string, len(dbs))
			errs    = make([]error, len(dbs))
		)
		for i, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				applied[i], errs[i] = db.MigrateApplied(ctx)
			}()
		}
		close(start)
		wg.Wait()

		count := map[string]int{}
		for i := range dbs {
			require.NoError(t, errs[i], "instance %d", i)
			for _, v := range applied[i] {
				count[v]++
			}
		}
		for _, v := range all {
			require.Equal(t, 1, count[v], "version %s applied %d times", v, count[v])
		}
		require.Len(t, count, len(all))

		for _, db := range dbs {
			_, pending, err := db.MigrationStatus(ctx)
			require.NoError(t, err)
			require.Empty(t, pending)
		}
	}
}

// TestMigrateRechecksVersionInsideLock forces the SQLite race the
// concurrent test only hits sometimes: another instance applies every file
// between this one's read of schema_migrations and its first transaction.
// (On PostgreSQL the advisory lock makes that interleaving impossible: the
// other instance would wait for this one.)
func TestMigrateRechecksVersionInsideLock(t *testing.T) {
	t.Parallel()
	if testdb.Postgres() {
		t.Skip("PostgreSQL serializes whole runs with an advisory lock")
	}
	ctx := context.Background()
	dsn := testdb.NewDSN(t)
	first, second := testdb.Open(t, dsn), testdb.Open(t, dsn)
	all := versions(t, first)

	var other []string
	first.AfterMigrationsRead(func() {
		var err error
		other, err = second.MigrateApplied(ctx)
		require.NoError(t, err)
	})
	applied, err := first.MigrateApplied(ctx)
	require.NoError(t, err)
	require.Empty(t, applied, "every file was applied by the other instance")
	require.Equal(t, all, other)
}

// TestMigrateLeavesForeignKeysOn checks that the connection the SQLite
// runner turned foreign keys off on goes back to the pool with them on.
func TestMigrateLeavesForeignKeysOn(t *testing.T) {
	t.Parallel()
	if testdb.Postgres() {
		t.Skip("SQLite pragma")
	}
	ctx := context.Background()
	db := testdb.Open(t, testdb.NewDSN(t))
	// One connection: the one Migrate used is the one checked below.
	db.SQL.SetMaxOpenConns(1)
	require.NoError(t, db.Migrate(ctx))
	var on int
	require.NoError(t, db.SQL.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on))
	require.Equal(t, 1, on)
}
