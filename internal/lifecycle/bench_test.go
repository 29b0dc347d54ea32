package lifecycle_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/ledgertransaction"
	"billing/ent/price"
	"billing/ent/resource"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/bench/footprint"
	"billing/internal/bench/loadgen"
	"billing/internal/checkout"
	"billing/internal/coupon"
	"billing/internal/events"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle"
	"billing/internal/notify"
	"billing/internal/pricing"
	"billing/internal/provision"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// benchRows is the number of due resources each sweep moves.
const benchRows = 100_000

// loadWorkers is how many goroutines place checkouts during a sweep (and
// for as long again without it), each on its own funded account, as
// customers buy: the load measures the service, not one wallet's lock.
const loadWorkers = 8

// BenchmarkExpireDue measures the expiry sweep over 100,000 due resources
// on PostgreSQL against the plain set-based statement doing only the
// state change,
//
//	UPDATE resources SET state = 'GRACE', updated_at = $2
//	WHERE billing_mode = 'PREPAID' AND state IN ('ACTIVE','STOPPED') AND period_end <= $1
//
// over the same rows in the same run, and reports rows per second of
// each and their ratio (goal ≥ 0.25). ExpireDue does more per row: the
// lock, an outbox event, and — with notices on, as the service runs — a
// notification and its event; it is also measured without notices.
//
// It then runs the sweep (with notices) once more while loadWorkers
// goroutines place CREDIT checkouts through checkout.Service, and the
// same load for as long again without the sweep, and reports
// checkouts/s both ways and their ratio (goal ≥ 0.8), and the sweep's
// loadgen.Rate under that load. Every measurement starts from the same table (all
// ACTIVE, no events or notices, vacuumed). Run with make bench and
// BILLING_TEST_DATABASE_URL; on SQLite it is skipped.
func BenchmarkExpireDue(b *testing.B) {
	skipOnSQLite(b, benchRows)
	ctx := auth.SystemContext(context.Background())
	db := testdb.New(b)
	T := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(T.Add(time.Hour))
	env := newBenchEnv(b, db, clock)
	quiet := env.lifecycle(false)
	loud := env.lifecycle(true)

	// 100 accounts, one product, 100,000 ACTIVE resources whose periods
	// ended during the hour before now.
	accs := env.accounts(b, 100, 0)
	comps := []pricing.Component{{Code: "flavor", Name: "s-general-1x1", Unit: "server", Quantity: 1,
		UnitPrice: vnd(181_000), VATRate: vnd(10), VATIncluded: true}}
	for start := 0; start < benchRows; start += 2000 {
		creates := make([]*ent.ResourceCreate, 0, 2000)
		for i := start; i < min(start+2000, benchRows); i++ {
			end := T.Add(-time.Duration(i%3600) * time.Second)
			creates = append(creates, db.Client.Resource.Create().
				SetAccountID(accs[i%len(accs)]).SetProductID(env.product.ID).SetPlanID(pulid.New("pln")).
				SetName(fmt.Sprintf("srv-%06d", i)).SetBillingMode(resource.BillingModePREPAID).
				SetState(resource.StateACTIVE).SetComponents(comps).SetPeriodPrice(vnd(181_000)).
				SetPeriodMonths(1).SetPeriodStart(end.Add(-month)).SetPeriodEnd(end).SetAutoRenew(i%2 == 0))
		}
		require.NoError(b, db.Client.Resource.CreateBulk(creates...).Exec(ctx))
	}
	load := env.load(b, loadWorkers)
	reset := func() {
		b.Helper()
		env.exec(b,
			`UPDATE resources SET state = 'ACTIVE'`,
			`DELETE FROM notifications`,
			`DELETE FROM outbox_events`,
			`VACUUM ANALYZE resources`,
			`VACUUM ANALYZE notifications`,
			`VACUUM ANALYZE outbox_events`,
		)
	}
	now := clock.Now()
	measure := func(run func() (int, error)) time.Duration {
		b.Helper()
		reset()
		start := time.Now()
		n, err := run()
		d := time.Since(start)
		require.NoError(b, err)
		require.Equal(b, benchRows, n)
		return d
	}

	var loudD, quietD, plainD, loadedD time.Duration
	var during, alone loadgen.Rate
	b.ResetTimer()
	plain := func() (int, error) {
		res, err := db.SQL.ExecContext(ctx,
			`UPDATE resources SET state = 'GRACE', updated_at = $2
			 WHERE billing_mode = 'PREPAID' AND state IN ('ACTIVE', 'STOPPED') AND period_end <= $1`, now, now)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	for range b.N {
		// The baseline's faster of two runs: it swings by half from run to
		// run on a shared machine, and the ratio had better err low.
		plainD += min(measure(plain), measure(plain))
		loudD += measure(func() (int, error) { return loud.ExpireDue(ctx, now) })
		quietD += measure(func() (int, error) { return quiet.ExpireDue(ctx, now) })

		var sweepD time.Duration
		loadedD += measure(func() (int, error) {
			n, r, err := load.During(func() (int, error) { return loud.ExpireDue(ctx, now) })
			during.Add(r.Rate)
			sweepD = r.Job
			return n, err
		})
		b.StopTimer()
		alone.Add(loadAlone(b, load, sweepD))
		b.StartTimer()
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(benchRows*b.N) / d.Seconds() }
	b.ReportMetric(rate(plainD), "plain-rows/s")
	b.ReportMetric(rate(loudD), "expire-rows/s")
	b.ReportMetric(rate(quietD), "expire-no-notices-rows/s")
	b.ReportMetric(rate(loudD)/rate(plainD), "ratio")
	b.ReportMetric(rate(quietD)/rate(plainD), "ratio-no-notices")
	b.ReportMetric(rate(loadedD), "expire-under-load-rows/s")
	loadgen.Report(b, during, alone)
}

// autoRenewRows is how many auto-renew-on resources BenchmarkAutoRenew
// renews per iteration; BILLING_BENCH_AUTORENEW_RESOURCES overrides it
// (the issue asks for 100,000).
//
// Not 100,000 by default: on PostgreSQL the attempts are set-based
// (checkout.AutoRenewAll: 500 renewals per transaction, a fixed number of
// multi-row statements each, in two lanes of accounts at once), but every
// renewal still writes some twenty rows (step, order, item, CREDIT
// payment, ledger transaction and two entries, invoice and line, six
// events, attempt step, notice…) with their index entries and foreign-key
// checks. On the 2-core development VM (shared, so noisy) 100,000 renewed
// at 2,866 a second alone against 35,231 rows a second for the plain
// UPDATE (ratio 0.081; one lane made 2,571, the one-by-one path 0.002×),
// and the checkouts kept 0.91 of their throughput while the sweep gave
// way to them; the whole iteration — seeding, both sweeps, the load alone
// for as long — took twelve minutes. Nothing in a renewal grows with the
// number due (index lookups, per-chunk and per-account work), so 20,000
// (about two and a half minutes; 3,100–3,300 a second) stands for 100,000;
// set the variable to measure it.
const autoRenewRows = 20_000

// BenchmarkAutoRenew measures the auto-renew attempts at T−7
// (RunAutoRenewAttempts at 08:00 on the local date seven days before
// the period end) over autoRenewRows prepaid ACTIVE resources with
// auto-renew on and enough credit, so that every attempt renews from
// credit: an order, a CREDIT payment, a ledger transaction, an
// AUTO_RENEW invoice with its line and code, the period extended, the
// LifecycleStep and the autorenew.succeeded notice. Its baseline, in the
// same run on the same rows, is the plain statement that only moves their
// period end,
//
//	UPDATE resources SET period_end = period_end + interval '30 days', period_paid = period_paid + period_price, updated_at = $1
//	WHERE billing_mode = 'PREPAID' AND auto_renew AND state IN ('ACTIVE','STOPPED','GRACE')
//	  AND period_end >= $2 AND period_end < $3
//
// (undone, untimed, after each run). It reports renewals per second alone, the
// baseline's rows per second and their ratio (goal ≥ 0.25); the database
// floor (runRenewFloor: the same renewals' rows written by hand-written
// set-based SQL in the sweep's lanes, chunk by chunk, rolled back) per
// second and its ratio to the baseline — the best case known for these
// rows in this schema, checked table by table against what the sweep then
// writes; then
// checkouts per second while the attempts run (loadWorkers goroutines,
// CREDIT, each on its own account) and for as long again without them,
// and their ratio (goal ≥ 0.8).
//
// The resources are spread over 100 accounts. Each iteration renews them
// twice — alone, then under the load — each run 30 days after the last:
// a renewal adds exactly 30 days, so the renewed resources are at T−7
// again. On SQLite it is skipped.
func BenchmarkAutoRenew(b *testing.B) {
	n := autoRenewRows
	if v, err := strconv.Atoi(os.Getenv("BILLING_BENCH_AUTORENEW_RESOURCES")); err == nil && v > 0 {
		n = v
	}
	skipOnSQLite(b, n)
	ctx := auth.SystemContext(context.Background())
	db := testdb.New(b)
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(b, err)
	// T−7 at 08:00: the periods end on Dec 8 (local), from 09:00 on.
	first := time.Date(2026, 12, 1, 8, 0, 0, 0, loc)
	D := time.Date(2026, 12, 8, 9, 0, 0, 0, loc)
	clock := clockwork.NewFakeClockAt(first)
	env := newBenchEnv(b, db, clock)
	svc := env.lifecycle(true)
	lanes := lifecycle.AutoRenewLanes
	if v, err := strconv.Atoi(os.Getenv("BILLING_BENCH_AUTORENEW_LANES")); err == nil && v > 0 {
		lanes = v
		lifecycle.SetLanes(svc, v)
	}

	const accounts = 100
	// Enough credit for every renewal of up to 20 iterations.
	accs := env.accounts(b, accounts, int64(n/accounts+1)*181_000*20)
	_, err = db.SQL.ExecContext(ctx, fmt.Sprintf(`INSERT INTO resources (id, created_at, updated_at, product_id, plan_id, name, billing_mode,
			state, components, period_price, period_paid, period_months, period_start, period_end, auto_renew,
			auto_renew_months, account_id)
		SELECT 'res_' || lpad(g::text, 26, '0'), now(), now(), '%s', '%s', 'srv-' || g, 'PREPAID', 'ACTIVE',
			'[{"code":"flavor","name":"s-general-1x1","unit":"unit","quantity":1,"unitPrice":"181000","vatRate":"10","vatIncluded":true}]',
			1810000000, 1810000000, 1, $1::timestamptz + (g %% 3600) * interval '1 second' - interval '30 days',
			$1::timestamptz + (g %% 3600) * interval '1 second', true, 1, (ARRAY[%s])[g %% %d + 1]
		FROM generate_series(1, %d) g`, env.product.ID, env.plan, quoted(accs), accounts, n), D)
	require.NoError(b, err)
	env.exec(b, `VACUUM ANALYZE`)
	load := env.load(b, loadWorkers)

	// plain moves the due rows' period end by 30 days and back, timing
	// the first statement only.
	window := func(now time.Time) (lo, hi time.Time) {
		lo = time.Date(now.Year(), now.Month(), now.Day()+7, 0, 0, 0, 0, loc)
		return lo, lo.AddDate(0, 0, 1)
	}
	plain := func(now time.Time) time.Duration {
		lo, hi := window(now)
		start := time.Now()
		res, err := db.SQL.ExecContext(ctx, `UPDATE resources
			SET period_end = period_end + interval '30 days', period_paid = period_paid + period_price, updated_at = $1
			WHERE billing_mode = 'PREPAID' AND auto_renew AND state IN ('ACTIVE', 'STOPPED', 'GRACE')
			  AND period_end >= $2 AND period_end < $3`, now, lo.UTC(), hi.UTC())
		d := time.Since(start)
		require.NoError(b, err)
		got, err := res.RowsAffected()
		require.NoError(b, err)
		require.EqualValues(b, n, got)
		_, err = db.SQL.ExecContext(ctx, `UPDATE resources
			SET period_end = period_end - interval '30 days', period_paid = period_paid - period_price
			WHERE billing_mode = 'PREPAID' AND auto_renew AND state IN ('ACTIVE', 'STOPPED', 'GRACE')
			  AND period_end >= $1 AND period_end < $2`, lo.AddDate(0, 0, 30).UTC(), hi.AddDate(0, 0, 30).UTC())
		require.NoError(b, err)
		env.exec(b, `VACUUM ANALYZE resources`)
		return d
	}
	// renew runs the attempts at now, the clock set to now, and checks
	// that every one renewed.
	now := first
	renewed := 0
	renew := func(sweep func(func() (int, error)) (int, loadgen.Loaded)) loadgen.Loaded {
		b.Helper()
		clock.Advance(now.Sub(clock.Now()))
		made, r := sweep(func() (int, error) { return svc.RunAutoRenewAttempts(ctx, now) })
		require.Equal(b, n, made)
		renewed += n
		var steps int
		require.NoError(b, db.SQL.QueryRowContext(ctx,
			`SELECT count(*) FROM lifecycle_steps WHERE step = 'AUTO_RENEW_ATTEMPT_T-7' AND outcome = 'RENEWED'`).Scan(&steps))
		require.Equal(b, renewed, steps)
		now = now.AddDate(0, 0, 30)
		return r
	}
	alone := func(run func() (int, error)) (int, loadgen.Loaded) {
		start := time.Now()
		made, err := run()
		d := time.Since(start)
		require.NoError(b, err)
		return made, loadgen.Loaded{Job: d}
	}
	withLoad := func(run func() (int, error)) (int, loadgen.Loaded) {
		// The load's own resources start with auto-renew on; keep them
		// out of the attempts.
		env.exec(b, `UPDATE resources SET auto_renew = false WHERE auto_renew AND account_id IN (`+quoted(load.Accounts())+`)`)
		made, r, err := load.During(run)
		require.NoError(b, err)
		return made, r
	}
	var (
		plainD, renewD, loadedD, floorD time.Duration
		during, without                 loadgen.Rate
	)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// The baseline's faster of two runs (see BenchmarkExpireDue).
		plainD += min(plain(now), plain(now))
		// The database floor, rolled back, then what the sweep writes.
		lo, hi := window(now)
		d, perRenewal := runRenewFloor(b, db, now, lo, hi, "INV-"+now.In(loc).Format("200601"), "AUTO_RENEW_ATTEMPT_T-7", lanes)
		floorD += d
		env.exec(b, `VACUUM ANALYZE`)
		before, err := renewFootprint(ctx, db.SQL)
		require.NoError(b, err)
		b.StartTimer()
		r := renew(alone)
		b.StopTimer()
		after, err := renewFootprint(ctx, db.SQL)
		require.NoError(b, err)
		floorWrote := footprint.Counts{}
		for k, v := range perRenewal {
			floorWrote[k] = v * int64(n)
		}
		require.Empty(b, footprint.Compare(after.Sub(before), floorWrote, "sweep", "floor"),
			"the floor's SQL no longer writes what the sweep writes")
		renewD += r.Job
		solo := r.Job
		env.exec(b, `VACUUM ANALYZE`)
		r = renew(withLoad)
		loadedD += r.Job
		during.Add(r.Rate)
		without.Add(loadAlone(b, load, r.Job))
		b.Logf("iteration %d: %d renewals in %s alone, in %s under load with %d checkouts (%d without the attempts)",
			i, n, solo, r.Job, r.N, without.N)
		b.StartTimer()
	}
	b.StopTimer()
	perSec := float64(n*b.N) / renewD.Seconds()
	basePerSec := float64(n*b.N) / plainD.Seconds()
	b.ReportMetric(float64(n), "rows")
	b.ReportMetric(perSec, "renew-rows/s")
	b.ReportMetric(basePerSec, "plain-rows/s")
	b.ReportMetric(perSec/basePerSec, "ratio")
	floorPerSec := float64(n*b.N) / floorD.Seconds()
	b.ReportMetric(floorPerSec, "floor-rows/s")
	b.ReportMetric(floorPerSec/basePerSec, "floor-ratio")
	b.ReportMetric(float64(n*b.N)/loadedD.Seconds(), "renew-under-load-rows/s")
	loadgen.Report(b, during, without)
}

// skipOnSQLite skips a benchmark of n rows on SQLite: its seeding is
// PostgreSQL SQL, and the goals are PostgreSQL's.
func skipOnSQLite(b *testing.B, n int) {
	b.Helper()
	if !testdb.Postgres() {
		b.Skipf("PostgreSQL-only benchmark (%d rows; the goals are PostgreSQL's): set %s (make bench does)", n, testdb.EnvURL)
	}
}

// benchEnv is a database with the checkout wired on it and one product
// with one plan (s-general-1x1, 181,000 VAT included, PREPAID).
type benchEnv struct {
	db       *store.DB
	clock    *clockwork.FakeClock
	outbox   *events.Outbox
	ledger   *ledger.Service
	checkout *checkout.Service
	product  *ent.Product
	plan     pulid.ID
	sys      context.Context
}

func newBenchEnv(b *testing.B, db *store.DB, clock *clockwork.FakeClock) *benchEnv {
	b.Helper()
	e := &benchEnv{db: db, clock: clock, outbox: events.NewOutbox(true, nil), sys: auth.SystemContext(context.Background())}
	e.ledger = ledger.New(db, e.outbox, clock)
	e.checkout = checkout.New(checkout.Config{
		DB: db, Ledger: e.ledger, Outbox: e.outbox, Coupons: coupon.New(db, clock), Gateway: &fakeGateway{},
		Provisioner: provision.NewSimulator(provision.SimulatorConfig{Clock: clock}),
		Invoices:    invoicing.New(db, clock, nil), Clock: clock, PublicURL: "https://billing.test",
	})
	var err error
	e.product, err = db.Client.Product.Create().SetCode("vserver").SetName("vServer").SetAllowedPeriods([]int{1}).
		SetRefundable(true).SetAutoRenewOptional(true).SetGraceDays(15).SetSuspensionDays(15).Save(e.sys)
	require.NoError(b, err)
	pl, err := db.Client.Plan.Create().SetProductID(e.product.ID).SetCode("s-general-1x1").SetName("s-general-1x1").Save(e.sys)
	require.NoError(b, err)
	pc, err := db.Client.PlanComponent.Create().SetPlanID(pl.ID).SetCode("flavor").SetName("s-general-1x1").
		SetUnit("unit").SetMinQuantity(1).SetMaxQuantity(4).SetDefaultQuantity(1).Save(e.sys)
	require.NoError(b, err)
	_, err = db.Client.Price.Create().SetComponentID(pc.ID).SetBillingMode(price.BillingModePREPAID).
		SetUnitPrice(vnd(181_000)).SetVatRate(vnd(10)).SetVatIncluded(true).Save(e.sys)
	require.NoError(b, err)
	e.plan = pl.ID
	return e
}

// lifecycle is the lifecycle service on the environment, with or
// without notices.
func (e *benchEnv) lifecycle(notices bool) *lifecycle.Service {
	cfg := lifecycle.Config{DB: e.db, Checkout: e.checkout, Ledger: e.ledger, Outbox: e.outbox, Clock: e.clock}
	if notices {
		cfg.Notify = notify.New(notify.Config{DB: e.db, Outbox: e.outbox, Clock: e.clock})
	}
	return lifecycle.New(cfg)
}

// accounts opens n accounts, each funded with credit VND (none for 0).
func (e *benchEnv) accounts(b *testing.B, n int, credit int64) []pulid.ID {
	b.Helper()
	svc := account.New(e.db, e.clock)
	out := make([]pulid.ID, n)
	for i := range out {
		a, err := svc.Create(e.sys, account.CreateInput{Name: fmt.Sprint("bench ", i), OwnerSubject: "bench-" + string(pulid.New("u"))})
		require.NoError(b, err)
		out[i] = a.ID
		if credit == 0 {
			continue
		}
		require.NoError(b, store.WithTx(e.sys, e.db.Client, func(tx *ent.Tx) error {
			_, err := e.ledger.Credit(e.sys, tx, ledger.Movement{AccountID: a.ID, Amount: vnd(credit), Kind: ledgertransaction.KindADJUSTMENT})
			return err
		}))
	}
	return out
}

func (e *benchEnv) exec(b *testing.B, queries ...string) {
	b.Helper()
	for _, q := range queries {
		_, err := e.db.SQL.ExecContext(e.sys, q)
		require.NoError(b, err, q)
	}
}

// load places checkouts, one worker per funded account.
func (e *benchEnv) load(b *testing.B, workers int) *loadgen.Load {
	b.Helper()
	return loadgen.New(e.checkout, "s-general-1x1", e.accounts(b, workers, 100_000_000_000))
}

// loadAlone runs the load by itself for d.
func loadAlone(b *testing.B, l *loadgen.Load, d time.Duration) loadgen.Rate {
	b.Helper()
	r, err := l.Alone(d)
	require.NoError(b, err)
	return r
}

// quoted renders ids as SQL string literals separated by commas.
func quoted(ids []pulid.ID) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += "'" + string(id) + "'"
	}
	return s
}
