package main

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"billing/internal/bench/footprint"
)

// floorScript is the database floor: one checkout's write transaction as
// a pgbench script (floor.sql). pgbench runs it on the service database
// at each level's concurrency, with -M prepared and no service in front:
// the same statements, on the same tables with the same indexes,
// foreign keys and trigger, writing the same rows in one commit. What it
// reaches is the most any implementation of this checkout reaches on this
// machine with one commit per checkout and this schema (its keys, indexes,
// foreign keys and numbering trigger), before a line of Go runs.
//
// So that the script cannot drift from the service unnoticed, check
// compares, before the first level's floor, what one real
// checkout through the service writes with what one run of the script
// writes: the rows of every table, the wallets' versions, the invoice
// numbers taken and the ACTIVE resources must grow alike, and no invoice
// may be left under its placeholder code.
//
//go:embed floor.sql
var floorScript string

// dbFloor is the database floor set up in the service database.
type dbFloor struct {
	script string // path of floorScript written out for pgbench
	url    string // the service database
	pgURL  string // the same, for pgbench (libpq)
}

// setupFloor writes the script out and adds the two tables it reads
// beside the service's: each client's account and its available-credit
// ledger account (pgbench's :client_id + 1), and the revenue ledger
// account, product and plan of the benchmark's checkout. It runs after
// the first level's checkouts, when the revenue account exists.
func setupFloor(ctx context.Context, svcURL string, customers []customer) (*dbFloor, error) {
	db, err := sql.Open("postgres", svcURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	stmts := []string{
		`CREATE TABLE bench_floor_accounts (n int PRIMARY KEY, acc text NOT NULL, lac text NOT NULL)`,
		`CREATE TABLE bench_floor_const AS SELECT
			(SELECT id FROM ledger_accounts WHERE kind = 'REVENUE') AS rev,
			(SELECT product_id FROM resources ORDER BY created_at LIMIT 1) AS prd,
			(SELECT plan_id FROM resources ORDER BY created_at LIMIT 1) AS pln`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	for i, cu := range customers {
		res, err := db.ExecContext(ctx, `INSERT INTO bench_floor_accounts (n, acc, lac)
			SELECT $1, $2, id FROM ledger_accounts WHERE account_id = $2 AND kind = 'CUSTOMER_AVAILABLE'`, i+1, cu.accountID)
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, fmt.Errorf("floor: no available-credit ledger account for %s", cu.accountID)
		}
	}
	var missing bool
	if err := db.QueryRowContext(ctx, `SELECT rev IS NULL OR prd IS NULL OR pln IS NULL FROM bench_floor_const`).Scan(&missing); err != nil || missing {
		return nil, fmt.Errorf("floor: revenue account, product or plan not found (no checkout yet?): %v", err)
	}
	f, err := os.CreateTemp("", "checkout-floor-*.sql")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteString(floorScript); err != nil {
		return nil, err
	}
	pgURL, err := libpqURL(svcURL)
	if err != nil {
		return nil, err
	}
	return &dbFloor{script: f.Name(), url: svcURL, pgURL: pgURL}, nil
}

// remove deletes the script file (the tables go with the database).
func (f *dbFloor) remove() { _ = os.Remove(f.script) }

// run runs the script with pgbench at n clients for the level's duration
// and returns its transactions per second.
func (f *dbFloor) run(ctx context.Context, pgbench string, o options, n int) (float64, error) {
	out, err := runPgbench(ctx, pgbench, "-n", "-M", "prepared", "-c", strconv.Itoa(n), "-j", strconv.Itoa(min(o.jobs, n)),
		"-T", strconv.Itoa(int(o.duration.Seconds())), "-f", f.script, f.pgURL)
	if err != nil {
		return 0, err
	}
	tps, _, err := parsePgbench(out)
	return tps, err
}

// check compares one checkout placed through a service started on the
// service database (checkout) with one run of the script (see
// floorScript) and returns the differences as an error.
func (f *dbFloor) check(ctx context.Context, pgbench string, checkout func() error) error {
	db, err := sql.Open("postgres", f.url)
	if err != nil {
		return err
	}
	defer db.Close()
	before, err := checkoutFootprint(ctx, db)
	if err != nil {
		return err
	}
	if err := checkout(); err != nil {
		return fmt.Errorf("floor check: one checkout: %w", err)
	}
	mid, err := checkoutFootprint(ctx, db)
	if err != nil {
		return err
	}
	if _, err := runPgbench(ctx, pgbench, "-n", "-M", "prepared", "-c", "1", "-t", "1", "-f", f.script, f.pgURL); err != nil {
		return err
	}
	after, err := checkoutFootprint(ctx, db)
	if err != nil {
		return err
	}
	diffs := footprint.Compare(mid.Sub(before), after.Sub(mid), "checkout", "floor.sql")
	var placeholders int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM invoices WHERE strpos(code, '#') > 0`).Scan(&placeholders); err != nil {
		return err
	}
	if placeholders > 0 {
		diffs = append(diffs, fmt.Sprintf("%d invoices left under a placeholder code", placeholders))
	}
	if len(diffs) > 0 {
		return errors.New("floor.sql no longer writes what a checkout writes:\n  " + strings.Join(diffs, "\n  "))
	}
	if n := mid.Sub(before)["rows:invoices"]; n != 1 {
		return fmt.Errorf("floor check: the checkout wrote %d invoices, not 1", n)
	}
	return nil
}

// footprint is what a checkout changes in the service database: the rows
// of every table of the schema (but the floor's own), the sum of the
// wallets' versions, the invoice numbers taken and the ACTIVE resources.
func checkoutFootprint(ctx context.Context, db *sql.DB) (footprint.Counts, error) {
	return footprint.Take(ctx, db, "bench_floor_", map[string]string{
		"wallets.version":              `SELECT coalesce(sum(version), 0) FROM wallets`,
		"invoice_sequences.last_value": `SELECT coalesce(sum(last_value), 0) FROM invoice_sequences`,
		"resources ACTIVE":             `SELECT count(*) FROM resources WHERE state = 'ACTIVE'`,
	})
}

// libpqURL is u for libpq (pgbench): a search_path parameter, which lib/pq
// sends as a run-time parameter but libpq does not know, becomes
// options=-csearch_path=… (the test databases of internal/testdb).
func libpqURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("floor: database URL: %w", err)
	}
	q := p.Query()
	if sp := q.Get("search_path"); sp != "" {
		q.Del("search_path")
		q.Set("options", "-csearch_path="+sp)
		p.RawQuery = q.Encode()
	}
	return p.String(), nil
}
