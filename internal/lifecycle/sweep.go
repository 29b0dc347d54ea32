package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"billing/ent"
	"billing/ent/predicate"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/lifecycle/internal/bulk"
	"billing/internal/lifecycle/state"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

// SweepBatch bounds the resources one transaction of a sweep changes; a
// sweep runs batches until none is full. On PostgreSQL the commit of each
// batch is a large part of its cost, so batches are large; on SQLite a
// batch holds the single writer lock for a fraction of a second.
const SweepBatch = 2000

// ExpireDue moves every prepaid ACTIVE or STOPPED resource whose period
// has ended (period_end ≤ now: the period is [start, end)) to GRACE and
// tells its account (resource.expired). It returns how many it moved.
//
// Like every sweep it selects due resources by indexed conditions
// (state, period_end / purge_at), locks them (FOR UPDATE on PostgreSQL;
// SQLite serializes writers), moves a batch with one conditional UPDATE,
// and appends one state.Event and one notice per resource with multi-row
// INSERTs, in one transaction per batch. A resource moves once however
// often and on however many instances the sweep runs: a second run finds
// it no longer in the From state; its notice is keyed
// notify.PeriodKey(resource, period end, "expired") besides.
func (s *Service) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	where := []predicate.Resource{resource.BillingModeEQ(resource.BillingModePREPAID), resource.PeriodEndLTE(now)}
	if due, err := s.anyDue(ctx, state.Expire, where...); err != nil || !due {
		return 0, err
	}
	products, err := s.products(ctx) // for the notices
	if err != nil {
		return 0, err
	}
	return s.sweep(ctx, state.Expire, now, resource.FieldPeriodEnd, state.Change{Reason: "expired"},
		func(r *ent.Resource) notify.Notice { return s.expiredNotice(r, products[r.ProductID], now) },
		where...)
}

// SuspendDue moves every prepaid resource in GRACE whose grace period is
// over (period_end + the product's grace days ≤ now) to SUSPENDED with
// reason EXPIRED: the product service stops it and keeps its data. The
// account is told (resource.suspended, step "suspended").
func (s *Service) SuspendDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	products, err := s.products(ctx)
	if err != nil {
		return 0, err
	}
	due := dueAfter(products, func(p *ent.Product) int { return p.GraceDays }, now)
	if due == nil {
		return 0, nil
	}
	due = append(due, resource.BillingModeEQ(resource.BillingModePREPAID))
	if ok, err := s.anyDue(ctx, state.Suspend, due...); err != nil || !ok {
		return 0, err
	}
	return s.sweep(ctx, state.Suspend, now, resource.FieldPeriodEnd, state.Change{
		Set:    func(u *ent.ResourceUpdate) { u.SetSuspendReason(resource.SuspendReasonEXPIRED) },
		Reason: "grace period over",
	}, func(r *ent.Resource) notify.Notice { return s.suspendedNotice(r, products[r.ProductID], now) }, due...)
}

// ReleaseDue releases every prepaid resource that expired and was not
// renewed in time (period_end + the product's grace and suspension days ≤
// now, by default T + 30 days): GRACE or SUSPENDED for its expiry (not one
// an operator suspended) becomes RELEASED, gone and no longer renewable.
// The account is told (resource.released, step "released").
func (s *Service) ReleaseDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	products, err := s.products(ctx)
	if err != nil {
		return 0, err
	}
	due := dueAfter(products, func(p *ent.Product) int { return p.GraceDays + p.SuspensionDays }, now)
	if due == nil {
		return 0, nil
	}
	due = append(due, resource.BillingModeEQ(resource.BillingModePREPAID), expiredOnly())
	if ok, err := s.anyDue(ctx, state.Release, due...); err != nil || !ok {
		return 0, err
	}
	return s.sweep(ctx, state.Release, now, resource.FieldPeriodEnd, state.Change{
		Set:    func(u *ent.ResourceUpdate) { u.SetReleasedAt(now) },
		Where:  []predicate.Resource{expiredOnly()},
		Reason: "not renewed",
	}, func(r *ent.Resource) notify.Notice { return s.releasedNotice(r, products[r.ProductID], now) }, due...)
}

// dueAfter is "period_end + days(product) ≤ now" for every product (each
// has its own grace and suspension days) in one condition: an indexed
// period_end ≤ the latest cut-off, and per distinct number of days
// (product_id IN …, period_end ≤ its cut-off). nil: no products.
func dueAfter(products map[pulid.ID]*ent.Product, days func(*ent.Product) int, now time.Time) []predicate.Resource {
	byDays := map[int][]pulid.ID{}
	for id, p := range products {
		byDays[days(p)] = append(byDays[days(p)], id)
	}
	if len(byDays) == 0 {
		return nil
	}
	var (
		ors    []predicate.Resource
		latest time.Time
	)
	for _, d := range slices.Sorted(maps.Keys(byDays)) {
		ids := byDays[d]
		slices.Sort(ids)
		cutoff := now.Add(-time.Duration(d) * day)
		ors = append(ors, resource.And(resource.ProductIDIn(ids...), resource.PeriodEndLTE(cutoff)))
		if cutoff.After(latest) {
			latest = cutoff
		}
	}
	return []predicate.Resource{resource.PeriodEndLTE(latest), resource.Or(ors...)}
}

// expiredOnly keeps resources suspended by an operator or for non-payment
// out of the expiry sweeps.
func expiredOnly() predicate.Resource {
	return resource.Or(resource.StateEQ(resource.StateGRACE), resource.SuspendReasonEQ(resource.SuspendReasonEXPIRED))
}

// PurgeDue deletes for good every TRASHED resource whose trash window is
// over (purge_at ≤ now): DELETED, no longer recoverable. The account is
// told (resource.purged, keyed by the purge time).
func (s *Service) PurgeDue(ctx context.Context, now time.Time) (int, error) {
	now = norm(now)
	where := []predicate.Resource{resource.PurgeAtNotNil(), resource.PurgeAtLTE(now)}
	if due, err := s.anyDue(ctx, state.Purge, where...); err != nil || !due {
		return 0, err
	}
	return s.sweep(ctx, state.Purge, now, resource.FieldPurgeAt, state.Change{Reason: "trash window over"},
		func(r *ent.Resource) notify.Notice { return s.purgedNotice(r, nil, now) }, where...)
}

// oldest is "id IN (the first batch ids matching where, by orderBy then
// id)": the subquery walks the (state, period_end) index in order and the
// outer query locks what it found in id order.
func oldest(orderBy string, batch int, where []predicate.Resource) predicate.Resource {
	return func(s *entsql.Selector) {
		t := entsql.Table(resource.Table)
		sub := entsql.Select(t.C(resource.FieldID)).From(t)
		for _, p := range where {
			p(sub)
		}
		sub.OrderBy(t.C(orderBy), t.C(resource.FieldID)).Limit(batch)
		s.Where(entsql.In(s.C(resource.FieldID), sub))
	}
}

// sweepFields are what a sweep reads of the resources it moves: enough
// for their events and notices, without the components.
var sweepFields = []string{
	resource.FieldAccountID, resource.FieldProductID, resource.FieldName, resource.FieldState,
	resource.FieldPeriodEnd, resource.FieldAutoRenew, resource.FieldPurgeAt,
}

// sweep applies t to the resources in one of t's From states matching
// where, oldest first by orderBy, in batches of SweepBatch, one
// transaction each, and returns how many it moved; between full batches
// it gives way to customers' payments (giveWay). Each batch is two
// statements plus the bulk inserts of its events and notices (notice
// builds each resource's), so the cost per resource is a few rows
// written, never a round trip.
//
// It sweeps one From state at a time: with state = X the (state,
// period_end) index yields the due rows already in order, and the rows a
// batch moved leave that range, so each batch reads only what it moves.
// (With state IN (…) the planner walks period_end and skips the rows
// already moved: quadratic over a large sweep.)
func (s *Service) sweep(ctx context.Context, t state.Transition, now time.Time, orderBy string, c state.Change,
	notice func(*ent.Resource) notify.Notice, where ...predicate.Resource) (int, error) {
	total := 0
	for _, st := range t.From {
		n, err := s.sweepState(ctx, t, st, now, orderBy, c, notice, where...)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// anyDue reports whether a resource in one of t's From states matches
// where: most runs find nothing due, and then cost an indexed read per
// state (state = X, as the sweep itself reads) instead of a transaction.
func (s *Service) anyDue(ctx context.Context, t state.Transition, where ...predicate.Resource) (bool, error) {
	ctx = auth.SystemContext(ctx)
	for _, st := range t.From {
		due, err := s.db.Client.Resource.Query().
			Where(resource.StateEQ(st)).
			Where(where...).
			Exist(ctx)
		if err != nil {
			return false, fmt.Errorf("%s sweep: %w", t.Name, err)
		}
		if due {
			return true, nil
		}
	}
	return false, nil
}

func (s *Service) sweepState(ctx context.Context, t state.Transition, st resource.State, now time.Time, orderBy string,
	c state.Change, notice func(*ent.Resource) notify.Notice, where ...predicate.Resource) (int, error) {
	ctx = auth.SystemContext(ctx)
	where = append([]predicate.Resource{resource.StateEQ(st)}, where...)
	total := 0
	for {
		var n int
		start := time.Now()
		err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
			// The oldest due batch, locked in id order like every other
			// transaction locks resources (a customer renewing several of
			// them cannot deadlock with the sweep).
			q := tx.Resource.Query().
				Where(oldest(orderBy, s.pace.batch, where)).
				Where(where...).
				Order(ent.Asc(resource.FieldID)).
				Select(sweepFields...)
			if s.db.IsPostgres() {
				// Locked rows are re-checked against the conditions when a
				// concurrent sweep commits first, so each moves once.
				q.ForUpdate()
			}
			rs, err := q.All(ctx)
			if err != nil {
				return fmt.Errorf("select: %w", err)
			}
			if n, err = s.machine.ApplyAll(ctx, tx, t, rs, now, c); err != nil || s.notify == nil {
				return err
			}
			notices := make([]notify.Notice, len(rs))
			for i, r := range rs {
				notices[i] = notice(r)
			}
			_, err = bulk.Notify(ctx, tx, s.outbox, s.db.IsPostgres(), notices)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("%s sweep: %w", t.Name, err)
		}
		total += n
		if n < s.pace.batch {
			return total, nil
		}
		if err := s.giveWay(ctx, time.Since(start)); err != nil {
			return total, fmt.Errorf("%s sweep: %w", t.Name, err)
		}
	}
}
