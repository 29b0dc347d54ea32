package invoicing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"billing/ent"
	"billing/ent/invoice"
	"billing/internal/money"
	"billing/internal/pulid"
)

// MonthlyLine is one line of a postpaid MONTHLY invoice, already computed
// and rounded by its caller (package postpaid): one usage interval of the
// resource, clipped to the invoiced month.
type MonthlyLine struct {
	Description string
	// UnitPrice is the price of one unit per 30 days, pre-tax.
	UnitPrice money.Amount
	Quantity  int64
	// DurationMinutes is how long the line's configuration ran in the month.
	DurationMinutes int64
	// PeriodStart and PeriodEnd are the interval clipped to the month.
	PeriodStart, PeriodEnd time.Time
	// DiscountPercent is the interval's discount (10 means 10%).
	DiscountPercent money.Amount
	// CouponShare is the line's part of the invoice's coupon discount.
	CouponShare money.Amount
	// Amount is the pre-tax amount, whole VND.
	Amount money.Amount
}

// MonthlyInput is one postpaid MONTHLY invoice: a resource's usage over one
// billing month, with totals computed by the caller:
//
//	subtotal = Σ line amounts (pre-tax)
//	total    = subtotal + vat − discount
type MonthlyInput struct {
	AccountID  pulid.ID
	ResourceID pulid.ID
	ProductID  pulid.ID
	// PeriodStart and PeriodEnd are the billing month [start, end), in UTC.
	// (ResourceID, MONTHLY, PeriodStart) is unique.
	PeriodStart, PeriodEnd time.Time
	Lines                  []MonthlyLine
	Subtotal, VAT          money.Amount
	// Discount is the coupon share of the invoice (zero without a coupon).
	Discount money.Amount
	Total    money.Amount
	// DueAt is when the invoice must be paid.
	DueAt time.Time
}

// Validate checks that the input is consistent; a failure is a programming
// error of the caller, so it is a plain error.
func (in MonthlyInput) Validate() error {
	switch {
	case in.AccountID == "":
		return fmt.Errorf("monthly invoice: account id is required")
	case in.ResourceID == "":
		return fmt.Errorf("monthly invoice: resource id is required")
	case !in.PeriodEnd.After(in.PeriodStart):
		return fmt.Errorf("monthly invoice: period [%s, %s) is empty", in.PeriodStart, in.PeriodEnd)
	case len(in.Lines) == 0:
		return fmt.Errorf("monthly invoice of %s: no lines", in.ResourceID)
	case in.DueAt.IsZero():
		return fmt.Errorf("monthly invoice of %s: due date is required", in.ResourceID)
	}
	var sum, shares money.Amount
	for _, l := range in.Lines {
		if !l.Amount.Equal(l.Amount.RoundVND()) || !l.CouponShare.Equal(l.CouponShare.RoundVND()) {
			return fmt.Errorf("monthly invoice of %s: line %q is not whole VND", in.ResourceID, l.Description)
		}
		sum = sum.Add(l.Amount)
		shares = shares.Add(l.CouponShare)
	}
	switch {
	case !sum.Equal(in.Subtotal):
		return fmt.Errorf("monthly invoice of %s: lines sum to %s, subtotal is %s", in.ResourceID, sum, in.Subtotal)
	case !shares.Equal(in.Discount):
		return fmt.Errorf("monthly invoice of %s: coupon shares sum to %s, discount is %s", in.ResourceID, shares, in.Discount)
	case !in.Subtotal.Add(in.VAT).Sub(in.Discount).Equal(in.Total):
		return fmt.Errorf("monthly invoice of %s: %s + %s − %s ≠ total %s", in.ResourceID, in.Subtotal, in.VAT, in.Discount, in.Total)
	case in.Total.IsNegative():
		return fmt.Errorf("monthly invoice of %s: negative total %s", in.ResourceID, in.Total)
	}
	return nil
}

// Issued names an invoice CreateMonthly created.
type Issued struct {
	ID   pulid.ID
	Code string
}

// CreateMonthly issues postpaid MONTHLY invoices inside tx, all at
// issuedAt: UNPAID with amount paid 0 (PAID at once when the total is
// zero: there is nothing to collect), one line per input line, and
// consecutive gapless codes of issuedAt's month (in the billing time zone)
// in input order, taken by one UPDATE of the month's sequence row for all
// of them (see NextCode: the row stays locked until tx ends, and a
// rollback gives every number back).
//
// It writes set-based — on PostgreSQL one INSERT … SELECT FROM unnest(…)
// for the invoices and one for the lines, on SQLite multi-row INSERTs —
// because month-end issues one invoice per postpaid resource.
//
// The caller excludes resources already invoiced for the period; an
// invoice that exists already violates the unique (resource_id, action,
// period_start) key, fails the statement and, the transaction being rolled
// back, leaves no number taken.
func (s *Service) CreateMonthly(ctx context.Context, tx *ent.Tx, issuedAt time.Time, ins []MonthlyInput) ([]Issued, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	for _, in := range ins {
		if err := in.Validate(); err != nil {
			return nil, err
		}
	}
	now := issuedAt.UTC().Truncate(time.Microsecond)
	first, prefix, err := s.reserve(ctx, tx, now, int64(len(ins)))
	if err != nil {
		return nil, err
	}
	issued := make([]Issued, len(ins))
	for i := range ins {
		issued[i] = Issued{ID: pulid.New("inv"), Code: fmt.Sprintf("%s-%06d", prefix, first+int64(i))}
	}
	if s.db.IsPostgres() {
		err = insertMonthlyPostgres(ctx, tx, now, ins, issued)
	} else {
		err = insertMonthlyBulk(ctx, tx, now, ins, issued)
	}
	if err != nil {
		return nil, fmt.Errorf("create %d monthly invoices from %s: %w", len(ins), issued[0].Code, err)
	}
	return issued, nil
}

// monthlyStatus is UNPAID, or PAID for an invoice with nothing to collect.
func monthlyStatus(in MonthlyInput) invoice.Status {
	if in.Total.IsZero() {
		return invoice.StatusPAID
	}
	return invoice.StatusUNPAID
}

// timeArray is a timestamptz[] parameter in PostgreSQL's array text
// form, with NULL for every instant equal to common, which the statement
// puts back with COALESCE: in a month-end batch nearly every period and
// due date is the same, and NULL is much cheaper to parse than a
// timestamp.
func timeArray(ts []time.Time, common time.Time) string {
	var b strings.Builder
	b.Grow(len(ts) * 5)
	b.WriteByte('{')
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		if t.Equal(common) {
			b.WriteString("NULL")
			continue
		}
		b.WriteByte('"')
		b.WriteString(t.UTC().Format(time.RFC3339Nano))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// insertMonthlyPostgres writes the invoices and their lines with one
// INSERT … SELECT FROM unnest(arrays) each: a fixed number of parameters
// whatever the batch size, and no per-row statement.
func insertMonthlyPostgres(ctx context.Context, tx *ent.Tx, now time.Time, ins []MonthlyInput, issued []Issued) error {
	n := len(ins)
	var (
		ids, codes, accounts, resources, products, statuses = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		starts, ends, dues                                  = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		subtotals, vats, discounts, totals                  = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		lines                                               int
	)
	for i, in := range ins {
		ids[i], codes[i] = string(issued[i].ID), issued[i].Code
		accounts[i], resources[i], products[i] = string(in.AccountID), string(in.ResourceID), string(in.ProductID)
		statuses[i] = string(monthlyStatus(in))
		starts[i], ends[i], dues[i] = in.PeriodStart, in.PeriodEnd, in.DueAt
		subtotals[i], vats[i], discounts[i], totals[i] = in.Subtotal.Scaled(), in.VAT.Scaled(), in.Discount.Scaled(), in.Total.Scaled()
		lines += len(in.Lines)
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO invoices (id, created_at, updated_at, code, product_id, action, status,
			period_start, period_end, subtotal, vat, discount, total, amount_paid, currency,
			issued_at, due_at, paid_at, account_id, resource_id)
		SELECT t.id, $1, $1, t.code, NULLIF(t.product_id, ''), 'MONTHLY', t.status,
			COALESCE(t.period_start, $15), COALESCE(t.period_end, $16), t.subtotal, t.vat, t.discount, t.total,
			CASE WHEN t.status = 'PAID' THEN t.total ELSE 0 END, 'VND',
			$1, COALESCE(t.due_at, $17), CASE WHEN t.status = 'PAID' THEN $1::timestamptz END, t.account_id, t.resource_id
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
			$8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::timestamptz[], $13::text[], $14::text[])
			AS t(id, code, product_id, status, period_start, period_end,
				subtotal, vat, discount, total, due_at, account_id, resource_id)`,
		now, pq.Array(ids), pq.Array(codes), pq.Array(products), pq.Array(statuses),
		timeArray(starts, ins[0].PeriodStart), timeArray(ends, ins[0].PeriodEnd),
		pq.Array(subtotals), pq.Array(vats), pq.Array(discounts), pq.Array(totals), timeArray(dues, ins[0].DueAt),
		pq.Array(accounts), pq.Array(resources), ins[0].PeriodStart.UTC(), ins[0].PeriodEnd.UTC(), ins[0].DueAt.UTC())
	if err != nil {
		return fmt.Errorf("insert invoices: %w", err)
	}
	var (
		lids, linv, lacc, ldesc          = make([]string, 0, lines), make([]string, 0, lines), make([]string, 0, lines), make([]string, 0, lines)
		lpos                             = make([]int64, 0, lines)
		lunit, lqty, lmin, ldisc, lshare = make([]int64, 0, lines), make([]int64, 0, lines), make([]int64, 0, lines), make([]int64, 0, lines), make([]int64, 0, lines)
		lamount                          = make([]int64, 0, lines)
		lstart, lend                     = make([]time.Time, 0, lines), make([]time.Time, 0, lines)
	)
	for i, in := range ins {
		for j, l := range in.Lines {
			lids = append(lids, string(pulid.New("inl")))
			linv = append(linv, string(issued[i].ID))
			lacc = append(lacc, string(in.AccountID))
			ldesc = append(ldesc, l.Description)
			lpos = append(lpos, int64(j+1))
			lunit = append(lunit, l.UnitPrice.Scaled())
			lqty = append(lqty, l.Quantity)
			lmin = append(lmin, l.DurationMinutes)
			ldisc = append(ldisc, l.DiscountPercent.Scaled())
			lshare = append(lshare, l.CouponShare.Scaled())
			lamount = append(lamount, l.Amount.Scaled())
			lstart = append(lstart, l.PeriodStart)
			lend = append(lend, l.PeriodEnd)
		}
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO invoice_lines (id, invoice_id, account_id, position, description, unit_price, quantity,
			duration_minutes, period_start, period_end, discount_percent, coupon_share, amount)
		SELECT t.id, t.invoice_id, t.account_id, t.position, t.description, t.unit_price, t.quantity,
			t.duration_minutes, COALESCE(t.period_start, $14), COALESCE(t.period_end, $15),
			t.discount_percent, t.coupon_share, t.amount
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[],
			$8::bigint[], $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::bigint[], $13::bigint[])
			AS t(id, invoice_id, account_id, position, description, unit_price, quantity,
				duration_minutes, period_start, period_end, discount_percent, coupon_share, amount)`,
		pq.Array(lids), pq.Array(linv), pq.Array(lacc), pq.Array(lpos), pq.Array(ldesc), pq.Array(lunit), pq.Array(lqty),
		pq.Array(lmin), timeArray(lstart, ins[0].PeriodStart), timeArray(lend, ins[0].PeriodEnd),
		pq.Array(ldisc), pq.Array(lshare), pq.Array(lamount), ins[0].PeriodStart.UTC(), ins[0].PeriodEnd.UTC())
	if err != nil {
		return fmt.Errorf("insert invoice lines: %w", err)
	}
	return nil
}

// bulkChunk bounds the rows of one multi-row INSERT on SQLite, well under
// its limit of 32,766 bound parameters (about 20 per invoice row).
const bulkChunk = 500

// insertMonthlyBulk writes the invoices and lines with ent's multi-row
// INSERTs, bulkChunk rows at a time (SQLite).
func insertMonthlyBulk(ctx context.Context, tx *ent.Tx, now time.Time, ins []MonthlyInput, issued []Issued) error {
	invs := make([]*ent.InvoiceCreate, 0, len(ins))
	var lines []*ent.InvoiceLineCreate
	for i, in := range ins {
		st := monthlyStatus(in)
		c := tx.Invoice.Create().
			SetID(issued[i].ID).
			SetCode(issued[i].Code).
			SetAccountID(in.AccountID).
			SetResourceID(in.ResourceID).
			SetAction(invoice.ActionMONTHLY).
			SetStatus(st).
			SetPeriodStart(in.PeriodStart.UTC()).
			SetPeriodEnd(in.PeriodEnd.UTC()).
			SetSubtotal(in.Subtotal).
			SetVat(in.VAT).
			SetDiscount(in.Discount).
			SetTotal(in.Total).
			SetIssuedAt(now).
			SetDueAt(in.DueAt.UTC()).
			SetCreatedAt(now).
			SetUpdatedAt(now)
		if st == invoice.StatusPAID {
			c.SetAmountPaid(in.Total).SetPaidAt(now)
		}
		if in.ProductID != "" {
			c.SetProductID(in.ProductID)
		}
		invs = append(invs, c)
		for j, l := range in.Lines {
			lines = append(lines, tx.InvoiceLine.Create().
				SetInvoiceID(issued[i].ID).
				SetAccountID(in.AccountID).
				SetPosition(j+1).
				SetDescription(l.Description).
				SetUnitPrice(l.UnitPrice).
				SetQuantity(l.Quantity).
				SetDurationMinutes(l.DurationMinutes).
				SetPeriodStart(l.PeriodStart.UTC()).
				SetPeriodEnd(l.PeriodEnd.UTC()).
				SetDiscountPercent(l.DiscountPercent).
				SetCouponShare(l.CouponShare).
				SetAmount(l.Amount))
		}
	}
	for len(invs) > 0 {
		k := min(bulkChunk, len(invs))
		if err := tx.Invoice.CreateBulk(invs[:k]...).Exec(ctx); err != nil {
			return fmt.Errorf("insert invoices: %w", err)
		}
		invs = invs[k:]
	}
	for len(lines) > 0 {
		k := min(bulkChunk, len(lines))
		if err := tx.InvoiceLine.CreateBulk(lines[:k]...).Exec(ctx); err != nil {
			return fmt.Errorf("insert invoice lines: %w", err)
		}
		lines = lines[k:]
	}
	return nil
}

// reserve takes n consecutive numbers of the month that at falls in (in the
// billing time zone) and returns the first one and the prefix. It is
// NextCode for n invoices at once: one row-locking UPDATE … last_value +
// n, so the numbers are consecutive and given back by a rollback.
func (s *Service) reserve(ctx context.Context, tx *ent.Tx, at time.Time, n int64) (int64, string, error) {
	if n < 1 {
		return 0, "", fmt.Errorf("invoice numbers: cannot reserve %d", n)
	}
	prefix := "INV-" + at.In(s.loc).Format("200601")
	// The month's row is created on first use; ON CONFLICT keeps two
	// first invoices of a month from failing on each other.
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO invoice_sequences (id, last_value) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING`, prefix); err != nil {
		return 0, "", fmt.Errorf("invoice number %s: create sequence: %w", prefix, err)
	}
	rows, err := tx.QueryContext(ctx,
		`UPDATE invoice_sequences SET last_value = last_value + $2 WHERE id = $1 RETURNING last_value`, prefix, n)
	if err != nil {
		return 0, "", fmt.Errorf("invoice number %s: %w", prefix, err)
	}
	var last int64
	found := false
	for rows.Next() {
		if err := rows.Scan(&last); err != nil {
			_ = rows.Close()
			return 0, "", fmt.Errorf("invoice number %s: %w", prefix, err)
		}
		found = true
	}
	// Close before the next statement on the connection.
	if err := rows.Close(); err != nil {
		return 0, "", fmt.Errorf("invoice number %s: %w", prefix, err)
	}
	if err := rows.Err(); err != nil {
		return 0, "", fmt.Errorf("invoice number %s: %w", prefix, err)
	}
	if !found {
		return 0, "", fmt.Errorf("invoice number %s: sequence row missing", prefix)
	}
	return last - n + 1, prefix, nil
}
