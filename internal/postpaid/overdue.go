package postpaid

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/resource"
	"billing/internal/lifecycle/state"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

// SuspendResult is what a suspension run did.
type SuspendResult struct {
	// Accounts is how many accounts had resources suspended.
	Accounts int
	// Resources is how many resources were suspended.
	Resources int
}

// SuspendOverdue suspends, for every account with an UNPAID or
// PARTIALLY_PAID invoice whose due date is OverdueDays or more before now,
// the account's running postpaid resources (ACTIVE or STOPPED →
// SUSPENDED, reason NON_PAYMENT; the transition's event tells the product
// service to stop them) and notifies the account once. One transaction per
// account, which locks the account first, re-checks that an invoice is
// still overdue (a payment may have come first) and locks the resources;
// running it twice, or on two instances, suspends and notifies once.
// Prepaid resources of the account and resources already suspended (for
// any reason) are left alone.
func (s *Service) SuspendOverdue(ctx context.Context, now time.Time) (SuspendResult, error) {
	ctx, err := jobContext(ctx)
	if err != nil {
		return SuspendResult{}, err
	}
	now = norm(now)
	cutoff := s.overdueCutoff(now)
	accounts, err := s.db.Client.Invoice.Query().
		Where(invoice.StatusIn(openStatuses...), invoice.DueAtLTE(cutoff)).
		Unique(true).
		Select(invoice.FieldAccountID).
		Strings(ctx)
	if err != nil {
		return SuspendResult{}, fmt.Errorf("suspend overdue: accounts: %w", err)
	}
	var (
		res  SuspendResult
		errs []error
	)
	for _, a := range accounts {
		acc := pulid.ID(a)
		var n int
		err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
			var err error
			n, err = s.suspendAccount(ctx, tx, acc, cutoff, now)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", acc, err))
			continue
		}
		if n > 0 {
			res.Accounts++
			res.Resources += n
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("suspend overdue: %w", err)
	}
	return res, nil
}

// suspendAccount is one account's suspension transaction.
func (s *Service) suspendAccount(ctx context.Context, tx *ent.Tx, accountID pulid.ID, cutoff, now time.Time) (int, error) {
	if _, err := s.lockAccount(ctx, tx, accountID); err != nil {
		return 0, err
	}
	oldest, err := tx.Invoice.Query().
		Where(invoice.AccountID(accountID), invoice.StatusIn(openStatuses...), invoice.DueAtLTE(cutoff)).
		Order(ent.Asc(invoice.FieldDueAt), ent.Asc(invoice.FieldCode)).
		First(ctx)
	if ent.IsNotFound(err) {
		return 0, nil // paid meanwhile
	}
	if err != nil {
		return 0, fmt.Errorf("overdue invoices: %w", err)
	}
	q := tx.Resource.Query().
		Where(resource.AccountID(accountID), resource.BillingModeEQ(resource.BillingModePOSTPAID),
			resource.StateIn(SuspendForNonPayment.From...)).
		Order(ent.Asc(resource.FieldID))
	if s.db.IsPostgres() {
		q.ForUpdate()
	}
	rs, err := q.All(ctx)
	if err != nil {
		return 0, fmt.Errorf("running postpaid resources: %w", err)
	}
	if len(rs) == 0 {
		return 0, nil
	}
	n, err := s.machine.ApplyAll(ctx, tx, SuspendForNonPayment, rs, now, state.Change{
		Set:    func(u *ent.ResourceUpdate) { u.SetSuspendReason(resource.SuspendReasonNON_PAYMENT) },
		Reason: "invoice " + oldest.Code + " overdue",
	})
	if err != nil {
		return 0, err
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	_, err = s.notify.Notify(ctx, tx, notify.Notice{
		AccountID: accountID,
		Kind:      KindSuspended,
		Title:     fmt.Sprintf("%d postpaid resource(s) suspended for non-payment", n),
		Body: fmt.Sprintf("Invoice %s (%s left to pay) was due on %s. These resources are suspended until the overdue invoices are paid: %s.",
			oldest.Code, Outstanding(oldest).Format(), oldest.DueAt.In(s.loc).Format(time.DateOnly), strings.Join(names, ", ")),
		DedupeKey: notify.DedupeKey("postpaid", "suspended", string(rs[0].ID), now.Format(time.RFC3339Nano)),
		At:        now,
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
