package checkout_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent/ledgertransaction"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/checkout"
	"billing/internal/fault"
	"billing/internal/provision"
	"billing/internal/pulid"
)

func admin() context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: "ops", Role: auth.RoleAdmin})
}

func service() context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: "vserver", Role: auth.RoleService})
}

// TestQuoteFaults: every refusal names the input field it concerns.
func TestQuoteFaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	plan := b.serverPlan(t)
	ctx := customer(acc)
	tests := []struct {
		name   string
		items  []checkout.ItemInput
		coupon string
		code   fault.Code
		field  []string
	}{
		{"no items", nil, "", fault.Invalid, []string{"input", "items"}},
		{"no plan", []checkout.ItemInput{{Count: 1, Months: 1}}, "", fault.Invalid, []string{"input", "items", "0", "plan"}},
		{"unknown plan", []checkout.ItemInput{item(plan, 1, 1), item("nope", 1, 1)}, "", fault.NotFound, []string{"input", "items", "1", "plan"}},
		{"months not sold", []checkout.ItemInput{item(plan, 1, 5)}, "", fault.Invalid, []string{"input", "items", "0", "months"}},
		{"no months", []checkout.ItemInput{item(plan, 1, 0)}, "", fault.Invalid, []string{"input", "items", "0", "months"}},
		{"count too large", []checkout.ItemInput{item(plan, 101, 1)}, "", fault.Invalid, []string{"input", "items", "0", "count"}},
		{"unknown component", []checkout.ItemInput{{PlanRef: plan, Count: 1, Months: 1, Quantities: map[string]int64{"gpu": 1}}},
			"", fault.Invalid, []string{"input", "items", "0", "quantities", "gpu"}},
		{"quantity out of range", []checkout.ItemInput{{PlanRef: plan, Count: 1, Months: 1, Quantities: map[string]int64{"image": 2}}},
			"", fault.Invalid, []string{"input", "items", "0", "quantities", "image"}},
		{"unknown coupon", []checkout.ItemInput{item(plan, 1, 1)}, "NOPE", fault.CouponInvalid, []string{"input", "couponCode"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.svc.Quote(ctx, checkout.QuoteInput{Items: tc.items, CouponCode: tc.coupon})
			requireFault(t, err, tc.code, tc.field...)
		})
	}
}

// TestAuthorization: customers act for their own account only, read-only
// members may top up but not buy, operators act for a named account,
// product services only report provisioning.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc, other := b.account(t), b.account(t)
	b.fund(t, acc, 1_000_000)
	plan := b.serverPlan(t)
	in := func(account pulid.ID) checkout.PlaceOrderInput {
		return checkout.PlaceOrderInput{AccountID: account, IdempotencyKey: "k", Items: []checkout.ItemInput{item(plan, 1, 1)}, Method: payment.MethodCREDIT}
	}
	_, err := b.svc.PlaceOrder(readOnly(acc), in(""))
	requireFault(t, err, fault.Forbidden)
	_, err = b.svc.PlaceOrder(service(), in(acc))
	requireFault(t, err, fault.Forbidden)
	_, err = b.svc.PlaceOrder(context.Background(), in(acc))
	requireFault(t, err, fault.Unauthenticated)
	_, err = b.svc.PlaceOrder(customer(acc), in(other))
	requireFault(t, err, fault.NotFound, "input", "accountId")
	_, err = b.svc.PlaceOrder(admin(), in(""))
	requireFault(t, err, fault.Invalid, "input", "accountId")

	res, err := b.svc.PlaceOrder(admin(), in(acc))
	require.NoError(t, err)
	require.Equal(t, acc, res.Order.AccountID)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)
	// The operator's key is the operator's: the customer's "k" is free.
	res2, err := b.svc.PlaceOrder(customer(acc), in(""))
	require.NoError(t, err)
	require.NotEqual(t, res.Order.ID, res2.Order.ID)

	top, err := b.svc.TopUp(readOnly(acc), checkout.TopUpInput{IdempotencyKey: "t", Amount: vnd(50_000), Method: payment.MethodGATEWAY})
	require.NoError(t, err)
	require.Equal(t, payment.StatusREQUIRES_ACTION, top.Payment.Status)
	require.Equal(t, "https://billing.test/payments/return", top.Payment.ReturnURL)

	_, err = b.svc.ReportProvisioning(customer(acc), checkout.ReportInput{ResourceID: res.Order.ID, Succeeded: true})
	requireFault(t, err, fault.Forbidden)
	_, err = b.svc.Quote(readOnly(acc), checkout.QuoteInput{Items: []checkout.ItemInput{item(plan, 1, 1)}})
	require.NoError(t, err)
	b.verify(t, acc)
}

// TestTopUp: credit bought through the gateway is credited only once the
// gateway confirms; a decline credits nothing.
func TestTopUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		code    string
		status  payment.Status
		balance string
	}{
		{"confirmed", "00", payment.StatusSUCCEEDED, "500000"},
		{"declined", "51", payment.StatusFAILED, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			acc := b.account(t)
			res, err := b.svc.TopUp(customer(acc), checkout.TopUpInput{
				IdempotencyKey: "t", Amount: vnd(500_000), Method: payment.MethodGATEWAY, ReturnURL: "https://app.test/r",
			})
			require.NoError(t, err)
			require.Equal(t, payment.PurposeTOP_UP, res.Payment.Purpose)
			require.NotEmpty(t, res.RedirectURL)
			bal, _ := b.wallet(t, acc)
			require.Equal(t, "0", bal, "nothing before the gateway confirms")
			att := b.attempt(t, res.Payment.ID)
			require.Equal(t, "00", b.ipn(t, b.gw.callback(att.TxnRef, vnd(500_000), tc.code, "3001")))
			require.Equal(t, "02", b.ipn(t, b.gw.callback(att.TxnRef, vnd(500_000), tc.code, "3001")))
			require.Equal(t, tc.status, b.payment(t, res.Payment.ID).Status)
			bal, _ = b.wallet(t, acc)
			require.Equal(t, tc.balance, bal)
			deposits, err := b.db.Client.LedgerTransaction.Query().Where(ledgertransaction.KindEQ(ledgertransaction.KindDEPOSIT)).Count(b.sys)
			require.NoError(t, err)
			if tc.status == payment.StatusSUCCEEDED {
				require.Equal(t, 1, deposits)
			} else {
				require.Zero(t, deposits)
			}
			require.Len(t, b.events(t, res.Payment.ID), 3)
			require.True(t, b.events(t, res.Payment.ID)[2].Final)
			b.verify(t, acc)
		})
	}
	b := setup(t)
	acc := b.account(t)
	for _, amount := range []int64{0, 9_999, 1_000_000_001} {
		_, err := b.svc.TopUp(customer(acc), checkout.TopUpInput{IdempotencyKey: "x", Amount: vnd(amount), Method: payment.MethodGATEWAY, ReturnURL: "https://app.test/r"})
		requireFault(t, err, fault.Invalid, "input", "amount")
	}
	_, err := b.svc.TopUp(customer(acc), checkout.TopUpInput{IdempotencyKey: "x", Amount: vnd(20_000), Method: payment.MethodCREDIT})
	requireFault(t, err, fault.Invalid, "input", "paymentMethod")
}

// TestExternalProvisioning: with the external provisioner, the product
// service reports each resource; repeating a report changes nothing and
// contradicting one is refused.
func TestExternalProvisioning(t *testing.T) {
	t.Parallel()
	b := setup(t, func(cfg *checkout.Config) { cfg.Provisioner = provision.NewExternal(nil) })
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	plan := b.serverPlan(t)
	res, err := b.place(customer(acc), "k", payment.MethodCREDIT, "", item(plan, 2, 1))
	require.NoError(t, err)
	require.Equal(t, order.StatusPAID, res.Order.Status)
	o := b.order(t, res.Order.ID)
	r0, r1 := o.Edges.Items[0].ResourceID, o.Edges.Items[1].ResourceID
	for _, it := range o.Edges.Items {
		require.Equal(t, orderitem.StatusPROVISIONING, it.Status)
	}

	r, err := b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: r0, Succeeded: true, ExternalRef: "vm-1"})
	require.NoError(t, err)
	require.Equal(t, resource.StateACTIVE, r.State)
	require.Equal(t, "vm-1", r.ExternalRef)
	require.Equal(t, order.StatusPAID, b.order(t, res.Order.ID).Status)
	_, err = b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: r0, Succeeded: true})
	require.NoError(t, err, "the same result again is accepted and changes nothing")
	_, err = b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: r0, Succeeded: false})
	requireFault(t, err, fault.InvalidState)

	r, err = b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: r1, Succeeded: false, Reason: "no capacity"})
	require.NoError(t, err)
	require.Equal(t, resource.StateFAILED, r.State)
	_, err = b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: r1, Succeeded: false})
	require.NoError(t, err)
	_, err = b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: r1, Succeeded: true})
	requireFault(t, err, fault.InvalidState)
	_, err = b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: "res_01JUNKJUNKJUNKJUNKJUNKJUNK", Succeeded: true})
	requireFault(t, err, fault.NotFound, "input", "resourceId")

	o = b.order(t, res.Order.ID)
	require.Equal(t, order.StatusPARTIALLY_FAILED, o.Status)
	require.Equal(t, "no capacity", o.Edges.Items[1].FailureReason)
	p := b.payment(t, res.Payment.ID)
	require.Equal(t, payment.StatusPARTIALLY_REFUNDED, p.Status)
	require.Equal(t, "125000", p.RefundedAmount.String())
	bal, _ := b.wallet(t, acc)
	require.Equal(t, "875000", bal)
	require.Equal(t, []string{"PENDING", "SUCCEEDED", "SUCCEEDED(true)", "PARTIALLY_REFUNDED(false)!"}, statuses(b.events(t, p.ID)))
	b.verify(t, acc)

	// A resource whose order was never paid cannot be reported.
	unpaid, err := b.place(customer(acc), "k2", payment.MethodGATEWAY, "", item(plan, 1, 1))
	require.NoError(t, err)
	o = b.order(t, unpaid.Order.ID)
	_, err = b.svc.ReportProvisioning(service(), checkout.ReportInput{ResourceID: o.Edges.Items[0].ResourceID, Succeeded: true})
	requireFault(t, err, fault.InvalidState)
}

// TestAsyncSimulator: with a delay the simulator reports from a goroutine
// once the (fake) clock has passed the delay; Wait makes that observable.
func TestAsyncSimulator(t *testing.T) {
	t.Parallel()
	var sim *provision.Simulator
	b := setup(t, func(cfg *checkout.Config) {
		sim = provision.NewSimulator(provision.SimulatorConfig{Delay: time.Minute, Clock: cfg.Clock})
		cfg.Provisioner = sim
	})
	t.Cleanup(sim.Stop)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	plan := b.serverPlan(t)
	res, err := b.place(customer(acc), "k", payment.MethodCREDIT, "", item(plan, 3, 1))
	require.NoError(t, err)
	require.Equal(t, order.StatusPAID, res.Order.Status)
	require.NoError(t, b.clock.BlockUntilContext(context.Background(), 3))
	b.clock.Advance(time.Minute)
	sim.Wait()
	o := b.order(t, res.Order.ID)
	require.Equal(t, order.StatusCOMPLETED, o.Status)
	for _, it := range o.Edges.Items {
		r, err := b.db.Client.Resource.Get(b.sys, it.ResourceID)
		require.NoError(t, err)
		require.Equal(t, resource.StateACTIVE, r.State)
		// The period starts when provisioning succeeded, not at payment.
		require.True(t, r.PeriodStart.Equal(t0.Add(time.Minute)))
	}
	evs := b.events(t, res.Payment.ID)
	require.Len(t, evs, 5)
	require.True(t, evs[4].Final)
	require.False(t, evs[3].Final)
}

// TestFreeOrder: a coupon worth the whole order leaves nothing to pay;
// the order is paid by any method without moving money.
func TestFreeOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	plan := b.serverPlan(t)
	b.fixedCoupon(t, "FREE", 1_000_000, 0)
	res, err := b.place(customer(acc), "k", payment.MethodGATEWAY, "FREE", item(plan, 1, 1))
	require.NoError(t, err)
	require.Equal(t, "0", res.Payment.Amount.String())
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)
	invs, err := b.svc.PaymentInvoices(customer(acc), res.Payment.ID)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	require.Equal(t, "0", invs[0].Total.String())
	require.Equal(t, "125000", invs[0].Discount.String())
	b.verify(t, acc)
}
