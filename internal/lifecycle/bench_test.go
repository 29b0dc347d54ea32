package lifecycle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/resource"
	"billing/internal/account"
	"billing/internal/auth"
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
	"billing/internal/testdb"
)

// benchRows is the number of due resources each sweep moves.
const benchRows = 100_000

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
// notification and its event; it is also measured without notices. Every
// measurement starts from the same table (all ACTIVE, no events or
// notices, vacuumed). Run with make bench and BILLING_TEST_DATABASE_URL.
func BenchmarkExpireDue(b *testing.B) {
	testdb.RequirePostgres(b)
	ctx := auth.SystemContext(context.Background())
	db := testdb.New(b)
	T := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(T.Add(time.Hour))
	outbox := events.NewOutbox(true, nil)
	led := ledger.New(db, outbox, clock)
	co := checkout.New(checkout.Config{
		DB: db, Ledger: led, Outbox: outbox, Coupons: coupon.New(db, clock), Gateway: &fakeGateway{},
		Provisioner: provision.NewSimulator(provision.SimulatorConfig{Clock: clock}),
		Invoices:    invoicing.New(db, clock, nil), Clock: clock, PublicURL: "https://billing.test",
	})
	cfg := lifecycle.Config{DB: db, Checkout: co, Ledger: led, Outbox: outbox, Clock: clock}
	quiet := lifecycle.New(cfg)
	cfg.Notify = notify.New(notify.Config{DB: db, Outbox: outbox, Clock: clock})
	loud := lifecycle.New(cfg)

	// 100 accounts, one product, 100,000 ACTIVE resources whose periods
	// ended during the hour before now.
	p, err := db.Client.Product.Create().SetCode("vserver").SetName("vServer").SetAllowedPeriods([]int{1}).Save(ctx)
	require.NoError(b, err)
	accounts := account.New(db, clock)
	accs := make([]pulid.ID, 100)
	for i := range accs {
		a, err := accounts.Create(ctx, account.CreateInput{Name: fmt.Sprint("bench ", i), OwnerSubject: fmt.Sprint("bench-", i)})
		require.NoError(b, err)
		accs[i] = a.ID
	}
	comps := []pricing.Component{{Code: "flavor", Name: "s-general-1x1", Unit: "server", Quantity: 1,
		UnitPrice: vnd(181_000), VATRate: vnd(10), VATIncluded: true}}
	for start := 0; start < benchRows; start += 2000 {
		creates := make([]*ent.ResourceCreate, 0, 2000)
		for i := start; i < min(start+2000, benchRows); i++ {
			end := T.Add(-time.Duration(i%3600) * time.Second)
			creates = append(creates, db.Client.Resource.Create().
				SetAccountID(accs[i%len(accs)]).SetProductID(p.ID).SetPlanID(pulid.New("pln")).
				SetName(fmt.Sprintf("srv-%06d", i)).SetBillingMode(resource.BillingModePREPAID).
				SetState(resource.StateACTIVE).SetComponents(comps).SetPeriodPrice(vnd(181_000)).
				SetPeriodMonths(1).SetPeriodStart(end.Add(-month)).SetPeriodEnd(end).SetAutoRenew(i%2 == 0))
		}
		require.NoError(b, db.Client.Resource.CreateBulk(creates...).Exec(ctx))
	}
	reset := func() {
		b.Helper()
		for _, q := range []string{
			`UPDATE resources SET state = 'ACTIVE'`,
			`DELETE FROM notifications`,
			`DELETE FROM outbox_events`,
			`VACUUM ANALYZE resources`,
			`VACUUM ANALYZE notifications`,
			`VACUUM ANALYZE outbox_events`,
		} {
			_, err := db.SQL.ExecContext(ctx, q)
			require.NoError(b, err, q)
		}
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

	var loudD, quietD, plainD time.Duration
	b.ResetTimer()
	for range b.N {
		plainD += measure(func() (int, error) {
			res, err := db.SQL.ExecContext(ctx,
				`UPDATE resources SET state = 'GRACE', updated_at = $2
				 WHERE billing_mode = 'PREPAID' AND state IN ('ACTIVE', 'STOPPED') AND period_end <= $1`, now, now)
			if err != nil {
				return 0, err
			}
			n, err := res.RowsAffected()
			return int(n), err
		})
		loudD += measure(func() (int, error) { return loud.ExpireDue(ctx, now) })
		quietD += measure(func() (int, error) { return quiet.ExpireDue(ctx, now) })
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(benchRows*b.N) / d.Seconds() }
	b.ReportMetric(rate(plainD), "plain-rows/s")
	b.ReportMetric(rate(loudD), "expire-rows/s")
	b.ReportMetric(rate(quietD), "expire-no-notices-rows/s")
	b.ReportMetric(rate(loudD)/rate(plainD), "ratio")
	b.ReportMetric(rate(quietD)/rate(plainD), "ratio-no-notices")
}
