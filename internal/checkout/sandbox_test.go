package checkout_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent/order"
	"billing/ent/payment"
	"billing/internal/checkout"
	"billing/internal/gateway"
	"billing/internal/gateway/sandbox"
	"billing/internal/gateway/vnpay"
)

// e2e is the checkout wired to the real VNPAY adapter talking to the
// sandbox over HTTP, with the IPN endpoints served by gateway.IPNHandler.
type e2e struct {
	*bundle
	sb  *sandbox.Sandbox
	srv *httptest.Server
}

func setupSandbox(t *testing.T) *e2e {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var (
		b      *bundle
		sb     *sandbox.Sandbox
		client *vnpay.Client
	)
	b = setup(t, func(cfg *checkout.Config) {
		sb = sandbox.New(sandbox.Config{
			TmnCode: "SBX00001", HashSecret: "SANDBOXSECRETKEY0123456789ABCDEF",
			IPNURL:     srv.URL + "/gateway/vnpay/ipn",
			LinkIPNURL: srv.URL + "/gateway/vnpay/link-ipn",
			// The sandbox and the adapter share the test's fake clock, so
			// expiry dates agree; one IPN call, no background retries.
			Now: cfg.Clock.Now, MaxAttempts: 1,
		})
		// The first IPN call is made before Approve returns: no waiting.
		sb.SetFaults(sandbox.Faults{IPNBeforeRedirect: true})
		client = vnpay.New(sb.ClientConfig(srv.URL + "/sandbox"))
		cfg.Gateway = client
	})
	t.Cleanup(sb.Close)
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb.Handler()))
	mux.Handle("/gateway/vnpay/ipn", gateway.IPNHandler(client, b.svc.ApplyGatewayCallback, nil))
	mux.Handle("/gateway/vnpay/link-ipn", gateway.LinkIPNHandler(client, b.svc.ApplyLinkCallback, nil))
	return &e2e{bundle: b, sb: sb, srv: srv}
}

// open is the customer's browser opening a gateway page.
func (e *e2e) open(t *testing.T, u string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

// TestSandboxEndToEnd: StartPayment → the customer approves on the
// sandbox page → the sandbox's signed IPN → the checkout applies it.
func TestSandboxEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		decide  func(sb *sandbox.Sandbox, ref string) error
		faults  sandbox.Faults
		payment payment.Status
		order   order.Status
		ipn     string
	}{
		{"approved", (*sandbox.Sandbox).Approve, sandbox.Faults{}, payment.StatusSUCCEEDED, order.StatusCOMPLETED, "00"},
		{"declined", (*sandbox.Sandbox).Decline, sandbox.Faults{}, payment.StatusCANCELED, order.StatusCANCELED, "00"},
		{"insufficient funds", func(sb *sandbox.Sandbox, ref string) error { return sb.PayWithCard(ref, sandbox.CardInsufficientFund) },
			sandbox.Faults{}, payment.StatusFAILED, order.StatusFAILED, "00"},
		{"tampered amount", (*sandbox.Sandbox).Approve, sandbox.Faults{TamperAmount: true},
			payment.StatusREQUIRES_ACTION, order.StatusPENDING, "04"},
		{"bad signature", (*sandbox.Sandbox).Approve, sandbox.Faults{BadSignature: true},
			payment.StatusREQUIRES_ACTION, order.StatusPENDING, "97"},
		{"duplicate IPNs", (*sandbox.Sandbox).Approve, sandbox.Faults{DuplicateIPN: true},
			payment.StatusSUCCEEDED, order.StatusCOMPLETED, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setupSandbox(t)
			f := tc.faults
			f.IPNBeforeRedirect = true
			e.sb.SetFaults(f)
			acc := e.account(t)
			e.fund(t, acc, 25_000)
			plan := e.serverPlan(t)
			res, err := e.svc.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
				IdempotencyKey: "k", Items: []checkout.ItemInput{item(plan, 1, 1)},
				Method: payment.MethodTOP_UP_AND_PAY, ReturnURL: "https://app.test/done", IPAddr: "203.0.113.9",
			})
			require.NoError(t, err)
			require.Equal(t, payment.StatusREQUIRES_ACTION, res.Payment.Status)
			u, err := url.Parse(res.RedirectURL)
			require.NoError(t, err)
			ref := u.Query().Get("vnp_TxnRef")
			require.Equal(t, "10000000", u.Query().Get("vnp_Amount"), "100,000 VND × 100 through the gateway")
			e.open(t, res.RedirectURL)
			require.NoError(t, tc.decide(e.sb, ref))

			if tc.ipn != "" {
				txn, ok := e.sb.Transaction(ref)
				require.True(t, ok)
				require.Equal(t, tc.ipn, txn.IPNLastCode)
			}
			p := e.payment(t, res.Payment.ID)
			require.Equal(t, tc.payment, p.Status)
			require.Equal(t, tc.order, e.order(t, res.Order.ID).Status)
			bal, held := e.wallet(t, acc)
			switch tc.payment {
			case payment.StatusSUCCEEDED:
				require.Equal(t, []string{"0", "0"}, []string{bal, held})
				require.Len(t, p.InvoiceIds, 1)
			case payment.StatusREQUIRES_ACTION:
				require.Equal(t, []string{"25000", "25000"}, []string{bal, held})
			default:
				require.Equal(t, []string{"25000", "0"}, []string{bal, held})
			}
			e.verify(t, acc)
		})
	}
}

// TestSandboxLinkedAccount: link a card on the sandbox's page (link IPN →
// LinkedAccount with token and label), then pay an order and top up with
// it, no redirect.
func TestSandboxLinkedAccount(t *testing.T) {
	t.Parallel()
	e := setupSandbox(t)
	acc := e.account(t)
	plan := e.serverPlan(t)
	page, err := e.svc.StartLink(customer(acc), checkout.StartLinkInput{ReturnURL: "https://app.test/linked"})
	require.NoError(t, err)
	e.open(t, page)
	u, err := url.Parse(page)
	require.NoError(t, err)
	require.NoError(t, e.sb.ApproveLink(u.Query().Get("vnp_txn_ref")))
	l, err := e.db.Client.LinkedAccount.Query().Only(e.sys)
	require.NoError(t, err)
	require.Equal(t, acc, l.AccountID)
	require.Equal(t, "sandbox", l.Gateway)
	require.Contains(t, l.Label, "******")

	res, err := e.svc.PlaceOrder(customer(acc), checkout.PlaceOrderInput{
		IdempotencyKey: "k", Items: []checkout.ItemInput{item(plan, 1, 1)},
		Method: payment.MethodLINKED_ACCOUNT, LinkedAccountID: l.ID,
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)

	top, err := e.svc.TopUp(readOnly(acc), checkout.TopUpInput{
		IdempotencyKey: "t", Amount: vnd(200_000), Method: payment.MethodLINKED_ACCOUNT, LinkedAccountID: l.ID,
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, top.Payment.Status)
	bal, _ := e.wallet(t, acc)
	require.Equal(t, "200000", bal)
	e.verify(t, acc)
}
