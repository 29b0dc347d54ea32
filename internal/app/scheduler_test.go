package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/ent/lifecyclestep"
	"billing/ent/price"
	"billing/ent/resource"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/checkout"
	"billing/internal/jobs"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/notify"
	"billing/internal/pricing"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// The lifecycle scheduler tests run two months of 500 prepaid resources
// through the service's jobs and compare, after every step, each
// resource's state and period with a model of the rules (SPEC §6 and the
// lifecycle package's schedule), and at the end every charge, invoice and
// notice with what the model says should exist, once each.
//
// The clock is fake. Steps are every day at 02:00 and 15:00 (the
// resources' ends, so expiry, suspension, release and purge fall on
// them), 08:00 (auto-renew) and 08:05 (reminders, then top-ups), in the
// billing time zone. The scheduler starts at 00:00:30, so interval
// jobs fire at hh:mm:30, never on a step, and each due job fires exactly
// once per step.

var hcm = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		panic(err)
	}
	return loc
}()

const (
	scenarioDays = 62
	dayLen       = 24 * time.Hour
	monthLen     = 30 * dayLen
)

// schedStart is when the service (and its scheduler) starts.
var schedStart = time.Date(2026, 12, 1, 0, 0, 30, 0, hcm)

// localDay returns hh:mm on day d of the scenario, in the billing zone.
func localDay(d, hh, mm int) time.Time {
	return time.Date(2026, 12, 1+d, hh, mm, 0, 0, hcm)
}

type sprod struct {
	id, plan     pulid.ID
	code         string
	price        int64
	grace, susp  int
	allowedMonth []int
}

type sacc struct {
	id     pulid.ID
	credit int64
}

type sres struct {
	id      pulid.ID
	acc     *sacc
	prod    *sprod
	state   resource.State
	end     time.Time
	auto    bool
	months  int
	purgeAt time.Time
}

type topup struct {
	acc    *sacc
	amount int64
}

// scenario is the generated data: products, accounts with their credit,
// resources, and top-ups by time.
type scenario struct {
	prods  []*sprod
	accs   []*sacc
	res    []*sres
	topups map[time.Time][]topup
	// mustHold is the resource of SPEC's case: credit short at T−7,
	// topped up before T−4.
	mustHold *sres
}

// scenarioAccounts is the number of accounts, 4 resources each: 500
// resources, or 120 under the race detector (which checks concurrency,
// not volume, and slows SQLite about tenfold).
func scenarioAccounts() int {
	if raceEnabled {
		return 30
	}
	return 125
}

// newScenario generates the accounts and resources, deterministic.
//
//	products   vserver 100,000 grace 15 + suspension 15 · vstorage 60,000 7 + 10 · vmonitor 20,000 3 + 5
//	credit     rich (10,000,000), broke (0), or 50,000…300,000; some accounts are topped up at 08:05 on a day
//	resources  end on day 1…58 at 02:00 or 15:00 (distinct per account); auto-renew on for ~65%,
//	           for 1 month (or 3); ~10% STOPPED, ~5% in the trash with a purge time
//
// Account 0 is the must-hold case: one auto-renewed vserver ending on day
// 20 at 15:00 with no credit, topped up with its price on day 14 at 08:05
// (after the T−7 attempt, before T−4).
func newScenario() *scenario {
	rng := rand.New(rand.NewPCG(20261201, 42))
	sc := &scenario{topups: map[time.Time][]topup{}}
	sc.prods = []*sprod{
		{code: "vserver", price: 100_000, grace: 15, susp: 15, allowedMonth: []int{1, 3}},
		{code: "vstorage", price: 60_000, grace: 7, susp: 10, allowedMonth: []int{1, 3}},
		{code: "vmonitor", price: 20_000, grace: 3, susp: 5, allowedMonth: []int{1, 3}},
	}
	credits := []int64{50_000, 100_000, 150_000, 200_000, 300_000}
	for i := range scenarioAccounts() {
		a := &sacc{}
		switch i % 6 {
		case 0:
			a.credit = 10_000_000
		case 1:
			a.credit = 0
		default:
			a.credit = credits[rng.IntN(len(credits))]
		}
		if i%6 == 5 {
			at := localDay(1+rng.IntN(55), 8, 5)
			sc.topups[at] = append(sc.topups[at], topup{acc: a, amount: 100_000 * int64(1+rng.IntN(2))})
		}
		sc.accs = append(sc.accs, a)
		used := map[time.Time]bool{}
		for j := range 4 {
			r := &sres{acc: a, prod: sc.prods[rng.IntN(len(sc.prods))], state: resource.StateACTIVE, months: 1}
			for {
				hh := 2
				if rng.IntN(2) == 1 {
					hh = 15
				}
				r.end = localDay(1+rng.IntN(58), hh, 0)
				if !used[r.end] {
					used[r.end] = true
					break
				}
			}
			r.auto = rng.Float64() < 0.65
			if rng.IntN(10) == 0 {
				r.months = 3
			}
			switch p := rng.Float64(); {
			case p < 0.05:
				r.state = resource.StateTRASHED
				r.purgeAt = localDay(1+rng.IntN(50), 2, 0)
			case p < 0.15:
				r.state = resource.StateSTOPPED
			}
			if i == 0 {
				// The must-hold case, and three resources that do not renew.
				r.prod, r.state, r.months, r.auto = sc.prods[0], resource.StateACTIVE, 1, j == 0
				r.end = localDay(20+j, 15, 0)
				if j == 0 {
					sc.mustHold = r
				}
			}
			sc.res = append(sc.res, r)
		}
	}
	sc.accs[0].credit = 0
	at := localDay(14, 8, 5)
	sc.topups[at] = append(sc.topups[at], topup{acc: sc.accs[0], amount: 100_000})
	return sc
}

// build writes the scenario to the database, through the services where
// they exist (accounts, credit) and directly for the catalog and the
// resources (as if bought earlier).
func (sc *scenario) build(t *testing.T, a *App, db *store.DB, clock clockwork.Clock) {
	t.Helper()
	ctx := auth.SystemContext(context.Background())
	c := db.Client
	for _, p := range sc.prods {
		prod, err := c.Product.Create().SetCode(p.code).SetName(p.code).SetAllowedPeriods(p.allowedMonth).
			SetGraceDays(p.grace).SetSuspensionDays(p.susp).SetTrashDays(7).Save(ctx)
		require.NoError(t, err)
		plan, err := c.Plan.Create().SetProductID(prod.ID).SetCode(p.code + "-std").SetName(p.code + " standard").Save(ctx)
		require.NoError(t, err)
		pc, err := c.PlanComponent.Create().SetPlanID(plan.ID).SetCode("flavor").SetName(p.code).
			SetUnit("unit").SetMinQuantity(1).SetMaxQuantity(1).SetDefaultQuantity(1).Save(ctx)
		require.NoError(t, err)
		_, err = c.Price.Create().SetComponentID(pc.ID).SetBillingMode(price.BillingModePREPAID).
			SetUnitPrice(money.VND(p.price)).SetVatRate(money.VND(10)).SetVatIncluded(true).Save(ctx)
		require.NoError(t, err)
		p.id, p.plan = prod.ID, plan.ID
	}
	accounts := account.New(db, clock)
	for i, sa := range sc.accs {
		acc, err := accounts.Create(ctx, account.CreateInput{Name: fmt.Sprint("Customer ", i), OwnerSubject: fmt.Sprint("owner-", i)})
		require.NoError(t, err)
		sa.id = acc.ID
		if sa.credit > 0 {
			credit(t, a, db, sa.id, sa.credit)
		}
	}
	now := clock.Now()
	creates := make([]*ent.ResourceCreate, len(sc.res))
	for i, r := range sc.res {
		r.id = pulid.New("res")
		comps := []pricing.Component{{Code: "flavor", Name: r.prod.code, Unit: "unit", Quantity: 1,
			UnitPrice: money.VND(r.prod.price), VATRate: money.VND(10), VATIncluded: true}}
		rc := c.Resource.Create().SetID(r.id).SetAccountID(r.acc.id).SetProductID(r.prod.id).SetPlanID(r.prod.plan).
			SetName(fmt.Sprintf("%s-%03d", r.prod.code, i)).SetBillingMode(resource.BillingModePREPAID).
			SetState(r.state).SetComponents(comps).SetPeriodPrice(money.VND(r.prod.price)).
			SetPeriodPaid(money.VND(r.prod.price)).SetPeriodMonths(1).
			SetPeriodStart(r.end.Add(-monthLen).UTC()).SetPeriodEnd(r.end.UTC()).
			SetAutoRenew(r.auto).SetAutoRenewMonths(r.months).SetCreatedAt(now).SetUpdatedAt(now)
		if r.state == resource.StateTRASHED {
			rc.SetTrashedAt(now).SetPurgeAt(r.purgeAt.UTC())
		}
		creates[i] = rc
	}
	for part := range slices.Chunk(creates, 100) {
		require.NoError(t, c.Resource.CreateBulk(part...).Exec(ctx))
	}
}

func credit(t *testing.T, a *App, db *store.DB, acc pulid.ID, amount int64) {
	t.Helper()
	ctx := auth.SystemContext(context.Background())
	require.NoError(t, store.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
		_, err := a.Ledger.Credit(ctx, tx, ledger.Movement{AccountID: acc, Amount: money.VND(amount), Kind: ledgertransaction.KindADJUSTMENT})
		return err
	}))
}

// model is the rules, applied step by step to the scenario: what every
// resource's state and period must be, and which charges and notices
// must exist (each notice with the time it is sent).
type model struct {
	res       []*mres
	balance   map[pulid.ID]int64
	charges   map[pulid.ID][]int64 // per account, amounts debited
	attempted map[string]bool      // resource|end|k
	notices   map[string]time.Time // dedupe key → when
	renewals  map[pulid.ID][]time.Time
}

type mres struct {
	*sres
	state resource.State
	end   time.Time
}

func newModel(sc *scenario) *model {
	m := &model{
		balance: map[pulid.ID]int64{}, charges: map[pulid.ID][]int64{}, attempted: map[string]bool{},
		notices: map[string]time.Time{}, renewals: map[pulid.ID][]time.Time{},
	}
	for _, a := range sc.accs {
		m.balance[a.id] = a.credit
	}
	for _, r := range sc.res {
		m.res = append(m.res, &mres{sres: r, state: r.state, end: r.end.UTC()})
	}
	return m
}

func (m *model) notice(id pulid.ID, end time.Time, step string, now time.Time) {
	key := notify.PeriodKey(id, end, step)
	if _, ok := m.notices[key]; !ok {
		m.notices[key] = now
	}
}

// step applies what the jobs due at now do.
func (m *model) step(now time.Time) {
	m.sweep(now)
	switch l := now.In(hcm); {
	case l.Hour() == 8 && l.Minute() == 0:
		m.autoRenew(now)
	case l.Hour() == 8 && l.Minute() == 5:
		m.remind(now)
	}
}

// sweep: T → GRACE, T + grace days → SUSPENDED, T + grace + suspension
// days → RELEASED, purge time → DELETED; each notified at that moment.
func (m *model) sweep(now time.Time) {
	for _, r := range m.res {
		g, s := time.Duration(r.prod.grace)*dayLen, time.Duration(r.prod.susp)*dayLen
		switch {
		case (r.state == resource.StateACTIVE || r.state == resource.StateSTOPPED) && !r.end.After(now):
			r.state = resource.StateGRACE
			m.notice(r.id, r.end, "expired", now)
		case r.state == resource.StateGRACE && !r.end.Add(g).After(now):
			r.state = resource.StateSUSPENDED
			m.notice(r.id, r.end, "suspended", now)
		case r.state == resource.StateSUSPENDED && !r.end.Add(g+s).After(now):
			r.state = resource.StateRELEASED
			m.notice(r.id, r.end, "released", now)
		case r.state == resource.StateTRASHED && !r.purgeAt.After(now):
			r.state = resource.StateDELETED
			m.notice(r.id, r.purgeAt, "purged", now)
		}
	}
}

// runDay is the local date a run at now makes the steps of: today from
// 08:00, yesterday before.
func runDay(now time.Time) time.Time {
	l := now.In(hcm)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, hcm)
	if l.Hour() < 8 {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// daysUntil counts calendar days from the local date d0 to x's local date.
func daysUntil(d0, x time.Time) int {
	l := x.In(hcm)
	a := time.Date(d0.Year(), d0.Month(), d0.Day(), 0, 0, 0, 0, time.UTC)
	b := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a) / dayLen)
}

// dueStep is the step of steps (descending) due diff days before its
// deadline: the smallest one ≥ diff.
func dueStep(steps []int, diff int) (int, bool) {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i] >= diff {
			return steps[i], true
		}
	}
	return 0, false
}

// autoRenew: the attempt of day T−k (k = 7, 4, 1, 0), per account earliest
// end first until credit runs short; renewed → end + months × 30 days,
// ACTIVE again from GRACE, one success notice; failed → one notice per
// attempt.
func (m *model) autoRenew(now time.Time) {
	d0 := runDay(now)
	type cand struct {
		r *mres
		k int
	}
	byAcc := map[pulid.ID][]cand{}
	for _, r := range m.res {
		if !r.auto || (r.state != resource.StateACTIVE && r.state != resource.StateSTOPPED && r.state != resource.StateGRACE) {
			continue
		}
		diff := daysUntil(d0, r.end)
		if diff < 0 {
			continue
		}
		k, ok := dueStep([]int{7, 4, 1, 0}, diff)
		if !ok || m.attempted[fmt.Sprint(r.id, r.end.UnixMicro(), k)] {
			continue
		}
		byAcc[r.acc.id] = append(byAcc[r.acc.id], cand{r, k})
	}
	for acc, cs := range byAcc {
		sort.Slice(cs, func(i, j int) bool {
			if !cs[i].r.end.Equal(cs[j].r.end) {
				return cs[i].r.end.Before(cs[j].r.end)
			}
			return cs[i].r.id < cs[j].r.id
		})
		short := false
		for _, c := range cs {
			r := c.r
			m.attempted[fmt.Sprint(r.id, r.end.UnixMicro(), c.k)] = true
			amount := r.prod.price * int64(r.months)
			if short || m.balance[acc] < amount {
				short = true
				step := "autorenew.failed.t"
				if c.k > 0 {
					step += fmt.Sprint("-", c.k)
				}
				m.notice(r.id, r.end, step, now)
				continue
			}
			m.balance[acc] -= amount
			m.charges[acc] = append(m.charges[acc], amount)
			m.renewals[r.id] = append(m.renewals[r.id], r.end)
			m.notice(r.id, r.end, "autorenew.succeeded", now)
			r.end = r.end.Add(time.Duration(r.months) * monthLen)
			if r.state == resource.StateGRACE {
				r.state = resource.StateACTIVE
			}
		}
	}
}

// remind: 7, 3 and 1 days before expiry (ACTIVE, STOPPED), suspension
// (GRACE; only steps shorter than the grace period) and release
// (SUSPENDED; only steps shorter than the suspension), deadline after now.
func (m *model) remind(now time.Time) {
	d0 := runDay(now)
	shorter := func(days int) []int {
		return slices.DeleteFunc([]int{7, 3, 1}, func(k int) bool { return k >= days })
	}
	for _, r := range m.res {
		var (
			name     string
			deadline time.Time
			steps    []int
		)
		switch r.state {
		case resource.StateACTIVE, resource.StateSTOPPED:
			name, deadline, steps = "t", r.end, []int{7, 3, 1}
		case resource.StateGRACE:
			name, deadline, steps = "suspension", r.end.Add(time.Duration(r.prod.grace)*dayLen), shorter(r.prod.grace)
		case resource.StateSUSPENDED:
			name, deadline = "release", r.end.Add(time.Duration(r.prod.grace+r.prod.susp)*dayLen)
			steps = shorter(r.prod.susp)
		default:
			continue
		}
		if !deadline.After(now) {
			continue
		}
		if k, ok := dueStep(steps, daysUntil(d0, deadline)); ok {
			m.notice(r.id, r.end, fmt.Sprintf("%s-%d", name, k), now)
		}
	}
}

// steps are the scenario's clock instants, in order.
func steps() []time.Time {
	var out []time.Time
	for d := range scenarioDays {
		for _, hm := range [][2]int{{2, 0}, {8, 0}, {8, 5}, {15, 0}} {
			out = append(out, localDay(d, hm[0], hm[1]))
		}
	}
	return out
}

// checkStates compares every resource's state and period end with the
// model's.
func checkStates(t *testing.T, db *store.DB, m *model, now time.Time) {
	t.Helper()
	rs, err := db.Client.Resource.Query().Select(resource.FieldState, resource.FieldPeriodEnd).
		All(auth.SystemContext(context.Background()))
	require.NoError(t, err)
	got := make(map[pulid.ID]*ent.Resource, len(rs))
	for _, r := range rs {
		got[r.ID] = r
	}
	require.Len(t, got, len(m.res))
	for _, r := range m.res {
		g := got[r.id]
		if g.State != r.state || !g.PeriodEnd.Equal(r.end) {
			t.Fatalf("at %s: %s (%s, auto-renew %v, account credit %d): got %s until %s, want %s until %s",
				now.In(hcm), r.id, r.prod.code, r.auto, m.balance[r.acc.id],
				g.State, g.PeriodEnd.In(hcm), r.state, r.end.In(hcm))
		}
	}
}

// checkFinal compares the charges, invoices, attempts and notices with
// the model's, and verifies every account's ledger.
func checkFinal(t *testing.T, a *App, db *store.DB, sc *scenario, m *model) {
	t.Helper()
	ctx := auth.SystemContext(context.Background())
	c := db.Client

	// Every renewal charged once: one AUTO_RENEW invoice per resource and
	// period, one PURCHASE debit per renewal, balances as the model says.
	invs, err := c.Invoice.Query().Where(invoice.ActionEQ(invoice.ActionAUTO_RENEW)).All(ctx)
	require.NoError(t, err)
	got := map[pulid.ID][]time.Time{}
	for _, inv := range invs {
		got[inv.ResourceID] = append(got[inv.ResourceID], inv.PeriodStart.UTC())
	}
	renewals := 0
	for _, r := range m.res {
		want := m.renewals[r.id]
		renewals += len(want)
		g := got[r.id]
		slices.SortFunc(g, time.Time.Compare)
		require.Equal(t, len(want), len(g), "AUTO_RENEW invoices of %s", r.id)
		for i := range want {
			require.True(t, want[i].Equal(g[i]), "renewal %d of %s: want from %s, got %s", i, r.id, want[i], g[i])
		}
	}
	require.Len(t, invs, renewals)
	require.Positive(t, renewals)
	for _, acc := range sc.accs {
		es, err := c.LedgerEntry.Query().Where(ledgerentry.AccountID(acc.id), ledgerentry.KindEQ(ledgerentry.KindPURCHASE),
			ledgerentry.LedgerKindEQ(ledgerentry.LedgerKindCUSTOMER_AVAILABLE)).All(ctx)
		require.NoError(t, err)
		amounts, want := []string{}, []string{}
		for _, e := range es {
			amounts = append(amounts, e.Amount.Abs().String())
		}
		for _, x := range m.charges[acc.id] {
			want = append(want, money.VND(x).String())
		}
		slices.Sort(want)
		slices.Sort(amounts)
		require.Equal(t, want, amounts, "debits of %s", acc.id)
		w, err := a.Ledger.Wallet(ctx, acc.id)
		require.NoError(t, err)
		require.Equal(t, money.VND(m.balance[acc.id]).String(), w.Balance.String(), "balance of %s", acc.id)
		require.NoError(t, a.Ledger.Verify(ctx, acc.id))
	}

	// Every attempt recorded once.
	attempts, err := c.LifecycleStep.Query().Where(lifecyclestep.StepHasPrefix("AUTO_RENEW_ATTEMPT_")).Count(ctx)
	require.NoError(t, err)
	require.Equal(t, len(m.attempted), attempts)
	renewedSteps, err := c.LifecycleStep.Query().Where(lifecyclestep.Step(checkout.AutoRenewStep)).Count(ctx)
	require.NoError(t, err)
	require.Equal(t, renewals, renewedSteps)

	// Every notice sent once, when the rules say.
	ns, err := c.Notification.Query().All(ctx)
	require.NoError(t, err)
	gotN := map[string]time.Time{}
	for _, n := range ns {
		_, dup := gotN[n.DedupeKey]
		require.False(t, dup, n.DedupeKey)
		gotN[n.DedupeKey] = n.CreatedAt
	}
	var missing, extra []string
	for k := range m.notices {
		if _, ok := gotN[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range gotN {
		if _, ok := m.notices[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "notices not sent")
	require.Empty(t, extra, "notices not expected")
	for k, at := range m.notices {
		require.True(t, at.Equal(gotN[k]), "%s: want at %s, sent at %s", k, at.In(hcm), gotN[k].In(hcm))
	}
	// The must-hold case, in the database: failed at T−7 for short
	// credit, renewed at T−4 after the top-up, one AUTO_RENEW invoice.
	mh := sc.mustHold
	ss, err := c.LifecycleStep.Query().Where(lifecyclestep.ResourceID(mh.id), lifecyclestep.PeriodEnd(mh.end.UTC())).
		Order(ent.Asc(lifecyclestep.FieldCreatedAt), ent.Asc(lifecyclestep.FieldStep)).All(ctx)
	require.NoError(t, err)
	var got2 []string
	for _, st := range ss {
		got2 = append(got2, st.Step+" "+st.Outcome+" "+st.CreatedAt.In(hcm).Format("01-02 15:04"))
	}
	require.Equal(t, []string{
		"AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT 12-14 08:00",
		checkout.AutoRenewStep + " RENEWED 12-17 08:00",
		"AUTO_RENEW_ATTEMPT_T-4 RENEWED 12-17 08:00",
	}, got2)
	mhInv, err := c.Invoice.Query().Where(invoice.ResourceID(mh.id), invoice.ActionEQ(invoice.ActionAUTO_RENEW)).All(ctx)
	require.NoError(t, err)
	require.Len(t, mhInv, 1)
	require.True(t, mhInv[0].PeriodStart.Equal(mh.end))
	require.Equal(t, "100000", mhInv[0].Total.String())

	t.Logf("%d resources, %d renewals, %d attempts, %d notices", len(m.res), renewals, len(m.attempted), len(ns))
}

// runScenario drives the scenario through every step: advance the clock,
// let runStep run the jobs due, apply the model, top up, compare states.
func runScenario(t *testing.T, a *App, db *store.DB, clock *clockwork.FakeClock, sc *scenario,
	runStep func(prev, now time.Time)) *model {
	t.Helper()
	m := newModel(sc)
	prev := clock.Now()
	for _, now := range steps() {
		clock.Advance(now.Sub(clock.Now()))
		runStep(prev, now)
		m.step(now.UTC())
		for _, tu := range sc.topups[now] {
			credit(t, a, db, tu.acc.id, tu.amount)
			m.balance[tu.acc.id] += tu.amount
		}
		checkStates(t, db, m, now)
		prev = now
	}
	// The must-hold case: renewed at T−4, charged once.
	mh := sc.mustHold
	T := mh.end.UTC()
	require.Equal(t, []time.Time{T}, m.renewals[mh.id])
	require.Equal(t, localDay(16, 8, 0).UTC(), m.notices[notify.PeriodKey(mh.id, T, "autorenew.succeeded")].UTC())
	require.Contains(t, m.notices, notify.PeriodKey(mh.id, T, "autorenew.failed.t-7"))
	return m
}

// newApp wires an instance on db with the fake clock, the sandbox gateway
// and the provisioning simulator.
func newApp(t *testing.T, db *store.DB, dsn string, clock clockwork.Clock, scheduler bool,
	hook func(*jobs.Options, []jobs.Job) []jobs.Job) *App {
	t.Helper()
	url := ""
	if db.IsPostgres() {
		url = dsn
	}
	a, err := New(context.Background(), Options{
		DB: db, DatabaseURL: url, Secret: []byte("0123456789abcdef0123456789abcdef"), Clock: clock, Location: hcm,
		Logger: slog.New(slog.DiscardHandler), PublicURL: "http://127.0.0.1:1", Sandbox: true,
		Provisioner: "simulator", ProvisionDelay: 0, Scheduler: scheduler, schedulerHook: hook,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

// TestLifecycleJobs runs the scenario on one instance (both engines), each
// step running the jobs due — the sweeps every step, auto-renew at 08:00,
// reminders at 08:05 — as `billing jobs run` would, and again when
// something is due: the second run must change nothing.
func TestLifecycleJobs(t *testing.T) {
	t.Parallel()
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	clock := clockwork.NewFakeClockAt(schedStart)
	a := newApp(t, db, dsn, clock, false, nil)
	sc := newScenario()
	sc.build(t, a, db, clock)

	ctx := context.Background()
	run := func(name string, again bool) {
		j, ok := a.Job(name)
		require.True(t, ok, name)
		_, err := jobs.RunOnce(ctx, j)
		require.NoError(t, err, name)
		if again {
			n, err := jobs.RunOnce(ctx, j)
			require.NoError(t, err, name)
			require.Zero(t, n, "%s run twice at %s", name, clock.Now().In(hcm))
		}
	}
	m := runScenario(t, a, db, clock, sc, func(_, now time.Time) {
		l := now.In(hcm)
		sweepTime := l.Hour() == 2 || l.Hour() == 15 // when something is due
		for _, name := range []string{"expire-resources", "suspend-resources", "release-resources", "purge-trash"} {
			run(name, sweepTime)
		}
		switch {
		case l.Hour() == 8 && l.Minute() == 0:
			run("auto-renew", true)
		case l.Hour() == 8 && l.Minute() == 5:
			run("reminders", true)
			run("deliver-emails", false)
		}
	})
	checkFinal(t, a, db, sc, m)
}

// watch counts what the schedulers of the two instances do: the leader
// checks (one per job firing on each instance), the runs, and when each
// job last started running on the shared clock.
type watch struct {
	clock    clockwork.Clock
	mu       sync.Mutex
	calls    [2]int
	grants   [2]int
	finished int
	ranAt    map[string]time.Time // job name → clock time its latest run started
	errs     []error
	changed  chan struct{}
}

func (w *watch) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

type countingElector struct {
	w *watch
	i int
	e gocron.Elector
}

func (c countingElector) IsLeader(ctx context.Context) error {
	err := c.e.IsLeader(ctx)
	c.w.mu.Lock()
	c.w.calls[c.i]++
	switch {
	case err == nil:
		c.w.grants[c.i]++
	case !errors.Is(err, jobs.ErrNotLeader):
		c.w.errs = append(c.w.errs, fmt.Errorf("instance %d: %w", c.i, err))
	}
	c.w.mu.Unlock()
	c.w.signal()
	return err
}

// hook wraps instance i's elector and jobs.
func (w *watch) hook(i int) func(*jobs.Options, []jobs.Job) []jobs.Job {
	return func(o *jobs.Options, js []jobs.Job) []jobs.Job {
		o.Elector = countingElector{w: w, i: i, e: o.Elector}
		// The test steps the clock as soon as every run returned; gocron
		// frees a job a moment later, and in Reschedule mode a run due in
		// that moment would be skipped.
		o.LimitMode = gocron.LimitModeWait
		out := make([]jobs.Job, len(js))
		for k, j := range js {
			run := j.Run
			j.Run = func(ctx context.Context) (int, error) {
				w.mu.Lock()
				w.ranAt[j.Name] = w.clock.Now()
				w.mu.Unlock()
				n, err := run(ctx)
				w.mu.Lock()
				w.finished++
				if err != nil {
					w.errs = append(w.errs, fmt.Errorf("%s: %w", j.Name, err))
				}
				w.mu.Unlock()
				w.signal()
				return n, err
			}
			out[k] = j
		}
		return out
	}
}

// wait blocks until cond holds (checked under the lock after every
// change), or fails after a minute of real time.
func (w *watch) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		w.mu.Lock()
		ok := cond()
		state := fmt.Sprintf("calls %v, grants %v, finished %d, errors %v", w.calls, w.grants, w.finished, w.errs)
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-w.changed:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %s", what, state)
		}
	}
}

// due lists the jobs with a run due in (prev, now], for a scheduler
// started at start: interval jobs at start + k × every, cron jobs in the
// billing zone. Each is due once however many runs it missed.
func due(js []jobs.Job, start, prev, now time.Time) []string {
	var names []string
	for _, j := range js {
		if j.Cron != "" {
			next, err := j.Next(prev, hcm)
			if err == nil && !next.After(now) {
				names = append(names, j.Name)
			}
			continue
		}
		if k := now.Sub(start) / j.Every; k >= 1 && start.Add(k*j.Every).After(prev) {
			names = append(names, j.Name)
		}
	}
	return names
}

// TestSchedulerTwoInstances runs the scenario on PostgreSQL with two
// instances, both with their gocron scheduler on and one shared fake
// clock: the advisory-lock elector lets one of them run every job, the
// other runs none, and the result is exactly the model's — every renewal
// charged once, every notice once.
//
// After each clock step the test waits until every job due in the step
// has run on the leader at the step's time, both instances have checked
// their leadership at least once per job due (gocron now and then fires
// a job once more than the step asks for, immediately; the jobs are
// idempotent, so the test tolerates it and checks that nothing changes),
// every run granted has finished and every job's timer is armed again.
func TestSchedulerTwoInstances(t *testing.T) {
	testdb.RequirePostgres(t)
	t.Parallel()
	dsn := testdb.NewDSN(t)
	db1 := testdb.Open(t, dsn)
	require.NoError(t, db1.Migrate(context.Background()))
	db2 := testdb.Open(t, dsn)
	waitForLock(t, db1)

	clock := clockwork.NewFakeClockAt(schedStart)
	w := &watch{clock: clock, ranAt: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	a1 := newApp(t, db1, dsn, clock, true, w.hook(0))
	a2 := newApp(t, db2, dsn, clock, true, w.hook(1))
	sc := newScenario()
	sc.build(t, a1, db1, clock)
	js := a1.Jobs()

	total, leader := 0, -1
	m := runScenario(t, a1, db1, clock, sc, func(prev, now time.Time) {
		names := due(js, schedStart, prev, now)
		total += len(names)
		w.wait(t, fmt.Sprintf("the jobs of %s (%v, %d firings so far)", now.In(hcm), names, total), func() bool {
			for _, name := range names {
				if !w.ranAt[name].Equal(now) {
					return false
				}
			}
			return w.calls[0] >= total && w.calls[1] >= total && w.finished == w.grants[0]+w.grants[1]
		})
		// gocron re-arms a job's timer asynchronously after dispatching its
		// run; stepping the clock before that would move the job's next
		// run past the step. Every job of both instances has exactly one
		// timer on the clock once re-armed (and nothing else has one).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, clock.BlockUntilContext(ctx, 2*len(js)), "timers of %s re-armed", now.In(hcm))
		w.mu.Lock()
		defer w.mu.Unlock()
		require.Empty(t, w.errs)
		if leader < 0 {
			require.True(t, (w.grants[0] == 0) != (w.grants[1] == 0), "one instance leads: %v", w.grants)
			leader = 0
			if w.grants[0] == 0 {
				leader = 1
			}
		}
		require.GreaterOrEqual(t, w.grants[leader], total, "the leader runs every job")
		require.Zero(t, w.grants[1-leader], "the follower runs none")
	})
	checkFinal(t, a1, db1, sc, m)
	w.mu.Lock()
	t.Logf("leader %d: %d runs for %d firings due; follower: %d checks, no runs", leader, w.grants[leader], total, w.calls[1-leader])
	w.mu.Unlock()
	_ = a2
}

// waitForLock makes sure no other process holds the scheduler's advisory
// lock (it is one per database, and other packages' tests may be running
// a scheduler on it), waiting a little for one that does.
func waitForLock(t *testing.T, db *store.DB) {
	t.Helper()
	e := jobs.NewPGElector(db.SQL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := e.IsLeader(context.Background())
		if err == nil {
			require.NoError(t, e.Close())
			return
		}
		require.ErrorIs(t, err, jobs.ErrNotLeader)
		if time.Now().After(deadline) {
			t.Fatal("another process holds the scheduler's advisory lock on this database")
		}
		time.Sleep(100 * time.Millisecond) // waiting for another process, not for the fake clock
	}
}
