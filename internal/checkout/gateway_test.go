package checkout_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent/couponredemption"
	"billing/ent/gatewayattempt"
	"billing/ent/hold"
	"billing/ent/order"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/gateway"
	"billing/internal/pulid"
)

// ipn serves q through the gateway package's IPN handler wired to the
// checkout, and returns the RspCode.
func (b *bundle) ipn(t *testing.T, q url.Values) string {
	t.Helper()
	h := gateway.IPNHandler(b.gw, b.svc.ApplyGatewayCallback, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ipn?"+q.Encode(), nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var resp gateway.IPNResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	return resp.RspCode
}

// snapshot is everything a callback could change.
type snapshot struct {
	payment, order, attempt, wallet, held string
	ledgerTx, events, invoices            int
}

func (b *bundle) snapshot(t *testing.T, acc, paymentID pulid.ID) snapshot {
	t.Helper()
	p := b.payment(t, paymentID)
	att := b.attempt(t, paymentID)
	bal, held := b.wallet(t, acc)
	ltx, err := b.db.Client.LedgerTransaction.Query().Count(b.sys)
	require.NoError(t, err)
	evs, err := b.db.Client.OutboxEvent.Query().Count(b.sys)
	require.NoError(t, err)
	invs, err := b.db.Client.Invoice.Query().Count(b.sys)
	require.NoError(t, err)
	return snapshot{string(p.Status), string(b.order(t, p.OrderID).Status), string(att.Status), bal, held, ltx, evs, invs}
}

// TestCallbackSecurity: a forged, replayed, amount-altered or out-of-order
// callback changes nothing.
func TestCallbackSecurity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 100_000)
	plan := b.serverPlan(t)
	res, err := b.place(customer(acc), "k", payment.MethodTOP_UP_AND_PAY, "", item(plan, 1, 2))
	require.NoError(t, err)
	att := b.attempt(t, res.Payment.ID)
	require.Equal(t, "150000", att.Amount.String())
	ref := att.TxnRef
	good := b.gw.callback(ref, vnd(150_000), "00", "8001")

	before := b.snapshot(t, acc, res.Payment.ID)
	forged := url.Values{}
	for k, v := range good {
		forged[k] = v
	}
	forged.Set("vnp_sig", "00"+forged.Get("vnp_sig")[2:])
	tampered := b.gw.callback(ref, vnd(150_000), "00", "8001")
	tampered.Set("vnp_amount", "1") // altered after signing
	for _, tc := range []struct {
		name string
		q    url.Values
		want string
	}{
		{"forged signature", forged, "97"},
		{"amount altered in transit", tampered, "97"},
		{"signed with another amount", b.gw.callback(ref, vnd(1_000), "00", "8001"), "04"},
		{"unknown reference", b.gw.callback("NOPE", vnd(150_000), "00", "8001"), "01"},
	} {
		require.Equal(t, tc.want, b.ipn(t, tc.q), tc.name)
		require.Equal(t, before, b.snapshot(t, acc, res.Payment.ID), tc.name)
	}

	require.Equal(t, "00", b.ipn(t, good))
	after := b.snapshot(t, acc, res.Payment.ID)
	require.Equal(t, "SUCCEEDED", after.payment)
	require.Equal(t, "COMPLETED", after.order)
	require.Equal(t, "0", after.wallet)

	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"replayed", good},
		{"out of order failure", b.gw.callback(ref, vnd(150_000), "51", "8002")},
		{"second success with another transaction", b.gw.callback(ref, vnd(150_000), "00", "8003")},
	} {
		require.Equal(t, "02", b.ipn(t, tc.q), tc.name)
		require.Equal(t, after, b.snapshot(t, acc, res.Payment.ID), tc.name)
	}
	got := b.attempt(t, res.Payment.ID)
	require.Equal(t, "8001", *got.GatewayTransactionNo)
	b.verify(t, acc)
}

// TestConcurrentDuplicateCallbacks: the same IPN delivered ten times at
// once is applied once.
func TestConcurrentDuplicateCallbacks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	plan := b.serverPlan(t)
	res, err := b.place(customer(acc), "k", payment.MethodGATEWAY, "", item(plan, 1, 1))
	require.NoError(t, err)
	att := b.attempt(t, res.Payment.ID)
	q := b.gw.callback(att.TxnRef, vnd(125_000), "00", "42")
	codes := make([]string, 10)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cb, err := b.gw.VerifyCallback(q)
			if err == nil {
				codes[i] = gateway.IPNOutcome(b.svc.ApplyGatewayCallback(b.sys, cb)).String()
			}
		}()
	}
	wg.Wait()
	confirmed := 0
	for _, c := range codes {
		if c == "confirmed" {
			confirmed++
		} else {
			require.Equal(t, "already_confirmed", c)
		}
	}
	require.Equal(t, 1, confirmed)
	invs, err := b.db.Client.Invoice.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, invs)
	require.Equal(t, []string{"PENDING", "REQUIRES_ACTION", "SUCCEEDED", "SUCCEEDED(true)!"}, statuses(b.events(t, res.Payment.ID)))
}

// TestIdempotentPlaceOrder: replaying a key returns the same order and
// charges once; the same key with another request is refused.
func TestIdempotentPlaceOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	plan := b.serverPlan(t)
	ctx := customer(acc)

	first, err := b.place(ctx, "same", payment.MethodCREDIT, "", item(plan, 1, 1))
	require.NoError(t, err)
	again, err := b.place(ctx, "same", payment.MethodCREDIT, "", item(plan, 1, 1))
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, first.Order.ID, again.Order.ID)
	require.Equal(t, first.Payment.ID, again.Payment.ID)
	require.Equal(t, order.StatusCOMPLETED, again.Order.Status)
	bal, _ := b.wallet(t, acc)
	require.Equal(t, "875000", bal)

	_, err = b.place(ctx, "same", payment.MethodCREDIT, "", item(plan, 2, 1))
	requireFault(t, err, "IDEMPOTENCY_KEY_REUSED", "input", "idempotencyKey")

	// A gateway order replayed returns the same redirect and starts one attempt.
	gw1, err := b.place(ctx, "gw", payment.MethodGATEWAY, "", item(plan, 1, 1))
	require.NoError(t, err)
	gw2, err := b.place(ctx, "gw", payment.MethodGATEWAY, "", item(plan, 1, 1))
	require.NoError(t, err)
	require.Equal(t, gw1.RedirectURL, gw2.RedirectURL)
	require.NotEmpty(t, gw2.RedirectURL)
	n, err := b.db.Client.GatewayAttempt.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Another account may use the same key: keys are per account.
	other := b.account(t)
	b.fund(t, other, 1_000_000)
	res, err := b.place(customer(other), "same", payment.MethodCREDIT, "", item(plan, 1, 1))
	require.NoError(t, err)
	require.False(t, res.Replayed)
	require.NotEqual(t, first.Order.ID, res.Order.ID)
	b.verify(t, acc)
}

// TestExpiry: an abandoned gateway payment expires once (even with runs at
// the same time), releasing its hold and its coupon; the order expires and
// its resources fail without being provisioned. A payment that arrives
// after all is kept as credit.
func TestExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 100_000)
	plan := b.serverPlan(t)
	cp := b.fixedCoupon(t, "SAVE20K", 20_000, 5)
	res, err := b.place(customer(acc), "k", payment.MethodTOP_UP_AND_PAY, "SAVE20K", item(plan, 2, 1))
	require.NoError(t, err)
	p := res.Payment
	require.Equal(t, "230000", p.Amount.String())
	require.Equal(t, "100000", p.CreditAmount.String())
	att := b.attempt(t, p.ID)
	require.Equal(t, "130000", att.Amount.String())

	b.clock.Advance(15*time.Minute - time.Second)
	n, err := b.svc.ExpireAbandoned(b.sys)
	require.NoError(t, err)
	require.Zero(t, n, "not expired before expires_at")

	b.clock.Advance(time.Second)
	counts := make([]int, 5)
	var wg sync.WaitGroup
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			counts[i], err = b.svc.ExpireAbandoned(b.sys)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	require.Equal(t, 1, total)

	p = b.payment(t, p.ID)
	require.Equal(t, payment.StatusEXPIRED, p.Status)
	o := b.order(t, res.Order.ID)
	require.Equal(t, order.StatusEXPIRED, o.Status)
	for _, it := range o.Edges.Items {
		r, err := b.db.Client.Resource.Get(b.sys, it.ResourceID)
		require.NoError(t, err)
		require.Equal(t, resource.StateFAILED, r.State)
	}
	h, err := b.db.Client.Hold.Get(b.sys, p.HoldID)
	require.NoError(t, err)
	require.Equal(t, hold.StatusRELEASED, h.Status)
	bal, held := b.wallet(t, acc)
	require.Equal(t, []string{"100000", "0"}, []string{bal, held})
	red, err := b.db.Client.CouponRedemption.Query().Only(b.sys)
	require.NoError(t, err)
	require.Equal(t, couponredemption.StatusRELEASED, red.Status)
	cp, err = b.db.Client.Coupon.Get(b.sys, cp.ID)
	require.NoError(t, err)
	require.Zero(t, cp.RedeemedCount)
	require.Equal(t, gatewayattempt.StatusEXPIRED, b.attempt(t, p.ID).Status)
	require.Equal(t, []string{"PENDING", "REQUIRES_ACTION", "EXPIRED!"}, statuses(b.events(t, p.ID)))

	n, err = b.svc.ExpireAbandoned(b.sys)
	require.NoError(t, err)
	require.Zero(t, n)

	// The customer paid on the gateway page after all: the IPN is
	// confirmed and the money kept as credit; the order stays expired.
	require.Equal(t, "00", b.ipn(t, b.gw.callback(att.TxnRef, vnd(130_000), "00", "9001")))
	require.Equal(t, "02", b.ipn(t, b.gw.callback(att.TxnRef, vnd(130_000), "00", "9001")))
	bal, _ = b.wallet(t, acc)
	require.Equal(t, "230000", bal)
	require.Equal(t, payment.StatusEXPIRED, b.payment(t, p.ID).Status)
	require.Equal(t, order.StatusEXPIRED, b.order(t, res.Order.ID).Status)
	b.verify(t, acc)
}

// TestExpiryFindsLostIPN: a payment about to expire that the gateway says
// was paid is applied as paid instead.
func TestExpiryFindsLostIPN(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	plan := b.serverPlan(t)
	res, err := b.place(customer(acc), "k", payment.MethodGATEWAY, "", item(plan, 1, 1))
	require.NoError(t, err)
	att := b.attempt(t, res.Payment.ID)
	b.gw.paidWithoutIPN(att.TxnRef, att.Amount)
	b.clock.Advance(time.Hour)
	n, err := b.svc.ExpireAbandoned(b.sys)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, payment.StatusSUCCEEDED, b.payment(t, res.Payment.ID).Status)
	require.Equal(t, order.StatusCOMPLETED, b.order(t, res.Order.ID).Status)
}

// TestGatewayStartFailure: a gateway that cannot start the payment fails
// it at once and gives back what the order reserved.
func TestGatewayStartFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 50_000)
	plan := b.serverPlan(t)
	b.gw.startErr = errors.New("gateway down")
	res, err := b.place(customer(acc), "k", payment.MethodTOP_UP_AND_PAY, "", item(plan, 1, 1))
	require.NoError(t, err)
	require.Equal(t, payment.StatusFAILED, res.Payment.Status)
	require.Equal(t, order.StatusFAILED, res.Order.Status)
	require.Empty(t, res.RedirectURL)
	bal, held := b.wallet(t, acc)
	require.Equal(t, []string{"50000", "0"}, []string{bal, held})
	b.verify(t, acc)
}

// link stores a linked account through the link callback and returns its id.
func (b *bundle) link(t *testing.T, acc pulid.ID, token string) pulid.ID {
	t.Helper()
	res := gateway.LinkResult{TxnRef: "L1", UserID: string(acc), Token: token, Label: "NCB 970419******2198", Success: true}
	require.Equal(t, gateway.IPNConfirmed, b.svc.ApplyLinkCallback(b.sys, res))
	require.Equal(t, gateway.IPNAlreadyConfirmed, b.svc.ApplyLinkCallback(b.sys, res))
	l, err := b.db.Client.LinkedAccount.Query().Only(b.sys)
	require.NoError(t, err)
	require.Equal(t, "NCB 970419******2198", l.Label)
	return l.ID
}

// TestLinkedAccount: a linked token is charged without a redirect; a
// timeout leaves the payment PROCESSING until ReconcileUnknown asks the
// gateway, which never charges twice.
func TestLinkedAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		outcome    string
		wantBefore payment.Status
		wantAfter  payment.Status
		order      order.Status
		events     []string
	}{
		{"charged", "ok", payment.StatusSUCCEEDED, payment.StatusSUCCEEDED, order.StatusCOMPLETED,
			[]string{"PENDING", "PROCESSING", "SUCCEEDED", "SUCCEEDED(true)!"}},
		{"declined", "decline", payment.StatusFAILED, payment.StatusFAILED, order.StatusFAILED,
			[]string{"PENDING", "PROCESSING", "FAILED!"}},
		{"timeout then reconciled", "timeout", payment.StatusPROCESSING, payment.StatusSUCCEEDED, order.StatusCOMPLETED,
			[]string{"PENDING", "PROCESSING", "SUCCEEDED", "SUCCEEDED(true)!"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			acc := b.account(t)
			plan := b.serverPlan(t)
			b.gw.outcome["tok-1"] = tc.outcome
			linkID := b.link(t, acc, "tok-1")
			in := checkout.PlaceOrderInput{
				IdempotencyKey: "k", Items: []checkout.ItemInput{item(plan, 1, 1)},
				Method: payment.MethodLINKED_ACCOUNT, LinkedAccountID: linkID,
			}
			res, err := b.svc.PlaceOrder(customer(acc), in)
			require.NoError(t, err)
			require.Empty(t, res.RedirectURL)
			require.Equal(t, tc.wantBefore, res.Payment.Status)
			att := b.attempt(t, res.Payment.ID)
			require.Equal(t, linkID, att.LinkedAccountID)

			// A replay never charges again, whatever the state.
			again, err := b.svc.PlaceOrder(customer(acc), in)
			require.NoError(t, err)
			require.True(t, again.Replayed)
			require.Equal(t, 1, b.gw.chargeCount(att.TxnRef))

			n, err := b.svc.ReconcileUnknown(b.sys)
			require.NoError(t, err)
			if tc.outcome == "timeout" {
				require.Equal(t, 1, n)
			} else {
				require.Zero(t, n)
			}
			require.Equal(t, 1, b.gw.chargeCount(att.TxnRef))
			p := b.payment(t, res.Payment.ID)
			require.Equal(t, tc.wantAfter, p.Status)
			require.Equal(t, tc.order, b.order(t, res.Order.ID).Status)
			require.Equal(t, tc.events, statuses(b.events(t, p.ID)))
		})
	}
}

// TestReconcileCrashedCharge: a token charge recorded as in flight whose
// answer was never recorded (the process stopped) is resolved by a query
// once it is old enough; a charge the gateway never saw fails.
func TestReconcileCrashedCharge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	plan := b.serverPlan(t)
	b.gw.outcome["tok-1"] = "ok"
	linkID := b.link(t, acc, "tok-1")
	res, err := b.svc.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
		IdempotencyKey: "k", Items: []checkout.ItemInput{item(plan, 1, 1)},
		Method: payment.MethodLINKED_ACCOUNT, LinkedAccountID: linkID,
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)

	// Simulate the crash: a second payment whose charge never left.
	p2, err := b.svc.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
		IdempotencyKey: "k2", Items: []checkout.ItemInput{item(plan, 1, 1)},
		Method: payment.MethodLINKED_ACCOUNT, LinkedAccountID: linkID,
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, p2.Payment.Status)

	// Build a stuck one by hand: PROCESSING with a PENDING attempt the
	// gateway never heard of.
	b.gw.outcome["tok-1"] = "timeout"
	stuck, err := b.svc.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
		IdempotencyKey: "k3", Items: []checkout.ItemInput{item(plan, 1, 1)},
		Method: payment.MethodLINKED_ACCOUNT, LinkedAccountID: linkID,
	})
	require.NoError(t, err)
	att := b.attempt(t, stuck.Payment.ID)
	require.NoError(t, b.db.Client.GatewayAttempt.UpdateOneID(att.ID).SetStatus(gatewayattempt.StatusPENDING).Exec(b.sys))
	b.gw.mu.Lock()
	delete(b.gw.settled, att.TxnRef)
	b.gw.mu.Unlock()

	n, err := b.svc.ReconcileUnknown(b.sys)
	require.NoError(t, err)
	require.Zero(t, n, "too recent")
	b.clock.Advance(checkout.DefaultReconcileAfter)
	n, err = b.svc.ReconcileUnknown(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	p := b.payment(t, stuck.Payment.ID)
	require.Equal(t, payment.StatusFAILED, p.Status)
	require.Equal(t, "the payment gateway never received the charge", p.FailureReason)
}
