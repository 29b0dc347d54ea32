package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/internal/gateway"
	"billing/internal/gateway/vnpay"
	"billing/internal/money"
)

const secret = "SANDBOXSECRETKEY0123456789ABCDEF"

// vector2 is the IPN of test vector 2.
const vector2 = "vnp_Amount=1000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14226112&vnp_CardType=ATM&vnp_OrderInfo=Thanh+toan+don+hang+thoi+gian%3A+2023-12-07+17%3A00%3A44&vnp_PayDate=20231207170112&vnp_ResponseCode=00&vnp_TmnCode=CTTVNP01&vnp_TransactionNo=14226112&vnp_TransactionStatus=00&vnp_TxnRef=166117&vnp_SecureHash=fb285e9a29e94a4366b62c8553ef4b05ab113dc78bd0dfe76dc8f6946e29d221d7159d003bf89c0a7e3d3f399855e17e4f893de9f31762164bcd88a2aad564c7"

func client() *vnpay.Client {
	return vnpay.New(vnpay.Config{TmnCode: "CTTVNP01", HashSecret: secret, PayURL: "https://p.test/pay",
		APIURL: "https://p.test/api", TokenURL: "https://p.test/tokenUI"})
}

// orders is a merchant's order book, checked in the §4.3 order.
type orders struct {
	mu      sync.Mutex
	amounts map[string]money.Amount
	final   map[string]bool
}

func (o *orders) apply(_ context.Context, cb gateway.Callback) gateway.IPNOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	amount, ok := o.amounts[cb.TxnRef]
	switch {
	case !ok:
		return gateway.IPNNotFound
	case !amount.Equal(cb.Amount):
		return gateway.IPNInvalidAmount
	case o.final[cb.TxnRef]:
		return gateway.IPNAlreadyConfirmed
	}
	o.final[cb.TxnRef] = true
	return gateway.IPNConfirmed
}

func call(t *testing.T, h http.Handler, method, query string) gateway.IPNResponse {
	t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req = httptest.NewRequest(method, "/ipn", strings.NewReader(query))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, "/ipn?"+query, nil)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var resp gateway.IPNResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	return resp
}

func TestIPNHandlerVector2(t *testing.T) {
	t.Parallel()
	o := &orders{amounts: map[string]money.Amount{"166117": money.VND(10000)}, final: map[string]bool{}}
	var logs bytes.Buffer
	h := gateway.IPNHandler(client(), o.apply, slog.New(slog.NewTextHandler(&logs, nil)))

	require.Equal(t, gateway.IPNResponse{RspCode: "00", Message: "Confirm Success"}, call(t, h, http.MethodGet, vector2))
	require.Equal(t, gateway.IPNResponse{RspCode: "02", Message: "Order already confirmed"}, call(t, h, http.MethodGet, vector2))

	// Bad signature: 97, logged without the hash or the parameters.
	tampered := strings.Replace(vector2, "vnp_Amount=1000000", "vnp_Amount=2000000", 1)
	require.Equal(t, gateway.IPNResponse{RspCode: "97", Message: "Invalid signature"}, call(t, h, http.MethodGet, tampered))
	require.Contains(t, logs.String(), "invalid signature")
	require.NotContains(t, logs.String(), "fb285e9a")
	require.NotContains(t, logs.String(), secret)

	// No parameters at all.
	require.Equal(t, "99", call(t, h, http.MethodGet, "").RspCode)
	require.Equal(t, "99", call(t, h, http.MethodGet, "foo=bar").RspCode)
	// POSTed form is accepted too.
	require.Equal(t, "02", call(t, h, http.MethodPost, vector2).RspCode)
}

func TestIPNHandlerOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		orders  map[string]money.Amount
		code    string
		message string
	}{
		{"not found", map[string]money.Amount{}, "01", "Order not found"},
		{"invalid amount", map[string]money.Amount{"166117": money.VND(10100)}, "04", "invalid amount"},
		{"confirmed", map[string]money.Amount{"166117": money.VND(10000)}, "00", "Confirm Success"},
	}
	for _, c := range cases {
		o := &orders{amounts: c.orders, final: map[string]bool{}}
		h := gateway.IPNHandler(client(), o.apply, nil)
		require.Equal(t, gateway.IPNResponse{RspCode: c.code, Message: c.message}, call(t, h, http.MethodGet, vector2), c.name)
	}
	for outcome, code := range map[gateway.IPNOutcome]string{gateway.IPNError: "99", 0: "99", 42: "99"} {
		h := gateway.IPNHandler(client(), func(context.Context, gateway.Callback) gateway.IPNOutcome { return outcome }, nil)
		require.Equal(t, gateway.IPNResponse{RspCode: code, Message: "Unknow error"}, call(t, h, http.MethodGet, vector2))
	}
	h := gateway.IPNHandler(client(), func(context.Context, gateway.Callback) gateway.IPNOutcome { panic("db down") }, nil)
	require.Equal(t, "99", call(t, h, http.MethodGet, vector2).RspCode)
}

func TestLinkIPNHandler(t *testing.T) {
	t.Parallel()
	p := url.Values{"vnp_command": {"token_create"}, "vnp_tmn_code": {"CTTVNP01"}, "vnp_txn_ref": {"L1"},
		"vnp_app_user_id": {"acc_1"}, "vnp_response_code": {"00"}, "vnp_transaction_status": {"00"},
		"vnp_token": {"tok1"}, "vnp_bank_code": {"NCB"}, "vnp_card_number": {"970419******2198"}}
	var got gateway.LinkResult
	h := gateway.LinkIPNHandler(client(), func(_ context.Context, r gateway.LinkResult) gateway.IPNOutcome {
		got = r
		return gateway.IPNConfirmed
	}, nil)
	require.Equal(t, "00", call(t, h, http.MethodGet, vnpay.SignedQuery(secret, p, vnpay.TokenHashField)).RspCode)
	require.Equal(t, gateway.LinkResult{TxnRef: "L1", UserID: "acc_1", Token: "tok1", Label: "NCB 970419******2198",
		Success: true, ResponseCode: "00"}, got)
	p.Set("vnp_token", "tok2")
	require.Equal(t, "97", call(t, h, http.MethodGet, vnpay.SignedQuery(secret, p, vnpay.TokenHashField)+"x").RspCode)
}

func TestReturnHandler(t *testing.T) {
	t.Parallel()
	type shown struct {
		cb       gateway.Callback
		verified bool
	}
	var last shown
	h := gateway.ReturnHandler(client(), func(w http.ResponseWriter, _ *http.Request, cb gateway.Callback, verified bool) {
		last = shown{cb, verified}
		w.WriteHeader(http.StatusOK)
	})
	serve := func(q string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/return?"+q, nil))
	}
	serve("order=42&" + vector2)
	require.True(t, last.verified)
	require.Equal(t, "166117", last.cb.TxnRef)
	require.True(t, last.cb.Success)

	serve(strings.Replace(vector2, "vnp_ResponseCode=00", "vnp_ResponseCode=24", 1))
	require.False(t, last.verified)
	require.Equal(t, gateway.Callback{}, last.cb)
}

func TestIPNOutcomeCodes(t *testing.T) {
	t.Parallel()
	want := map[gateway.IPNOutcome]string{gateway.IPNConfirmed: "00", gateway.IPNNotFound: "01",
		gateway.IPNAlreadyConfirmed: "02", gateway.IPNInvalidAmount: "04", gateway.IPNError: "99"}
	for o, code := range want {
		got, _ := o.RspCode()
		require.Equal(t, code, got, o.String())
	}
}
