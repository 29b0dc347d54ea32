package postpaid

import (
	"context"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/usageinterval"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
)

// openStatuses are the statuses of an invoice that still has something
// to pay.
var openStatuses = []invoice.Status{invoice.StatusUNPAID, invoice.StatusPARTIALLY_PAID}

// Exposure is what an account owes, has run up and is committed to: the
// credit limit bounds its total.
type Exposure struct {
	// Unpaid is Σ (total − amount paid) of its UNPAID and PARTIALLY_PAID
	// invoices.
	Unpaid money.Amount
	// Running is what its postpaid resources have used in the current
	// billing month so far (to the current minute), VAT included, exactly
	// as the month-end invoices will say.
	Running money.Amount
	// Committed is what its running postpaid resources (every open usage
	// interval) cost for the next 30 days at their current configuration,
	// VAT included (MonthlyCharge of each).
	Committed money.Amount
}

// Total is Unpaid + Running + Committed.
func (e Exposure) Total() money.Amount { return e.Unpaid.Add(e.Running).Add(e.Committed) }

// exposure computes an account's exposure at now inside tx; the open
// interval of resource except (a resize's) is left out of Committed.
func (s *Service) exposure(ctx context.Context, client *ent.Client, tx *ent.Tx, accountID pulid.ID, now time.Time, except pulid.ID) (Exposure, error) {
	unpaid, err := unpaidOf(ctx, client, tx, accountID)
	if err != nil {
		return Exposure{}, err
	}
	bills, err := s.running(ctx, client, accountID, now)
	if err != nil {
		return Exposure{}, err
	}
	e := Exposure{Unpaid: unpaid}
	for _, b := range bills {
		e.Running = e.Running.Add(b.Total)
	}
	open, err := client.UsageInterval.Query().
		Where(usageinterval.AccountID(accountID), usageinterval.EndIsNil()).
		All(ctx)
	if err != nil {
		return Exposure{}, fmt.Errorf("open usage of %s: %w", accountID, err)
	}
	for _, iv := range open {
		if iv.ResourceID != except {
			e.Committed = e.Committed.Add(MonthlyCharge(iv.Components, iv.DiscountPercent))
		}
	}
	return e, nil
}

// unpaidOf is Σ (total − amount_paid) of the account's open invoices,
// read inside tx when there is one.
func unpaidOf(ctx context.Context, client *ent.Client, tx *ent.Tx, accountID pulid.ID) (money.Amount, error) {
	query := client.QueryContext
	if tx != nil {
		query = tx.QueryContext
	}
	rows, err := query(ctx,
		`SELECT COALESCE(SUM(total - amount_paid), 0) FROM invoices
		 WHERE account_id = $1 AND status IN ('UNPAID', 'PARTIALLY_PAID')`, string(accountID))
	if err != nil {
		return money.Zero, fmt.Errorf("unpaid invoices of %s: %w", accountID, err)
	}
	defer rows.Close()
	var sum money.Amount
	if rows.Next() {
		if err := rows.Scan(&sum); err != nil {
			return money.Zero, fmt.Errorf("unpaid invoices of %s: %w", accountID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return money.Zero, fmt.Errorf("unpaid invoices of %s: %w", accountID, err)
	}
	return sum, nil
}

// running bills the account's postpaid usage of the current billing
// month up to the current minute, per resource.
func (s *Service) running(ctx context.Context, client *ent.Client, accountID pulid.ID, now time.Time) (map[pulid.ID]Bill, error) {
	from, _ := Month(now, s.loc)
	to := minute(now)
	ivs, err := client.UsageInterval.Query().
		Where(
			usageinterval.AccountID(accountID),
			usageinterval.StartLT(to),
			usageinterval.Or(usageinterval.EndIsNil(), usageinterval.EndGT(from)),
		).
		Order(ent.Asc(usageinterval.FieldResourceID), ent.Asc(usageinterval.FieldStart), ent.Asc(usageinterval.FieldID)).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("usage of %s: %w", accountID, err)
	}
	per := map[pulid.ID][]Interval{}
	for _, iv := range ivs {
		per[iv.ResourceID] = append(per[iv.ResourceID], intervalOf(iv))
	}
	out := make(map[pulid.ID]Bill, len(per))
	for id, list := range per {
		out[id] = BillIntervals(list, from, to)
	}
	return out, nil
}

func intervalOf(iv *ent.UsageInterval) Interval {
	return Interval{
		ResourceID: iv.ResourceID, Start: iv.Start.UTC(), End: utcPtr(iv.End),
		Components: iv.Components, DiscountPercent: iv.DiscountPercent,
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// checkCredit refuses a change that would take the account past its credit
// limit (fault.CreditLimitExceeded): unpaid invoices + running charges +
// the next 30 days of its running resources, with the changed resource
// (except, for a resize) at add — a month of its new configuration — must
// not exceed the limit. The caller holds the account's lock, so two
// changes cannot both pass on the same room.
func (s *Service) checkCredit(ctx context.Context, tx *ent.Tx, acc *ent.Account, add money.Amount, except pulid.ID, now time.Time) error {
	e, err := s.exposure(ctx, tx.Client(), tx, acc.ID, now, except)
	if err != nil {
		return err
	}
	if e.Total().Add(add).GreaterThan(acc.CreditLimit) {
		return fault.Newf(fault.CreditLimitExceeded, []string{"input"},
			"this would exceed the credit limit of %s: %s unpaid, %s used this month, %s for the next 30 days of the running resources and %s for the new configuration",
			acc.CreditLimit.Format(), e.Unpaid.Format(), e.Running.Format(), e.Committed.Format(), add.Format())
	}
	return nil
}

// refuseOverdue refuses a new resource while the account has an invoice
// overdue past the suspension threshold: it would be suspended at once.
func (s *Service) refuseOverdue(ctx context.Context, tx *ent.Tx, accountID pulid.ID, now time.Time) error {
	overdue, err := tx.Invoice.Query().
		Where(invoice.AccountID(accountID), invoice.StatusIn(openStatuses...), invoice.DueAtLTE(s.overdueCutoff(now))).
		Exist(ctx)
	if err != nil {
		return fmt.Errorf("overdue invoices of %s: %w", accountID, err)
	}
	if overdue {
		return fault.New(fault.InvalidState, "the account has overdue invoices: pay them first", "input", "accountId")
	}
	return nil
}
