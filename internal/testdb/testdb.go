// Package testdb gives each test a fresh, migrated database on the engine
// the suite runs against: SQLite by default, PostgreSQL when
// BILLING_TEST_DATABASE_URL is set (make test does both). On PostgreSQL
// every test gets its own schema, dropped when the test ends, so tests run
// in parallel against one server.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/internal/store"
)

// EnvURL names the variable that switches the suite to PostgreSQL.
const EnvURL = "BILLING_TEST_DATABASE_URL"

// Postgres reports whether the suite runs on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvURL) != "" }

// Engine names the engine the suite runs on: "postgres" or "sqlite".
func Engine() string {
	if Postgres() {
		return "postgres"
	}
	return "sqlite"
}

// RequirePostgres skips a test that only makes sense on PostgreSQL
// (advisory locks, LISTEN/NOTIFY, several instances on one database).
func RequirePostgres(t testing.TB) {
	t.Helper()
	if !Postgres() {
		t.Skipf("PostgreSQL-only test: set %s (make test does)", EnvURL)
	}
}

// New returns a fresh migrated database that is closed (and on PostgreSQL
// dropped) when the test ends.
func New(t testing.TB) *store.DB {
	t.Helper()
	dsn := NewDSN(t)
	db := Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	return db
}

// NewDSN makes a fresh empty database and returns how to reach it: a
// PostgreSQL URL or an SQLite file path. Several clients (server instances)
// may open the same DSN with Open.
func NewDSN(t testing.TB) string {
	t.Helper()
	if !Postgres() {
		return filepath.Join(t.TempDir(), "billing.db")
	}
	base := os.Getenv(EnvURL)
	admin, err := sql.Open("postgres", base)
	require.NoError(t, err)
	schema := "t_" + randomHex(8)
	_, err = admin.Exec(`CREATE SCHEMA ` + schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a DSN made by NewDSN; it is closed when the test ends.
func Open(t testing.TB, dsn string) *store.DB {
	t.Helper()
	ctx := context.Background()
	var (
		db  *store.DB
		err error
	)
	if Postgres() {
		db, err = store.OpenPostgres(ctx, dsn)
	} else {
		db, err = store.OpenSQLite(ctx, dsn)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
