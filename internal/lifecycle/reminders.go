package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"billing/ent"
	"billing/ent/notification"
	"billing/ent/predicate"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/lifecycle/internal/bulk"
	"billing/internal/lifecycle/state"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

// reminderChunk bounds the notices created per transaction (a few
// statements: they are inserted in bulk).
const reminderChunk = 500

// SendReminders sends the reminders due at now (the scheduler runs it
// daily at 08:05 in the billing time zone, after the auto-renew attempts)
// and returns how many it sent. Each deadline of a period that has not
// been renewed is counted down with reminders k = 7, 3 and 1 days before
// it (local dates), at 08:00 on that date or the first run after:
//
//	deadline                       state      kind                  steps
//	expiry T                       ACTIVE,    renewal.reminder      t-7, t-3, t-1
//	                               STOPPED
//	suspension T + grace days      GRACE      grace.reminder        suspension-7, -3, -1
//	release T + grace + suspension SUSPENDED  suspension.reminder   release-7, -3, -1
//	                               (expired)
//
// Within a phase, only the steps shorter than the phase are sent (with 3
// grace days, only suspension-1), so that no reminder of a phase falls
// before the phase began; the changes themselves (expiry, suspension,
// release) are notified by the sweeps that make them. A reminder goes to
// resources with auto-renew on as well: before expiry it says when the
// next attempt renews it from credit (one with enough credit is renewed
// at T−7, before the reminder, and never gets one).
//
// Like the attempts, step k is due from 08:00 on the date k days before
// the deadline until the next step is due (the deadline itself for the
// last), so a missed run is caught up by the next one and a skipped step
// is never sent late after a later one. Every reminder is keyed with
// notify.PeriodKey(resource, period end, step): sent once, however often
// and on however many instances the job runs.
func (s *Service) SendReminders(ctx context.Context, now time.Time) (int, error) {
	if s.notify == nil {
		return 0, nil
	}
	ctx = auth.SystemContext(ctx)
	now = norm(now)
	products, err := s.products(ctx)
	if err != nil {
		return 0, err
	}
	phases := []phase{{
		deadline: DeadlineExpiry, steps: ReminderDays,
		where: []predicate.Resource{resource.StateIn(state.Expire.From...)},
	}}
	for _, p := range products {
		phases = append(phases, phase{
			deadline: DeadlineSuspension, steps: shorter(ReminderDays, p.GraceDays),
			offset: time.Duration(p.GraceDays) * day,
			where:  []predicate.Resource{resource.StateEQ(resource.StateGRACE), resource.ProductID(p.ID)},
		}, phase{
			deadline: DeadlineRelease, steps: shorter(ReminderDays, p.SuspensionDays),
			offset: time.Duration(p.GraceDays+p.SuspensionDays) * day,
			where: []predicate.Resource{resource.StateEQ(resource.StateSUSPENDED),
				resource.SuspendReasonEQ(resource.SuspendReasonEXPIRED), resource.ProductID(p.ID)},
		})
	}
	var (
		notices []notify.Notice
		errs    []error
	)
	for _, ph := range phases {
		ns, err := s.dueReminders(ctx, now, products, ph)
		notices = append(notices, ns...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	sent := 0
	for part := range slices.Chunk(notices, reminderChunk) {
		// A step stays due for days after it was sent; skip the keys that
		// exist with one indexed read rather than a refused insert each.
		part, err := s.unsent(ctx, part)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(part) == 0 {
			continue
		}
		var n int
		err = store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) (err error) {
			n, err = bulk.Notify(ctx, tx, s.outbox, s.db.IsPostgres(), part)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("reminders: %w", err))
			continue
		}
		sent += n
	}
	return sent, errors.Join(errs...)
}

// unsent drops the notices whose dedupe key exists already.
func (s *Service) unsent(ctx context.Context, ns []notify.Notice) ([]notify.Notice, error) {
	keys := make([]string, len(ns))
	for i, n := range ns {
		keys[i] = n.DedupeKey
	}
	sent, err := s.db.Client.Notification.Query().
		Where(notification.DedupeKeyIn(keys...)).
		Select(notification.FieldDedupeKey).
		Strings(ctx)
	if err != nil {
		return nil, fmt.Errorf("reminders: read sent: %w", err)
	}
	if len(sent) == 0 {
		return ns, nil
	}
	done := make(map[string]bool, len(sent))
	for _, k := range sent {
		done[k] = true
	}
	return slices.DeleteFunc(slices.Clone(ns), func(n notify.Notice) bool { return done[n.DedupeKey] }), nil
}

// shorter keeps the steps of fewer days than a phase lasts.
func shorter(steps []int, days int) []int {
	return slices.DeleteFunc(slices.Clone(steps), func(k int) bool { return k >= days })
}

// phase is one countdown of reminders: to a deadline offset after the
// period end, for the resources matching where.
type phase struct {
	deadline Deadline
	steps    []int // descending
	offset   time.Duration
	where    []predicate.Resource
}

// dueReminders selects the prepaid resources of a phase whose deadline has
// a reminder step due at now, and returns their notices. The deadline's
// local date must lie within the longest step from the run's date, and
// the deadline after now: a plain indexed range on period_end.
func (s *Service) dueReminders(ctx context.Context, now time.Time, products map[pulid.ID]*ent.Product, ph phase) ([]notify.Notice, error) {
	if len(ph.steps) == 0 {
		return nil, nil
	}
	d0 := s.runDay(now)
	rs, err := s.db.Client.Resource.Query().
		Where(resource.BillingModeEQ(resource.BillingModePREPAID)).
		Where(ph.where...).
		Where( // in UTC: SQLite compares times as text
			resource.PeriodEndGTE(d0.Add(-ph.offset).UTC()),
			resource.PeriodEndLT(d0.AddDate(0, 0, ph.steps[0]+1).Add(-ph.offset).UTC()),
			resource.PeriodEndGT(now.Add(-ph.offset)),
		).
		Order(ent.Asc(resource.FieldPeriodEnd), ent.Asc(resource.FieldID)).
		Select(resource.FieldAccountID, resource.FieldName, resource.FieldState, resource.FieldPeriodEnd,
			resource.FieldAutoRenew, resource.FieldAutoRenewMonths, resource.FieldProductID).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reminders %s: select: %w", ph.deadline, err)
	}
	var out []notify.Notice
	for _, r := range rs {
		p := products[r.ProductID]
		if p == nil {
			return nil, fmt.Errorf("reminders: product %s of %s not found", r.ProductID, r.ID)
		}
		x := r.PeriodEnd.Add(ph.offset)
		if k, ok := current(ph.steps, dayDiff(d0, midnight(x, s.loc))); ok {
			out = append(out, s.reminderNotice(r, p, ph.deadline, k, now))
		}
	}
	return out, nil
}

// products reads every product (they are few) by id.
func (s *Service) products(ctx context.Context) (map[pulid.ID]*ent.Product, error) {
	ps, err := s.db.Client.Product.Query().All(auth.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("read products: %w", err)
	}
	out := make(map[pulid.ID]*ent.Product, len(ps))
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, nil
}
