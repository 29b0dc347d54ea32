package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	atlaspg "ariga.io/atlas/sql/postgres"
	atlassqlite "ariga.io/atlas/sql/sqlite"
	"entgo.io/ent/dialect"
)

// The versioned migrations, one atlas directory per dialect, written by
// ./migrategen from the ent schema (make generate).
//
//go:embed migrations/postgres/*.sql migrations/postgres/atlas.sum
//go:embed migrations/sqlite/*.sql migrations/sqlite/atlas.sum
var migrationFS embed.FS

// migrationsTable records the applied versions. It is not part of the ent
// schema: the runner owns it.
const migrationsTable = "schema_migrations"

// migrationLockClass is the first key of the PostgreSQL advisory lock that
// serializes migration runs; the second key is the hash of the current
// schema, so instances sharing a schema exclude each other while separate
// schemas (one per test) migrate in parallel. The value is arbitrary but
// fixed: every version of the binary must use the same one.
const migrationLockClass = 0x62696c6c // "bill"

// migration is one embedded migration file, parsed.
type migration struct {
	version string
	name    string
	stmts   []string
}

// migrationDirs names each dialect's directory under migrations/.
var migrationDirs = map[string]string{dialect.SQLite: "sqlite", dialect.Postgres: "postgres"}

// migrations returns the embedded migrations of a dialect in version order,
// after checking them against their atlas.sum. They are parsed once.
func migrations(name string) ([]migration, error) {
	load, ok := loaders[name]
	if !ok {
		return nil, fmt.Errorf("migrations: unsupported dialect %q", name)
	}
	return load()
}

var loaders = map[string]func() ([]migration, error){
	dialect.SQLite: sync.OnceValues(func() ([]migration, error) {
		return loadMigrations(dialect.SQLite, &atlassqlite.Driver{})
	}),
	dialect.Postgres: sync.OnceValues(func() ([]migration, error) {
		return loadMigrations(dialect.Postgres, &atlaspg.Driver{})
	}),
}

// loadMigrations reads a dialect's directory. Statements are split by the
// dialect's own atlas scanner, which knows quoting, dollar-quoting and
// BEGIN … END bodies. scanner is a zero atlas driver: ScanStmts uses no
// connection.
func loadMigrations(name string, scanner atlasmigrate.Driver) ([]migration, error) {
	sub, err := fs.Sub(migrationFS, path.Join("migrations", migrationDirs[name]))
	if err != nil {
		return nil, err
	}
	dir := embedDir{sub}
	// A file edited without regenerating atlas.sum is refused, as atlas does.
	if err := atlasmigrate.Validate(dir); err != nil {
		return nil, fmt.Errorf("migrations %s: %w", migrationDirs[name], err)
	}
	files, err := dir.Files()
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(files))
	for _, f := range files {
		// Every file runs in one transaction; a file asking for another
		// mode (CREATE INDEX CONCURRENTLY…) needs a runner change first.
		if lf, ok := f.(*atlasmigrate.LocalFile); ok && len(lf.Directive("txmode")) > 0 {
			return nil, fmt.Errorf("migration %s: atlas:txmode directives are not supported", f.Name())
		}
		decls, err := atlasmigrate.FileStmtDecls(scanner, f)
		if err != nil {
			return nil, fmt.Errorf("migration %s: parse: %w", f.Name(), err)
		}
		m := migration{version: f.Version(), name: f.Name()}
		for _, d := range decls {
			m.stmts = append(m.stmts, d.Text)
		}
		if i := len(ms); i > 0 && ms[i-1].version == m.version {
			return nil, fmt.Errorf("migrations %s and %s share version %s", ms[i-1].name, m.name, m.version)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// embedDir is a read-only atlas migration directory over an fs.FS.
type embedDir struct{ fs.FS }

func (d embedDir) WriteFile(string, []byte) error {
	return errors.New("embedded migration directory is read-only")
}

func (d embedDir) Files() ([]atlasmigrate.File, error) {
	names, err := fs.Glob(d.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	files := make([]atlasmigrate.File, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(d.FS, n)
		if err != nil {
			return nil, err
		}
		files = append(files, atlasmigrate.NewLocalFile(n, b))
	}
	return files, nil
}

func (d embedDir) Checksum() (atlasmigrate.HashFile, error) {
	files, err := d.Files()
	if err != nil {
		return nil, err
	}
	return atlasmigrate.NewHashFile(files)
}

// Migrate applies the embedded migrations of the database's dialect that
// are not applied yet, in version order, each file in its own transaction
// together with its row in schema_migrations. Several instances may call it
// at once: on PostgreSQL the whole run holds an advisory lock, on SQLite each
// file's transaction takes the write lock (BEGIN IMMEDIATE) and re-checks
// its version inside it.
func (db *DB) Migrate(ctx context.Context) error {
	_, err := db.migrate(ctx)
	return err
}

// migrate is Migrate, returning the versions this call applied.
func (db *DB) migrate(ctx context.Context) (applied []string, err error) {
	ms, err := migrations(db.Dialect)
	if err != nil {
		return nil, err
	}
	// One connection for the whole run: a PostgreSQL session lock and the
	// SQLite foreign_keys pragma both belong to a connection.
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	if db.IsPostgres() {
		// Blocks until no other instance migrates this schema.
		if _, err := conn.ExecContext(ctx,
			`SELECT pg_advisory_lock($1, hashtext(current_schema()))`, migrationLockClass); err != nil {
			return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
		}
		defer func() {
			// Unlock on the same session; a session that cannot unlock is
			// discarded, which releases the lock with it.
			_, uerr := conn.ExecContext(context.WithoutCancel(ctx),
				`SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, migrationLockClass)
			if uerr != nil {
				discard(conn)
				err = errors.Join(err, fmt.Errorf("migrate: release advisory lock: %w", uerr))
			}
		}()
	}

	if _, err := conn.ExecContext(ctx, db.createMigrationsTable()); err != nil {
		return nil, fmt.Errorf("migrate: create %s: %w", migrationsTable, err)
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if db.afterMigrationsRead != nil {
		db.afterMigrationsRead()
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		ok, err := db.apply(ctx, conn, m)
		if err != nil {
			return applied, fmt.Errorf("migrate: %s: %w", m.name, err)
		}
		if ok {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// apply runs one migration and records it, in one transaction. It reports
// false when another instance applied the version first.
func (db *DB) apply(ctx context.Context, conn *sql.Conn, m migration) (ok bool, err error) {
	if !db.IsPostgres() {
		// SQLite rebuilds a table to change it (create, copy, drop, rename)
		// and the drop would cascade to, or be refused by, referencing rows.
		// foreign_keys cannot change inside a transaction, so it is turned
		// off around it and foreign_key_check runs before the commit, the
		// procedure of https://sqlite.org/lang_altertable.html#otheralter.
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = off`); err != nil {
			return false, err
		}
		defer func() {
			if _, ferr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = on`); ferr != nil {
				// Never hand a connection without foreign keys back to the pool.
				discard(conn)
				err = errors.Join(err, fmt.Errorf("re-enable foreign keys: %w", ferr))
			}
		}()
	}
	// On SQLite the DSN's _txlock=immediate makes this BEGIN IMMEDIATE: the
	// write lock is taken before the version is re-checked below.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil || !ok {
			_ = tx.Rollback()
		}
	}()
	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM `+migrationsTable+` WHERE version = `+db.placeholder(1), m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	for i, stmt := range m.stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("statement %d (%s): %w", i+1, excerpt(stmt), err)
		}
	}
	if !db.IsPostgres() {
		if err := foreignKeyCheck(ctx, tx); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO `+migrationsTable+` (version) VALUES (`+db.placeholder(1)+`)`, m.version); err != nil {
		return false, fmt.Errorf("record version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// foreignKeyCheck fails when the transaction left a row whose parent is
// missing (foreign keys are not enforced while a migration runs on SQLite).
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	var violations []string
	for rows.Next() {
		var (
			table, parent string
			rowid, fkid   sql.NullInt64
		)
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		violations = append(violations, fmt.Sprintf("%s row %d → %s", table, rowid.Int64, parent))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(violations) > 0 {
		return fmt.Errorf("foreign key violations: %s", strings.Join(violations, "; "))
	}
	return nil
}

// MigrationStatus lists the versions recorded as applied and the embedded
// versions not applied yet, both in order. The schema is current when
// pending is empty (/readyz).
func (db *DB) MigrationStatus(ctx context.Context) (applied, pending []string, err error) {
	ms, err := migrations(db.Dialect)
	if err != nil {
		return nil, nil, err
	}
	var exists bool
	if db.IsPostgres() {
		err = db.SQL.QueryRowContext(ctx,
			`SELECT to_regclass($1) IS NOT NULL`, migrationsTable).Scan(&exists)
	} else {
		err = db.SQL.QueryRowContext(ctx,
			`SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?`, migrationsTable).Scan(&exists)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("migration status: %w", err)
	}
	done := map[string]bool{}
	if exists {
		if done, err = appliedVersions(ctx, db.SQL); err != nil {
			return nil, nil, fmt.Errorf("migration status: %w", err)
		}
	}
	for v := range done {
		applied = append(applied, v)
	}
	slices.Sort(applied)
	for _, m := range ms {
		if !done[m.version] {
			pending = append(pending, m.version)
		}
	}
	return applied, pending, nil
}

// querier is what appliedVersions needs of a *sql.DB or *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func appliedVersions(ctx context.Context, q querier) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM `+migrationsTable)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", migrationsTable, err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", migrationsTable, err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", migrationsTable, err)
	}
	return done, nil
}

func (db *DB) createMigrationsTable() string {
	if db.IsPostgres() {
		return `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
	version    text PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`
	}
	return `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
	version    text PRIMARY KEY,
	applied_at text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)`
}

// placeholder is the n-th bind parameter in the dialect's syntax.
func (db *DB) placeholder(n int) string {
	if db.IsPostgres() {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// discard makes the pool close conn instead of reusing it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// excerpt shortens a statement for an error message.
func excerpt(stmt string) string {
	stmt = strings.Join(strings.Fields(stmt), " ")
	if len(stmt) > 80 {
		return stmt[:77] + "..."
	}
	return stmt
}
