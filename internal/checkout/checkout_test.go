package checkout_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/couponredemption"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/fault"
	"billing/internal/provision"
	"billing/internal/pulid"
)

// TestReferenceServer: image 90,000 and root disk 35,000 per 30 days for 2
// months with a fixed 20,000 coupon: lines 180,000 and 70,000, total
// 230,000 VND, one PAID invoice — and the quote says exactly the same.
func TestReferenceServer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	plan := b.serverPlan(t)
	b.fixedCoupon(t, "SAVE20K", 20_000, 0)
	ctx := customer(acc)

	q, err := b.svc.Quote(ctx, checkout.QuoteInput{Items: []checkout.ItemInput{item(plan, 1, 2)}, CouponCode: "save20k"})
	require.NoError(t, err)
	require.Len(t, q.Resources, 1)
	rq := q.Resources[0]
	require.Equal(t, "180000", rq.Lines[0].Amount.String())
	require.Equal(t, "70000", rq.Lines[1].Amount.String())
	require.Equal(t, "250000", q.Subtotal.String())
	require.Equal(t, "20000", q.Discount.String())
	require.Equal(t, "230000", q.Total.String())
	require.Equal(t, "230000", q.Payable.String())

	res, err := b.place(ctx, "k1", payment.MethodCREDIT, "SAVE20K", item(plan, 1, 2))
	require.NoError(t, err)
	require.False(t, res.Replayed)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)
	require.Equal(t, "250000", res.Order.Subtotal.String())
	require.Equal(t, "20000", res.Order.Discount.String())
	require.Equal(t, "230000", res.Order.Total.String())
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Equal(t, "230000", res.Payment.Amount.String())
	require.Equal(t, "230000", res.Payment.CreditAmount.String())
	require.Equal(t, "0", res.Payment.GatewayAmount.String())

	invs, err := b.svc.PaymentInvoices(ctx, res.Payment.ID)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	inv, err := b.db.Client.Invoice.Query().Where(invoice.ID(invs[0].ID)).
		WithLines(func(q *ent.InvoiceLineQuery) { q.Order(ent.Asc(invoiceline.FieldPosition)) }).Only(b.sys)
	require.NoError(t, err)
	require.Equal(t, "INV-202611-000001", inv.Code)
	require.Equal(t, invoice.StatusPAID, inv.Status)
	require.Equal(t, invoice.ActionCREATE, inv.Action)
	require.Equal(t, "230000", inv.Total.String())
	require.Equal(t, "230000", inv.AmountPaid.String())
	require.Equal(t, "20000", inv.Discount.String())
	require.Equal(t, rq.VAT.String(), inv.Vat.String())
	require.Equal(t, "20909", inv.Vat.String())
	require.Equal(t, rq.PreTax.String(), inv.Subtotal.String())
	require.Len(t, inv.Edges.Lines, 2)
	for i, l := range inv.Edges.Lines {
		require.Equal(t, rq.Lines[i].Amount.String(), l.Amount.String())
		require.Equal(t, rq.Lines[i].Description, l.Description)
		require.Equal(t, rq.Lines[i].UnitPrice.String(), l.UnitPrice.String())
		require.Equal(t, int64(2*43200), l.DurationMinutes)
	}
	require.Equal(t, "14400", inv.Edges.Lines[0].CouponShare.String())
	require.Equal(t, "5600", inv.Edges.Lines[1].CouponShare.String())

	r, err := b.db.Client.Resource.Get(b.sys, inv.ResourceID)
	require.NoError(t, err)
	require.Equal(t, resource.StateACTIVE, r.State)
	require.True(t, r.PeriodStart.Equal(t0))
	require.True(t, r.PeriodEnd.Equal(t0.Add(60*24*time.Hour)))
	require.Equal(t, "230000", r.PeriodPaid.String())
	require.Equal(t, "125000", r.PeriodPrice.String())
	require.Equal(t, 2, r.PeriodMonths)
	require.True(t, inv.PeriodStart.Equal(t0) && inv.PeriodEnd.Equal(*r.PeriodEnd))

	red, err := b.db.Client.CouponRedemption.Query().Only(b.sys)
	require.NoError(t, err)
	require.Equal(t, couponredemption.StatusCONSUMED, red.Status)

	bal, held := b.wallet(t, acc)
	require.Equal(t, "770000", bal)
	require.Equal(t, "0", held)
	b.verify(t, acc)
	require.Equal(t, []string{"PENDING", "SUCCEEDED", "SUCCEEDED(true)!"}, statuses(b.events(t, res.Payment.ID)))
}

// TestTopUpAndPay: 300,000 of credit on a 1,000,000 order: 300,000 held,
// 700,000 through the gateway. Approved: the hold is captured. Declined:
// the 300,000 is available again and nothing is provisioned.
func TestTopUpAndPay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		code        string
		wantPayment payment.Status
		wantOrder   order.Status
		wantBalance string
		wantState   resource.State
		wantInvs    int
		wantEvents  []string
	}{
		{"approved", "00", payment.StatusSUCCEEDED, order.StatusCOMPLETED, "0", resource.StateACTIVE, 1,
			[]string{"PENDING", "REQUIRES_ACTION", "SUCCEEDED", "SUCCEEDED(true)!"}},
		{"declined", "51", payment.StatusFAILED, order.StatusFAILED, "300000", resource.StateFAILED, 0,
			[]string{"PENDING", "REQUIRES_ACTION", "FAILED!"}},
		{"canceled by the customer", "24", payment.StatusCANCELED, order.StatusCANCELED, "300000", resource.StateFAILED, 0,
			[]string{"PENDING", "REQUIRES_ACTION", "CANCELED!"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			acc := b.account(t)
			b.fund(t, acc, 300_000)
			plan := b.plan(t, "big", component{"flavor", "Big server", 1_000_000})
			res, err := b.place(customer(acc), "k", payment.MethodTOP_UP_AND_PAY, "", item(plan, 1, 1))
			require.NoError(t, err)
			p := res.Payment
			require.Equal(t, payment.StatusREQUIRES_ACTION, p.Status)
			require.Equal(t, "1000000", p.Amount.String())
			require.Equal(t, "300000", p.CreditAmount.String())
			require.Equal(t, "700000", p.GatewayAmount.String())
			require.NotEmpty(t, p.HoldID)
			require.Equal(t, p.RedirectURL, res.RedirectURL)
			require.True(t, p.ExpiresAt.Equal(t0.Add(15*time.Minute)))
			att := b.attempt(t, p.ID)
			require.Equal(t, "700000", att.Amount.String())
			require.Equal(t, "https://gw.test/pay?ref="+att.TxnRef, res.RedirectURL)
			bal, held := b.wallet(t, acc)
			require.Equal(t, []string{"300000", "300000"}, []string{bal, held})

			outcome := b.svc.ApplyGatewayCallback(b.sys, mustVerify(t, b.gw, b.gw.callback(att.TxnRef, vnd(700_000), tc.code, "1001")))
			require.Equal(t, "confirmed", outcome.String())

			p = b.payment(t, p.ID)
			require.Equal(t, tc.wantPayment, p.Status)
			o := b.order(t, res.Order.ID)
			require.Equal(t, tc.wantOrder, o.Status)
			bal, held = b.wallet(t, acc)
			require.Equal(t, tc.wantBalance, bal)
			require.Equal(t, "0", held)
			r, err := b.db.Client.Resource.Get(b.sys, o.Edges.Items[0].ResourceID)
			require.NoError(t, err)
			require.Equal(t, tc.wantState, r.State)
			n, err := b.db.Client.Invoice.Query().Count(b.sys)
			require.NoError(t, err)
			require.Equal(t, tc.wantInvs, n)
			h, err := b.db.Client.Hold.Get(b.sys, p.HoldID)
			require.NoError(t, err)
			if tc.wantPayment == payment.StatusSUCCEEDED {
				require.Equal(t, "CAPTURED", string(h.Status))
			} else {
				require.Equal(t, "RELEASED", string(h.Status))
				require.Equal(t, orderitem.StatusFAILED, o.Edges.Items[0].Status)
			}
			require.Equal(t, tc.wantEvents, statuses(b.events(t, p.ID)))
			b.verify(t, acc)
		})
	}
}

// TestTopUpAndPayCoveredByCredit: when available credit covers the total,
// TOP_UP_AND_PAY debits it at once, like CREDIT — no hold, no gateway.
func TestTopUpAndPayCoveredByCredit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_500_000)
	plan := b.plan(t, "big", component{"flavor", "Big server", 1_000_000})
	res, err := b.place(customer(acc), "k", payment.MethodTOP_UP_AND_PAY, "", item(plan, 1, 1))
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Equal(t, payment.MethodTOP_UP_AND_PAY, res.Payment.Method)
	require.Equal(t, "1000000", res.Payment.CreditAmount.String())
	require.Equal(t, "0", res.Payment.GatewayAmount.String())
	require.Empty(t, res.Payment.HoldID)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)
	n, err := b.db.Client.GatewayAttempt.Query().Count(b.sys)
	require.NoError(t, err)
	require.Zero(t, n)
	bal, _ := b.wallet(t, acc)
	require.Equal(t, "500000", bal)
	b.verify(t, acc)
}

// TestConcurrentCreditOrders: 50 concurrent CREDIT orders against a wallet
// that affords exactly 10.
func TestConcurrentCreditOrders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	plan := b.plan(t, "small", component{"flavor", "Small server", 100_000})
	ctx := customer(acc)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.place(ctx, fmt.Sprintf("key-%d", i), payment.MethodCREDIT, "", item(plan, 1, 1))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		requireFault(t, err, fault.InsufficientCredit, "input", "paymentMethod")
	}
	require.Equal(t, 10, ok)
	bal, held := b.wallet(t, acc)
	require.Equal(t, []string{"0", "0"}, []string{bal, held})
	b.verify(t, acc)
	// A refused order leaves nothing behind.
	orders, err := b.db.Client.Order.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 10, orders)
	resources, err := b.db.Client.Resource.Query().Where(resource.StateEQ(resource.StateACTIVE)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 10, resources)
	// Ten invoices, numbered 1…10 of the month whatever order the
	// transactions committed in (on PostgreSQL inside their COMMIT).
	invs, err := b.db.Client.Invoice.Query().Order(ent.Asc(invoice.FieldCode)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, invs, 10)
	for i, inv := range invs {
		require.Equal(t, fmt.Sprintf("INV-202611-%06d", i+1), inv.Code)
	}
	debits, err := b.db.Client.LedgerTransaction.Query().Where(ledgertransaction.KindEQ(ledgertransaction.KindPURCHASE)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 10, debits)
}

// TestCouponLimitedToOne: 20 concurrent orders with a coupon limited to one
// redemption: exactly one order gets the discount; the others are refused
// with the coupon fault and write nothing (clearer for the customer than a
// silently more expensive order).
func TestCouponLimitedToOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plan := b.serverPlan(t)
	cp := b.fixedCoupon(t, "ONLYONE", 20_000, 1)
	const n = 20
	accs := make([]pulid.ID, n)
	for i := range accs {
		accs[i] = b.account(t)
		b.fund(t, accs[i], 500_000)
	}
	errs := make([]error, n)
	results := make([]*checkout.OrderResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.place(customer(accs[i]), "k", payment.MethodCREDIT, "ONLYONE", item(plan, 1, 2))
		}()
	}
	wg.Wait()
	var winners []int
	for i, err := range errs {
		if err == nil {
			winners = append(winners, i)
			continue
		}
		requireFault(t, err, fault.CouponInvalid, "input", "couponCode")
		bal, _ := b.wallet(t, accs[i])
		require.Equal(t, "500000", bal)
	}
	require.Len(t, winners, 1)
	w := results[winners[0]]
	require.Equal(t, "20000", w.Order.Discount.String())
	require.Equal(t, "230000", w.Payment.Amount.String())
	orders, err := b.db.Client.Order.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, orders)
	cp, err = b.db.Client.Coupon.Get(b.sys, cp.ID)
	require.NoError(t, err)
	require.Equal(t, 1, cp.RedeemedCount)
	for _, acc := range accs {
		b.verify(t, acc)
	}
}

// TestProvisioningFailure: one of two resources fails: its share — its
// total after its coupon share, whatever paid for it — goes back to credit
// exactly; one invoice; order PARTIALLY_FAILED; payment PARTIALLY_REFUNDED.
func TestProvisioningFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  payment.Method
		fund    int64
		fail    func(provision.Request) bool
		order   order.Status
		payment payment.Status
		// refunded is the item total of the failed resources; balance
		// the wallet afterwards.
		refunded, balance string
		invoices          int
		events            []string
	}{
		{
			name: "credit, second fails", method: payment.MethodCREDIT, fund: 1_000_000,
			fail:  func(r provision.Request) bool { return r.Position == 1 },
			order: order.StatusPARTIALLY_FAILED, payment: payment.StatusPARTIALLY_REFUNDED,
			// 2 × 250,000 − 30,001 coupon = 469,999; shares 15,001 / 15,000
			// (largest remainder, tie to the first): the second paid 235,000.
			refunded: "235000", balance: "765001", invoices: 1,
			events: []string{"PENDING", "SUCCEEDED", "SUCCEEDED(true)", "PARTIALLY_REFUNDED(false)!"},
		},
		{
			name: "gateway, first fails", method: payment.MethodGATEWAY, fund: 0,
			fail:  func(r provision.Request) bool { return r.Position == 0 },
			order: order.StatusPARTIALLY_FAILED, payment: payment.StatusPARTIALLY_REFUNDED,
			refunded: "234999", balance: "234999", invoices: 1,
			events: []string{"PENDING", "REQUIRES_ACTION", "SUCCEEDED", "PARTIALLY_REFUNDED(false)", "PARTIALLY_REFUNDED(true)!"},
		},
		{
			name: "credit, both fail", method: payment.MethodCREDIT, fund: 469_999,
			fail:  func(provision.Request) bool { return true },
			order: order.StatusFAILED, payment: payment.StatusREFUNDED,
			refunded: "469999", balance: "469999", invoices: 0,
			events: []string{"PENDING", "SUCCEEDED", "PARTIALLY_REFUNDED(false)", "REFUNDED(false)!"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			acc := b.account(t)
			if tc.fund > 0 {
				b.fund(t, acc, tc.fund)
			}
			plan := b.serverPlan(t)
			b.fixedCoupon(t, "ODD", 30_001, 0)
			b.sim.FailWhen(tc.fail)
			res, err := b.place(customer(acc), "k", tc.method, "ODD", item(plan, 2, 2))
			require.NoError(t, err)
			require.Equal(t, "469999", res.Payment.Amount.String())
			if tc.method == payment.MethodGATEWAY {
				att := b.attempt(t, res.Payment.ID)
				require.Equal(t, "confirmed", b.svc.ApplyGatewayCallback(b.sys,
					mustVerify(t, b.gw, b.gw.callback(att.TxnRef, vnd(469_999), "00", "5001"))).String())
			}
			o := b.order(t, res.Order.ID)
			require.Equal(t, tc.order, o.Status)
			require.Len(t, o.Edges.Items, 2)
			require.Equal(t, "15001", o.Edges.Items[0].Discount.String())
			require.Equal(t, "15000", o.Edges.Items[1].Discount.String())
			for _, it := range o.Edges.Items {
				r, err := b.db.Client.Resource.Get(b.sys, it.ResourceID)
				require.NoError(t, err)
				if it.Status == orderitem.StatusFAILED {
					require.Equal(t, resource.StateFAILED, r.State)
					require.Equal(t, "simulated provisioning failure", it.FailureReason)
					n, err := b.db.Client.Invoice.Query().Where(invoice.ResourceIDEQ(r.ID)).Count(b.sys)
					require.NoError(t, err)
					require.Zero(t, n)
				} else {
					require.Equal(t, orderitem.StatusSUCCEEDED, it.Status)
					require.Equal(t, resource.StateACTIVE, r.State)
				}
			}
			p := b.payment(t, res.Payment.ID)
			require.Equal(t, tc.payment, p.Status)
			require.Equal(t, tc.refunded, p.RefundedAmount.String())
			require.Len(t, p.InvoiceIds, tc.invoices)
			invs, err := b.db.Client.Invoice.Query().All(b.sys)
			require.NoError(t, err)
			require.Len(t, invs, tc.invoices)
			refunds, err := b.db.Client.LedgerEntry.Query().
				Where(ledgerentry.KindEQ(ledgerentry.KindREFUND), ledgerentry.AccountIDEQ(acc)).All(b.sys)
			require.NoError(t, err)
			var sum int64
			for _, e := range refunds {
				sum += e.Amount.Scaled() / 10_000
			}
			require.Equal(t, tc.refunded, fmt.Sprint(sum))
			bal, held := b.wallet(t, acc)
			require.Equal(t, tc.balance, bal)
			require.Equal(t, "0", held)
			require.Equal(t, tc.events, statuses(b.events(t, p.ID)))
			b.verify(t, acc)
		})
	}
}
