package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/internal/gateway"
	"billing/internal/gateway/sandbox"
	"billing/internal/gateway/vnpay"
	"billing/internal/money"
)

const (
	secret   = "SANDBOXSECRETKEY0123456789ABCDEF"
	tmnCode  = "SBX00001"
	interval = 20 * time.Millisecond
	wait     = 3 * time.Second
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ipnCall is one IPN the merchant received and what it answered.
type ipnCall struct {
	query   url.Values
	rspCode string
	cb      gateway.Callback // zero unless verified
}

// merchant is the shop side: an order book behind gateway.IPNHandler.
type merchant struct {
	mu        sync.Mutex
	amounts   map[string]money.Amount
	final     map[string]gateway.Callback
	ipns      []ipnCall
	links     []ipnCall
	linked    []gateway.LinkResult
	failFirst int // answer IPNError to this many verified IPNs first
	lastCB    gateway.Callback
}

func (m *merchant) expect(ref string, amount money.Amount) {
	m.mu.Lock()
	m.amounts[ref] = amount
	m.mu.Unlock()
}

func (m *merchant) apply(_ context.Context, cb gateway.Callback) gateway.IPNOutcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastCB = cb
	if m.failFirst > 0 {
		m.failFirst--
		return gateway.IPNError
	}
	amount, ok := m.amounts[cb.TxnRef]
	switch {
	case !ok:
		return gateway.IPNNotFound
	case !amount.Equal(cb.Amount):
		return gateway.IPNInvalidAmount
	}
	if _, done := m.final[cb.TxnRef]; done {
		return gateway.IPNAlreadyConfirmed
	}
	m.final[cb.TxnRef] = cb
	return gateway.IPNConfirmed
}

func (m *merchant) applyLink(_ context.Context, r gateway.LinkResult) gateway.IPNOutcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.linked = append(m.linked, r)
	return gateway.IPNConfirmed
}

// record wraps an IPN handler to log every call and its RspCode.
func (m *merchant) record(h http.Handler, into *[]ipnCall) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var resp gateway.IPNResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		m.mu.Lock()
		call := ipnCall{query: r.URL.Query(), rspCode: resp.RspCode}
		if resp.RspCode != "97" {
			call.cb = m.lastCB
		}
		*into = append(*into, call)
		m.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (m *merchant) calls() []ipnCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ipnCall(nil), m.ipns...)
}

func (m *merchant) linkCalls() []ipnCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ipnCall(nil), m.links...)
}

type bundle struct {
	sb      *sandbox.Sandbox
	gw      *vnpay.Client
	srv     *httptest.Server
	m       *merchant
	clock   *clock
	browser *http.Client
}

func setup(t *testing.T, tweak func(*sandbox.Config)) *bundle {
	t.Helper()
	b := &bundle{
		clock: &clock{t: time.Now().Truncate(time.Second)},
		m:     &merchant{amounts: map[string]money.Amount{}, final: map[string]gateway.Callback{}},
		browser: &http.Client{Timeout: wait, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	mux := http.NewServeMux()
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	cfg := sandbox.Config{
		TmnCode: tmnCode, HashSecret: secret,
		IPNURL:     b.srv.URL + "/gateway/vnpay/ipn",
		LinkIPNURL: b.srv.URL + "/gateway/vnpay/link-ipn?src=sandbox",
		Now:        b.clock.Now, RetryInterval: interval, MaxAttempts: 10,
		HTTPClient: &http.Client{Timeout: wait},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	b.sb = sandbox.New(cfg)
	t.Cleanup(b.sb.Close) // before srv.Close: stops deliveries, releases held answers
	cc := b.sb.ClientConfig(b.srv.URL + "/sandbox")
	cc.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
	b.gw = vnpay.New(cc)
	mux.Handle("/sandbox/", b.sb.Handler())
	mux.Handle("/gateway/vnpay/ipn", b.m.record(gateway.IPNHandler(b.gw, b.m.apply, nil), &b.m.ipns))
	mux.Handle("/gateway/vnpay/link-ipn", b.m.record(gateway.LinkIPNHandler(b.gw, b.m.applyLink, nil), &b.m.links))
	return b
}

// start begins a hosted payment and returns its URL.
func (b *bundle) start(t *testing.T, ref string, vnd int64) string {
	t.Helper()
	b.m.expect(ref, money.VND(vnd))
	res, err := b.gw.StartPayment(context.Background(), gateway.StartRequest{
		TxnRef: ref, Amount: money.VND(vnd), OrderInfo: "Thanh toán đơn hàng " + ref,
		ReturnURL: b.srv.URL + "/shop/return?order=" + ref, IPAddr: "203.0.113.7", CreatedAt: b.clock.Now(),
	})
	require.NoError(t, err)
	return res.RedirectURL
}

var idRE = regexp.MustCompile(`name="id" value="(\d+)"`)

// open GETs a sandbox page and returns status, body and the form id.
func (b *bundle) open(t *testing.T, u string) (int, string, string) {
	t.Helper()
	resp, err := b.browser.Get(u)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	id := ""
	if m := idRE.FindStringSubmatch(string(body)); m != nil {
		id = m[1]
	}
	return resp.StatusCode, string(body), id
}

// submit POSTs the page's form and returns the redirect location.
func (b *bundle) submit(t *testing.T, page string, form url.Values) *url.URL {
	t.Helper()
	resp, err := b.browser.PostForm(page, form)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(t, err)
	return loc
}

func (b *bundle) payPage() string  { return b.srv.URL + "/sandbox/paymentv2/vpcpay.html" }
func (b *bundle) linkPage() string { return b.srv.URL + "/sandbox/tokenUI/create-token.html" }

func (b *bundle) query(t *testing.T, ref string, created time.Time) gateway.QueryResult {
	t.Helper()
	res, err := b.gw.Query(context.Background(), gateway.QueryRequest{TxnRef: ref, TransactionDate: created})
	require.NoError(t, err)
	return res
}

func TestPayApproveEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	created := b.clock.Now()
	payURL := b.start(t, "ORD1A1", 18060)

	status, body, id := b.open(t, payURL)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "18,060 VND")
	require.Contains(t, body, "Approve")
	require.Contains(t, body, "Decline")
	require.NotContains(t, body, "http://", "no external assets")
	require.NotEmpty(t, id)
	require.Equal(t, gateway.StatusPending, b.query(t, "ORD1A1", created).Status)

	loc := b.submit(t, b.payPage(), url.Values{"id": {id}, "action": {"approve"}, "card": {sandbox.CardSuccess}, "otp": {sandbox.TestOTP}})
	require.Equal(t, b.srv.URL+"/shop/return", loc.Scheme+"://"+loc.Host+loc.Path)
	require.Equal(t, "ORD1A1", loc.Query().Get("order"), "the merchant's own query is kept")
	cb, err := b.gw.VerifyCallback(loc.Query())
	require.NoError(t, err)
	require.True(t, cb.Success)
	require.True(t, cb.Amount.Equal(money.VND(18060)))

	require.Eventually(t, func() bool { return len(b.m.calls()) == 1 }, wait, 5*time.Millisecond)
	call := b.m.calls()[0]
	require.Equal(t, "00", call.rspCode)
	require.NoError(t, vnpay.Verify(secret, call.query, vnpay.HashField))
	require.Equal(t, "ORD1A1", call.cb.TxnRef)
	require.True(t, call.cb.Amount.Equal(money.VND(18060)))
	require.True(t, call.cb.Success)
	require.Equal(t, "NCB", call.cb.BankCode)
	require.NotEmpty(t, call.cb.TransactionNo)
	require.Equal(t, cb.TransactionNo, call.cb.TransactionNo)

	require.Eventually(t, func() bool { tx, _ := b.sb.Transaction("ORD1A1"); return tx.IPNDelivered }, wait, 5*time.Millisecond)
	tx, ok := b.sb.Transaction("ORD1A1")
	require.True(t, ok)
	require.Equal(t, 1, tx.IPNAttempts)
	require.Equal(t, "00", tx.ResponseCode)
	require.Equal(t, "970419******2198", tx.CardNumber)

	q := b.query(t, "ORD1A1", created)
	require.Equal(t, gateway.StatusSucceeded, q.Status)
	require.True(t, q.Amount.Equal(money.VND(18060)))
	require.Equal(t, cb.TransactionNo, q.TransactionNo)
	require.False(t, q.PayDate.IsZero())

	// A second submit and a reopened URL give the same result, no new IPN.
	require.Equal(t, loc.String(), b.submit(t, b.payPage(), url.Values{"id": {id}, "action": {"decline"}}).String())
	resp, err := b.browser.Get(payURL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Never(t, func() bool { return len(b.m.calls()) > 1 }, 5*interval, interval)

	// The index lists it.
	_, index, _ := b.open(t, b.srv.URL+"/sandbox/")
	require.Contains(t, index, "ORD1A1")
}

func TestPayDecline(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	created := b.clock.Now()
	_, _, id := b.open(t, b.start(t, "ORD2", 50000))
	loc := b.submit(t, b.payPage(), url.Values{"id": {id}, "action": {"decline"}})
	cb, err := b.gw.VerifyCallback(loc.Query())
	require.NoError(t, err)
	require.False(t, cb.Success)
	require.Equal(t, "24", cb.ResponseCode)
	require.Equal(t, "02", cb.TransactionStatus)

	require.Eventually(t, func() bool { return len(b.m.calls()) == 1 }, wait, 5*time.Millisecond)
	call := b.m.calls()[0]
	require.Equal(t, "00", call.rspCode, "a failed payment is recorded and confirmed too")
	require.Equal(t, "24", call.cb.ResponseCode)
	require.False(t, call.cb.Success)
	require.Equal(t, gateway.StatusFailed, b.query(t, "ORD2", created).Status)
}

func TestPayCardOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for ref, want := range map[string]struct{ card, otp, code string }{
		"C51": {sandbox.CardInsufficientFund, sandbox.TestOTP, "51"},
		"C12": {sandbox.CardLocked, sandbox.TestOTP, "12"},
		"C13": {sandbox.CardSuccess, "000000", "13"},
		"CV":  {"4456530000001005", sandbox.TestOTP, "00"},
	} {
		_, _, id := b.open(t, b.start(t, ref, 10000))
		loc := b.submit(t, b.payPage(), url.Values{"id": {id}, "action": {"approve"}, "card": {want.card}, "otp": {want.otp}})
		cb, err := b.gw.VerifyCallback(loc.Query())
		require.NoError(t, err)
		require.Equal(t, want.code, cb.ResponseCode, ref)
		require.Equal(t, want.code == "00", cb.Success, ref)
	}
	resp, err := b.browser.PostForm(b.payPage(), url.Values{"id": {"999"}, "action": {"approve"}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// signedPay builds a hosted-page URL from raw fields, signed with key.
func (b *bundle) signedPay(p url.Values, key string) string {
	return b.payPage() + "?" + vnpay.SignedQuery(key, p, vnpay.HashField)
}

func TestPayPageRejects(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	now := b.clock.Now()
	good := func() url.Values {
		return url.Values{
			"vnp_Version": {"2.1.0"}, "vnp_Command": {"pay"}, "vnp_TmnCode": {tmnCode}, "vnp_Amount": {"1000000"},
			"vnp_CurrCode": {"VND"}, "vnp_TxnRef": {"R1"}, "vnp_OrderInfo": {"Thanh toan R1"}, "vnp_OrderType": {"other"},
			"vnp_Locale": {"vn"}, "vnp_ReturnUrl": {b.srv.URL + "/shop/return"}, "vnp_IpAddr": {"127.0.0.1"},
			"vnp_CreateDate": {vnpay.FormatTime(now, vnpay.GMT7)},
			"vnp_ExpireDate": {vnpay.FormatTime(now.Add(15*time.Minute), vnpay.GMT7)},
		}
	}
	with := func(kv ...string) url.Values {
		p := good()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				p.Del(kv[i])
			} else {
				p.Set(kv[i], kv[i+1])
			}
		}
		return p
	}
	tampered := strings.Replace(b.signedPay(good(), secret), "vnp_Amount=1000000", "vnp_Amount=100000", 1)
	cases := []struct {
		name, url, code string
	}{
		{"tampered amount", tampered, "70"},
		{"wrong secret", b.signedPay(good(), "not-the-secret"), "70"},
		{"unsorted signature", b.payPage() + "?" + url.Values(good()).Encode() + "&vnp_SecureHash=" +
			vnpay.SignData(secret, "vnp_Version=2.1.0&"+vnpay.Canonical(with("vnp_Version", ""))), "70"},
		{"version", b.signedPay(with("vnp_Version", "2.0.1"), secret), "03"},
		{"terminal", b.signedPay(with("vnp_TmnCode", "OTHER001"), secret), "02"},
		{"currency", b.signedPay(with("vnp_CurrCode", "USD"), secret), "03"},
		{"amount not ×100", b.signedPay(with("vnp_Amount", "1000050"), secret), "03"},
		{"hash type", b.signedPay(with("vnp_SecureHashType", "SHA256"), secret) + "&vnp_SecureHashType=SHA256", "03"},
		{"diacritics", b.signedPay(with("vnp_OrderInfo", "Thanh toán"), secret), "03"},
		{"missing return", b.signedPay(with("vnp_ReturnUrl", ""), secret), "03"},
		{"expires before created", b.signedPay(with("vnp_ExpireDate", vnpay.FormatTime(now.Add(-time.Minute), vnpay.GMT7)), secret), "03"},
		{"expiry passed", b.signedPay(with("vnp_CreateDate", vnpay.FormatTime(now.Add(-20*time.Minute), vnpay.GMT7),
			"vnp_ExpireDate", vnpay.FormatTime(now.Add(-5*time.Minute), vnpay.GMT7)), secret), "11"},
	}
	for _, c := range cases {
		status, body, _ := b.open(t, c.url)
		require.Equal(t, http.StatusBadRequest, status, c.name)
		require.Contains(t, body, `<strong id="code">`+c.code+`</strong>`, c.name)
		if c.code == "70" {
			require.Contains(t, body, "Sai chữ ký", c.name)
		}
	}
	require.Empty(t, b.sb.Transactions(), "a rejected request records nothing")

	// Duplicate TxnRef on the same day (different request) → 01; the same
	// signed URL reopens the page.
	first := b.signedPay(good(), secret)
	status, _, _ := b.open(t, first)
	require.Equal(t, http.StatusOK, status)
	status, _, _ = b.open(t, first)
	require.Equal(t, http.StatusOK, status)
	status, body, _ := b.open(t, b.signedPay(with("vnp_Amount", "2000000"), secret))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `<strong id="code">01</strong>`)
	require.Len(t, b.sb.Transactions(), 1)

	// No IPN for any of it.
	require.Never(t, func() bool { return len(b.m.calls()) > 0 }, 5*interval, interval)
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	created := b.clock.Now()
	_, _, id := b.open(t, b.start(t, "EXP1", 20000))
	_, _, _ = b.open(t, b.start(t, "EXP2", 20000))

	b.clock.Add(16 * time.Minute)
	// A decision after vnp_ExpireDate is code 11.
	loc := b.submit(t, b.payPage(), url.Values{"id": {id}, "action": {"approve"}, "card": {sandbox.CardSuccess}, "otp": {sandbox.TestOTP}})
	cb, err := b.gw.VerifyCallback(loc.Query())
	require.NoError(t, err)
	require.Equal(t, "11", cb.ResponseCode)
	// A pending payment past expiry answers querydr as failed (11), with its IPN.
	q := b.query(t, "EXP2", created)
	require.Equal(t, gateway.StatusFailed, q.Status)
	require.Equal(t, "02", q.TransactionStatus)
	tx, _ := b.sb.Transaction("EXP2")
	require.Equal(t, "11", tx.ResponseCode)
	require.Eventually(t, func() bool { return len(b.m.calls()) == 2 }, wait, 5*time.Millisecond)
	for _, c := range b.m.calls() {
		require.Equal(t, "11", c.cb.ResponseCode)
		require.Equal(t, "00", c.rspCode)
	}
}

func TestIPNReplayAndDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, _, _ = b.open(t, b.start(t, "DUP1", 30000))
	require.NoError(t, b.sb.Approve("DUP1"))
	require.ErrorIs(t, b.sb.Approve("DUP1"), sandbox.ErrNotPending)
	require.ErrorIs(t, b.sb.Decline("NOPE"), sandbox.ErrNotFound)
	require.Eventually(t, func() bool { return len(b.m.calls()) == 1 }, wait, 5*time.Millisecond)

	// Replayed: the handler sees it again (dedupe is the merchant's job),
	// answers 02, and the sandbox stops.
	require.NoError(t, b.sb.ResendIPN("DUP1"))
	require.Eventually(t, func() bool { return len(b.m.calls()) == 2 }, wait, 5*time.Millisecond)
	calls := b.m.calls()
	require.Equal(t, "00", calls[0].rspCode)
	require.Equal(t, "02", calls[1].rspCode)
	require.Equal(t, calls[0].query, calls[1].query, "same payload")
	require.Never(t, func() bool { return len(b.m.calls()) > 2 }, 5*interval, interval)
	tx, _ := b.sb.Transaction("DUP1")
	require.Equal(t, 2, tx.IPNAttempts)
	require.True(t, tx.IPNDelivered)

	// Concurrent duplicates: both arrive, exactly one is applied.
	b.sb.SetFaults(sandbox.Faults{DuplicateIPN: true, IPNBeforeRedirect: true})
	_, _, _ = b.open(t, b.start(t, "DUP2", 30000))
	require.NoError(t, b.sb.Approve("DUP2"))
	calls = b.m.calls()[2:]
	require.Len(t, calls, 2, "IPNBeforeRedirect: both calls made before Approve returned")
	codes := []string{calls[0].rspCode, calls[1].rspCode}
	require.ElementsMatch(t, []string{"00", "02"}, codes)
	require.Never(t, func() bool { return len(b.m.calls()) > 4 }, 5*interval, interval)
}

func TestIPNRetries(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sandbox.Config) { c.MaxAttempts = 4 })
	b.m.failFirst = 2 // the merchant's database is down for two calls
	_, _, _ = b.open(t, b.start(t, "RTY1", 40000))
	require.NoError(t, b.sb.Approve("RTY1"))
	require.Eventually(t, func() bool { tx, _ := b.sb.Transaction("RTY1"); return tx.IPNDelivered }, wait, 5*time.Millisecond)
	calls := b.m.calls()
	require.Len(t, calls, 3)
	require.Equal(t, []string{"99", "99", "00"}, []string{calls[0].rspCode, calls[1].rspCode, calls[2].rspCode})

	// Never accepted (bad signature → 97): MaxAttempts calls, then it gives up.
	b.sb.SetFaults(sandbox.Faults{BadSignature: true})
	_, _, _ = b.open(t, b.start(t, "RTY2", 40000))
	require.NoError(t, b.sb.Approve("RTY2"))
	require.Eventually(t, func() bool { tx, _ := b.sb.Transaction("RTY2"); return tx.IPNAttempts == 4 }, wait, 5*time.Millisecond)
	require.Never(t, func() bool { tx, _ := b.sb.Transaction("RTY2"); return tx.IPNAttempts > 4 }, 5*interval, interval)
	tx, _ := b.sb.Transaction("RTY2")
	require.False(t, tx.IPNDelivered)
	require.Equal(t, "97", tx.IPNLastCode)

	// A validly signed wrong amount is answered 04.
	b.sb.SetFaults(sandbox.Faults{TamperAmount: true})
	_, _, _ = b.open(t, b.start(t, "RTY3", 40000))
	require.NoError(t, b.sb.Approve("RTY3"))
	require.Eventually(t, func() bool { tx, _ := b.sb.Transaction("RTY3"); return tx.IPNLastCode == "04" }, wait, 5*time.Millisecond)

	// No IPN at all: the merchant reconciles with querydr.
	b.sb.SetFaults(sandbox.Faults{SkipIPN: true})
	created := b.clock.Now()
	_, _, _ = b.open(t, b.start(t, "RTY4", 40000))
	require.NoError(t, b.sb.Approve("RTY4"))
	require.Equal(t, gateway.StatusSucceeded, b.query(t, "RTY4", created).Status)
	tx, _ = b.sb.Transaction("RTY4")
	require.Zero(t, tx.IPNAttempts)
}

func TestQueryDR(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	created := b.clock.Now()
	require.Equal(t, gateway.StatusNotFound, b.query(t, "Q1", created).Status)
	_, _, _ = b.open(t, b.start(t, "Q1", 10000))
	_, _, _ = b.open(t, b.start(t, "Q2", 10000))
	require.Equal(t, gateway.StatusPending, b.query(t, "Q1", created).Status)
	require.Equal(t, gateway.StatusNotFound, b.query(t, "Q1", created.Add(time.Second)).Status, "keyed by TxnRef + TransactionDate")
	require.NoError(t, b.sb.Approve("Q1"))
	require.NoError(t, b.sb.Decline("Q2"))
	require.Equal(t, gateway.StatusSucceeded, b.query(t, "Q1", created).Status)
	require.Equal(t, gateway.StatusFailed, b.query(t, "Q2", created).Status)

	// A client with the wrong secret gets 97 (and cannot verify the answer).
	cc := b.sb.ClientConfig(b.srv.URL + "/sandbox")
	cc.HashSecret = "wrong"
	_, err := vnpay.New(cc).Query(context.Background(), gateway.QueryRequest{TxnRef: "Q1", TransactionDate: created})
	var apiErr *vnpay.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "97", apiErr.Code)
}

func TestRefund(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	created := b.clock.Now()
	_, _, _ = b.open(t, b.start(t, "RF1", 10000))
	_, _, _ = b.open(t, b.start(t, "RF2", 10000))
	require.NoError(t, b.sb.Approve("RF1"))
	require.NoError(t, b.sb.Decline("RF2"))
	tx, _ := b.sb.Transaction("RF1")
	refund := func(ref string, vnd int64, partial bool) (vnpay.RefundResult, error) {
		return b.gw.Refund(context.Background(), vnpay.RefundRequest{TxnRef: ref, Amount: money.VND(vnd), Partial: partial,
			TransactionNo: tx.TransactionNo, TransactionDate: created, CreatedBy: "ops@example"})
	}
	code := func(err error) string {
		var apiErr *vnpay.APIError
		require.ErrorAs(t, err, &apiErr)
		return apiErr.Code
	}
	_, err := refund("RF1", 5000, false)
	require.Equal(t, "03", code(err), "a full refund must be the whole amount")
	res, err := refund("RF1", 4000, true)
	require.NoError(t, err)
	require.Equal(t, "05", res.TransactionStatus)
	require.Equal(t, "03", res.TransactionType)
	require.True(t, res.Amount.Equal(money.VND(4000)))
	_, err = refund("RF1", 7000, true)
	require.Equal(t, "03", code(err), "more than what is left")
	_, err = refund("RF1", 6000, true)
	require.NoError(t, err)
	_, err = refund("RF1", 1000, true)
	require.Equal(t, "94", code(err))
	_, err = b.gw.Refund(context.Background(), vnpay.RefundRequest{TxnRef: "RF2", Amount: money.VND(10000),
		TransactionDate: created, CreatedBy: "ops"})
	require.Equal(t, "95", code(err))
	_, err = b.gw.Refund(context.Background(), vnpay.RefundRequest{TxnRef: "RF9", Amount: money.VND(10000),
		TransactionDate: created, CreatedBy: "ops"})
	require.Equal(t, "91", code(err))

	q := b.query(t, "RF1", created)
	require.Equal(t, gateway.StatusSucceeded, q.Status)
	require.Equal(t, "03", q.TransactionType)
	require.Equal(t, "06", q.TransactionStatus)
}

func TestTokenCharges(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	charge := func(ref, token, user string) (gateway.ChargeResult, time.Time) {
		created := b.clock.Now()
		res, err := b.gw.ChargeToken(ctx, gateway.TokenCharge{TxnRef: ref, Token: token, UserID: user,
			Amount: money.VND(250000), OrderInfo: "Gia hạn máy chủ", IPAddr: "203.0.113.7", CreatedAt: created})
		require.NoError(t, err)
		return res, created
	}

	ok := b.sb.LinkTestToken("acc_1", sandbox.OutcomeSuccess)
	res, created := charge("TK1", ok, "acc_1")
	require.Equal(t, gateway.StatusSucceeded, res.Status)
	require.Equal(t, "00", res.ResponseCode)
	require.NotEmpty(t, res.TransactionNo)
	q := b.query(t, "TK1", created)
	require.Equal(t, gateway.StatusSucceeded, q.Status)
	require.True(t, q.Amount.Equal(money.VND(250000)))

	poor := b.sb.LinkTestToken("acc_1", sandbox.OutcomeInsufficientFunds)
	res, created = charge("TK2", poor, "")
	require.Equal(t, gateway.StatusFailed, res.Status)
	require.Equal(t, "51", res.ResponseCode)
	require.Equal(t, gateway.StatusFailed, b.query(t, "TK2", created).Status)

	// Timeout: recorded as paid, the answer never comes → Unknown; querydr
	// then says Succeeded, and a retry with the same TxnRef charges nothing.
	slow := b.sb.LinkTestToken("acc_1", sandbox.OutcomeTimeout)
	began := time.Now()
	res, created = charge("TK3", slow, "acc_1")
	require.Equal(t, gateway.StatusUnknown, res.Status)
	require.Less(t, time.Since(began), 2*time.Second)
	q = b.query(t, "TK3", created)
	require.Equal(t, gateway.StatusSucceeded, q.Status)
	res, _ = charge("TK3", ok, "acc_1")
	require.Equal(t, gateway.StatusUnknown, res.Status)
	require.Equal(t, "94", res.ResponseCode)
	n := 0
	for _, tx := range b.sb.Transactions() {
		if tx.TxnRef == "TK3" {
			n++
		}
	}
	require.Equal(t, 1, n, "charged once")

	// Unknown token, or another user's token → 91, failed.
	res, _ = charge("TK4", "tokNOPE", "")
	require.Equal(t, gateway.StatusFailed, res.Status)
	require.Equal(t, "91", res.ResponseCode)
	res, _ = charge("TK5", ok, "acc_2")
	require.Equal(t, "91", res.ResponseCode)
	require.Panics(t, func() { b.sb.LinkTestToken("acc_1", "bogus") })
}

func TestLinkFlow(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	start := func(ref string) string {
		res, err := b.gw.StartLink(ctx, gateway.LinkRequest{TxnRef: ref, UserID: "acc_7",
			ReturnURL: b.srv.URL + "/shop/linked?x=1", IPAddr: "203.0.113.7", CreatedAt: b.clock.Now()})
		require.NoError(t, err)
		return res.RedirectURL
	}
	status, body, id := b.open(t, start("LNK1"))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "acc_7")
	loc := b.submit(t, b.linkPage(), url.Values{"id": {id}, "action": {"link"}, "card": {sandbox.CardSuccess}, "otp": {sandbox.TestOTP}})
	require.Equal(t, "1", loc.Query().Get("x"))
	require.NotContains(t, loc.String(), sandbox.CardSuccess, "no card number")
	res, err := b.gw.VerifyLinkCallback(loc.Query())
	require.NoError(t, err)
	require.True(t, res.Success)
	require.NotEmpty(t, res.Token)
	require.Equal(t, "NCB 970419******2198", res.Label)
	require.Equal(t, "acc_7", res.UserID)

	require.Eventually(t, func() bool { return len(b.m.linkCalls()) == 1 }, wait, 5*time.Millisecond)
	call := b.m.linkCalls()[0]
	require.Equal(t, "00", call.rspCode)
	require.Equal(t, "sandbox", call.query.Get("src"), "link IPN URL query kept")
	b.m.mu.Lock()
	require.Equal(t, res, b.m.linked[0])
	b.m.mu.Unlock()

	// The linked token charges.
	cr, err := b.gw.ChargeToken(ctx, gateway.TokenCharge{TxnRef: "LC1", Token: res.Token, UserID: "acc_7",
		Amount: money.VND(99000), CreatedAt: b.clock.Now()})
	require.NoError(t, err)
	require.Equal(t, gateway.StatusSucceeded, cr.Status)

	// A locked card is refused; cancel is 24; neither yields a token.
	_, _, id = b.open(t, start("LNK2"))
	loc = b.submit(t, b.linkPage(), url.Values{"id": {id}, "action": {"link"}, "card": {sandbox.CardLocked}, "otp": {sandbox.TestOTP}})
	res, err = b.gw.VerifyLinkCallback(loc.Query())
	require.NoError(t, err)
	require.False(t, res.Success)
	require.Equal(t, "12", res.ResponseCode)
	require.Empty(t, res.Token)
	_, _, id = b.open(t, start("LNK3"))
	loc = b.submit(t, b.linkPage(), url.Values{"id": {id}, "action": {"cancel"}})
	res, err = b.gw.VerifyLinkCallback(loc.Query())
	require.NoError(t, err)
	require.Equal(t, "24", res.ResponseCode)
	require.Empty(t, res.Token)

	// Programmatic link, and a tampered link URL.
	_, _, _ = b.open(t, start("LNK4"))
	require.NoError(t, b.sb.ApproveLink("LNK4"))
	tx, _ := b.sb.Transaction("LNK4")
	require.NotEmpty(t, tx.Token)
	status, body, _ = b.open(t, strings.Replace(start("LNK5"), "acc_7", "acc_8", 1))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "Sai chữ ký")
	require.Eventually(t, func() bool { return len(b.m.linkCalls()) == 4 }, wait, 5*time.Millisecond)
}

func TestBankListAndMethods(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	resp, err := http.Post(b.srv.URL+"/sandbox/qrpayauth/api/merchant/get_bank_list", "application/x-www-form-urlencoded",
		bytes.NewBufferString("tmn_code="+tmnCode))
	require.NoError(t, err)
	var banks []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&banks))
	_ = resp.Body.Close()
	codes := map[string]bool{}
	for _, bk := range banks {
		codes[bk["bank_code"].(string)] = true
	}
	for _, c := range []string{"NCB", "VNPAYQR", "VNBANK", "INTCARD"} {
		require.True(t, codes[c], c)
	}
	resp, err = http.Get(b.srv.URL + "/sandbox/merchant_webapi/api/transaction")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	// Malformed API input is 03.
	resp, err = http.Post(b.srv.URL+"/sandbox/merchant_webapi/api/transaction", "application/json", strings.NewReader(`{"vnp_Command":1}`))
	require.NoError(t, err)
	var out map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	_ = resp.Body.Close()
	require.Equal(t, "03", out["vnp_ResponseCode"])
}
