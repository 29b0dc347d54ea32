package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/internal/testdb"
)

// TestStatementCache: on PostgreSQL a statement with parameters is
// prepared once per connection and reused; the cache keeps at most
// StatementCacheSize statements; a statement whose result type changed
// under it (DDL) is prepared again instead of failing forever.
func TestStatementCache(t *testing.T) {
	testdb.RequirePostgres(t)
	ctx := context.Background()
	db := testdb.Open(t, testdb.NewDSN(t))
	conn, err := db.SQL.Conn(ctx) // one connection: its session's prepared statements
	require.NoError(t, err)
	defer conn.Close()

	prepared := func() int {
		t.Helper()
		var n int
		require.NoError(t, conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_prepared_statements`).Scan(&n))
		return n
	}
	base := prepared()

	for i := range 3 {
		var got int64
		require.NoError(t, conn.QueryRowContext(ctx, `SELECT $1::bigint + 1`, int64(i)).Scan(&got))
		require.EqualValues(t, i+1, got)
	}
	require.Equal(t, base+1, prepared(), "three runs of one statement, one prepared statement")

	// Past the cache size the least recently used statements are closed.
	for i := range 200 {
		var got int64
		require.NoError(t, conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT $1::bigint + %d`, i), int64(1)).Scan(&got))
		require.EqualValues(t, i+1, got)
	}
	require.Equal(t, 128, prepared())

	// A result type changed by DDL: PostgreSQL refuses the cached plan once,
	// then the statement is prepared again.
	_, err = conn.ExecContext(ctx, `CREATE TABLE cache_probe (a bigint)`)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, `INSERT INTO cache_probe VALUES (7)`)
	require.NoError(t, err)
	var a int64
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT * FROM cache_probe WHERE a = $1`, 7).Scan(&a))
	_, err = conn.ExecContext(ctx, `ALTER TABLE cache_probe ADD COLUMN b bigint NOT NULL DEFAULT 8`)
	require.NoError(t, err)
	var b int64
	err = conn.QueryRowContext(ctx, `SELECT * FROM cache_probe WHERE a = $1`, 7).Scan(&a, &b)
	require.ErrorContains(t, err, "cached plan must not change result type")
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT * FROM cache_probe WHERE a = $1`, 7).Scan(&a, &b))
	require.EqualValues(t, 7, a)
	require.EqualValues(t, 8, b)
}
