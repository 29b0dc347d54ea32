package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/internal/testdb"
)

// TestFloorWritesWhatACheckoutWrites keeps floor.sql honest: one run of it
// must write exactly what one real checkout through the service writes
// (floor.check), and a script that writes one invoice line fewer must be
// caught.
func TestFloorWritesWhatACheckoutWrites(t *testing.T) {
	testdb.RequirePostgres(t)
	pgbench, err := findPgbench("")
	if err != nil {
		if os.Getenv("BILLING_REQUIRE_POSTGRES") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx := context.Background()
	dsn := testdb.NewDSN(t)
	secret := newSecret()
	var trips roundTrips
	customers, err := setupService(ctx, dsn, secret, &trips, 2)
	require.NoError(t, err)
	// The revenue ledger account comes with the first checkout.
	require.NoError(t, oneCheckout(ctx, dsn, secret, &trips, customers[1]))

	fl, err := setupFloor(ctx, dsn, customers)
	require.NoError(t, err)
	t.Cleanup(fl.remove)
	checkout := func() error { return oneCheckout(ctx, dsn, secret, &trips, customers[0]) }
	require.NoError(t, fl.check(ctx, pgbench, checkout))

	// The same script without its third invoice line.
	const third = ", ('inl3_'"
	start := strings.Index(floorScript, third)
	end := strings.Index(floorScript, ") SELECT id, code FROM i;")
	require.True(t, start > 0 && end > start, "floor.sql: third invoice line not found")
	broken := filepath.Join(t.TempDir(), "broken.sql")
	require.NoError(t, os.WriteFile(broken, []byte(floorScript[:start]+floorScript[end:]), 0o600))
	fl.script = broken
	err = fl.check(ctx, pgbench, checkout)
	require.EqualError(t, err, "floor.sql no longer writes what a checkout writes:\n  rows:invoice_lines: checkout +3, floor.sql +2")
}

func TestLibpqURL(t *testing.T) {
	got, err := libpqURL("postgres://postgres@127.0.0.1:5432/x?search_path=t_01&sslmode=disable")
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/x?options=-csearch_path%3Dt_01&sslmode=disable", got)
	got, err = libpqURL("postgres://postgres@127.0.0.1:5432/x?sslmode=disable")
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/x?sslmode=disable", got)
}
