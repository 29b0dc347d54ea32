package lifecycle_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/lifecyclestep"
	"billing/ent/notification"
	"billing/ent/outboxevent"
	"billing/ent/payment"
	"billing/ent/product"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/events"
	"billing/internal/lifecycle"
	"billing/internal/lifecycle/state"
	"billing/internal/notify"
	"billing/internal/pulid"
)

var hcm = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		panic(err)
	}
	return loc
}()

// local is a wall time in the billing time zone.
func local(month time.Month, d, hh, mm int) time.Time {
	y := 2026
	if month < time.November {
		y = 2027
	}
	return time.Date(y, month, d, hh, mm, 0, 0, hcm)
}

// scheduled is setup with a lifecycle service that notifies, in the
// billing time zone (Asia/Ho_Chi_Minh).
func scheduled(t *testing.T) *bundle {
	t.Helper()
	b := setup(t)
	outbox := events.NewOutbox(b.db.IsPostgres(), nil)
	n := notify.New(notify.Config{DB: b.db, Outbox: outbox, Clock: b.clock})
	b.svc = lifecycle.New(lifecycle.Config{
		DB: b.db, Checkout: b.checkout, Ledger: b.ledger, Outbox: outbox, Clock: b.clock, Notify: n, Location: hcm,
	})
	return b
}

// to moves the clock forward to at.
func (b *bundle) to(t *testing.T, at time.Time) time.Time {
	t.Helper()
	d := at.Sub(b.clock.Now())
	require.GreaterOrEqual(t, d, time.Duration(0), "the clock only moves forward (to %s)", at)
	b.clock.Advance(d)
	return b.clock.Now()
}

// attempts runs the auto-renew job at the current time and returns how
// many attempts it made.
func (b *bundle) attempts(t *testing.T) int {
	t.Helper()
	n, err := b.svc.RunAutoRenewAttempts(b.sys, b.clock.Now())
	require.NoError(t, err)
	return n
}

// noticeSteps are the dedupe steps of a resource's notices, oldest first.
func (b *bundle) noticeSteps(t *testing.T, id pulid.ID) []string {
	t.Helper()
	ns, err := b.db.Client.Notification.Query().Where(notification.ResourceID(id)).
		Order(ent.Asc(notification.FieldCreatedAt), ent.Asc(notification.FieldID)).All(b.sys)
	require.NoError(t, err)
	out := []string{}
	for _, n := range ns {
		out = append(out, n.DedupeKey[strings.LastIndex(n.DedupeKey, ":")+1:])
	}
	return out
}

func (b *bundle) notice(t *testing.T, id pulid.ID, step string) *ent.Notification {
	t.Helper()
	n, err := b.db.Client.Notification.Query().
		Where(notification.ResourceID(id), notification.DedupeKeyHasSuffix(":"+step)).Only(b.sys)
	require.NoError(t, err, step)
	return n
}

// attemptSteps are a resource's LifecycleSteps as "step outcome", in order.
func (b *bundle) attemptSteps(t *testing.T, id pulid.ID) []string {
	t.Helper()
	ss, err := b.db.Client.LifecycleStep.Query().Where(lifecyclestep.ResourceID(id)).
		Order(ent.Asc(lifecyclestep.FieldCreatedAt), ent.Asc(lifecyclestep.FieldStep)).All(b.sys)
	require.NoError(t, err)
	out := []string{}
	for _, s := range ss {
		out = append(out, s.Step+" "+s.Outcome)
	}
	return out
}

func TestAutoRenewSchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		end  time.Time
		want []time.Time
	}{
		{local(time.December, 27, 16, 30), []time.Time{
			local(time.December, 20, 8, 0), local(time.December, 23, 8, 0), local(time.December, 26, 8, 0), local(time.December, 27, 8, 0),
		}},
		// An end before 08:00: the T attempt comes after it, from GRACE.
		// Dates are local: 2027-01-02 01:00 in Hanoi is 2027-01-01 in UTC.
		{local(time.January, 2, 1, 0), []time.Time{
			local(time.December, 26, 8, 0), local(time.December, 29, 8, 0), local(time.January, 1, 8, 0), local(time.January, 2, 8, 0),
		}},
	} {
		got := lifecycle.AutoRenewSchedule(tc.end.UTC(), hcm)
		require.Len(t, got, 4)
		for i := range got {
			same(t, tc.want[i], got[i])
		}
	}
	require.Equal(t, "AUTO_RENEW_ATTEMPT_T-7", lifecycle.AttemptStep(7))
	require.Equal(t, "AUTO_RENEW_ATTEMPT_T", lifecycle.AttemptStep(0))
}

// TestAutoRenewTopUpBeforeT4 is the must-hold case: auto-renew on, credit
// short at T−7 and topped up before T−4: renewed at the T−4 attempt,
// charged once, one failure and one success notice; later runs do nothing.
func TestAutoRenewTopUpBeforeT4(t *testing.T) {
	t.Parallel()
	b := scheduled(t)
	acc := b.account(t)
	b.fund(t, acc, 181_000)
	r := b.buy(t, acc, "s-general-1x1", 1) // T = 2026-12-27 16:30 in Hanoi; credit 0
	T := *r.PeriodEnd
	same(t, local(time.December, 27, 16, 30), T)

	b.to(t, local(time.December, 20, 7, 59))
	require.Equal(t, 0, b.attempts(t), "before 08:00 on T−7")
	b.to(t, local(time.December, 20, 8, 0))
	require.Equal(t, 1, b.attempts(t))
	require.Equal(t, 0, b.attempts(t), "a second run on the same day")
	require.Equal(t, []string{"AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT"}, b.attemptSteps(t, r.ID))
	failed := b.notice(t, r.ID, "autorenew.failed.t-7")
	require.Equal(t, notify.KindAutoRenewFailed, failed.Kind)
	require.Contains(t, failed.Body, "insufficient credit")
	require.Contains(t, failed.Body, "2026-12-23 08:00 +07") // the next attempt

	b.to(t, local(time.December, 20, 8, 5))
	n, err := b.svc.SendReminders(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Contains(t, b.notice(t, r.ID, "t-7").Body, "Automatic renewal is on")

	b.to(t, local(time.December, 21, 12, 0))
	b.fund(t, acc, 181_000)
	b.to(t, local(time.December, 22, 8, 0))
	require.Equal(t, 0, b.attempts(t), "no attempt on T−5")
	b.to(t, local(time.December, 23, 8, 0))
	require.Equal(t, 1, b.attempts(t))
	cur := b.resource(t, r.ID)
	same(t, T.Add(month), *cur.PeriodEnd)
	require.Equal(t, resource.StateACTIVE, cur.State)
	require.Equal(t, "0", b.balance(t, acc))
	for _, at := range []time.Time{
		local(time.December, 23, 9, 0), local(time.December, 26, 8, 0), local(time.December, 27, 8, 0), local(time.December, 28, 8, 0),
	} {
		b.to(t, at)
		require.Equal(t, 0, b.attempts(t), "after the renewal, at %s", at)
		_, err := b.svc.SendReminders(b.sys, b.clock.Now())
		require.NoError(t, err)
	}
	invs := b.invoices(t, r.ID, invoice.ActionAUTO_RENEW)
	require.Len(t, invs, 1)
	require.Equal(t, "181000", invs[0].Total.String())
	same(t, T, invs[0].PeriodStart)
	require.Equal(t, []string{
		"AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
		checkout.AutoRenewStep + " RENEWED",
		"AUTO_RENEW_ATTEMPT_T-4 RENEWED",
	}, b.attemptSteps(t, r.ID))
	require.Equal(t, []string{"autorenew.failed.t-7", "t-7", "autorenew.succeeded"}, b.noticeSteps(t, r.ID))
	require.Contains(t, b.notice(t, r.ID, "autorenew.succeeded").Body, "2027-01-26 16:30 +07")
}

// TestAutoRenewEarliestFirst: several resources of an account due at one
// run are renewed earliest end first until credit runs short; after that
// the account's later ones fail, even one cheap enough to fit, so that a
// later resource never takes what an earlier one needs.
func TestAutoRenewEarliestFirst(t *testing.T) {
	t.Parallel()
	b := scheduled(t)
	acc := b.account(t)
	b.fund(t, acc, 2*181_000+22_000+181_000+22_000)
	r1 := b.buy(t, acc, "s-general-1x1", 1) // ends 12-27 16:30
	b.clock.Advance(time.Hour)
	r2 := b.buy(t, acc, "s-general-1x1", 1) // ends 12-27 17:30
	b.clock.Advance(time.Hour)
	r3 := b.buy(t, acc, "monitor", 1) // ends 12-27 18:30, 22,000
	other := b.account(t)             // another account is not held back
	b.fund(t, other, 2*181_000)
	r4 := b.buy(t, other, "s-general-1x1", 1)
	require.Equal(t, "203000", b.balance(t, acc))

	b.to(t, local(time.December, 20, 8, 0))
	require.Equal(t, 4, b.attempts(t))
	require.Len(t, b.invoices(t, r1.ID, invoice.ActionAUTO_RENEW), 1)
	require.Empty(t, b.invoices(t, r2.ID, invoice.ActionAUTO_RENEW))
	require.Empty(t, b.invoices(t, r3.ID, invoice.ActionAUTO_RENEW))
	require.Len(t, b.invoices(t, r4.ID, invoice.ActionAUTO_RENEW), 1)
	require.Equal(t, "22000", b.balance(t, acc))
	require.Equal(t, []string{"AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT"}, b.attemptSteps(t, r3.ID))
	require.Contains(t, b.notice(t, r2.ID, "autorenew.failed.t-7").Body, "181,000")
	require.Contains(t, b.notice(t, r3.ID, "autorenew.failed.t-7").Body, "expire earlier")

	b.fund(t, acc, 181_000)
	b.to(t, local(time.December, 23, 8, 0))
	require.Equal(t, 2, b.attempts(t))
	require.Len(t, b.invoices(t, r2.ID, invoice.ActionAUTO_RENEW), 1)
	require.Len(t, b.invoices(t, r3.ID, invoice.ActionAUTO_RENEW), 1)
	require.Equal(t, "0", b.balance(t, acc))
	require.Len(t, b.invoices(t, r1.ID, invoice.ActionAUTO_RENEW), 1, "charged once")
}

// TestAutoRenewLastAttempt: with credit short all along, the attempts on
// T−7, T−4, T−1 and T fail once each and then stop; an end before 08:00
// makes the T attempt from GRACE, where credit topped up in time renews
// it (ACTIVE again) and credit topped up after it does not.
func TestAutoRenewLastAttempt(t *testing.T) {
	t.Parallel()
	b := scheduled(t)
	b.to(t, local(time.November, 28, 2, 0))
	broke, saved := b.account(t), b.account(t)
	b.fund(t, broke, 181_000)
	b.fund(t, saved, 181_000)
	r := b.buy(t, broke, "s-general-1x1", 1) // ends 12-28 02:00
	s := b.buy(t, saved, "s-general-1x1", 1)
	T := *r.PeriodEnd
	same(t, local(time.December, 28, 2, 0), T)

	for d := 19; d <= 31; d++ {
		if d == 28 {
			b.to(t, local(time.December, 28, 2, 0))
			n, err := b.svc.ExpireDue(b.sys, b.clock.Now())
			require.NoError(t, err)
			require.Equal(t, 2, n)
			b.to(t, local(time.December, 28, 7, 0))
			b.fund(t, saved, 181_000) // in time for the T attempt
		}
		b.to(t, local(time.December, d, 8, 0))
		want := map[int]int{21: 2, 24: 2, 27: 2, 28: 2}[d]
		require.Equal(t, want, b.attempts(t), "attempts on 12-%d", d)
		if d == 28 {
			b.to(t, local(time.December, 28, 9, 0))
			b.fund(t, broke, 181_000) // too late
		}
	}
	require.Equal(t, []string{
		"AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
		"AUTO_RENEW_ATTEMPT_T-4 FAILED INSUFFICIENT_CREDIT",
		"AUTO_RENEW_ATTEMPT_T-1 FAILED INSUFFICIENT_CREDIT",
		"AUTO_RENEW_ATTEMPT_T FAILED INSUFFICIENT_CREDIT",
	}, b.attemptSteps(t, r.ID))
	require.Equal(t, []string{
		"autorenew.failed.t-7", "autorenew.failed.t-4", "autorenew.failed.t-1", "expired", "autorenew.failed.t",
	}, b.noticeSteps(t, r.ID))
	require.Contains(t, b.notice(t, r.ID, "autorenew.failed.t").Body, "last automatic attempt")
	require.Contains(t, b.notice(t, r.ID, "expired").Body, "last attempt from your credit at 2026-12-28 08:00 +07")
	require.Equal(t, resource.StateGRACE, b.resource(t, r.ID).State)
	require.Empty(t, b.invoices(t, r.ID, invoice.ActionAUTO_RENEW))

	cur := b.resource(t, s.ID)
	require.Equal(t, resource.StateACTIVE, cur.State, "renewed from GRACE at the T attempt")
	same(t, T.Add(month), *cur.PeriodEnd)
	require.Equal(t, []string{
		"autorenew.failed.t-7", "autorenew.failed.t-4", "autorenew.failed.t-1", "expired", "autorenew.succeeded",
	}, b.noticeSteps(t, s.ID))
}

// TestAutoRenewCatchUp: a run that missed its day makes the attempt at the
// next run within its window, once; a run before 08:00 belongs to the day
// before.
func TestAutoRenewCatchUp(t *testing.T) {
	t.Parallel()
	b := scheduled(t)
	acc := b.account(t)
	b.fund(t, acc, 181_000)
	r := b.buy(t, acc, "s-general-1x1", 1) // ends 12-27 16:30

	b.to(t, local(time.December, 21, 10, 0)) // the 12-20 run was missed
	require.Equal(t, 1, b.attempts(t))
	b.to(t, local(time.December, 22, 8, 0))
	require.Equal(t, 0, b.attempts(t))
	b.to(t, local(time.December, 23, 7, 59)) // still 12-22's
	require.Equal(t, 0, b.attempts(t))
	b.to(t, local(time.December, 23, 8, 0))
	require.Equal(t, 1, b.attempts(t))
	require.Equal(t, []string{
		"AUTO_RENEW_ATTEMPT_T-7 FAILED INSUFFICIENT_CREDIT",
		"AUTO_RENEW_ATTEMPT_T-4 FAILED INSUFFICIENT_CREDIT",
	}, b.attemptSteps(t, r.ID))
	same(t, local(time.December, 21, 10, 0), b.notice(t, r.ID, "autorenew.failed.t-7").CreatedAt)
}

// TestRemindersCountdown follows two unrenewed resources from a week
// before expiry to release, running the reminders every day at 08:05 and
// the sweeps at 16:30 (the resources' end time), each twice: every
// reminder and every change notice goes out once, on its day.
//
//	vserver  grace 15, suspension 15: t-7 t-3 t-1 expired suspension-7 -3 -1 suspended release-7 -3 -1 released
//	vmonitor grace 3, suspension 10:  t-7 t-3 t-1 expired suspension-1 suspended release-7 -3 -1 released
func TestRemindersCountdown(t *testing.T) {
	t.Parallel()
	b := scheduled(t)
	require.NoError(t, b.db.Client.Product.Update().Where(product.Code("vmonitor")).
		SetGraceDays(3).SetSuspensionDays(10).Exec(b.sys))
	acc := b.account(t)
	b.fund(t, acc, 203_000)
	srv := b.buy(t, acc, "s-general-1x1", 1)
	mon := b.buy(t, acc, "monitor", 1)
	for _, r := range []*ent.Resource{srv, mon} {
		_, err := b.svc.SetAutoRenew(customer(acc), r.ID, false, 0)
		require.NoError(t, err)
	}
	T := *srv.PeriodEnd // 12-27 16:30 for both

	twice := func(jobs ...func(time.Time) (int, error)) {
		now := b.clock.Now()
		for i := range 2 {
			for _, job := range jobs {
				n, err := job(now)
				require.NoError(t, err)
				if i == 1 {
					require.Zero(t, n, "run again at %s", now)
				}
			}
		}
	}
	sweeps := []func(time.Time) (int, error){
		func(now time.Time) (int, error) { return b.svc.ExpireDue(b.sys, now) },
		func(now time.Time) (int, error) { return b.svc.SuspendDue(b.sys, now) },
		func(now time.Time) (int, error) { return b.svc.ReleaseDue(b.sys, now) },
	}
	for date := local(time.December, 18, 0, 0); date.Before(local(time.January, 28, 0, 0)); date = date.AddDate(0, 0, 1) {
		b.to(t, date.Add(8*time.Hour+5*time.Minute))
		twice(func(now time.Time) (int, error) { return b.svc.SendReminders(b.sys, now) })
		b.to(t, date.Add(16*time.Hour+30*time.Minute))
		twice(sweeps...)
	}
	require.Equal(t, resource.StateRELEASED, b.resource(t, srv.ID).State)
	require.Equal(t, resource.StateRELEASED, b.resource(t, mon.ID).State)
	require.Equal(t, []string{
		"t-7", "t-3", "t-1", "expired", "suspension-7", "suspension-3", "suspension-1", "suspended",
		"release-7", "release-3", "release-1", "released",
	}, b.noticeSteps(t, srv.ID))
	require.Equal(t, []string{
		"t-7", "t-3", "t-1", "expired", "suspension-1", "suspended", "release-7", "release-3", "release-1", "released",
	}, b.noticeSteps(t, mon.ID))

	// On their days: reminders at 08:05, changes at their instant.
	for step, want := range map[string]time.Time{
		"t-7": local(time.December, 20, 8, 5), "t-1": local(time.December, 26, 8, 5), "expired": T,
		"suspension-7": local(time.January, 4, 8, 5), "suspended": T.Add(15 * day),
		"release-1": local(time.January, 25, 8, 5), "released": T.Add(30 * day),
	} {
		same(t, want, b.notice(t, srv.ID, step).CreatedAt)
	}
	same(t, local(time.December, 29, 8, 5), b.notice(t, mon.ID, "suspension-1").CreatedAt)
	same(t, T.Add(3*day), b.notice(t, mon.ID, "suspended").CreatedAt)
	same(t, local(time.January, 2, 8, 5), b.notice(t, mon.ID, "release-7").CreatedAt) // release 01-09 16:30

	n := b.notice(t, srv.ID, "t-3")
	require.Equal(t, notify.KindRenewalReminder, n.Kind)
	require.Equal(t, srv.Name+" expires in 3 days", n.Title)
	require.Contains(t, n.Body, "2026-12-27 16:30 +07")
	require.Equal(t, notify.KindGraceReminder, b.notice(t, srv.ID, "suspension-3").Kind)
	require.Equal(t, notify.KindSuspensionReminder, b.notice(t, srv.ID, "release-3").Kind)
	require.Equal(t, notify.KindReleased, b.notice(t, srv.ID, "released").Kind)

	// Every notice has its live event.
	evs, err := b.db.Client.OutboxEvent.Query().Where(outboxevent.Topic(events.TopicNotification)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 22, evs)
}

// TestSweepNoticesConcurrent: sweeps running at once (two instances, a job
// run twice) move each resource once and notify it once, with one event
// each.
func TestSweepNoticesConcurrent(t *testing.T) {
	t.Parallel()
	b := scheduled(t)
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
	ns, err := b.db.Client.Notification.Query().Where(notification.Kind(notify.KindExpired)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, ns, 40)
	seen := map[pulid.ID]bool{}
	for _, n := range ns {
		require.False(t, seen[n.ResourceID])
		seen[n.ResourceID] = true
		require.Equal(t, notify.PeriodKey(n.ResourceID, T, lifecycle.StepExpired), n.DedupeKey)
		same(t, T, n.CreatedAt)
	}
	for topic, want := range map[string]int{state.TopicResource: 80, events.TopicNotification: 40} {
		n, err := b.db.Client.OutboxEvent.Query().Where(outboxevent.Topic(topic)).Count(b.sys)
		require.NoError(t, err)
		require.Equal(t, want, n, topic)
	}
	// The event says what the notice says.
	row, err := b.db.Client.OutboxEvent.Query().Where(outboxevent.Topic(events.TopicNotification)).First(b.sys)
	require.NoError(t, err)
	var p notify.EventPayload
	require.NoError(t, events.Event{Payload: row.Payload}.Decode(&p))
	require.Equal(t, row.SubjectID, string(p.ID))
	require.Equal(t, notify.KindExpired, p.Kind)
	require.True(t, seen[p.ResourceID])
}
