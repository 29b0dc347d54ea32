package postpaid_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/ledgertransaction"
	"billing/ent/price"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/bench/loadgen"
	"billing/internal/checkout"
	"billing/internal/coupon"
	"billing/internal/events"
	"billing/internal/gateway"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/notify"
	"billing/internal/postpaid"
	"billing/internal/provision"
	"billing/internal/pulid"
	"billing/internal/store"
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
// components (one line per invoice); each month-end invoices the next
// month, so every one issues benchResources invoices with their lines and
// gapless codes.
//
// Each iteration then invoices the month after that while loadWorkers
// goroutines place prepaid CREDIT checkouts through checkout.Service (each
// on its own funded PREPAID account, at the same instant, so their
// invoices take codes from the same month's sequence row as month-end's),
// and runs the same load for as long again without month-end. It reports
// invoices/s under that load, checkouts/s during month-end and without it,
// and their ratio. On SQLite it is skipped.
func BenchmarkMonthEnd(b *testing.B) {
	n := benchResources
	if v, err := strconv.Atoi(os.Getenv("BILLING_BENCH_POSTPAID_RESOURCES")); err == nil && v > 0 {
		n = v
	}
	if !testdb.Postgres() {
		b.Skipf("PostgreSQL-only benchmark (%d resources, seeded with PostgreSQL SQL; the goals are PostgreSQL's): set %s (make bench does)",
			n, testdb.EnvURL)
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
	clock := clockwork.NewFakeClockAt(local(2026, 2, 1, 0, 0))
	outbox := events.NewOutbox(true, nil)
	led := ledger.New(db, outbox, clock)
	svc := postpaid.New(postpaid.Config{
		DB: db, Ledger: led, Outbox: outbox, Clock: clock,
		Notify:   notify.New(notify.Config{DB: db, Outbox: outbox, Clock: clock}),
		Invoices: invoicing.New(db, clock, nil), Batch: batch,
	})
	load := newLoad(b, db, clock, led, loadWorkers)
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
	// monthEnd invoices the month before now, with the clock at now.
	month := 0
	monthEnd := func(sweep func(func() (int, error)) (int, loadgen.Loaded)) loadgen.Loaded {
		b.Helper()
		now := local(2026, time.Month(2+month), 1, 0, 0)
		month++
		clock.Advance(now.Sub(clock.Now()))
		got, r := sweep(func() (int, error) {
			res, err := svc.RunMonthEnd(ctx, now)
			return res.Invoices, err
		})
		require.Equal(b, n, got)
		return r
	}
	alone := func(run func() (int, error)) (int, loadgen.Loaded) {
		start := time.Now()
		got, err := run()
		d := time.Since(start)
		require.NoError(b, err)
		return got, loadgen.Loaded{Job: d}
	}
	withLoad := func(run func() (int, error)) (int, loadgen.Loaded) {
		got, r, err := load.During(run)
		require.NoError(b, err)
		return got, r
	}
	var (
		monthEndD, baseline, loadedD time.Duration
		during, without              loadgen.Rate
	)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		baseline += insertRows(fmt.Sprintf("%d_before", i))
		b.StartTimer()

		monthEndD += monthEnd(alone).Job

		b.StopTimer()
		baseline += insertRows(fmt.Sprintf("%d_after", i))
		r := monthEnd(withLoad)
		loadedD += r.Job
		during.Add(r.Rate)
		without.Add(loadAlone(b, load, r.Job))
		b.StartTimer()
	}
	b.StopTimer()
	baseline /= 2
	perSec := float64(n*b.N) / monthEndD.Seconds()
	basePerSec := float64(n*b.N) / baseline.Seconds()
	b.ReportMetric(perSec, "invoices/s")
	b.ReportMetric(basePerSec, "baseline_rows/s")
	b.ReportMetric(perSec/basePerSec, "ratio")
	b.ReportMetric(float64(n*b.N)/loadedD.Seconds(), "invoices/s-under-load")
	b.ReportMetric(during.PerSec(), "checkouts/s-during")
	b.ReportMetric(without.PerSec(), "checkouts/s-alone")
	b.ReportMetric(during.PerSec()/without.PerSec(), "checkout-ratio")
}

// loadWorkers is how many goroutines place checkouts during month-end
// (and for as long again without it), each on its own funded account, as
// customers buy: the load measures the service, not one wallet's lock.
const loadWorkers = 8

// newLoad wires a checkout on db and opens its catalog (a prepaid product
// of its own) and funded accounts: the load places prepaid checkouts —
// one s-general-1x1 (181,000 VND, VAT included) for one month, paid by
// CREDIT — by each of its workers on its own PREPAID account.
func newLoad(b *testing.B, db *store.DB, clock clockwork.Clock, led *ledger.Service, workers int) *loadgen.Load {
	b.Helper()
	sys := auth.SystemContext(context.Background())
	outbox := events.NewOutbox(true, nil)
	co := checkout.New(checkout.Config{
		DB: db, Ledger: led, Outbox: outbox, Coupons: coupon.New(db, clock), Gateway: noGateway{},
		Provisioner: provision.NewSimulator(provision.SimulatorConfig{Clock: clock}),
		Invoices:    invoicing.New(db, clock, nil), Clock: clock, PublicURL: "https://billing.test",
	})
	var ids []pulid.ID
	p, err := db.Client.Product.Create().SetCode("vserver-prepaid").SetName("vServer").SetAllowedPeriods([]int{1}).Save(sys)
	require.NoError(b, err)
	pl, err := db.Client.Plan.Create().SetProductID(p.ID).SetCode("s-general-1x1").SetName("s-general-1x1").Save(sys)
	require.NoError(b, err)
	pc, err := db.Client.PlanComponent.Create().SetPlanID(pl.ID).SetCode("flavor").SetName("Server").
		SetUnit("server").SetMinQuantity(1).SetMaxQuantity(1).SetDefaultQuantity(1).Save(sys)
	require.NoError(b, err)
	_, err = db.Client.Price.Create().SetComponentID(pc.ID).SetBillingMode(price.BillingModePREPAID).
		SetUnitPrice(vnd(181_000)).SetVatRate(vnd(10)).SetVatIncluded(true).Save(sys)
	require.NoError(b, err)
	accounts := account.New(db, clock)
	for i := range workers {
		a, err := accounts.Create(sys, account.CreateInput{Name: fmt.Sprint("load ", i), OwnerSubject: "load-" + string(pulid.New("u"))})
		require.NoError(b, err)
		require.NoError(b, store.WithTx(sys, db.Client, func(tx *ent.Tx) error {
			_, err := led.Credit(sys, tx, ledger.Movement{AccountID: a.ID, Amount: vnd(100_000_000_000), Kind: ledgertransaction.KindADJUSTMENT})
			return err
		}))
		ids = append(ids, a.ID)
	}
	return loadgen.New(co, "s-general-1x1", ids)
}

// loadAlone runs the load by itself for d.
func loadAlone(b *testing.B, l *loadgen.Load, d time.Duration) loadgen.Rate {
	b.Helper()
	r, err := l.Alone(d)
	require.NoError(b, err)
	return r
}

// noGateway is the load's payment gateway: its checkouts pay by CREDIT
// and never reach one.
type noGateway struct{}

var errNoGateway = errors.New("benchmark: no payment gateway")

func (noGateway) Name() string { return "none" }

func (noGateway) StartPayment(context.Context, gateway.StartRequest) (gateway.StartResult, error) {
	return gateway.StartResult{}, errNoGateway
}

func (noGateway) VerifyCallback(url.Values) (gateway.Callback, error) {
	return gateway.Callback{}, errNoGateway
}

func (noGateway) ChargeToken(context.Context, gateway.TokenCharge) (gateway.ChargeResult, error) {
	return gateway.ChargeResult{}, errNoGateway
}

func (noGateway) StartLink(context.Context, gateway.LinkRequest) (gateway.StartResult, error) {
	return gateway.StartResult{}, errNoGateway
}

func (noGateway) VerifyLinkCallback(url.Values) (gateway.LinkResult, error) {
	return gateway.LinkResult{}, errNoGateway
}

func (noGateway) Query(context.Context, gateway.QueryRequest) (gateway.QueryResult, error) {
	return gateway.QueryResult{}, errNoGateway
}
