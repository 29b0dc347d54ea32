package postpaid_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/ledgerentry"
	"billing/ent/notification"
	"billing/ent/payment"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/invoicing"
	"billing/internal/postpaid"
	"billing/internal/pulid"
	"billing/internal/store"
)

// issue writes a MONTHLY invoice of total (no VAT, one line) for the
// resource, issued at issuedAt and due 15 days later.
func (b *bundle) issue(t *testing.T, acc, res pulid.ID, total int64, issuedAt time.Time) *ent.Invoice {
	t.Helper()
	start, end := postpaid.PreviousMonth(issuedAt, hcm)
	var out []invoicing.Issued
	require.NoError(t, store.WithTx(b.sys, b.db.Client, func(tx *ent.Tx) error {
		var err error
		out, err = b.invoices.CreateMonthly(b.sys, tx, issuedAt, []invoicing.MonthlyInput{{
			AccountID: acc, ResourceID: res, PeriodStart: start, PeriodEnd: end,
			Lines: []invoicing.MonthlyLine{{
				Description: "usage", UnitPrice: vnd(total), Quantity: 1, DurationMinutes: 43_200,
				PeriodStart: start, PeriodEnd: end, Amount: vnd(total),
			}},
			Subtotal: vnd(total), Total: vnd(total), DueAt: issuedAt.Add(15 * 24 * time.Hour),
		}})
		return err
	}))
	return b.invoice(t, out[0].ID)
}

// status renders an invoice's payment state.
func status(inv *ent.Invoice) string {
	return string(inv.Status) + " paid " + inv.AmountPaid.String() + " due " + postpaid.Outstanding(inv).String()
}

// TestAutoPayOrder: 150,000 of credit and three unpaid invoices — two
// issued the same day for 100,000 and 80,000, one issued later for
// 50,000: the 80,000 one is paid, the 100,000 one partly (70,000 paid,
// 30,000 left), the later one not at all, and no credit is left.
func TestAutoPayOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	r1, r2, r3 := b.create(t, acc, "srv"), b.create(t, acc, "srv"), b.create(t, acc, "srv")
	// The 100,000 invoice is issued first that day: same day, smallest first.
	big := b.issue(t, acc, r1.ID, 100_000, local(2026, 12, 1, 0, 0))
	small := b.issue(t, acc, r2.ID, 80_000, local(2026, 12, 1, 10, 0))
	later := b.issue(t, acc, r3.ID, 50_000, local(2026, 12, 2, 0, 0))
	b.fund(t, acc, 150_000)

	b.at(local(2026, 12, 3, 1, 0))
	res, err := b.svc.AutoPay(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "1 accounts, 2 invoices, 150000", autoPaid(res))

	require.Equal(t, "PAID paid 80000 due 0", status(b.invoice(t, small.ID)))
	require.Equal(t, "PARTIALLY_PAID paid 70000 due 30000", status(b.invoice(t, big.ID)))
	require.Equal(t, "UNPAID paid 0 due 50000", status(b.invoice(t, later.ID)))
	require.NotNil(t, b.invoice(t, small.ID).PaidAt)
	require.Nil(t, b.invoice(t, big.ID).PaidAt)
	require.Equal(t, "0", b.available(t, acc))

	// One payment, one ledger transaction, one notice.
	ps, err := b.db.Client.Payment.Query().Where(payment.AccountID(acc)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	p := ps[0]
	require.Equal(t, payment.PurposeINVOICE, p.Purpose)
	require.Equal(t, payment.MethodCREDIT, p.Method)
	require.Equal(t, payment.StatusSUCCEEDED, p.Status)
	require.Equal(t, "150000", p.Amount.String())
	require.Equal(t, "150000", p.CreditAmount.String())
	require.Equal(t, []string{string(small.ID), string(big.ID)}, p.InvoiceIds)
	es, err := b.db.Client.LedgerEntry.Query().
		Where(ledgerentry.AccountID(acc), ledgerentry.KindEQ(ledgerentry.KindINVOICE_PAYMENT)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "-150000", es[0].Amount.String())
	require.Equal(t, string(p.ID), es[0].Reference)
	require.Equal(t, "Payment of invoices "+small.Code+", "+big.Code, es[0].Description)
	ns, err := b.db.Client.Notification.Query().
		Where(notification.AccountID(acc), notification.Kind(postpaid.KindInvoicePaid)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, ns, 1)
	require.Contains(t, ns[0].Body, big.Code+": 70,000 VND (30,000 VND still to pay)")

	// Nothing happens without available credit, however often it runs.
	res, err = b.svc.AutoPay(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "0 accounts, 0 invoices, 0", autoPaid(res))

	b.fund(t, acc, 40_000)
	res, err = b.svc.AutoPay(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "1 accounts, 2 invoices, 40000", autoPaid(res))
	require.Equal(t, "PAID paid 100000 due 0", status(b.invoice(t, big.ID)))
	require.Equal(t, "PARTIALLY_PAID paid 10000 due 40000", status(b.invoice(t, later.ID)))
	require.Equal(t, "0", b.available(t, acc))
}

// TestAutoPayConcurrent: two instances running the job at once pay each
// invoice once and never overdraw.
func TestAutoPayConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	accs := []pulid.ID{b.account(t, 10_000_000), b.account(t, 10_000_000)}
	var invs []*ent.Invoice
	for _, acc := range accs {
		for range 3 {
			invs = append(invs, b.issue(t, acc, b.create(t, acc, "srv").ID, 60_000, local(2026, 12, 1, 0, 0)))
		}
		b.fund(t, acc, 150_000)
	}
	now := local(2026, 12, 2, 0, 0)
	done := make(chan postpaid.AutoPayResult, 2)
	for range 2 {
		go func() {
			res, err := b.svc.AutoPay(b.sys, now)
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
	}
	paid := (<-done).Paid.Add((<-done).Paid)
	require.Equal(t, "300000", paid.String())
	for _, acc := range accs {
		require.Equal(t, "0", b.available(t, acc))
	}
	var got []string
	for _, inv := range invs {
		got = append(got, status(b.invoice(t, inv.ID)))
	}
	require.ElementsMatch(t, []string{
		"PAID paid 60000 due 0", "PAID paid 60000 due 0", "PARTIALLY_PAID paid 30000 due 30000",
		"PAID paid 60000 due 0", "PAID paid 60000 due 0", "PARTIALLY_PAID paid 30000 due 30000",
	}, got)
}

func TestPayInvoices(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	a := b.issue(t, acc, b.create(t, acc, "srv").ID, 100_000, local(2026, 12, 1, 0, 0))
	c := b.issue(t, acc, b.create(t, acc, "srv").ID, 80_000, local(2026, 12, 1, 0, 0))
	b.fund(t, acc, 120_000)
	b.at(local(2026, 12, 5, 9, 0))

	viewer := auth.WithViewer(context.Background(), auth.Viewer{Subject: "m", Role: auth.RoleViewer, AccountID: string(acc)})
	_, err := b.svc.PayInvoices(viewer, postpaid.PayInvoicesInput{IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID}})
	requireFault(t, err, fault.Forbidden)
	d, err := b.svc.Debt(viewer, "")
	require.NoError(t, err)
	require.Equal(t, "180000", d.Unpaid.String())

	// More than the credit: refused, nothing written.
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID, c.ID}})
	requireFault(t, err, fault.InsufficientCredit, "input", "paymentMethod")
	require.Equal(t, "120000", b.available(t, acc))

	// A partial payment: smallest first, the rest on the other.
	k := key()
	in := postpaid.PayInvoicesInput{IdempotencyKey: k, InvoiceIDs: []pulid.ID{a.ID, c.ID}, Amount: ptr(vnd(110_000))}
	res, err := b.svc.PayInvoices(customer(acc), in)
	require.NoError(t, err)
	require.False(t, res.Replayed)
	require.Equal(t, "110000", res.Payment.Amount.String())
	require.Len(t, res.Invoices, 2)
	require.Equal(t, "PAID paid 80000 due 0", status(res.Invoices[0]))
	require.Equal(t, "PARTIALLY_PAID paid 30000 due 70000", status(res.Invoices[1]))
	require.Equal(t, "10000", b.available(t, acc))

	// The same key again replays; with another request it is refused.
	again, err := b.svc.PayInvoices(customer(acc), in)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, res.Payment.ID, again.Payment.ID)
	require.Equal(t, "10000", b.available(t, acc))
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{IdempotencyKey: k, InvoiceIDs: []pulid.ID{a.ID}})
	requireFault(t, err, fault.IdempotencyKeyReused)

	// A paid invoice has nothing to pay; another account's does not exist.
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{IdempotencyKey: key(), InvoiceIDs: []pulid.ID{c.ID}})
	requireFault(t, err, fault.InvalidState, "input", "invoiceIds", "0")
	// The fault names the position in the caller's list, duplicates included.
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID, a.ID, c.ID}})
	requireFault(t, err, fault.InvalidState, "input", "invoiceIds", "2")
	other := b.account(t, 10_000_000)
	_, err = b.svc.PayInvoices(customer(other), postpaid.PayInvoicesInput{IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID}})
	requireFault(t, err, fault.NotFound, "input", "invoiceIds", "0")
	_, err = b.svc.PayInvoices(b.admin, postpaid.PayInvoicesInput{AccountID: other, IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID}})
	requireFault(t, err, fault.NotFound, "input", "invoiceIds", "0")
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{
		IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID}, Method: payment.MethodGATEWAY})
	requireFault(t, err, fault.Invalid, "input", "paymentMethod")
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{
		IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID}, Amount: ptr(vnd(70_001))})
	requireFault(t, err, fault.Invalid, "input", "amount")

	// The operator pays the rest for the customer, in full.
	b.fund(t, acc, 60_000)
	res, err = b.svc.PayInvoices(b.admin, postpaid.PayInvoicesInput{AccountID: acc, IdempotencyKey: key(), InvoiceIDs: []pulid.ID{a.ID}})
	require.NoError(t, err)
	require.Equal(t, "70000", res.Payment.Amount.String())
	require.Equal(t, "PAID paid 100000 due 0", status(res.Invoices[0]))
	require.Equal(t, "0", b.available(t, acc))
	n, err := b.db.Client.Invoice.Query().Where(invoice.AccountID(acc), invoice.StatusEQ(invoice.StatusPAID)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func autoPaid(r postpaid.AutoPayResult) string {
	return fmt.Sprintf("%d accounts, %d invoices, %s", r.Accounts, r.Invoices, r.Paid)
}

func ptr[T any](v T) *T { return &v }

// TestSettleInvoicePayment: a gateway payment of invoices collected by the
// checkout pays what is still open and returns the rest to credit.
func TestSettleInvoicePayment(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	a := b.issue(t, acc, b.create(t, acc, "srv").ID, 100_000, local(2026, 12, 1, 0, 0))
	c := b.issue(t, acc, b.create(t, acc, "srv").ID, 80_000, local(2026, 12, 1, 0, 0))
	b.at(local(2026, 12, 2, 0, 0))
	// As the checkout would have recorded it once the gateway confirmed.
	p, err := b.db.Client.Payment.Create().SetAccountID(acc).SetPurpose(payment.PurposeINVOICE).
		SetMethod(payment.MethodGATEWAY).SetStatus(payment.StatusSUCCEEDED).SetAmount(vnd(180_000)).
		SetGatewayAmount(vnd(180_000)).SetInvoiceIds([]string{string(a.ID), string(c.ID)}).Save(b.sys)
	require.NoError(t, err)
	// Meanwhile the 80,000 invoice was paid from credit.
	b.fund(t, acc, 80_000)
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{IdempotencyKey: key(), InvoiceIDs: []pulid.ID{c.ID}})
	require.NoError(t, err)

	var got *postpaid.Settlement
	require.NoError(t, store.WithTx(b.sys, b.db.Client, func(tx *ent.Tx) error {
		var err error
		got, err = b.svc.SettleInvoicePayment(b.sys, tx, p, b.clock.Now())
		return err
	}))
	require.Equal(t, "80000", got.Returned.String())
	require.Len(t, got.Invoices, 1)
	require.Equal(t, "PAID paid 100000 due 0", status(b.invoice(t, a.ID)))
	require.Equal(t, "80000", b.available(t, acc))
	n, err := b.db.Client.Notification.Query().Where(notification.AccountID(acc), notification.Kind(postpaid.KindInvoicePaid)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
