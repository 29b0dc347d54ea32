package invoicing

import (
	"context"
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // the billing time zone must resolve on hosts without a zone database

	"github.com/jonboulle/clockwork"
	"github.com/lib/pq"

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
	gate  *gate
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
	return &Service{db: db, clock: clock, loc: loc, gate: newGate()}
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

// CreatePrepaid creates a PAID invoice inside tx, with its gapless code
// (CodeAtCommit: on PostgreSQL given at commit, so the invoice returned
// carries its placeholder), one line per component of the quote, and
// amount paid = total.
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
	code, err := s.CodeAtCommit(ctx, tx, id, now)
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("create invoice %s for %s: %w", id, in.ResourceID, err)
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
		return nil, fmt.Errorf("create lines of invoice %s: %w", id, err)
	}
	return inv, nil
}

// CodeAtCommit is the code to create invoice id with, issued at at, inside
// tx. On PostgreSQL it is the placeholder "INV-202611#<id>" (unique, never
// committed): the trigger of migration number_invoices_at_commit gives
// the invoice the month's next number when tx commits, holding the month's
// sequence row only inside COMMIT (see IssuePrepaidAtCommit), so it may be
// called anywhere in the transaction. On SQLite, one writer at a time, it
// is NextCode. Either way the codes that exist are gapless; read them
// after the commit.
func (s *Service) CodeAtCommit(ctx context.Context, tx *ent.Tx, id pulid.ID, at time.Time) (string, error) {
	if !s.db.IsPostgres() {
		return s.NextCode(ctx, tx, at)
	}
	return s.prefix(at) + "#" + string(id), nil
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

// IssuePrepaid creates the PAID invoices of ins inside tx, exactly as
// CreatePrepaid would one by one (same rows, codes consecutive in the
// order of ins), and returns their codes, for callers that need no
// entities back. On PostgreSQL the invoices of one month, their lines and
// their numbers are written by one statement: it takes as many numbers
// from the month's sequence row at once, so that row stays locked only
// for the end of that statement and the commit. Call it last in the
// transaction.
func (s *Service) IssuePrepaid(ctx context.Context, tx *ent.Tx, ins []PrepaidInput) ([]string, error) {
	return s.issue(ctx, tx, ins, false)
}

// IssuePrepaidAtCommit creates the PAID invoices of ins inside tx like
// IssuePrepaid, but on PostgreSQL leaves their numbers to the commit: they
// are written under placeholder codes ("INV-202611#<id>", unique, never
// committed) and a deferred trigger (migration number_invoices_at_commit)
// gives each the month's next number when tx commits, in the order of ins.
// The month's sequence row is then locked only inside COMMIT — for the
// trigger and the WAL flush — instead of from the numbering statement
// through the client's COMMIT round trip, so concurrent checkouts no
// longer queue behind each other's network and scheduling delays. The
// codes are gapless all the same: a number is taken by a committing
// transaction holding the row until its commit ends.
//
// Nothing in tx may read the codes back (they are placeholders until the
// commit); read the invoices after it. On SQLite, one writer at a time,
// this is IssuePrepaid.
func (s *Service) IssuePrepaidAtCommit(ctx context.Context, tx *ent.Tx, ins []PrepaidInput) error {
	_, err := s.issue(ctx, tx, ins, true)
	return err
}

// issue is IssuePrepaid, or IssuePrepaidAtCommit with atCommit: on SQLite
// CreatePrepaid one by one (numbered at once: one writer at a time), on
// PostgreSQL one statement per month of issue (all of them, normally).
func (s *Service) issue(ctx context.Context, tx *ent.Tx, ins []PrepaidInput, atCommit bool) ([]string, error) {
	codes := make([]string, 0, len(ins))
	for len(ins) > 0 {
		if !s.db.IsPostgres() {
			inv, err := s.CreatePrepaid(ctx, tx, ins[0])
			if err != nil {
				return nil, err
			}
			codes, ins = append(codes, inv.Code), ins[1:]
			continue
		}
		n := 1
		for n < len(ins) && s.prefix(s.issuedAt(ins[n])) == s.prefix(s.issuedAt(ins[0])) {
			n++
		}
		got, err := s.issuePostgres(ctx, tx, ins[:n], atCommit)
		if err != nil {
			return nil, err
		}
		codes, ins = append(codes, got...), ins[n:]
	}
	return codes, nil
}

// issuedAt is an input's issue time as CreatePrepaid stores it.
func (s *Service) issuedAt(in PrepaidInput) time.Time {
	now := in.IssuedAt
	if now.IsZero() {
		now = s.clock.Now()
	}
	return now.UTC().Truncate(time.Microsecond)
}

// prefix is the code prefix of the month that at falls in.
func (s *Service) prefix(at time.Time) string { return "INV-" + at.In(s.loc).Format("200601") }

// issuePostgres writes ins (one month) with one statement whose
// parameters are arrays (see IssuePrepaid): a fixed number of them however
// many invoices and lines, so the statement text is the same for every
// call (prepared once per connection) and has no limit on its rows. With
// atCommit the invoices get placeholder codes, numbered by the trigger at
// commit (IssuePrepaidAtCommit), and the codes returned are those
// placeholders.
func (s *Service) issuePostgres(ctx context.Context, tx *ent.Tx, ins []PrepaidInput, atCommit bool) ([]string, error) {
	prefix := s.prefix(s.issuedAt(ins[0]))
	k := len(ins)
	var (
		ids, accounts, resources, products, orders, actions = make([]string, k), make([]string, k), make([]string, k), make([]string, k), make([]string, k), make([]string, k)
		starts, ends, ats                                   = make([]string, k), make([]string, k), make([]string, k)
		subtotals, vats, discounts, totals                  = make([]int64, k), make([]int64, k), make([]int64, k), make([]int64, k)

		lIDs, lInvoices, lAccounts, lDescs, lStarts, lEnds []string
		lPositions, lUnits, lQuantities, lMinutes, lShares []int64
		lAmounts                                           []int64
	)
	pos := make(map[pulid.ID]int, k)
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	for i, in := range ins {
		if err := in.Validate(); err != nil {
			return nil, err
		}
		if in.ID == "" {
			in.ID = pulid.New("inv")
		}
		pos[in.ID] = i
		q := in.Quote
		ids[i], accounts[i], resources[i], products[i], orders[i], actions[i] =
			string(in.ID), string(in.AccountID), string(in.ResourceID), string(in.ProductID), string(in.OrderID), string(in.Action)
		starts[i], ends[i], ats[i] = stamp(in.PeriodStart), stamp(in.PeriodEnd), stamp(s.issuedAt(in))
		subtotals[i], vats[i], discounts[i], totals[i] = q.PreTax.Scaled(), q.VAT.Scaled(), q.CouponShare.Scaled(), q.Payable.Scaled()
		weights := make([]money.Amount, len(q.Lines))
		for j, l := range q.Lines {
			weights[j] = l.Amount
		}
		shares := pricing.SplitProportional(q.CouponShare, weights)
		for j, l := range q.Lines {
			lIDs = append(lIDs, string(pulid.New("inl")))
			lInvoices, lAccounts = append(lInvoices, string(in.ID)), append(lAccounts, string(in.AccountID))
			lPositions, lDescs = append(lPositions, int64(j+1)), append(lDescs, l.Description)
			lUnits, lQuantities, lMinutes = append(lUnits, l.UnitPrice.Scaled()), append(lQuantities, l.Quantity), append(lMinutes, l.DurationMinutes)
			lStarts, lEnds = append(lStarts, starts[i]), append(lEnds, ends[i])
			lShares, lAmounts = append(lShares, shares[j].Scaled()), append(lAmounts, l.Amount.Scaled())
		}
	}
	// The gate, then the row lock: the numbering statement below is the
	// last before the commit. At commit, neither: the trigger takes the row
	// inside COMMIT.
	query := issueNowSQL
	if atCommit {
		query = issueAtCommitSQL
	} else if err := s.gate.enter(ctx, tx); err != nil {
		return nil, fmt.Errorf("invoice numbers %s: %w", prefix, err)
	}
	rows, err := tx.QueryContext(ctx, query,
		prefix, int64(k),
		pq.Array(ids), pq.Array(accounts), pq.Array(resources), pq.Array(products), pq.Array(orders), pq.Array(actions),
		pq.Array(starts), pq.Array(ends), pq.Array(subtotals), pq.Array(vats), pq.Array(discounts), pq.Array(totals),
		pq.Array(ats),
		pq.Array(lIDs), pq.Array(lInvoices), pq.Array(lAccounts), pq.Array(lPositions), pq.Array(lDescs),
		pq.Array(lUnits), pq.Array(lQuantities), pq.Array(lMinutes), pq.Array(lStarts), pq.Array(lEnds),
		pq.Array(lShares), pq.Array(lAmounts))
	if err != nil {
		return nil, fmt.Errorf("issue %d invoices of %s: %w", k, prefix, err)
	}
	codes := make([]string, k)
	found := 0
	for rows.Next() {
		var id, code string
		if err := rows.Scan(&id, &code); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("issue invoices of %s: %w", prefix, err)
		}
		i, ok := pos[pulid.ID(id)]
		if !ok {
			_ = rows.Close()
			return nil, fmt.Errorf("issue invoices of %s: unexpected invoice %s", prefix, id)
		}
		codes[i] = code
		found++
	}
	// Close before the next statement on the connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("issue %d invoices of %s: %w", k, prefix, err)
	}
	if found != k {
		return nil, fmt.Errorf("issue invoices of %s: %d of %d written", prefix, found, k)
	}
	return codes, nil
}

// The statements of issuePostgres. issueNowSQL takes len(ins) numbers at
// once (base+1 … base+len(ins)) in its first CTE, under the same row lock
// and with the same gapless numbering as NextCode; issueAtCommitSQL writes
// placeholder codes "<prefix>#<id>" for the trigger to number at commit
// ($2 unused but typed, so both take the same arguments). In both the
// lines' foreign key is checked at the end of the statement, when their
// invoices exist. NULLIF: NULL, as CreatePrepaid leaves them, for no
// product or order.
var (
	issueNowSQL = fmt.Sprintf(issueSQL, `
			INSERT INTO invoice_sequences (id, last_value) VALUES ($1::text, $2::bigint)
			ON CONFLICT (id) DO UPDATE SET last_value = invoice_sequences.last_value + $2::bigint
			RETURNING last_value - $2::bigint AS base`,
		`$1::text || '-' || lpad((n.base + v.ord)::text, greatest(6, length((n.base + v.ord)::text)), '0')`)
	issueAtCommitSQL = fmt.Sprintf(issueSQL, `SELECT $2::bigint AS base`, `$1::text || '#' || v.id`)
)

const issueSQL = `
		WITH n AS (%s),
		i AS (
			INSERT INTO invoices (id, code, account_id, resource_id, product_id, order_id, action, status,
				period_start, period_end, subtotal, vat, discount, total, amount_paid, currency,
				issued_at, paid_at, created_at, updated_at)
			SELECT v.id, %s,
				v.account_id, v.resource_id, NULLIF(v.product_id, ''), NULLIF(v.order_id, ''), v.action, 'PAID',
				v.period_start, v.period_end, v.subtotal, v.vat, v.discount, v.total, v.total, 'VND',
				v.at, v.at, v.at, v.at
			FROM n, unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
				$15::timestamptz[])
				WITH ORDINALITY AS v(id, account_id, resource_id, product_id, order_id, action,
					period_start, period_end, subtotal, vat, discount, total, at, ord)
			ORDER BY v.ord
			RETURNING id, code),
		l AS (
			INSERT INTO invoice_lines (id, invoice_id, account_id, position, description, unit_price, quantity,
				duration_minutes, period_start, period_end, discount_percent, coupon_share, amount)
			SELECT l.id, l.invoice_id, l.account_id, l.position, l.description, l.unit_price, l.quantity,
				l.duration_minutes, l.period_start, l.period_end, 0, l.coupon_share, l.amount
			FROM unnest($16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[], $21::bigint[], $22::bigint[],
				$23::bigint[], $24::timestamptz[], $25::timestamptz[], $26::bigint[], $27::bigint[])
				AS l(id, invoice_id, account_id, position, description, unit_price, quantity,
					duration_minutes, period_start, period_end, coupon_share, amount))
		SELECT id, code FROM i`
