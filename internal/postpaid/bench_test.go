package postpaid_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/internal/auth"
	"billing/internal/events"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/notify"
	"billing/internal/postpaid"
	"billing/internal/testdb"
)

// benchResources is how many postpaid resources month-end invoices per
// iteration; BILLING_BENCH_POSTPAID_RESOURCES overrides it.
const benchResources = 100_000

// BenchmarkMonthEnd measures month-end invoicing of 100,000 postpaid
// resources on PostgreSQL (skipped without BILLING_TEST_DATABASE_URL),
// and, in the same run and the same table, a plain INSERT … SELECT of as
// many invoice rows: the floor no invoicing can beat. It reports
// invoices/s, baseline_rows/s and ratio (invoices/s ÷ baseline rows/s).
//
// Each resource has one usage interval open since January 2026 with two
// components (one line per invoice); each iteration invoices the next
// month, so every iteration issues benchResources invoices with their
// lines and gapless codes.
func BenchmarkMonthEnd(b *testing.B) {
	testdb.RequirePostgres(b)
	n := benchResources
	if v, err := strconv.Atoi(os.Getenv("BILLING_BENCH_POSTPAID_RESOURCES")); err == nil && v > 0 {
		n = v
	}
	db := testdb.New(b)
	ctx := auth.SystemContext(context.Background())
	seed := []string{
		`INSERT INTO products (id, created_at, updated_at, code, name, allowed_periods)
		 VALUES ('prd_bench', now(), now(), 'vserver', 'vServer', '[1]')`,
		`INSERT INTO plans (id, created_at, updated_at, code, name, product_id)
		 VALUES ('pln_bench', now(), now(), 'srv', 'srv', 'prd_bench')`,
		`INSERT INTO accounts (id, created_at, updated_at, name, type, credit_limit)
		 SELECT 'acc_bench' || lpad(g::text, 6, '0'), now(), now(), 'bench ' || g, 'POSTPAID', 0
		 FROM generate_series(1, 1000) g`,
		fmt.Sprintf(`INSERT INTO resources (id, created_at, updated_at, product_id, plan_id, name, billing_mode, state,
			components, period_price, period_paid, account_id)
		 SELECT 'res_bench' || lpad(g::text, 8, '0'), now(), now(), 'prd_bench', 'pln_bench', 'srv-' || g, 'POSTPAID', 'ACTIVE',
			'[]', 3060000000, 0, 'acc_bench' || lpad((g %% 1000 + 1)::text, 6, '0')
		 FROM generate_series(1, %d) g`, n),
		`INSERT INTO usage_intervals (id, created_at, updated_at, account_id, resource_id, start, "end", components, discount_percent)
		 SELECT 'usg_' || r.id, now(), now(), r.account_id, r.id, '2025-12-31 17:00:00+00', NULL,
			'[{"code":"flavor","name":"Server","unit":"server","quantity":1,"unitPrice":"181000","vatRate":"10","vatIncluded":false},
			  {"code":"root_disk_gb","name":"Root disk","unit":"GB","quantity":20,"unitPrice":"3500","vatRate":"10","vatIncluded":false}]',
			0
		 FROM resources r`,
		`ANALYZE`,
	}
	for _, q := range seed {
		_, err := db.SQL.ExecContext(ctx, q)
		require.NoError(b, err)
	}
	batch, _ := strconv.Atoi(os.Getenv("BILLING_BENCH_POSTPAID_BATCH"))
	clock := clockwork.NewFakeClock()
	outbox := events.NewOutbox(true, nil)
	svc := postpaid.New(postpaid.Config{
		DB: db, Ledger: ledger.New(db, outbox, clock), Outbox: outbox, Clock: clock,
		Notify:   notify.New(notify.Config{DB: db, Outbox: outbox, Clock: clock}),
		Invoices: invoicing.New(db, clock, nil), Batch: batch,
	})
	// The baseline: n invoice rows by one INSERT … SELECT into the same
	// table (same indexes), run just before and just after each month-end
	// so that both see the same load on a shared server.
	insertRows := func(tag string) time.Duration {
		start := time.Now()
		_, err := db.SQL.ExecContext(ctx, `
			INSERT INTO invoices (id, created_at, updated_at, code, product_id, action, status, period_start, period_end,
				subtotal, vat, discount, total, amount_paid, currency, issued_at, due_at, account_id)
			SELECT 'inv_base_' || $1::text || '_' || g, now(), now(), 'BASE-' || $1::text || '-' || g, 'prd_bench', 'MONTHLY',
				'UNPAID', now(), now(), 2510000000, 251000000, 0, 2761000000, 0, 'VND', now(), now(),
				'acc_bench' || lpad((g % 1000 + 1)::text, 6, '0')
			FROM generate_series(1, $2::int) g`, tag, n)
		require.NoError(b, err)
		return time.Since(start)
	}
	var monthEnd, baseline time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		baseline += insertRows(fmt.Sprintf("%d_before", i))
		b.StartTimer()

		now := local(2026, time.Month(2+i), 1, 0, 0)
		start := time.Now()
		res, err := svc.RunMonthEnd(ctx, now)
		monthEnd += time.Since(start)
		require.NoError(b, err)
		require.Equal(b, n, res.Invoices)

		b.StopTimer()
		baseline += insertRows(fmt.Sprintf("%d_after", i))
		b.StartTimer()
	}
	baseline /= 2
	perSec := float64(n*b.N) / monthEnd.Seconds()
	basePerSec := float64(n*b.N) / baseline.Seconds()
	b.ReportMetric(perSec, "invoices/s")
	b.ReportMetric(basePerSec, "baseline_rows/s")
	b.ReportMetric(perSec/basePerSec, "ratio")
}
