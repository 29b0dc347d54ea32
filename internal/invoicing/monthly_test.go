package invoicing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/internal/invoicing"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// november is November 2026 in Asia/Ho_Chi_Minh, as UTC instants.
var (
	novStart = time.Date(2026, 10, 31, 17, 0, 0, 0, time.UTC)
	novEnd   = time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)
	issuedAt = novEnd.Add(90 * time.Second)
)

func monthly(res pulid.ID, acc pulid.ID, amounts ...int64) invoicing.MonthlyInput {
	in := invoicing.MonthlyInput{
		AccountID: acc, ResourceID: res, PeriodStart: novStart, PeriodEnd: novEnd, DueAt: novEnd.Add(15 * 24 * time.Hour),
	}
	mid := novStart.Add(10 * 24 * time.Hour)
	for i, a := range amounts {
		l := invoicing.MonthlyLine{
			Description: "line", UnitPrice: money.VND(300_000), Quantity: 1, DurationMinutes: 14_400,
			PeriodStart: novStart, PeriodEnd: mid, Amount: money.VND(a),
		}
		if i > 0 {
			l.PeriodStart, l.PeriodEnd = mid, novEnd
		}
		in.Lines = append(in.Lines, l)
		in.Subtotal = in.Subtotal.Add(money.VND(a))
	}
	in.VAT = in.Subtotal.Mul(money.VND(10).Decimal()).Mul(money.MustParse("0.01").Decimal()).RoundVND()
	in.Total = in.Subtotal.Add(in.VAT)
	return in
}

func TestCreateMonthly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r1, r2, r3 := b.resource(t), b.resource(t), b.resource(t)
	var issued []invoicing.Issued
	var prepaid *ent.Invoice
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		// A prepaid invoice of December in the same transaction shares the
		// month's numbers: on SQLite it takes number 1 at once, on
		// PostgreSQL the last one, at commit.
		var err error
		if prepaid, err = b.create(t, tx, r3, issuedAt); err != nil {
			return err
		}
		issued, err = b.invoices.CreateMonthly(b.ctx, tx, issuedAt, []invoicing.MonthlyInput{
			monthly(r1, b.acc, 100_000, 400_000),
			monthly(r2, b.acc, 0),
		})
		return err
	}))
	require.Len(t, issued, 2)
	want := []string{"INV-202612-000002", "INV-202612-000003", "INV-202612-000001"}
	if testdb.Postgres() {
		want = []string{"INV-202612-000001", "INV-202612-000002", "INV-202612-000003"}
	}
	require.Equal(t, want, []string{issued[0].Code, issued[1].Code, b.codeOf(t, prepaid.ID)})

	got, err := b.db.Client.Invoice.Query().Where(invoice.ID(issued[0].ID)).
		WithLines(func(q *ent.InvoiceLineQuery) { q.Order(ent.Asc(invoiceline.FieldPosition)) }).Only(b.ctx)
	require.NoError(t, err)
	require.Equal(t, invoice.ActionMONTHLY, got.Action)
	require.Equal(t, invoice.StatusUNPAID, got.Status)
	require.Equal(t, "500000/50000/0/550000/0", got.Subtotal.String()+"/"+got.Vat.String()+"/"+got.Discount.String()+"/"+got.Total.String()+"/"+got.AmountPaid.String())
	require.True(t, got.PeriodStart.Equal(novStart) && got.PeriodEnd.Equal(novEnd))
	require.True(t, got.IssuedAt.Equal(issuedAt))
	require.True(t, got.DueAt.Equal(novEnd.Add(15*24*time.Hour)))
	require.Nil(t, got.PaidAt)
	require.Equal(t, b.acc, got.AccountID)
	require.Equal(t, r1, got.ResourceID)
	require.Len(t, got.Edges.Lines, 2)
	require.Equal(t, "100000", got.Edges.Lines[0].Amount.String())
	require.True(t, got.Edges.Lines[0].PeriodStart.Equal(novStart))
	require.True(t, got.Edges.Lines[1].PeriodEnd.Equal(novEnd))
	require.Equal(t, int64(14_400), got.Edges.Lines[1].DurationMinutes)

	// Nothing to collect: issued PAID.
	zero, err := b.db.Client.Invoice.Get(b.ctx, issued[1].ID)
	require.NoError(t, err)
	require.Equal(t, invoice.StatusPAID, zero.Status)
	require.NotNil(t, zero.PaidAt)

	// A second invoice for the same resource and month violates the
	// unique key; the whole transaction, numbers included, rolls back.
	err = store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		_, err := b.invoices.CreateMonthly(b.ctx, tx, issuedAt, []invoicing.MonthlyInput{monthly(r3, b.acc, 1), monthly(r1, b.acc, 1)})
		return err
	})
	require.Error(t, err)
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		code, err := b.invoices.NextCode(b.ctx, tx, issuedAt)
		require.Equal(t, "INV-202612-000004", code)
		return err
	}))
}

func TestMonthlyInputValidate(t *testing.T) {
	t.Parallel()
	ok := monthly("res_1", "acc_1", 100_000)
	require.NoError(t, ok.Validate())
	tests := map[string]func(*invoicing.MonthlyInput){
		"no lines":        func(in *invoicing.MonthlyInput) { in.Lines = nil },
		"subtotal":        func(in *invoicing.MonthlyInput) { in.Subtotal = money.VND(1) },
		"total":           func(in *invoicing.MonthlyInput) { in.Total = in.Total.Add(money.VND(1)) },
		"fraction":        func(in *invoicing.MonthlyInput) { in.Lines[0].Amount = money.MustParse("0.5") },
		"empty period":    func(in *invoicing.MonthlyInput) { in.PeriodEnd = in.PeriodStart },
		"no due date":     func(in *invoicing.MonthlyInput) { in.DueAt = time.Time{} },
		"coupon mismatch": func(in *invoicing.MonthlyInput) { in.Discount = money.VND(5) },
	}
	for name, mutate := range tests {
		in := monthly("res_1", "acc_1", 100_000)
		mutate(&in)
		require.Error(t, in.Validate(), name)
	}
}
