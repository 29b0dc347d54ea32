package lifecycle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/lifecyclestep"
	"billing/ent/order"
	"billing/ent/outboxevent"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/fault"
	"billing/internal/lifecycle"
	"billing/internal/lifecycle/state"
	"billing/internal/pulid"
)

// TestSweepBoundaries: with T the end of the period, a resource expires
// exactly at T (GRACE), is suspended exactly at T + 15 grace days and
// released exactly at T + 30 days; a trashed resource is purged exactly at
// its purge_at. A microsecond earlier nothing happens, and a second run
// changes nothing.
func TestSweepBoundaries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	other := b.buy(t, acc, "s-general-1x1", 3) // not due all along
	T := *r.PeriodEnd
	const us = time.Microsecond

	type sweep func(now time.Time) (int, error)
	expire := func(now time.Time) (int, error) { return b.svc.ExpireDue(b.sys, now) }
	suspend := func(now time.Time) (int, error) { return b.svc.SuspendDue(b.sys, now) }
	release := func(now time.Time) (int, error) { return b.svc.ReleaseDue(b.sys, now) }
	purge := func(now time.Time) (int, error) { return b.svc.PurgeDue(b.sys, now) }
	step := func(name string, run sweep, at time.Time, want resource.State) {
		t.Helper()
		n, err := run(at.Add(-us))
		require.NoError(t, err, name)
		require.Equal(t, 0, n, "%s a microsecond early", name)
		n, err = run(at)
		require.NoError(t, err, name)
		require.Equal(t, 1, n, name)
		require.Equal(t, want, b.resource(t, r.ID).State, name)
		n, err = run(at.Add(time.Hour))
		require.NoError(t, err, name)
		require.Equal(t, 0, n, "%s again", name)
	}

	// Earlier sweeps find nothing to do before their time.
	n, err := suspend(T.Add(20 * 24 * time.Hour))
	require.NoError(t, err)
	require.Equal(t, 0, n) // still ACTIVE: only GRACE resources are suspended

	step("expire", expire, T, resource.StateGRACE)
	step("suspend", suspend, T.Add(15*day), resource.StateSUSPENDED)
	require.Equal(t, resource.SuspendReasonEXPIRED, *b.resource(t, r.ID).SuspendReason)
	step("release", release, T.Add(30*day), resource.StateRELEASED)
	same(t, T.Add(30*day), *b.resource(t, r.ID).ReleasedAt)
	require.Equal(t, resource.StateACTIVE, b.resource(t, other.ID).State)

	// Released: not renewable any more.
	_, err = b.svc.Renew(customer(acc), lifecycle.RenewInput{
		IdempotencyKey: "late", ResourceIDs: []pulid.ID{r.ID}, Months: 1, Method: payment.MethodCREDIT,
	})
	requireFault(t, err, fault.InvalidState, "input", "resourceIds", "0")

	// Trash and purge.
	first := r.ID
	del, err := b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "d", ResourceID: other.ID})
	require.NoError(t, err)
	purgeAt := *del.Resource.PurgeAt
	r = other
	step("purge", purge, purgeAt, resource.StateDELETED)

	require.Equal(t, []string{
		"Activate:PENDING→ACTIVE", "Expire:ACTIVE→GRACE", "Suspend:GRACE→SUSPENDED", "Release:SUSPENDED→RELEASED",
	}, b.resourceEvents(t, first))
	require.Equal(t, []string{"Activate:PENDING→ACTIVE", "Trash:ACTIVE→TRASHED", "Purge:TRASHED→DELETED"}, b.resourceEvents(t, other.ID))
}

// TestSweepMany: sweeps move every due resource, in batches, and leave the
// others alone; expiry also applies to STOPPED resources, and an operator's
// suspension is never turned into a release.
func TestSweepMany(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 100_000_000)
	res, err := b.checkout.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
		IdempotencyKey: "many", Method: payment.MethodCREDIT,
		Items: []checkout.ItemInput{{PlanRef: "s-general-1x1", Count: 30, Months: 1}, {PlanRef: "s-general-1x1", Count: 2, Months: 3}},
	})
	require.NoError(t, err)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)
	rs, err := b.db.Client.Resource.Query().Where(resource.AccountID(acc)).Order(ent.Asc(resource.FieldID)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, rs, 32)
	_, err = b.svc.Stop(customer(acc), rs[0].ID)
	require.NoError(t, err)
	T := *rs[0].PeriodEnd

	n, err := b.svc.ExpireDue(b.sys, T)
	require.NoError(t, err)
	require.Equal(t, 30, n)
	require.Equal(t, resource.StateGRACE, b.resource(t, rs[0].ID).State)
	require.Equal(t, resource.StateACTIVE, b.resource(t, rs[31].ID).State)

	n, err = b.svc.SuspendDue(b.sys, T.Add(15*day))
	require.NoError(t, err)
	require.Equal(t, 30, n)
	require.NoError(t, b.db.Client.Resource.UpdateOneID(rs[1].ID).SetSuspendReason(resource.SuspendReasonOPERATOR).Exec(b.sys))
	n, err = b.svc.ReleaseDue(b.sys, T.Add(30*day))
	require.NoError(t, err)
	require.Equal(t, 29, n)
	require.Equal(t, resource.StateSUSPENDED, b.resource(t, rs[1].ID).State)
}

// TestAutoRenewOnce: ten concurrent attempts for the same resource and
// period end renew it once: one order, one charge, one AUTO_RENEW
// invoice, one step. A later attempt for the same period does nothing.
func TestAutoRenewOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	_, err := b.svc.SetAutoRenew(customer(acc), r.ID, true, 3)
	require.NoError(t, err)
	T := *r.PeriodEnd
	b.clock.Advance(month - 7*day) // the T−7 attempt

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		renewed int
		errs    []error
	)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := b.svc.AutoRenew(b.sys, r.ID, T)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				renewed++
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, 1, renewed)

	cur := b.resource(t, r.ID)
	same(t, T.Add(3*month), *cur.PeriodEnd)
	invs := b.invoices(t, r.ID, invoice.ActionAUTO_RENEW)
	require.Len(t, invs, 1)
	require.Equal(t, "543000", invs[0].Total.String())
	same(t, T, invs[0].PeriodStart)
	require.Empty(t, b.invoices(t, r.ID, invoice.ActionRENEW))
	require.Equal(t, "276000", b.balance(t, acc)) // 1,000,000 − 181,000 − 543,000
	pays, err := b.db.Client.Payment.Query().Where(payment.AccountID(acc)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 2, pays) // the purchase and the renewal
	steps, err := b.db.Client.LifecycleStep.Query().Where(lifecyclestep.ResourceID(r.ID)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	require.Equal(t, checkout.AutoRenewStep, steps[0].Step)
	same(t, T, steps[0].PeriodEnd)

	// The T−4, T−1 and T attempts for the same period end do nothing.
	for _, d := range []time.Duration{3 * day, 3 * day, day} {
		b.clock.Advance(d)
		ok, err := b.svc.AutoRenew(b.sys, r.ID, T)
		require.NoError(t, err)
		require.False(t, ok)
	}
	require.Equal(t, "276000", b.balance(t, acc))
}

// TestAutoRenewRefusals: short credit fails the attempt and records
// nothing, so a later attempt can still renew; auto-renew off, a moved
// period end or a deleted resource are "nothing to do".
func TestAutoRenewRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 181_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	T := *r.PeriodEnd

	ok, err := b.svc.AutoRenew(b.sys, r.ID, T)
	requireFault(t, err, fault.InsufficientCredit)
	require.False(t, ok)
	steps, err := b.db.Client.LifecycleStep.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 0, steps)
	same(t, T, *b.resource(t, r.ID).PeriodEnd)

	// In grace, at the T attempt, with credit: renewed, ACTIVE again.
	b.clock.Advance(month + 8*time.Hour)
	_, err = b.svc.ExpireDue(b.sys, b.clock.Now())
	require.NoError(t, err)
	b.fund(t, acc, 181_000)
	ok, err = b.svc.AutoRenew(b.sys, r.ID, T)
	require.NoError(t, err)
	require.True(t, ok)
	cur := b.resource(t, r.ID)
	require.Equal(t, resource.StateACTIVE, cur.State)
	same(t, T.Add(month), *cur.PeriodEnd)

	// The old period end is no longer the resource's: nothing to do.
	ok, err = b.svc.AutoRenew(b.sys, r.ID, T.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, ok)

	// Auto-renew off: nothing to do.
	b.fund(t, acc, 1_000_000)
	_, err = b.svc.SetAutoRenew(customer(acc), r.ID, false, 0)
	require.NoError(t, err)
	ok, err = b.svc.AutoRenew(b.sys, r.ID, T.Add(month))
	require.NoError(t, err)
	require.False(t, ok)

	// Deleted: nothing to do.
	_, err = b.svc.SetAutoRenew(customer(acc), r.ID, true, 0)
	require.NoError(t, err)
	_, err = b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "d", ResourceID: r.ID})
	require.NoError(t, err)
	ok, err = b.svc.AutoRenew(b.sys, r.ID, T.Add(month))
	require.NoError(t, err)
	require.False(t, ok)
	require.Len(t, b.invoices(t, r.ID, invoice.ActionAUTO_RENEW), 1)
}

// TestBillingStatus: GOOD above 15 days left, WARNING from 15 down to 5,
// ALERT below 5, EXPIRED from the end on; nothing for resources without a
// running period.
func TestBillingStatus(t *testing.T) {
	t.Parallel()
	end := t0.Add(60 * day)
	live := func(st resource.State) *resource.State { return &st }
	tests := []struct {
		left  time.Duration
		state *resource.State
		want  lifecycle.Status
	}{
		{40 * day, nil, lifecycle.StatusGood},
		{15*day + time.Microsecond, nil, lifecycle.StatusGood},
		{15 * day, nil, lifecycle.StatusWarning},
		{5 * day, nil, lifecycle.StatusWarning},
		{5*day - time.Microsecond, nil, lifecycle.StatusAlert},
		{time.Microsecond, nil, lifecycle.StatusAlert},
		{0, nil, lifecycle.StatusExpired},
		{-10 * day, live(resource.StateGRACE), lifecycle.StatusExpired},
		{-20 * day, live(resource.StateSUSPENDED), lifecycle.StatusExpired},
		{3 * day, live(resource.StateSTOPPED), lifecycle.StatusAlert},
		{3 * day, live(resource.StateTRASHED), ""},
		{3 * day, live(resource.StatePENDING), ""},
		{-40 * day, live(resource.StateRELEASED), ""},
	}
	for _, tc := range tests {
		r := newResource(end, resource.StateACTIVE)
		if tc.state != nil {
			r.State = *tc.state
		}
		require.Equal(t, tc.want, lifecycle.BillingStatus(r, end.Add(-tc.left)), "%s left, %s", tc.left, r.State)
	}
	require.Equal(t, lifecycle.Status(""), lifecycle.BillingStatus(nil, t0))
	postpaid := newResource(end, resource.StateACTIVE)
	postpaid.BillingMode = resource.BillingModePOSTPAID
	require.Equal(t, lifecycle.Status(""), lifecycle.BillingStatus(postpaid, t0))
}

// TestSweepConcurrent: sweeps running at once (two instances, a job run
// twice) move each resource once.
func TestSweepConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 100_000_000)
	_, err := b.checkout.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
		IdempotencyKey: "many", Method: payment.MethodCREDIT,
		Items: []checkout.ItemInput{{PlanRef: "s-general-1x1", Count: 40, Months: 1}},
	})
	require.NoError(t, err)
	T := t0.Add(month)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := b.svc.ExpireDue(b.sys, T)
			assert.NoError(t, err)
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Equal(t, 40, total)
	evs, err := b.db.Client.OutboxEvent.Query().Where(outboxevent.Topic(state.TopicResource)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 80, evs) // 40 activations, 40 expiries
}

// TestSweepGivesWay: between full batches a sweep rests while a customer
// is paying (GiveWay times as long as the batch took), and not at all
// otherwise; every due resource moves either way.
func TestSweepGivesWay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 100_000_000)
	res, err := b.checkout.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
		IdempotencyKey: "pace", Method: payment.MethodCREDIT,
		Items: []checkout.ItemInput{{PlanRef: "s-general-1x1", Count: 25, Months: 1}},
	})
	require.NoError(t, err)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)
	r, err := b.db.Client.Resource.Query().Where(resource.AccountID(acc)).First(b.sys)
	require.NoError(t, err)
	T := *r.PeriodEnd

	busy := true
	var rests []time.Duration
	lifecycle.SetPacing(b.svc, 10, func() bool { return busy }, func(_ context.Context, d time.Duration) error {
		rests = append(rests, d)
		return nil
	})
	n, err := b.svc.ExpireDue(b.sys, T)
	require.NoError(t, err)
	require.Equal(t, 25, n)
	require.Len(t, rests, 2, "after the two full batches of 10, not after the last 5")
	for _, d := range rests {
		require.Positive(t, d)
	}

	busy, rests = false, nil
	n, err = b.svc.SuspendDue(b.sys, T.Add(15*day))
	require.NoError(t, err)
	require.Equal(t, 25, n)
	require.Empty(t, rests, "nobody paying: no rest")

	// A rest cut short by the caller's context ends the sweep with its error.
	busy = true
	lifecycle.SetPacing(b.svc, 10, func() bool { return busy }, func(ctx context.Context, _ time.Duration) error {
		return context.Canceled
	})
	n, err = b.svc.ReleaseDue(b.sys, T.Add(30*day))
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 10, n, "the first batch committed before the rest")
}
