package vnpay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"billing/internal/gateway"
	"billing/internal/money"
)

// Config configures a Client. TmnCode, HashSecret and the URLs are issued
// by VNPAY (or point at the sandbox); everything else has a default.
type Config struct {
	// Name is what Name() returns; default "vnpay".
	Name       string
	TmnCode    string
	HashSecret string
	// PayURL is the hosted payment page, e.g.
	// https://sandbox.vnpayment.vn/paymentv2/vpcpay.html.
	PayURL string
	// APIURL is the merchant web API endpoint for querydr and refund, e.g.
	// https://sandbox.vnpayment.vn/merchant_webapi/api/transaction.
	APIURL string
	// TokenURL is the base of the token endpoints (see the package doc),
	// e.g. https://sandbox.vnpayment.vn/tokenUI.
	TokenURL string
	// ServerIP is sent as vnp_IpAddr of querydr and refund (the merchant
	// server's address), and of requests whose caller gave no buyer IP.
	// Default "127.0.0.1".
	ServerIP string
	// Locale of the hosted pages, "vn" (default) or "en".
	Locale string
	// OrderType is the goods category code (§2.3); default "other".
	OrderType string
	// Location is the wire time zone; default fixed GMT+7.
	Location *time.Location
	// HTTPClient makes the server-to-server calls; its Timeout bounds a
	// token charge (a timed-out charge is StatusUnknown). Default: a
	// client with a 30-second timeout.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var missing []string
	for name, v := range map[string]string{"TmnCode": c.TmnCode, "HashSecret": c.HashSecret, "PayURL": c.PayURL, "APIURL": c.APIURL, "TokenURL": c.TokenURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("vnpay config: missing %s", strings.Join(missing, ", "))
	}
	if c.Locale != "" && c.Locale != "vn" && c.Locale != "en" {
		return fmt.Errorf("vnpay config: locale %q is not vn or en", c.Locale)
	}
	return nil
}

// GMT7 is the fixed GMT+7 zone used when Config.Location is nil.
var GMT7 = time.FixedZone("GMT+7", 7*60*60)

// Client is the VNPAY adapter. It is safe for concurrent use.
type Client struct {
	cfg   Config
	newID func() string // vnp_RequestId; replaced in tests
}

var _ gateway.Gateway = (*Client)(nil)

// New returns an adapter with cfg's defaults filled in.
func New(cfg Config) *Client {
	if cfg.Name == "" {
		cfg.Name = "vnpay"
	}
	if cfg.ServerIP == "" {
		cfg.ServerIP = "127.0.0.1"
	}
	if cfg.Locale == "" {
		cfg.Locale = "vn"
	}
	if cfg.OrderType == "" {
		cfg.OrderType = "other"
	}
	if cfg.Location == nil {
		cfg.Location = GMT7
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, newID: RandomID}
}

// RandomID returns 32 random lowercase hex characters: a vnp_RequestId or
// vnp_ResponseId.
func RandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Name implements gateway.Gateway.
func (c *Client) Name() string { return c.cfg.Name }

// FormatTime renders t in loc as yyyyMMddHHmmss.
func FormatTime(t time.Time, loc *time.Location) string { return t.In(loc).Format(TimeLayout) }

func (c *Client) format(t time.Time) string { return FormatTime(t, c.cfg.Location) }

var (
	txnRefRE = regexp.MustCompile(`^[A-Za-z0-9]{1,100}$`)
	userIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// WireAmount returns the vnp_Amount of a whole, positive VND amount: VND ×
// 100 as digits, at most 12 of them.
func WireAmount(a money.Amount) (string, error) {
	if err := a.Validate(); err != nil {
		return "", err
	}
	if !a.IsPositive() || !a.Decimal().IsInteger() {
		return "", fmt.Errorf("%w: %s is not a positive whole VND amount", money.ErrInvalid, a)
	}
	v := a.Scaled() / 100 // 1/10,000 VND → 1/100 VND
	s := strconv.FormatInt(v, 10)
	if len(s) > 12 {
		return "", fmt.Errorf("%w: %s VND is too large for VNPAY", money.ErrInvalid, a)
	}
	return s, nil
}

// ParseWireAmount reads a vnp_Amount (VND × 100) back into VND.
func ParseWireAmount(s string) (money.Amount, error) {
	if s == "" || len(s) > 15 || strings.Trim(s, "0123456789") != "" {
		return money.Amount{}, fmt.Errorf("%w: vnp_Amount %q is not a number", money.ErrInvalid, s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return money.Amount{}, fmt.Errorf("%w: vnp_Amount %q: %v", money.ErrInvalid, s, err)
	}
	if v%100 == 0 {
		return money.VND(v / 100), nil
	}
	return money.FromScaled(v * 100), nil
}

func (c *Client) orderInfo(s, fallback string) string {
	if v := SanitizeText(s, MaxOrderInfo); v != "" {
		return v
	}
	return fallback
}

func (c *Client) ipAddr(ip string) string {
	if ip == "" {
		return c.cfg.ServerIP
	}
	return ip
}

func withQuery(base, query string) string {
	if strings.Contains(base, "?") {
		return base + "&" + query
	}
	return base + "?" + query
}

// StartPayment implements gateway.Gateway: it returns the signed hosted
// page URL (vnp_Command=pay). CreatedAt is required (querydr and refund
// need it again); ExpiresAt defaults to CreatedAt + 15 minutes.
func (c *Client) StartPayment(_ context.Context, req gateway.StartRequest) (gateway.StartResult, error) {
	if !txnRefRE.MatchString(req.TxnRef) {
		return gateway.StartResult{}, fmt.Errorf("vnpay start payment: TxnRef %q must be 1-100 letters or digits", req.TxnRef)
	}
	amount, err := WireAmount(req.Amount)
	if err != nil {
		return gateway.StartResult{}, fmt.Errorf("vnpay start payment %s: %w", req.TxnRef, err)
	}
	if err := checkURL(req.ReturnURL); err != nil {
		return gateway.StartResult{}, fmt.Errorf("vnpay start payment %s: return URL: %w", req.TxnRef, err)
	}
	if req.CreatedAt.IsZero() {
		return gateway.StartResult{}, fmt.Errorf("vnpay start payment %s: CreatedAt is required", req.TxnRef)
	}
	expires := req.ExpiresAt
	if expires.IsZero() {
		expires = req.CreatedAt.Add(15 * time.Minute)
	}
	if !expires.After(req.CreatedAt) {
		return gateway.StartResult{}, fmt.Errorf("vnpay start payment %s: ExpiresAt is not after CreatedAt", req.TxnRef)
	}
	p := url.Values{
		"vnp_Version":    {Version},
		"vnp_Command":    {"pay"},
		"vnp_TmnCode":    {c.cfg.TmnCode},
		"vnp_Amount":     {amount},
		"vnp_CurrCode":   {"VND"},
		"vnp_TxnRef":     {req.TxnRef},
		"vnp_OrderInfo":  {c.orderInfo(req.OrderInfo, "Thanh toan don hang "+req.TxnRef)},
		"vnp_OrderType":  {c.cfg.OrderType},
		"vnp_Locale":     {c.cfg.Locale},
		"vnp_ReturnUrl":  {req.ReturnURL},
		"vnp_IpAddr":     {c.ipAddr(req.IPAddr)},
		"vnp_CreateDate": {c.format(req.CreatedAt)},
		"vnp_ExpireDate": {c.format(expires)},
	}
	return gateway.StartResult{RedirectURL: withQuery(c.cfg.PayURL, SignedQuery(c.cfg.HashSecret, p, HashField))}, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if len(s) > 255 {
		return fmt.Errorf("longer than 255 characters")
	}
	return nil
}

// VerifyCallback implements gateway.Gateway for IPN and return-URL
// requests of the pay flow: the signature over the vnp_ parameters (others
// ignored), then the terminal code and the fields.
func (c *Client) VerifyCallback(q url.Values) (gateway.Callback, error) {
	if err := Verify(c.cfg.HashSecret, q, HashField); err != nil {
		return gateway.Callback{}, fmt.Errorf("vnpay callback %q: %w", q.Get("vnp_TxnRef"), err)
	}
	if tmn := q.Get("vnp_TmnCode"); tmn != c.cfg.TmnCode {
		return gateway.Callback{}, fmt.Errorf("vnpay callback: terminal %q is not ours", tmn)
	}
	cb := gateway.Callback{
		TxnRef:            q.Get("vnp_TxnRef"),
		Currency:          q.Get("vnp_CurrCode"),
		TransactionNo:     q.Get("vnp_TransactionNo"),
		ResponseCode:      q.Get("vnp_ResponseCode"),
		TransactionStatus: q.Get("vnp_TransactionStatus"),
		BankCode:          q.Get("vnp_BankCode"),
	}
	if cb.Currency == "" {
		cb.Currency = "VND"
	}
	if cb.TxnRef == "" || cb.ResponseCode == "" {
		return gateway.Callback{}, errors.New("vnpay callback: vnp_TxnRef or vnp_ResponseCode missing")
	}
	var err error
	if cb.Amount, err = ParseWireAmount(q.Get("vnp_Amount")); err != nil {
		return gateway.Callback{}, fmt.Errorf("vnpay callback %s: %w", cb.TxnRef, err)
	}
	if pd := q.Get("vnp_PayDate"); pd != "" {
		if cb.PayDate, err = time.ParseInLocation(TimeLayout, pd, c.cfg.Location); err != nil {
			return gateway.Callback{}, fmt.Errorf("vnpay callback %s: vnp_PayDate: %w", cb.TxnRef, err)
		}
	}
	cb.Success = cb.ResponseCode == "00" && cb.TransactionStatus == "00"
	return cb, nil
}

// StartLink implements gateway.Gateway: the signed token_create URL
// (package doc, "Token protocol"). The buyer's cancel also returns to
// ReturnURL, with vnp_response_code 24.
func (c *Client) StartLink(_ context.Context, req gateway.LinkRequest) (gateway.StartResult, error) {
	if !txnRefRE.MatchString(req.TxnRef) {
		return gateway.StartResult{}, fmt.Errorf("vnpay start link: TxnRef %q must be 1-100 letters or digits", req.TxnRef)
	}
	if !userIDRE.MatchString(req.UserID) {
		return gateway.StartResult{}, fmt.Errorf("vnpay start link %s: UserID %q must be 1-64 of [A-Za-z0-9._-]", req.TxnRef, req.UserID)
	}
	if err := checkURL(req.ReturnURL); err != nil {
		return gateway.StartResult{}, fmt.Errorf("vnpay start link %s: return URL: %w", req.TxnRef, err)
	}
	created := req.CreatedAt
	if created.IsZero() {
		created = c.cfg.Now()
	}
	p := url.Values{
		"vnp_version":     {Version},
		"vnp_command":     {"token_create"},
		"vnp_tmn_code":    {c.cfg.TmnCode},
		"vnp_app_user_id": {req.UserID},
		"vnp_card_type":   {"01"},
		"vnp_txn_ref":     {req.TxnRef},
		"vnp_txn_desc":    {"Lien ket the " + req.TxnRef},
		"vnp_curr_code":   {"VND"},
		"vnp_return_url":  {req.ReturnURL},
		"vnp_cancel_url":  {req.ReturnURL},
		"vnp_ip_addr":     {c.ipAddr(req.IPAddr)},
		"vnp_create_date": {c.format(created)},
		"vnp_locale":      {c.cfg.Locale},
	}
	return gateway.StartResult{RedirectURL: withQuery(c.cfg.TokenURL+TokenCreatePath, SignedQuery(c.cfg.HashSecret, p, TokenHashField))}, nil
}

// VerifyLinkCallback implements gateway.Gateway for the token_create
// return URL and link IPN (snake_case fields, vnp_secure_hash).
func (c *Client) VerifyLinkCallback(q url.Values) (gateway.LinkResult, error) {
	if err := Verify(c.cfg.HashSecret, q, TokenHashField); err != nil {
		return gateway.LinkResult{}, fmt.Errorf("vnpay link callback %q: %w", q.Get("vnp_txn_ref"), err)
	}
	if tmn := q.Get("vnp_tmn_code"); tmn != c.cfg.TmnCode {
		return gateway.LinkResult{}, fmt.Errorf("vnpay link callback: terminal %q is not ours", tmn)
	}
	r := gateway.LinkResult{
		TxnRef:       q.Get("vnp_txn_ref"),
		UserID:       q.Get("vnp_app_user_id"),
		Token:        q.Get("vnp_token"),
		ResponseCode: q.Get("vnp_response_code"),
	}
	if r.TxnRef == "" || r.ResponseCode == "" {
		return gateway.LinkResult{}, errors.New("vnpay link callback: vnp_txn_ref or vnp_response_code missing")
	}
	ts := q.Get("vnp_transaction_status")
	r.Success = r.ResponseCode == "00" && (ts == "" || ts == "00") && r.Token != ""
	if r.Success {
		r.Label = strings.TrimSpace(q.Get("vnp_bank_code") + " " + q.Get("vnp_card_number"))
	} else {
		r.Token = ""
	}
	return r, nil
}

// ChargeToken implements gateway.Gateway with the server-to-server
// token_pay call of the package doc. It returns an error only when nothing
// was sent (invalid input). Once the request may have reached VNPAY, any
// missing or untrustworthy answer — timeout, transport error, non-200,
// unreadable or badly signed body, codes 94 and 99 — is StatusUnknown with
// a nil error: resolve it with Query, never by charging again.
func (c *Client) ChargeToken(ctx context.Context, req gateway.TokenCharge) (gateway.ChargeResult, error) {
	if !txnRefRE.MatchString(req.TxnRef) {
		return gateway.ChargeResult{}, fmt.Errorf("vnpay charge token: TxnRef %q must be 1-100 letters or digits", req.TxnRef)
	}
	if req.Token == "" {
		return gateway.ChargeResult{}, fmt.Errorf("vnpay charge token %s: token is empty", req.TxnRef)
	}
	if req.UserID != "" && !userIDRE.MatchString(req.UserID) {
		return gateway.ChargeResult{}, fmt.Errorf("vnpay charge token %s: UserID %q must be 1-64 of [A-Za-z0-9._-]", req.TxnRef, req.UserID)
	}
	amount, err := WireAmount(req.Amount)
	if err != nil {
		return gateway.ChargeResult{}, fmt.Errorf("vnpay charge token %s: %w", req.TxnRef, err)
	}
	if req.CreatedAt.IsZero() {
		return gateway.ChargeResult{}, fmt.Errorf("vnpay charge token %s: CreatedAt is required", req.TxnRef)
	}
	p := url.Values{
		"vnp_version":     {Version},
		"vnp_command":     {"token_pay"},
		"vnp_tmn_code":    {c.cfg.TmnCode},
		"vnp_token":       {req.Token},
		"vnp_amount":      {amount},
		"vnp_curr_code":   {"VND"},
		"vnp_txn_ref":     {req.TxnRef},
		"vnp_txn_desc":    {c.orderInfo(req.OrderInfo, "Thanh toan don hang "+req.TxnRef)},
		"vnp_ip_addr":     {c.ipAddr(req.IPAddr)},
		"vnp_create_date": {c.format(req.CreatedAt)},
		"vnp_locale":      {c.cfg.Locale},
	}
	if req.UserID != "" {
		p.Set("vnp_app_user_id", req.UserID)
	}
	if err := ctx.Err(); err != nil {
		return gateway.ChargeResult{}, fmt.Errorf("vnpay charge token %s: %w", req.TxnRef, err)
	}
	unknown := func(why string) (gateway.ChargeResult, error) {
		return gateway.ChargeResult{Status: gateway.StatusUnknown, Message: why}, nil
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL+TokenPayPath,
		strings.NewReader(SignedQuery(c.cfg.HashSecret, p, TokenHashField)))
	if err != nil {
		return gateway.ChargeResult{}, fmt.Errorf("vnpay charge token %s: %w", req.TxnRef, err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return unknown("no answer from VNPAY: " + err.Error())
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return unknown("VNPAY answered HTTP " + strconv.Itoa(resp.StatusCode))
	}
	fields, err := decodeJSON(resp.Body)
	if err != nil {
		return unknown("unreadable answer from VNPAY: " + err.Error())
	}
	q := url.Values{}
	for k, v := range fields {
		q.Set(k, v)
	}
	if err := Verify(c.cfg.HashSecret, q, TokenHashField); err != nil {
		return unknown("answer signature invalid (response code " + q.Get("vnp_response_code") + ")")
	}
	if q.Get("vnp_txn_ref") != req.TxnRef || q.Get("vnp_tmn_code") != c.cfg.TmnCode {
		return unknown("answer is for another transaction")
	}
	res := gateway.ChargeResult{
		TransactionNo: q.Get("vnp_transaction_no"),
		ResponseCode:  q.Get("vnp_response_code"),
		Message:       q.Get("vnp_message"),
	}
	switch ts := q.Get("vnp_transaction_status"); {
	case res.ResponseCode == "00" && ts == "00":
		res.Status = gateway.StatusSucceeded
	case ts == "01":
		res.Status = gateway.StatusPending
	case res.ResponseCode == "94" || res.ResponseCode == "99":
		// 94: this TxnRef exists already — maybe our own earlier,
		// unanswered attempt; 99: VNPAY does not know either.
		res.Status = gateway.StatusUnknown
	default:
		res.Status = gateway.StatusFailed
	}
	return res, nil
}

// APIError is a querydr or refund answer other than success: Code is the
// vnp_ResponseCode (§5.4, §5.5). Verified is false when the answer carried
// no valid signature (its code is then only a hint).
type APIError struct {
	Command  string
	TxnRef   string
	Code     string
	Message  string
	Verified bool
}

// Error implements error.
func (e *APIError) Error() string {
	s := fmt.Sprintf("vnpay %s %s: response code %s", e.Command, e.TxnRef, e.Code)
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	if !e.Verified {
		s += " [unsigned]"
	}
	return s
}

// decodeJSON reads a flat JSON object whose values are strings (numbers
// are kept as their literal text, null as "").
func decodeJSON(r io.Reader) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&raw); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		case string(v) == "null":
			out[k] = ""
		default:
			var n json.Number
			if err := json.Unmarshal(v, &n); err != nil {
				return nil, fmt.Errorf("field %s is neither string nor number", k)
			}
			out[k] = n.String()
		}
	}
	return out, nil
}

// QueryDRRequestFields lists the querydr request fields in checksum order.
var QueryDRRequestFields = []string{"vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef", "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo"}

// QueryDRResponseFields lists the querydr response fields in checksum order.
var QueryDRResponseFields = []string{"vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode", "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode", "vnp_PromotionAmount"}

// RefundRequestFields lists the refund request fields in checksum order.
var RefundRequestFields = []string{"vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType", "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo"}

// RefundResponseFields lists the refund response fields in checksum order.
var RefundResponseFields = QueryDRResponseFields[:13]

// PipeSign signs the values of names, in that order, taken from fields.
func PipeSign(secret string, fields map[string]string, names []string) string {
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = fields[n]
	}
	return SignData(secret, PipeData(vals...))
}

// callAPI posts a signed merchant web API request and returns the answer
// once its signature is verified. Unsigned or badly signed answers are
// *APIError (unverified) when they report a failure, ErrInvalidSignature
// when they claim success.
func (c *Client) callAPI(ctx context.Context, req map[string]string, reqNames, respNames []string) (map[string]string, error) {
	cmd, ref := req["vnp_Command"], req["vnp_TxnRef"]
	req["vnp_SecureHash"] = PipeSign(c.cfg.HashSecret, req, reqNames)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("vnpay %s %s: %w", cmd, ref, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.APIURL, strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("vnpay %s %s: %w", cmd, ref, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("vnpay %s %s: %w", cmd, ref, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("vnpay %s %s: HTTP %d", cmd, ref, resp.StatusCode)
	}
	fields, err := decodeJSON(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("vnpay %s %s: decode answer: %w", cmd, ref, err)
	}
	code := fields["vnp_ResponseCode"]
	if !HashEqual(PipeSign(c.cfg.HashSecret, fields, respNames), fields["vnp_SecureHash"]) {
		if code != "" && code != "00" && code != "91" {
			return nil, &APIError{Command: cmd, TxnRef: ref, Code: code, Message: fields["vnp_Message"]}
		}
		return nil, fmt.Errorf("vnpay %s %s: answer %w", cmd, ref, gateway.ErrInvalidSignature)
	}
	if code == "00" && (fields["vnp_TxnRef"] != ref || fields["vnp_TmnCode"] != c.cfg.TmnCode) {
		return nil, fmt.Errorf("vnpay %s %s: answer is for %s/%s", cmd, ref, fields["vnp_TmnCode"], fields["vnp_TxnRef"])
	}
	return fields, nil
}

// Query implements gateway.Gateway with querydr (§6.1). Unknown
// transactions (91) are StatusNotFound; other non-00 answers are *APIError.
// The payment outcome is read from vnp_TransactionStatus: 00 and the refund
// states 05/06/09 (the payment itself succeeded) → Succeeded, 01 and 07
// (suspected fraud, awaiting the merchant) → Pending, anything else →
// Failed.
func (c *Client) Query(ctx context.Context, req gateway.QueryRequest) (gateway.QueryResult, error) {
	if !txnRefRE.MatchString(req.TxnRef) {
		return gateway.QueryResult{}, fmt.Errorf("vnpay querydr: TxnRef %q must be 1-100 letters or digits", req.TxnRef)
	}
	if req.TransactionDate.IsZero() {
		return gateway.QueryResult{}, fmt.Errorf("vnpay querydr %s: TransactionDate is required", req.TxnRef)
	}
	fields, err := c.callAPI(ctx, map[string]string{
		"vnp_RequestId":       c.newID(),
		"vnp_Version":         Version,
		"vnp_Command":         "querydr",
		"vnp_TmnCode":         c.cfg.TmnCode,
		"vnp_TxnRef":          req.TxnRef,
		"vnp_OrderInfo":       "Truy van GD " + req.TxnRef,
		"vnp_TransactionDate": c.format(req.TransactionDate),
		"vnp_CreateDate":      c.format(c.cfg.Now()),
		"vnp_IpAddr":          c.cfg.ServerIP,
	}, QueryDRRequestFields, QueryDRResponseFields)
	if err != nil {
		return gateway.QueryResult{}, err
	}
	res := gateway.QueryResult{ResponseCode: fields["vnp_ResponseCode"]}
	switch res.ResponseCode {
	case "00":
	case "91":
		res.Status = gateway.StatusNotFound
		return res, nil
	default:
		return gateway.QueryResult{}, &APIError{Command: "querydr", TxnRef: req.TxnRef, Code: res.ResponseCode, Message: fields["vnp_Message"], Verified: true}
	}
	res.TransactionNo = fields["vnp_TransactionNo"]
	res.TransactionStatus = fields["vnp_TransactionStatus"]
	res.TransactionType = fields["vnp_TransactionType"]
	res.BankCode = fields["vnp_BankCode"]
	if res.Amount, err = ParseWireAmount(fields["vnp_Amount"]); err != nil {
		return gateway.QueryResult{}, fmt.Errorf("vnpay querydr %s: %w", req.TxnRef, err)
	}
	if pd := fields["vnp_PayDate"]; pd != "" {
		if res.PayDate, err = time.ParseInLocation(TimeLayout, pd, c.cfg.Location); err != nil {
			return gateway.QueryResult{}, fmt.Errorf("vnpay querydr %s: vnp_PayDate: %w", req.TxnRef, err)
		}
	}
	switch res.TransactionStatus {
	case "00", "05", "06", "09":
		res.Status = gateway.StatusSucceeded
	case "01", "07":
		res.Status = gateway.StatusPending
	default:
		res.Status = gateway.StatusFailed
	}
	return res, nil
}

// RefundRequest asks VNPAY to refund (part of) a successful payment.
type RefundRequest struct {
	TxnRef string
	// Amount to refund, whole VND; at most what is left of the payment.
	Amount money.Amount
	// Partial selects vnp_TransactionType 03; otherwise 02 (full refund,
	// Amount must then be the whole payment).
	Partial bool
	// TransactionNo is the payment's vnp_TransactionNo; "0" is sent when
	// unknown, as VNPAY's demo does.
	TransactionNo string
	// TransactionDate is the payment's CreatedAt (its vnp_CreateDate).
	TransactionDate time.Time
	// CreatedBy is the merchant user who asked for the refund.
	CreatedBy string
	// OrderInfo describes the refund; default "Hoan tien GD <TxnRef>".
	OrderInfo string
}

// RefundResult is VNPAY's acceptance of a refund. Refunds are asynchronous:
// TransactionStatus is typically 05 (processing) or 06 (sent to the bank);
// follow up with Query.
type RefundResult struct {
	TransactionNo     string // the refund's own transaction number
	TransactionStatus string
	TransactionType   string
	Amount            money.Amount
	ResponseCode      string
	Message           string
}

// Refund sends a refund request (§6.2). Any answer but 00 is an *APIError
// (91 not found, 94 already in progress, 95 payment not successful, …).
func (c *Client) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	if !txnRefRE.MatchString(req.TxnRef) {
		return RefundResult{}, fmt.Errorf("vnpay refund: TxnRef %q must be 1-100 letters or digits", req.TxnRef)
	}
	amount, err := WireAmount(req.Amount)
	if err != nil {
		return RefundResult{}, fmt.Errorf("vnpay refund %s: %w", req.TxnRef, err)
	}
	if req.TransactionDate.IsZero() {
		return RefundResult{}, fmt.Errorf("vnpay refund %s: TransactionDate is required", req.TxnRef)
	}
	createdBy := SanitizeText(req.CreatedBy, 64)
	if createdBy == "" {
		return RefundResult{}, fmt.Errorf("vnpay refund %s: CreatedBy is required", req.TxnRef)
	}
	txnType, txnNo := "02", req.TransactionNo
	if req.Partial {
		txnType = "03"
	}
	if txnNo == "" {
		txnNo = "0"
	}
	fields, err := c.callAPI(ctx, map[string]string{
		"vnp_RequestId":       c.newID(),
		"vnp_Version":         Version,
		"vnp_Command":         "refund",
		"vnp_TmnCode":         c.cfg.TmnCode,
		"vnp_TransactionType": txnType,
		"vnp_TxnRef":          req.TxnRef,
		"vnp_Amount":          amount,
		"vnp_OrderInfo":       c.orderInfo(req.OrderInfo, "Hoan tien GD "+req.TxnRef),
		"vnp_TransactionNo":   txnNo,
		"vnp_TransactionDate": c.format(req.TransactionDate),
		"vnp_CreateBy":        createdBy,
		"vnp_CreateDate":      c.format(c.cfg.Now()),
		"vnp_IpAddr":          c.cfg.ServerIP,
	}, RefundRequestFields, RefundResponseFields)
	if err != nil {
		return RefundResult{}, err
	}
	res := RefundResult{
		TransactionNo:     fields["vnp_TransactionNo"],
		TransactionStatus: fields["vnp_TransactionStatus"],
		TransactionType:   fields["vnp_TransactionType"],
		ResponseCode:      fields["vnp_ResponseCode"],
		Message:           fields["vnp_Message"],
	}
	if res.ResponseCode != "00" {
		return RefundResult{}, &APIError{Command: "refund", TxnRef: req.TxnRef, Code: res.ResponseCode, Message: res.Message, Verified: true}
	}
	if res.Amount, err = ParseWireAmount(fields["vnp_Amount"]); err != nil {
		return RefundResult{}, fmt.Errorf("vnpay refund %s: %w", req.TxnRef, err)
	}
	return res, nil
}
