package invoicing_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/internal/invoicing"
	"billing/internal/pulid"
	"billing/internal/store"
)

// TestIssuePrepaidMatchesCreatePrepaid: IssuePrepaid writes (on PostgreSQL
// with one statement) the same invoices and lines as CreatePrepaid one by
// one, numbered consecutively in input order after what exists, and a
// rollback gives its numbers back.
func TestIssuePrepaidMatchesCreatePrepaid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	input := func(res pulid.ID) invoicing.PrepaidInput {
		return invoicing.PrepaidInput{
			AccountID: b.acc, ResourceID: res, ProductID: b.product.ID,
			Action: invoice.ActionCREATE, Quote: b.quote,
			PeriodStart: t0, PeriodEnd: t0.Add(60 * 24 * time.Hour), IssuedAt: t0,
		}
	}
	r0, r1, r2 := b.resource(t), b.resource(t), b.resource(t)
	var first *ent.Invoice
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		var err error
		first, err = b.invoices.CreatePrepaid(b.ctx, tx, input(r0))
		return err
	}))

	errBoom := errors.New("boom")
	err := store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		codes, err := b.invoices.IssuePrepaid(b.ctx, tx, []invoicing.PrepaidInput{input(r1)})
		require.NoError(t, err)
		require.Equal(t, []string{"INV-202611-000002"}, codes)
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	in1, in2 := input(r1), input(r2)
	in1.ID = pulid.New("inv")
	var codes []string
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		var err error
		codes, err = b.invoices.IssuePrepaid(b.ctx, tx, []invoicing.PrepaidInput{in1, in2})
		return err
	}))
	require.Equal(t, []string{"INV-202611-000002", "INV-202611-000003"}, codes)

	invs, err := b.db.Client.Invoice.Query().
		WithLines(func(q *ent.InvoiceLineQuery) { q.Order(ent.Asc(invoiceline.FieldPosition)) }).
		Order(ent.Asc(invoice.FieldCode)).All(b.ctx)
	require.NoError(t, err)
	require.Len(t, invs, 3)
	require.Equal(t, first.ID, invs[0].ID)
	require.Equal(t, in1.ID, invs[1].ID)
	require.Equal(t, []pulid.ID{r0, r1, r2}, []pulid.ID{invs[0].ResourceID, invs[1].ResourceID, invs[2].ResourceID})
	// Everything but ids, codes and resources is the same.
	require.Len(t, invs[0].Edges.Lines, 2)
	require.Equal(t, invoiceRow(invs[0]), invoiceRow(invs[1]))
	require.Equal(t, invoiceRow(invs[0]), invoiceRow(invs[2]))
}

// invoiceRow is an invoice with its lines (loaded in position order), all
// but its id, code and resource.
func invoiceRow(inv *ent.Invoice) string {
	s := fmt.Sprint(inv.AccountID, inv.ProductID, inv.OrderID, inv.Action, inv.Status,
		inv.PeriodStart.UTC(), inv.PeriodEnd.UTC(), inv.Subtotal, inv.Vat, inv.Discount, inv.Total, inv.AmountPaid,
		inv.Currency, inv.IssuedAt.UTC(), inv.DueAt, inv.PaidAt.UTC(), inv.SupersededByID,
		inv.CreatedAt.UTC(), inv.UpdatedAt.UTC())
	for _, l := range inv.Edges.Lines {
		s += fmt.Sprint("|", l.AccountID, l.Position, l.Description, l.UnitPrice, l.Quantity, l.DurationMinutes,
			l.PeriodStart.UTC(), l.PeriodEnd.UTC(), l.DiscountPercent, l.CouponShare, l.Amount, l.InvoiceID == inv.ID)
	}
	return s
}
