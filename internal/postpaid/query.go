package postpaid

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/ent/resource"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
)

// ResourceCharge is what one postpaid resource has run up in the current
// billing month so far: the lines its month-end invoice would have if the
// month ended at the current minute.
type ResourceCharge struct {
	Resource *ent.Resource
	// From is the start of the billing month, Until the current minute.
	From, Until time.Time
	Bill
}

// RunningCharges lists the current-month running charges of an account's
// postpaid resources (those with usage this month, deleted ones
// included), ordered by resource name then id. Members read their own
// account; operators name one.
func (s *Service) RunningCharges(ctx context.Context, accountID pulid.ID) ([]ResourceCharge, error) {
	id, err := reader(ctx, accountID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	bills, err := s.running(ctx, s.db.Client, id, now)
	if err != nil {
		return nil, fmt.Errorf("running charges of %s: %w", id, err)
	}
	ids := make([]pulid.ID, 0, len(bills))
	for rid := range bills {
		ids = append(ids, rid)
	}
	rs, err := s.db.Client.Resource.Query().Where(resource.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("running charges of %s: resources: %w", id, err)
	}
	from, _ := Month(now, s.loc)
	out := make([]ResourceCharge, 0, len(rs))
	for _, r := range rs {
		out = append(out, ResourceCharge{Resource: r, From: from, Until: minute(now), Bill: bills[r.ID]})
	}
	slices.SortFunc(out, func(a, b ResourceCharge) int {
		if c := strings.Compare(a.Resource.Name, b.Resource.Name); c != 0 {
			return c
		}
		return strings.Compare(string(a.Resource.ID), string(b.Resource.ID))
	})
	return out, nil
}

// DebtSummary is an account's postpaid position.
type DebtSummary struct {
	AccountID   pulid.ID
	Type        entaccount.Type
	CreditLimit money.Amount
	// Unpaid is Σ outstanding of UNPAID and PARTIALLY_PAID invoices, in
	// UnpaidInvoices invoices.
	Unpaid         money.Amount
	UnpaidInvoices int
	// Overdue is the part of Unpaid past its due date, in OverdueInvoices
	// invoices; OldestDueAt is the earliest due date among them.
	Overdue         money.Amount
	OverdueInvoices int
	OldestDueAt     *time.Time
	// Running is the current month's running charges, VAT included.
	Running money.Amount
	// Committed is the next 30 days of the running postpaid resources at
	// their current configuration, VAT included.
	Committed money.Amount
	// Headroom is CreditLimit − Unpaid − Running − Committed (negative when
	// over): the largest monthly charge a new resource may have.
	Headroom money.Amount
	// AvailableCredit is the wallet's balance − held, which the daily
	// automatic payment uses.
	AvailableCredit money.Amount
	// SuspendedForNonPayment is how many postpaid resources are suspended
	// for non-payment.
	SuspendedForNonPayment int
}

// Debt summarizes an account's debt at the current time. Members read
// their own account; operators name one.
func (s *Service) Debt(ctx context.Context, accountID pulid.ID) (*DebtSummary, error) {
	id, err := reader(ctx, accountID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	acc, err := s.db.Client.Account.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "account not found", "accountId")
	}
	if err != nil {
		return nil, fmt.Errorf("debt of %s: %w", id, err)
	}
	invs, err := s.db.Client.Invoice.Query().
		Where(invoice.AccountID(id), invoice.StatusIn(openStatuses...)).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("debt of %s: invoices: %w", id, err)
	}
	d := &DebtSummary{AccountID: id, Type: acc.Type, CreditLimit: acc.CreditLimit}
	for _, inv := range invs {
		left := Outstanding(inv)
		d.Unpaid = d.Unpaid.Add(left)
		d.UnpaidInvoices++
		if inv.DueAt != nil && !inv.DueAt.After(now) {
			d.Overdue = d.Overdue.Add(left)
			d.OverdueInvoices++
			if d.OldestDueAt == nil || inv.DueAt.Before(*d.OldestDueAt) {
				due := *inv.DueAt
				d.OldestDueAt = &due
			}
		}
	}
	e, err := s.exposure(ctx, s.db.Client, nil, id, now, "")
	if err != nil {
		return nil, fmt.Errorf("debt of %s: %w", id, err)
	}
	d.Running, d.Committed = e.Running, e.Committed
	d.Headroom = d.CreditLimit.Sub(d.Unpaid).Sub(d.Running).Sub(d.Committed)
	w, err := acc.QueryWallet().Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, fmt.Errorf("debt of %s: wallet: %w", id, err)
	}
	if w != nil {
		d.AvailableCredit = w.Balance.Sub(w.Held)
	}
	d.SuspendedForNonPayment, err = s.db.Client.Resource.Query().
		Where(resource.AccountID(id), resource.StateEQ(resource.StateSUSPENDED),
			resource.SuspendReasonEQ(resource.SuspendReasonNON_PAYMENT)).
		Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("debt of %s: suspended resources: %w", id, err)
	}
	return d, nil
}

// InvoiceFilter narrows Invoices.
type InvoiceFilter struct {
	// AccountID: empty for members (their own account); operators name one.
	AccountID pulid.ID
	// Statuses keeps invoices in these statuses (empty: all).
	Statuses []invoice.Status
	// Action keeps invoices of one action (empty: all), e.g. MONTHLY.
	Action invoice.Action
	// Limit caps the result (0: 100; at most 100).
	Limit int
}

// Invoices lists an account's invoices, newest first, with their lines in
// position order. The GraphQL layer paginates through ent's connections;
// this is the service-level read for dashboards and tests.
func (s *Service) Invoices(ctx context.Context, f InvoiceFilter) ([]*ent.Invoice, error) {
	id, err := reader(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	q := s.db.Client.Invoice.Query().
		Where(invoice.AccountID(id)).
		WithLines(func(lq *ent.InvoiceLineQuery) { lq.Order(ent.Asc(invoiceline.FieldPosition)) }).
		Order(ent.Desc(invoice.FieldIssuedAt), ent.Desc(invoice.FieldCode)).
		Limit(limit)
	if len(f.Statuses) > 0 {
		q.Where(invoice.StatusIn(f.Statuses...))
	}
	if f.Action != "" {
		q.Where(invoice.ActionEQ(f.Action))
	}
	invs, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("invoices of %s: %w", id, err)
	}
	return invs, nil
}

// Invoice reads one invoice with its lines (in position order), through
// the tenant filter: another account's invoice is NOT_FOUND for members.
func (s *Service) Invoice(ctx context.Context, id pulid.ID) (*ent.Invoice, error) {
	if err := canRead(ctx); err != nil {
		return nil, err
	}
	inv, err := s.db.Client.Invoice.Query().
		Where(invoice.ID(id)).
		WithLines(func(lq *ent.InvoiceLineQuery) { lq.Order(ent.Asc(invoiceline.FieldPosition)) }).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "invoice not found", "id")
	}
	if err != nil {
		return nil, fmt.Errorf("invoice %s: %w", id, err)
	}
	return inv, nil
}
