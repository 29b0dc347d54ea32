package invoicing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"billing/ent"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// IssuePrepaidArrays is IssuePrepaid for many invoices on PostgreSQL:
// the same rows (invoices PAID with their lines, codes consecutive in the
// order of ins), written by one statement per month of issue whose
// parameters are arrays — a fixed number of them however many invoices,
// which PostgreSQL parses far faster than a multi-row VALUES list of
// 27 parameters per one-line invoice, and with no limit on their number.
// Every input must carry its ID. Call it last in the transaction, like
// IssuePrepaid: the month's sequence row stays locked until the commit.
func (s *Service) IssuePrepaidArrays(ctx context.Context, tx *ent.Tx, ins []PrepaidInput) error {
	if !s.db.IsPostgres() {
		_, err := s.IssuePrepaid(ctx, tx, ins)
		return err
	}
	for len(ins) > 0 {
		n := 1
		for n < len(ins) && s.prefix(s.issuedAt(ins[n])) == s.prefix(s.issuedAt(ins[0])) {
			n++
		}
		if err := s.issueArrays(ctx, tx, ins[:n]); err != nil {
			return err
		}
		ins = ins[n:]
	}
	return nil
}

// issueArrays writes ins (one month) with one statement of arrays.
func (s *Service) issueArrays(ctx context.Context, tx *ent.Tx, ins []PrepaidInput) error {
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
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	for i, in := range ins {
		if err := in.Validate(); err != nil {
			return err
		}
		if in.ID == "" {
			return fmt.Errorf("issue invoices of %s: an input without its id", prefix)
		}
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
	// The gate and the row lock, as issuePostgres takes them: the number
	// statement is the last before the commit.
	if err := s.gate.enter(ctx, tx); err != nil {
		return fmt.Errorf("invoice numbers %s: %w", prefix, err)
	}
	// n takes len(ins) numbers at once (base+1 … base+len(ins)), under the
	// same row lock and with the same gapless numbering as NextCode; the
	// lines' foreign key is checked at the end of the statement, when their
	// invoices exist. NULLIF: NULL, as CreatePrepaid leaves them, for no
	// product or order.
	rows, err := tx.QueryContext(ctx, `
		WITH n AS (
			INSERT INTO invoice_sequences (id, last_value) VALUES ($1::text, $2::bigint)
			ON CONFLICT (id) DO UPDATE SET last_value = invoice_sequences.last_value + $2::bigint
			RETURNING last_value - $2::bigint AS base),
		i AS (
			INSERT INTO invoices (id, code, account_id, resource_id, product_id, order_id, action, status,
				period_start, period_end, subtotal, vat, discount, total, amount_paid, currency,
				issued_at, paid_at, created_at, updated_at)
			SELECT v.id, $1::text || '-' || lpad((n.base + v.ord)::text, greatest(6, length((n.base + v.ord)::text)), '0'),
				v.account_id, v.resource_id, NULLIF(v.product_id, ''), NULLIF(v.order_id, ''), v.action, 'PAID',
				v.period_start, v.period_end, v.subtotal, v.vat, v.discount, v.total, v.total, 'VND',
				v.at, v.at, v.at, v.at
			FROM n, unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
				$15::timestamptz[])
				WITH ORDINALITY AS v(id, account_id, resource_id, product_id, order_id, action,
					period_start, period_end, subtotal, vat, discount, total, at, ord)
			RETURNING id),
		l AS (
			INSERT INTO invoice_lines (id, invoice_id, account_id, position, description, unit_price, quantity,
				duration_minutes, period_start, period_end, discount_percent, coupon_share, amount)
			SELECT l.id, l.invoice_id, l.account_id, l.position, l.description, l.unit_price, l.quantity,
				l.duration_minutes, l.period_start, l.period_end, 0, l.coupon_share, l.amount
			FROM unnest($16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[], $21::bigint[], $22::bigint[],
				$23::bigint[], $24::timestamptz[], $25::timestamptz[], $26::bigint[], $27::bigint[])
				AS l(id, invoice_id, account_id, position, description, unit_price, quantity,
					duration_minutes, period_start, period_end, coupon_share, amount))
		SELECT count(*) FROM i`,
		prefix, int64(k),
		pq.Array(ids), pq.Array(accounts), pq.Array(resources), pq.Array(products), pq.Array(orders), pq.Array(actions),
		pq.Array(starts), pq.Array(ends), pq.Array(subtotals), pq.Array(vats), pq.Array(discounts), pq.Array(totals),
		pq.Array(ats),
		pq.Array(lIDs), pq.Array(lInvoices), pq.Array(lAccounts), pq.Array(lPositions), pq.Array(lDescs),
		pq.Array(lUnits), pq.Array(lQuantities), pq.Array(lMinutes), pq.Array(lStarts), pq.Array(lEnds),
		pq.Array(lShares), pq.Array(lAmounts))
	if err != nil {
		return fmt.Errorf("issue %d invoices of %s: %w", k, prefix, err)
	}
	var written int
	for rows.Next() {
		if err := rows.Scan(&written); err != nil {
			_ = rows.Close()
			return fmt.Errorf("issue invoices of %s: %w", prefix, err)
		}
	}
	// Close before the next statement on the connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("issue %d invoices of %s: %w", k, prefix, err)
	}
	if written != k {
		return fmt.Errorf("issue invoices of %s: %d of %d written", prefix, written, k)
	}
	return nil
}
