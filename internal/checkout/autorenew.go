package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/pulid"
	"billing/internal/store"
)

// AutoRenewStep is the LifecycleStep step recorded, in the renewal's own
// transaction, when a resource's period was renewed automatically. Its
// unique key (resource, period end, step) makes the renewal of one period
// happen at most once.
const AutoRenewStep = "AUTO_RENEW"

// errNotDue rolls back an AutoRenew that has nothing to do.
var errNotDue = errors.New("auto-renew: not due")

// AutoRenew renews a prepaid resource whose period ends at periodEnd for
// its auto-renew period, paid from credit only, with an AUTO_RENEW invoice
// (SPEC §6). It is the scheduler's, and runs as the process.
//
// It renews at most once per resource and period end, even when called
// concurrently or on several instances: the transaction locks the
// resource and inserts the LifecycleStep (resource, periodEnd,
// AUTO_RENEW), whose unique key makes every other attempt find it
// (renewed=false) once it waited for the lock. The
// order (one RENEW item, method CREDIT), the debit, the period extension,
// the invoice and the step commit together or not at all.
//
// It reports false with no error when there is nothing to do: already
// renewed for this period end, auto-renew off, the period end moved (the
// customer renewed), not prepaid, or not in ACTIVE, STOPPED or GRACE.
// It fails, renewing nothing and recording nothing, with
// fault.InsufficientCredit when available credit is short, with
// fault.Conflict while a payment for another action on the resource is
// in progress, and with fault.Invalid when the auto-renew period is no
// longer sold; a later attempt may then succeed.
func (s *Service) AutoRenew(ctx context.Context, resourceID pulid.ID, periodEnd time.Time) (bool, error) {
	ctx = auth.SystemContext(ctx)
	now := s.now()
	periodEnd = periodEnd.UTC().Truncate(time.Microsecond)
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		// The resource first, then the step: the order AutoRenewAll takes
		// them in, so that the two never wait for each other in a circle.
		r, err := s.machine.Lock(ctx, tx, resourceID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO lifecycle_steps (id, resource_id, period_end, step, outcome, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (resource_id, period_end, step) DO NOTHING`,
			string(pulid.New("lcs")), string(resourceID), periodEnd, AutoRenewStep, "RENEWED", now)
		if err != nil {
			return fmt.Errorf("record step: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("record step: %w", err)
		} else if n == 0 {
			return errNotDue // renewed already
		}
		if !autoRenewDue(r, periodEnd) {
			return errNotDue
		}
		item := ActionItem{Action: orderitem.ActionRENEW, ResourceID: r.ID, Months: r.AutoRenewMonths}
		pas, accountID, err := s.priceActions(ctx, tx, []ActionItem{item}, now)
		if err != nil {
			return err
		}
		_, err = s.placeActions(ctx, tx, accountID, pas, payWith{method: payment.MethodCREDIT},
			autoRenewOrderKey(r.ID, periodEnd), now, invoice.ActionAUTO_RENEW)
		return err
	})
	switch {
	case errors.Is(err, errNotDue):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("auto-renew %s: %w", resourceID, err)
	}
	return true, nil
}

// autoRenewDue reports whether r is still due for the automatic renewal
// of the period ending at periodEnd: prepaid, auto-renew on, that period
// end still current, and ACTIVE, STOPPED or GRACE.
func autoRenewDue(r *ent.Resource, periodEnd time.Time) bool {
	switch {
	case r.BillingMode != resource.BillingModePREPAID, !r.AutoRenew,
		r.PeriodEnd == nil, !r.PeriodEnd.Equal(periodEnd):
		return false
	}
	return r.State == resource.StateACTIVE || r.State == resource.StateSTOPPED || r.State == resource.StateGRACE
}

// autoRenewOrderKey is the idempotency key of the order renewing id's
// period ending at end.
func autoRenewOrderKey(id pulid.ID, end time.Time) string {
	return "auto-renew:" + string(id) + ":" + end.UTC().Format(time.RFC3339Nano)
}
