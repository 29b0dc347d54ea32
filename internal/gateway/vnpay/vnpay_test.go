package vnpay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/internal/gateway"
	"billing/internal/money"
)

// The test vectors of the protocol reference ("Test vectors").
const (
	secret = "SANDBOXSECRETKEY0123456789ABCDEF"

	v1Canonical = "vnp_Amount=1806000&vnp_Command=pay&vnp_CreateDate=20210801153333&vnp_CurrCode=VND&vnp_ExpireDate=20210801154833&vnp_IpAddr=127.0.0.1&vnp_Locale=vn&vnp_OrderInfo=Thanh+toan+don+hang+%3A5&vnp_OrderType=other&vnp_ReturnUrl=https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl&vnp_TmnCode=DEMOV210&vnp_TxnRef=5&vnp_Version=2.1.0"
	v1Hash      = "f66bf5dadd5da0ba753b638bc89beb33c609758e7615d5d8a21b9618324d48490ee9508fc88a048d3aa775b464209c8be4707044f8316d72108b21b41496a8be"

	v2Canonical = "vnp_Amount=1000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14226112&vnp_CardType=ATM&vnp_OrderInfo=Thanh+toan+don+hang+thoi+gian%3A+2023-12-07+17%3A00%3A44&vnp_PayDate=20231207170112&vnp_ResponseCode=00&vnp_TmnCode=CTTVNP01&vnp_TransactionNo=14226112&vnp_TransactionStatus=00&vnp_TxnRef=166117"
	v2Hash      = "fb285e9a29e94a4366b62c8553ef4b05ab113dc78bd0dfe76dc8f6946e29d221d7159d003bf89c0a7e3d3f399855e17e4f893de9f31762164bcd88a2aad564c7"

	v3Data = "REQ20231207171500001|2.1.0|querydr|CTTVNP01|166117|20231207170044|20231207171500|127.0.0.1|Truy van GD 166117"
	v3Hash = "69dfa7b9d8e32535c1dd040a3cd69bdad9009bb5cfb6b1c90a1e5b39dfa0979c625e3e955b6469204c9f1ce34106dd2b7083e0e3379e6b7d68b6c1afe38d7173"

	v4Data = "4f1d8a0b9c2e4a71|querydr|00|QueryDR Success|CTTVNP01|166117|1000000|NCB|20231207170112|14226112|01|00|Thanh toan don hang thoi gian: 2023-12-07 17:00:44||"
	v4Hash = "b2822d77f5a9141968140512e58f34f8094aef7f4e55e59d0331aa5dadd9716c5c22d8982d430e11f854bf9619c70551a29387c5499c5d2ef6e8bc3591f46c0d"

	v5Data = "REF20231208090000001|2.1.0|refund|CTTVNP01|02|166117|1000000|14226112|20231207170044|admin|20231208090000|127.0.0.1|Hoan tien GD 166117"
	v5Hash = "3eee68dc5159845625fba8ca3cb2fb7ea854a2825953b2510065dbdd1e3b24c0e5ca9f2888bc324b51441e35efc41dc001f1398711cdff0adc5c2d0b85f24fba"
)

func v1Params() url.Values {
	return url.Values{
		"vnp_Version": {"2.1.0"}, "vnp_Command": {"pay"}, "vnp_TmnCode": {"DEMOV210"}, "vnp_Amount": {"1806000"},
		"vnp_CreateDate": {"20210801153333"}, "vnp_ExpireDate": {"20210801154833"}, "vnp_CurrCode": {"VND"},
		"vnp_IpAddr": {"127.0.0.1"}, "vnp_Locale": {"vn"}, "vnp_OrderInfo": {"Thanh toan don hang :5"},
		"vnp_OrderType": {"other"}, "vnp_ReturnUrl": {"https://domainmerchant.vn/ReturnUrl"}, "vnp_TxnRef": {"5"},
	}
}

func v2Params() url.Values {
	return url.Values{
		"vnp_Amount": {"1000000"}, "vnp_BankCode": {"NCB"}, "vnp_BankTranNo": {"VNP14226112"}, "vnp_CardType": {"ATM"},
		"vnp_OrderInfo": {"Thanh toan don hang thoi gian: 2023-12-07 17:00:44"}, "vnp_PayDate": {"20231207170112"},
		"vnp_ResponseCode": {"00"}, "vnp_TmnCode": {"CTTVNP01"}, "vnp_TransactionNo": {"14226112"},
		"vnp_TransactionStatus": {"00"}, "vnp_TxnRef": {"166117"},
	}
}

func at(s string) time.Time {
	t, err := time.ParseInLocation(TimeLayout, s, GMT7)
	if err != nil {
		panic(err)
	}
	return t
}

func newClient(tmn string, now string, srv *httptest.Server) *Client {
	cfg := Config{
		TmnCode: tmn, HashSecret: secret, PayURL: "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
		APIURL: "http://invalid.test", TokenURL: "http://invalid.test/tokenUI",
		Now: func() time.Time { return at(now) },
	}
	if srv != nil {
		cfg.APIURL, cfg.TokenURL, cfg.HTTPClient = srv.URL, srv.URL+"/tokenUI", srv.Client()
	}
	return New(cfg)
}

func TestVector1PayURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, v1Canonical, Canonical(v1Params()))
	require.Equal(t, v1Hash, Sign(secret, v1Params()))

	// The adapter builds exactly this URL, sanitising the description.
	c := newClient("DEMOV210", "20210801153333", nil)
	res, err := c.StartPayment(context.Background(), gateway.StartRequest{
		TxnRef: "5", Amount: money.VND(18060), OrderInfo: "Thanh toán  đơn hàng :5", ReturnURL: "https://domainmerchant.vn/ReturnUrl",
		IPAddr: "127.0.0.1", CreatedAt: at("20210801153333").UTC(), ExpiresAt: at("20210801154833"),
	})
	require.NoError(t, err)
	require.Equal(t, "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?"+v1Canonical+"&vnp_SecureHash="+v1Hash, res.RedirectURL)
	require.NotContains(t, res.RedirectURL, "vnp_SecureHashType")
}

func TestVector2Callback(t *testing.T) {
	t.Parallel()
	require.Equal(t, v2Canonical, Canonical(v2Params()))
	require.Equal(t, v2Hash, Sign(secret, v2Params()))

	c := newClient("CTTVNP01", "20231207170200", nil)
	q := v2Params()
	q.Set(HashField, v2Hash)
	cb, err := c.VerifyCallback(q)
	require.NoError(t, err)
	require.Equal(t, gateway.Callback{
		TxnRef: "166117", Amount: money.VND(10000), Currency: "VND", TransactionNo: "14226112", ResponseCode: "00",
		TransactionStatus: "00", BankCode: "NCB", PayDate: at("20231207170112"), Success: true,
	}, cb)
	require.True(t, cb.Amount.Equal(money.VND(10000)))

	// Non-vnp_ parameters (the merchant's own return-URL query) are ignored;
	// the hash compares case-insensitively; vnp_SecureHashType is not signed.
	q.Set("orderId", "42")
	q.Set("utm_source", "x y")
	q.Set("vnp_SecureHashType", "HmacSHA512")
	q.Set(HashField, strings.ToUpper(v2Hash))
	_, err = c.VerifyCallback(q)
	require.NoError(t, err)

	// Raw query as it arrives on the wire.
	parsed, err := url.ParseQuery(v2Canonical + "&vnp_SecureHash=" + v2Hash)
	require.NoError(t, err)
	_, err = c.VerifyCallback(parsed)
	require.NoError(t, err)
}

func TestVector2NegativeChecks(t *testing.T) {
	t.Parallel()
	c := newClient("CTTVNP01", "20231207170200", nil)
	reject := func(name string, q url.Values) {
		t.Helper()
		_, err := c.VerifyCallback(q)
		require.ErrorIs(t, err, gateway.ErrInvalidSignature, name)
	}
	with := func(hash string, mut func(url.Values)) url.Values {
		q := v2Params()
		if mut != nil {
			mut(q)
		}
		q.Set(HashField, hash)
		return q
	}
	// Any single changed character of the data.
	reject("amount", with(v2Hash, func(q url.Values) { q.Set("vnp_Amount", "1000100") }))
	reject("response code", with(v2Hash, func(q url.Values) { q.Set("vnp_ResponseCode", "01") }))
	reject("txn ref", with(v2Hash, func(q url.Values) { q.Set("vnp_TxnRef", "166118") }))
	reject("added field", with(v2Hash, func(q url.Values) { q.Set("vnp_Extra", "1") }))
	reject("removed field", with(v2Hash, func(q url.Values) { q.Del("vnp_BankTranNo") }))
	reject("hash changed", with(v2Hash[:127]+"0", nil))
	reject("missing hash", v2Params())
	reject("empty hash", with("", nil))
	reject("repeated hash", func() url.Values { q := with(v2Hash, nil); q.Add(HashField, v2Hash); return q }())
	reject("repeated field", func() url.Values { q := with(v2Hash, nil); q.Add("vnp_Amount", "1"); return q }())
	reject("wrong secret", with(SignData("other", v2Canonical), nil))

	// Hashes of wrongly built canonical strings differ and are rejected.
	variants := map[string]string{
		"lowercase %xx":       strings.ReplaceAll(v2Canonical, "%3A", "%3a"),
		"space as %20":        strings.ReplaceAll(v2Canonical, "+", "%20"),
		"hash in data":        v2Canonical + "&vnp_SecureHash=" + v2Hash,
		"unsorted":            strings.Replace(v2Canonical, "vnp_Amount=1000000&vnp_BankCode=NCB", "vnp_BankCode=NCB&vnp_Amount=1000000", 1),
		"not url-encoded":     "vnp_Amount=1000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14226112&vnp_CardType=ATM&vnp_OrderInfo=Thanh toan don hang thoi gian: 2023-12-07 17:00:44&vnp_PayDate=20231207170112&vnp_ResponseCode=00&vnp_TmnCode=CTTVNP01&vnp_TransactionNo=14226112&vnp_TransactionStatus=00&vnp_TxnRef=166117",
		"one character off":   strings.Replace(v2Canonical, "VNP14226112", "VNP14226113", 1),
		"uppercase hex":       "", // handled below
		"secure hash type in": v2Canonical + "&vnp_SecureHashType=HmacSHA512",
	}
	for name, data := range variants {
		if data == "" {
			continue
		}
		h := SignData(secret, data)
		require.NotEqual(t, v2Hash, h, name)
		reject(name, with(h, nil))
	}
}

func TestVector3QueryDRRequest(t *testing.T) {
	t.Parallel()
	require.Equal(t, v3Hash, SignData(secret, v3Data))

	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		resp := map[string]string{
			"vnp_ResponseId": "4f1d8a0b9c2e4a71", "vnp_Command": "querydr", "vnp_ResponseCode": "00",
			"vnp_Message": "QueryDR Success", "vnp_TmnCode": "CTTVNP01", "vnp_TxnRef": "166117", "vnp_Amount": "1000000",
			"vnp_BankCode": "NCB", "vnp_PayDate": "20231207170112", "vnp_TransactionNo": "14226112",
			"vnp_TransactionType": "01", "vnp_TransactionStatus": "00",
			"vnp_OrderInfo": "Thanh toan don hang thoi gian: 2023-12-07 17:00:44", "vnp_SecureHash": v4Hash,
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	c := newClient("CTTVNP01", "20231207171500", srv)
	c.newID = func() string { return "REQ20231207171500001" }
	res, err := c.Query(context.Background(), gateway.QueryRequest{TxnRef: "166117", TransactionDate: at("20231207170044")})
	require.NoError(t, err)
	require.Equal(t, v3Hash, got["vnp_SecureHash"])
	require.Equal(t, "Truy van GD 166117", got["vnp_OrderInfo"])
	require.Equal(t, "20231207170044", got["vnp_TransactionDate"])
	require.Equal(t, gateway.StatusSucceeded, res.Status)
	require.True(t, res.Amount.Equal(money.VND(10000)))
	require.Equal(t, "14226112", res.TransactionNo)
	require.Equal(t, "00", res.TransactionStatus)
	require.Equal(t, "01", res.TransactionType)
}

func TestVector4QueryDRResponse(t *testing.T) {
	t.Parallel()
	require.Equal(t, v4Hash, SignData(secret, v4Data))
	resp := map[string]string{
		"vnp_ResponseId": "4f1d8a0b9c2e4a71", "vnp_Command": "querydr", "vnp_ResponseCode": "00",
		"vnp_Message": "QueryDR Success", "vnp_TmnCode": "CTTVNP01", "vnp_TxnRef": "166117", "vnp_Amount": "1000000",
		"vnp_BankCode": "NCB", "vnp_PayDate": "20231207170112", "vnp_TransactionNo": "14226112",
		"vnp_TransactionType": "01", "vnp_TransactionStatus": "00",
		"vnp_OrderInfo": "Thanh toan don hang thoi gian: 2023-12-07 17:00:44",
	}
	require.Equal(t, v4Hash, PipeSign(secret, resp, QueryDRResponseFields))

	// A response with any field changed after signing is refused.
	for _, mut := range []func(m map[string]string){
		func(m map[string]string) { m["vnp_TransactionStatus"] = "02" },
		func(m map[string]string) { m["vnp_Amount"] = "100000000" },
		func(m map[string]string) { m["vnp_PromotionAmount"] = "0" },
		func(m map[string]string) { delete(m, "vnp_SecureHash") },
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := map[string]string{"vnp_SecureHash": v4Hash}
			for k, v := range resp {
				m[k] = v
			}
			mut(m)
			_ = json.NewEncoder(w).Encode(m)
		}))
		c := newClient("CTTVNP01", "20231207171500", srv)
		_, err := c.Query(context.Background(), gateway.QueryRequest{TxnRef: "166117", TransactionDate: at("20231207170044")})
		require.ErrorIs(t, err, gateway.ErrInvalidSignature)
		srv.Close()
	}
}

func TestVector5RefundRequest(t *testing.T) {
	t.Parallel()
	require.Equal(t, v5Hash, SignData(secret, v5Data))

	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		resp := map[string]string{
			"vnp_ResponseId": "r1", "vnp_Command": "refund", "vnp_ResponseCode": "00", "vnp_Message": "Refund success",
			"vnp_TmnCode": "CTTVNP01", "vnp_TxnRef": "166117", "vnp_Amount": "1000000", "vnp_BankCode": "NCB",
			"vnp_PayDate": "20231208090001", "vnp_TransactionNo": "14226200", "vnp_TransactionType": "02",
			"vnp_TransactionStatus": "05", "vnp_OrderInfo": "Hoan tien GD 166117",
		}
		resp["vnp_SecureHash"] = PipeSign(secret, resp, RefundResponseFields)
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	c := newClient("CTTVNP01", "20231208090000", srv)
	c.newID = func() string { return "REF20231208090000001" }
	res, err := c.Refund(context.Background(), RefundRequest{
		TxnRef: "166117", Amount: money.VND(10000), TransactionNo: "14226112",
		TransactionDate: at("20231207170044"), CreatedBy: "admin",
	})
	require.NoError(t, err)
	require.Equal(t, v5Hash, got["vnp_SecureHash"])
	require.Equal(t, "02", got["vnp_TransactionType"])
	require.Equal(t, RefundResult{
		TransactionNo: "14226200", TransactionStatus: "05", TransactionType: "02", Amount: res.Amount,
		ResponseCode: "00", Message: "Refund success",
	}, res)
	require.True(t, res.Amount.Equal(money.VND(10000)))
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	answer := func(code string, sign bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req map[string]string
			_ = json.NewDecoder(r.Body).Decode(&req)
			resp := map[string]string{"vnp_ResponseId": "x", "vnp_Command": req["vnp_Command"], "vnp_ResponseCode": code,
				"vnp_Message": "m", "vnp_TmnCode": req["vnp_TmnCode"], "vnp_TxnRef": req["vnp_TxnRef"]}
			if sign {
				resp["vnp_SecureHash"] = PipeSign(secret, resp, QueryDRResponseFields)
			}
			_ = json.NewEncoder(w).Encode(resp)
		}))
	}
	q := gateway.QueryRequest{TxnRef: "A1", TransactionDate: at("20231207170044")}

	srv := answer("91", true)
	res, err := newClient("CTTVNP01", "20231207171500", srv).Query(context.Background(), q)
	require.NoError(t, err)
	require.Equal(t, gateway.StatusNotFound, res.Status)
	srv.Close()

	srv = answer("91", false) // unsigned "not found" is not trusted
	_, err = newClient("CTTVNP01", "20231207171500", srv).Query(context.Background(), q)
	require.ErrorIs(t, err, gateway.ErrInvalidSignature)
	srv.Close()

	srv = answer("97", false)
	_, err = newClient("CTTVNP01", "20231207171500", srv).Query(context.Background(), q)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "97", apiErr.Code)
	require.False(t, apiErr.Verified)
	srv.Close()

	srv = answer("95", true)
	_, err = newClient("CTTVNP01", "20231207171500", srv).Refund(context.Background(), RefundRequest{
		TxnRef: "A1", Amount: money.VND(1000), TransactionDate: at("20231207170044"), CreatedBy: "ops",
	})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "95", apiErr.Code)
	srv.Close()
}

func TestSanitizeText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"Thanh toán đơn hàng :5", "Thanh toan don hang :5"},
		{"ĐẶT MUA Máy chủ ảo (vServer) — 3 tháng!", "DAT MUA May chu ao vServer 3 thang"},
		{"Nạp tiền cho thuê bao 0123456789. Số tiền 100,000 VND", "Nap tien cho thue bao 0123456789. So tien 100,000 VND"},
		{"Thanh toa\u0301n", "Thanh toan"}, // decomposed accent
		{"a+b&c=d?e~f*g'h\"i<j>", "a b c d e f g h i j"},
		{"  #42 / order_1-x.y  ", "#42 / order_1-x.y"},
		{"日本語", ""},
	}
	for _, c := range cases {
		require.Equal(t, c.want, SanitizeText(c.in, 255), c.in)
		// Sanitised text encodes identically in Go and in VNPAY's PHP/Java demos.
		require.Equal(t, phpURLEncode(c.want), url.QueryEscape(c.want), c.in)
	}
	long := SanitizeText(strings.Repeat("ắ", 300), 255)
	require.Len(t, long, 255)
	require.Equal(t, strings.Repeat("a", 255), long)
	require.Equal(t, "ab", SanitizeText("ab    ", 3))
}

func TestStartPaymentValidation(t *testing.T) {
	t.Parallel()
	c := newClient("DEMOV210", "20210801153333", nil)
	ok := gateway.StartRequest{TxnRef: "A1", Amount: money.VND(10000), ReturnURL: "https://m.example/return",
		CreatedAt: at("20210801153333")}
	res, err := c.StartPayment(context.Background(), ok)
	require.NoError(t, err)
	u, err := url.Parse(res.RedirectURL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "20210801154833", q.Get("vnp_ExpireDate"), "default expiry: 15 minutes")
	require.Equal(t, "Thanh toan don hang A1", q.Get("vnp_OrderInfo"))
	require.Equal(t, "127.0.0.1", q.Get("vnp_IpAddr"))
	require.NoError(t, Verify(secret, q, HashField))
	for k, v := range q {
		require.NotEmpty(t, v[0], k)
	}

	for name, mut := range map[string]func(r *gateway.StartRequest){
		"txn ref charset": func(r *gateway.StartRequest) { r.TxnRef = "A-1" },
		"fraction":        func(r *gateway.StartRequest) { r.Amount = money.MustParse("100.5") },
		"zero":            func(r *gateway.StartRequest) { r.Amount = money.Zero },
		"negative":        func(r *gateway.StartRequest) { r.Amount = money.VND(-1) },
		"too large":       func(r *gateway.StartRequest) { r.Amount = money.VND(10_000_000_000) },
		"relative return": func(r *gateway.StartRequest) { r.ReturnURL = "/return" },
		"no created":      func(r *gateway.StartRequest) { r.CreatedAt = time.Time{} },
		"expires before":  func(r *gateway.StartRequest) { r.ExpiresAt = r.CreatedAt.Add(-time.Second) },
	} {
		r := ok
		mut(&r)
		_, err := c.StartPayment(context.Background(), r)
		require.Error(t, err, name)
	}
}

func TestWireAmount(t *testing.T) {
	t.Parallel()
	s, err := WireAmount(money.VND(9_999_999_999))
	require.NoError(t, err)
	require.Equal(t, "999999999900", s)
	a, err := ParseWireAmount("1806000")
	require.NoError(t, err)
	require.True(t, a.Equal(money.VND(18060)))
	for _, bad := range []string{"", "-100", "1e5", "10 0", "1234567890123456"} {
		_, err := ParseWireAmount(bad)
		require.Error(t, err, bad)
	}
}

func TestTokenCallbacksAndCharge(t *testing.T) {
	t.Parallel()
	// A link callback verifies under vnp_secure_hash and yields a label, not card data.
	c := newClient("DEMOV210", "20240101120000", nil)
	p := url.Values{"vnp_command": {"token_create"}, "vnp_tmn_code": {"DEMOV210"}, "vnp_txn_ref": {"L1"},
		"vnp_app_user_id": {"acc_1"}, "vnp_response_code": {"00"}, "vnp_transaction_status": {"00"},
		"vnp_token": {"tok1"}, "vnp_bank_code": {"NCB"}, "vnp_card_number": {"970419******2198"}}
	q, err := url.ParseQuery(SignedQuery(secret, p, TokenHashField) + "&back=1")
	require.NoError(t, err)
	res, err := c.VerifyLinkCallback(q)
	require.NoError(t, err)
	require.Equal(t, gateway.LinkResult{TxnRef: "L1", UserID: "acc_1", Token: "tok1", Label: "NCB 970419******2198",
		Success: true, ResponseCode: "00"}, res)
	q.Set("vnp_token", "tok2")
	_, err = c.VerifyLinkCallback(q)
	require.ErrorIs(t, err, gateway.ErrInvalidSignature)

	// A token charge whose answer is signed wrongly is Unknown, not Failed.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		require.NoError(t, Verify(secret, form, TokenHashField))
		_ = json.NewEncoder(w).Encode(map[string]string{"vnp_txn_ref": form.Get("vnp_txn_ref"), "vnp_tmn_code": "DEMOV210",
			"vnp_response_code": "51", "vnp_transaction_status": "02", "vnp_secure_hash": "00"})
	}))
	defer srv.Close()
	c = newClient("DEMOV210", "20240101120000", srv)
	cr, err := c.ChargeToken(context.Background(), gateway.TokenCharge{TxnRef: "C1", Token: "tok1",
		Amount: money.VND(5000), CreatedAt: at("20240101120000")})
	require.NoError(t, err)
	require.Equal(t, gateway.StatusUnknown, cr.Status)
}

// phpURLEncode is PHP's urlencode (VNPAY's PHP demo encoder): letters,
// digits and - _ . literal, space as +, every other byte %XX uppercase.
func phpURLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
