package invoicing

import (
	"context"
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // the billing time zone must resolve on hosts without a zone database

	"github.com/jonboulle/clockwork"

	"billing/ent"
	"billing/ent/invoice"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
	"billing/internal/store"
)

// DefaultLocation is the billing time zone when none is configured.
const DefaultLocation = "Asia/Ho_Chi_Minh"

// Service issues invoices.
type Service struct {
	db    *store.DB
	clock clockwork.Clock
	loc   *time.Location
}

// New returns an invoicing service. loc is the billing time zone that
// decides an invoice's month (nil: Asia/Ho_Chi_Minh).
func New(db *store.DB, clock clockwork.Clock, loc *time.Location) *Service {
	if db == nil || clock == nil {
		panic("invoicing.New: db and clock are required")
	}
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation(DefaultLocation); err != nil {
			// time/tzdata is embedded: this cannot fail at run time.
			panic(fmt.Sprintf("invoicing.New: load %s: %v", DefaultLocation, err))
		}
	}
	return &Service{db: db, clock: clock, loc: loc}
}

// Location is the billing time zone.
func (s *Service) Location() *time.Location { return s.loc }

// PrepaidInput describes a prepaid invoice: a resource's action, already
// paid, with the lines of its quote.
type PrepaidInput struct {
	// ID is the invoice's id when the caller made it up front (to record
	// it elsewhere before taking the invoice number); empty: a new one.
	ID pulid.ID
	// AccountID owns the invoice.
	AccountID pulid.ID
	// ResourceID, ProductID and OrderID say what was bought and how.
	ResourceID pulid.ID
	ProductID  pulid.ID
	OrderID    pulid.ID
	// Action is CREATE, RENEW, RESIZE, RECOVER or AUTO_RENEW.
	Action invoice.Action
	// Quote is the resource's quote, exactly as the customer was shown it.
	Quote pricing.ResourceQuote
	// PeriodStart and PeriodEnd are the service period [start, end).
	PeriodStart, PeriodEnd time.Time
	// IssuedAt is the transaction's "now" (zero: the clock). It also
	// decides the month of the code, in the billing time zone.
	IssuedAt time.Time
}

// Validate checks the input; a failure is a programming error of the
// caller, never customer input, so it is a plain error.
func (in PrepaidInput) Validate() error {
	switch {
	case in.AccountID == "":
		return fmt.Errorf("invoice: account id is required")
	case in.ResourceID == "":
		return fmt.Errorf("invoice: resource id is required")
	case invoice.ActionValidator(in.Action) != nil || in.Action == invoice.ActionMONTHLY:
		return fmt.Errorf("invoice: %q is not a prepaid action", in.Action)
	case !in.PeriodEnd.After(in.PeriodStart):
		return fmt.Errorf("invoice: period [%s, %s) is empty", in.PeriodStart, in.PeriodEnd)
	case len(in.Quote.Lines) == 0:
		return fmt.Errorf("invoice: the quote has no lines")
	case in.Quote.Payable.IsNegative():
		return fmt.Errorf("invoice: negative total %s", in.Quote.Payable)
	}
	var sum money.Amount
	for _, l := range in.Quote.Lines {
		sum = sum.Add(l.Amount)
	}
	if !sum.Equal(in.Quote.Amount) {
		return fmt.Errorf("invoice: lines sum to %s, the quote says %s", sum, in.Quote.Amount)
	}
	return nil
}

// CreatePrepaid creates a PAID invoice inside tx, with its gapless code,
// one line per component of the quote, and amount paid = total.
//
// The invoice carries, from the resource quote: subtotal = the pre-tax
// amount, vat = the VAT it contains, discount = the resource's coupon
// share, total = what the customer paid (subtotal + vat). The coupon share
// is also shown per line, split over the lines in proportion to their
// amounts (whole VND, largest remainder); line amounts are before the
// coupon, so they add up to the quote's amount.
func (s *Service) CreatePrepaid(ctx context.Context, tx *ent.Tx, in PrepaidInput) (*ent.Invoice, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := in.IssuedAt
	if now.IsZero() {
		now = s.clock.Now()
	}
	now = now.UTC().Truncate(time.Microsecond)
	q := in.Quote
	id := in.ID
	if id == "" {
		id = pulid.New("inv")
	}
	// On PostgreSQL the invoice and its lines are written under a
	// placeholder code first — the invoice's id: unique, and never
	// committed — and the number is taken by the very last statement
	// (numberLast), so the month's sequence row, which every invoice of the
	// month needs, stays locked only for the end of that statement and the
	// commit. SQLite serializes writers anyway: there the code comes first.
	code := string(id)
	if !s.db.IsPostgres() {
		var err error
		if code, err = s.NextCode(ctx, tx, now); err != nil {
			return nil, err
		}
	}
	create := tx.Invoice.Create().
		SetID(id).
		SetCode(code).
		SetAccountID(in.AccountID).
		SetResourceID(in.ResourceID).
		SetAction(in.Action).
		SetStatus(invoice.StatusPAID).
		SetPeriodStart(in.PeriodStart.UTC()).
		SetPeriodEnd(in.PeriodEnd.UTC()).
		SetSubtotal(q.PreTax).
		SetVat(q.VAT).
		SetDiscount(q.CouponShare).
		SetTotal(q.Payable).
		SetAmountPaid(q.Payable).
		SetIssuedAt(now).
		SetPaidAt(now).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if in.ProductID != "" {
		create.SetProductID(in.ProductID)
	}
	if in.OrderID != "" {
		create.SetOrderID(in.OrderID)
	}
	inv, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create invoice %s for %s: %w", code, in.ResourceID, err)
	}
	weights := make([]money.Amount, len(q.Lines))
	for i, l := range q.Lines {
		weights[i] = l.Amount
	}
	shares := pricing.SplitProportional(q.CouponShare, weights)
	start, end := in.PeriodStart.UTC(), in.PeriodEnd.UTC()
	lines := make([]*ent.InvoiceLineCreate, len(q.Lines))
	for i, l := range q.Lines {
		lines[i] = tx.InvoiceLine.Create().
			SetInvoiceID(inv.ID).
			SetAccountID(in.AccountID).
			SetPosition(i + 1).
			SetDescription(l.Description).
			SetUnitPrice(l.UnitPrice).
			SetQuantity(l.Quantity).
			SetDurationMinutes(l.DurationMinutes).
			SetPeriodStart(start).
			SetPeriodEnd(end).
			SetCouponShare(shares[i]).
			SetAmount(l.Amount)
	}
	if _, err := tx.InvoiceLine.CreateBulk(lines...).Save(ctx); err != nil {
		return nil, fmt.Errorf("create lines of invoice %s: %w", code, err)
	}
	if s.db.IsPostgres() {
		if inv.Code, err = s.numberLast(ctx, tx, inv.ID, now); err != nil {
			return nil, err
		}
	}
	return inv, nil
}

// numberLast gives a prepaid invoice written under a placeholder code its
// real one, on PostgreSQL: one statement takes the month's next number
// from its sequence row (created on first use) — the same row lock and
// the same gapless numbering as NextCode — and writes the code. Nothing of
// the caller's transaction should follow it but the commit.
func (s *Service) numberLast(ctx context.Context, tx *ent.Tx, id pulid.ID, at time.Time) (string, error) {
	prefix := "INV-" + at.In(s.loc).Format("200601")
	rows, err := tx.QueryContext(ctx,
		`WITH n AS (
			INSERT INTO invoice_sequences (id, last_value) VALUES ($1::text, 1)
			ON CONFLICT (id) DO UPDATE SET last_value = invoice_sequences.last_value + 1
			RETURNING last_value)
		 UPDATE invoices SET code = $1::text || '-' || lpad(n.last_value::text, greatest(6, length(n.last_value::text)), '0')
		 FROM n WHERE invoices.id = $2
		 RETURNING invoices.code`, prefix, string(id))
	if err != nil {
		return "", fmt.Errorf("invoice number %s: %w", prefix, err)
	}
	var code string
	found := false
	for rows.Next() {
		if err := rows.Scan(&code); err != nil {
			_ = rows.Close()
			return "", fmt.Errorf("invoice number %s: %w", prefix, err)
		}
		found = true
	}
	// Close before the next statement on the connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return "", fmt.Errorf("invoice number %s: %w", prefix, err)
	}
	if !found {
		return "", fmt.Errorf("invoice number %s: invoice %s missing", prefix, id)
	}
	return code, nil
}

// NextCode takes the next invoice code of the month (in the billing time
// zone) that at falls in, inside tx: "INV-202611-000042". The number comes
// from a row-locking UPDATE of the month's InvoiceSequence row, so
// concurrent transactions get consecutive numbers, each waiting for the
// previous one to commit or roll back, and a rolled-back transaction gives
// its number back: the codes that exist are gapless. Take the code as late
// as possible in a transaction: the row stays locked until it ends.
func (s *Service) NextCode(ctx context.Context, tx *ent.Tx, at time.Time) (string, error) {
	n, prefix, err := s.reserve(ctx, tx, at, 1)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%06d", prefix, n), nil
}
