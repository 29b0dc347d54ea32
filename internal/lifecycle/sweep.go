package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/predicate"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/lifecycle/state"
	"billing/internal/store"
)

// SweepBatch bounds the resources one transaction of a sweep changes; a
// sweep runs batches until none is full.
const SweepBatch = 500

// ExpireDue moves every prepaid ACTIVE or STOPPED resource whose period
// has ended (period_end ≤ now: the period is [start, end)) to GRACE. It
// returns how many it moved.
//
// Like every sweep it selects due resources by indexed conditions
// (state, period_end / purge_at), locks them (FOR UPDATE on PostgreSQL;
// SQLite serializes writers), moves a batch with one conditional UPDATE and
// appends one state.Event per resource, in one transaction per batch. A
// resource moves once however often and on however many instances the
// sweep runs: a second run finds it no longer in the From state.
func (s *Service) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	return s.sweep(ctx, state.Expire, now, resource.FieldPeriodEnd, state.Change{Reason: "expired"},
		resource.BillingModeEQ(resource.BillingModePREPAID),
		resource.StateIn(state.Expire.From...),
		resource.PeriodEndLTE(now))
}

// SuspendDue moves every prepaid resource in GRACE whose grace period is
// over (period_end + the product's grace days ≤ now) to SUSPENDED with
// reason EXPIRED: the product service stops it and keeps its data.
func (s *Service) SuspendDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	return s.perProduct(ctx, func(p *ent.Product) (int, error) {
		cutoff := now.Add(-time.Duration(p.GraceDays) * day)
		return s.sweep(ctx, state.Suspend, now, resource.FieldPeriodEnd, state.Change{
			Set:    func(u *ent.ResourceUpdate) { u.SetSuspendReason(resource.SuspendReasonEXPIRED) },
			Reason: "grace period over",
		},
			resource.BillingModeEQ(resource.BillingModePREPAID),
			resource.StateEQ(resource.StateGRACE),
			resource.ProductID(p.ID),
			resource.PeriodEndLTE(cutoff))
	})
}

// ReleaseDue releases every prepaid resource that expired and was not
// renewed in time (period_end + the product's grace and suspension days ≤
// now, by default T + 30 days): GRACE or SUSPENDED for its expiry (not one
// an operator suspended) becomes RELEASED, gone and no longer renewable.
func (s *Service) ReleaseDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	return s.perProduct(ctx, func(p *ent.Product) (int, error) {
		cutoff := now.Add(-time.Duration(p.GraceDays+p.SuspensionDays) * day)
		return s.sweep(ctx, state.Release, now, resource.FieldPeriodEnd, state.Change{
			Set:    func(u *ent.ResourceUpdate) { u.SetReleasedAt(now) },
			Where:  []predicate.Resource{expiredOnly()},
			Reason: "not renewed",
		},
			resource.BillingModeEQ(resource.BillingModePREPAID),
			resource.StateIn(state.Release.From...),
			expiredOnly(),
			resource.ProductID(p.ID),
			resource.PeriodEndLTE(cutoff))
	})
}

// expiredOnly keeps resources suspended by an operator or for non-payment
// out of the expiry sweeps.
func expiredOnly() predicate.Resource {
	return resource.Or(resource.StateEQ(resource.StateGRACE), resource.SuspendReasonEQ(resource.SuspendReasonEXPIRED))
}

// PurgeDue deletes for good every TRASHED resource whose trash window is
// over (purge_at ≤ now): DELETED, no longer recoverable.
func (s *Service) PurgeDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	return s.sweep(ctx, state.Purge, now, resource.FieldPurgeAt, state.Change{Reason: "trash window over"},
		resource.StateEQ(resource.StateTRASHED),
		resource.PurgeAtNotNil(),
		resource.PurgeAtLTE(now))
}

// perProduct runs a sweep per product (each has its own grace and
// suspension days), so that the cut-off stays a plain indexed
// period_end ≤ cutoff. Products are few.
func (s *Service) perProduct(ctx context.Context, run func(*ent.Product) (int, error)) (int, error) {
	ctx = auth.SystemContext(ctx)
	products, err := s.db.Client.Product.Query().All(ctx)
	if err != nil {
		return 0, fmt.Errorf("read products: %w", err)
	}
	var (
		total int
		errs  []error
	)
	for _, p := range products {
		n, err := run(p)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("product %s: %w", p.Code, err))
		}
	}
	return total, errors.Join(errs...)
}

// sweep applies t to the resources matching where, oldest first by
// orderBy, in batches of SweepBatch, one transaction each, and returns how
// many it moved.
func (s *Service) sweep(ctx context.Context, t state.Transition, now time.Time, orderBy string, c state.Change,
	where ...predicate.Resource) (int, error) {
	ctx = auth.SystemContext(ctx)
	total := 0
	for {
		var n int
		err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
			q := tx.Resource.Query().
				Where(where...).
				Order(ent.Asc(orderBy), ent.Asc(resource.FieldID)).
				Limit(SweepBatch)
			if s.db.IsPostgres() {
				// Locked rows are re-checked against the conditions when a
				// concurrent sweep commits first, so each moves once.
				q.ForUpdate()
			}
			rs, err := q.All(ctx)
			if err != nil {
				return fmt.Errorf("select: %w", err)
			}
			n, err = s.machine.ApplyAll(ctx, tx, t, rs, now, c)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("%s sweep: %w", t.Name, err)
		}
		total += n
		if n < SweepBatch {
			return total, nil
		}
	}
}
