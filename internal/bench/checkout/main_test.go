package main

import (
	"context"
	"path/filepath"
	"testing"

	"billing/internal/store"
)

// BenchmarkCheckoutSQLite is the checkout of the PostgreSQL benchmark —
// placeOrder with CREDIT over HTTP, provisioned and invoiced before the
// answer — on the embedded SQLite default, one client at a time. It needs
// no database server, so `go test -bench .` always measures something.
func BenchmarkCheckoutSQLite(b *testing.B) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	s, err := startService(ctx, db, "", newSecret())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.stop(context.Background()) })
	customers, err := prepare(ctx, s, db, 1)
	if err != nil {
		b.Fatal(err)
	}
	c := newClient(s.url, 1)
	b.ResetTimer()
	for b.Loop() {
		if err := c.checkout(ctx, customers[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParsePgbench(t *testing.T) {
	out := `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: simple
number of clients: 8
number of threads: 2
duration: 15 s
number of transactions actually processed: 19876
latency average = 6.037 ms
initial connection time = 11.212 ms
tps = 1325.123456 (without initial connection time)
`
	tps, lat, err := parsePgbench(out)
	if err != nil || tps != 1325.123456 || lat != "6.037" {
		t.Fatalf("parsePgbench = %v, %q, %v", tps, lat, err)
	}
	if _, _, err := parsePgbench("nothing"); err == nil {
		t.Fatal("no tps must be an error")
	}
}
