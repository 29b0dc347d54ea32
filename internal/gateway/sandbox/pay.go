package sandbox

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"billing/internal/gateway/vnpay"
)

var (
	txnRefRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
	orderTypeRE = regexp.MustCompile(`^[A-Za-z0-9]{1,100}$`)
	bankCodeRE  = regexp.MustCompile(`^[A-Za-z0-9]{3,20}$`)
	userIDRE    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	digitsRE    = regexp.MustCompile(`^[0-9]{1,12}$`)
)

// rejection is a refused request: the code and message of the error page
// (or API answer).
type rejection struct {
	code, msg string
}

// Error-page codes and messages (VNPAY's wording where known).
var (
	rejBadSignature = &rejection{"70", "Sai chữ ký"}
	rejTerminal     = &rejection{"02", "Website không tồn tại hoặc chưa được phê duyệt (vnp_TmnCode)"}
	rejExpired      = &rejection{"11", "Giao dịch đã quá thời gian chờ thanh toán"}
	rejDuplicate    = &rejection{"01", "Giao dịch đã tồn tại (vnp_TxnRef đã dùng trong ngày)"}
)

func malformed(msg string) *rejection {
	return &rejection{"03", "Dữ liệu gửi sang không đúng định dạng: " + msg}
}

// printableASCII reports whether s is 1..max printable ASCII characters:
// VNPAY wants free text without diacritics.
func printableASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func absoluteURL(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// validAmount checks a vnp_Amount: digits, positive, whole VND (× 100).
func validAmount(s string) bool {
	if !digitsRE.MatchString(s) {
		return false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return err == nil && v > 0 && v%100 == 0
}

// checkPay validates a hosted-page request (§2.1) and returns its parsed
// expiry.
func (s *Sandbox) checkPay(q url.Values) (time.Time, *rejection) {
	for _, k := range []string{"vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CurrCode", "vnp_TxnRef",
		"vnp_OrderInfo", "vnp_OrderType", "vnp_Locale", "vnp_ReturnUrl", "vnp_IpAddr", "vnp_CreateDate", "vnp_ExpireDate", vnpay.HashField} {
		if q.Get(k) == "" {
			return time.Time{}, malformed("thiếu " + k)
		}
	}
	if q.Get("vnp_TmnCode") != s.cfg.TmnCode {
		return time.Time{}, rejTerminal
	}
	if vnpay.Verify(s.cfg.HashSecret, q, vnpay.HashField) != nil {
		return time.Time{}, rejBadSignature
	}
	switch {
	case q.Has("vnp_SecureHashType"):
		return time.Time{}, malformed("vnp_SecureHashType không dùng với phiên bản 2.1.0")
	case q.Get("vnp_Version") != vnpay.Version:
		return time.Time{}, malformed("vnp_Version phải là " + vnpay.Version)
	case q.Get("vnp_Command") != "pay":
		return time.Time{}, malformed("vnp_Command phải là pay")
	case q.Get("vnp_CurrCode") != "VND":
		return time.Time{}, malformed("chỉ hỗ trợ vnp_CurrCode VND")
	case !validAmount(q.Get("vnp_Amount")):
		return time.Time{}, malformed("vnp_Amount phải là số tiền × 100 (bội số của 100)")
	case !txnRefRE.MatchString(q.Get("vnp_TxnRef")):
		return time.Time{}, malformed("vnp_TxnRef")
	case !printableASCII(q.Get("vnp_OrderInfo"), 255):
		return time.Time{}, malformed("vnp_OrderInfo phải là tiếng Việt không dấu, tối đa 255 ký tự")
	case !orderTypeRE.MatchString(q.Get("vnp_OrderType")):
		return time.Time{}, malformed("vnp_OrderType")
	case q.Get("vnp_Locale") != "vn" && q.Get("vnp_Locale") != "en":
		return time.Time{}, malformed("vnp_Locale phải là vn hoặc en")
	case !absoluteURL(q.Get("vnp_ReturnUrl"), 10, 255):
		return time.Time{}, malformed("vnp_ReturnUrl")
	case len(q.Get("vnp_IpAddr")) < 7 || len(q.Get("vnp_IpAddr")) > 45:
		return time.Time{}, malformed("vnp_IpAddr")
	case q.Get("vnp_BankCode") != "" && !bankCodeRE.MatchString(q.Get("vnp_BankCode")):
		return time.Time{}, malformed("vnp_BankCode")
	}
	created, err1 := time.ParseInLocation(vnpay.TimeLayout, q.Get("vnp_CreateDate"), s.cfg.Location)
	expire, err2 := time.ParseInLocation(vnpay.TimeLayout, q.Get("vnp_ExpireDate"), s.cfg.Location)
	if err1 != nil || err2 != nil || !expire.After(created) {
		return time.Time{}, malformed("vnp_CreateDate / vnp_ExpireDate (yyyyMMddHHmmss GMT+7, hết hạn sau khi tạo)")
	}
	return expire, nil
}

// openPayment serves GET vpcpay.html: validate, record, show the page.
func (s *Sandbox) openPayment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	expire, rej := s.checkPay(q)
	if rej != nil {
		s.log.InfoContext(r.Context(), "payment page rejected", "txn_ref", q.Get("vnp_TxnRef"), "code", rej.code, "reason", rej.msg)
		s.errorPage(w, rej)
		return
	}
	ref, created, hash := q.Get("vnp_TxnRef"), q.Get("vnp_CreateDate"), strings.ToLower(q.Get(vnpay.HashField))
	now := s.now()
	s.mu.Lock()
	t := s.sameDay(ref, created)
	switch {
	case t != nil && (t.hash != hash || t.Kind != KindPay):
		s.mu.Unlock()
		s.errorPage(w, rejDuplicate)
		return
	case t != nil && t.ResponseCode != "":
		// Reopened after the decision: back to the merchant with the result.
		redirect := t.RedirectURL
		s.mu.Unlock()
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	case t != nil && now.After(t.expire):
		redirect, fire := s.completePay(t, "11", nil, now)
		s.mu.Unlock()
		fire()
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	case t == nil && now.After(expire):
		s.mu.Unlock()
		s.errorPage(w, rejExpired)
		return
	case t == nil:
		amount, _ := vnpay.ParseWireAmount(q.Get("vnp_Amount"))
		t = &txn{
			Transaction: Transaction{
				Kind:              KindPay,
				TxnRef:            ref,
				Amount:            amount,
				OrderInfo:         q.Get("vnp_OrderInfo"),
				CreateDate:        created,
				ExpireDate:        q.Get("vnp_ExpireDate"),
				ReturnURL:         q.Get("vnp_ReturnUrl"),
				TransactionStatus: "01",
			},
			hash:       hash,
			amountWire: q.Get("vnp_Amount"),
			expire:     expire,
			bankCode:   q.Get("vnp_BankCode"),
		}
		s.record(t)
		s.log.InfoContext(r.Context(), "payment opened", "txn_ref", ref, "amount", amount.String())
	}
	view := pageView{
		Title: "Thanh toán qua VNPAY (sandbox)", Action: "vpcpay.html", ID: t.id, TxnRef: t.TxnRef,
		Merchant: s.cfg.TmnCode, Amount: t.Amount.Format(), OrderInfo: t.OrderInfo,
		Expires: t.expire.Format("15:04:05 02/01/2006") + " (GMT+7)", Cards: TestCards, OTP: TestOTP,
		Approve: "approve", Decline: "decline", ApproveLabel: "Approve", DeclineLabel: "Decline",
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, pageTmpl, view)
}

// submitPayment serves the page's form.
func (s *Sandbox) submitPayment(w http.ResponseWriter, r *http.Request) {
	f, err := parseForm(w, r)
	if err != nil {
		s.errorPage(w, malformed("form"))
		return
	}
	s.mu.Lock()
	t := s.byID[f.Get("id")]
	s.mu.Unlock()
	if t == nil || t.Kind != KindPay {
		s.errorPage(w, &rejection{"91", "Không tìm thấy giao dịch"})
		return
	}
	card := f.Get("card")
	if card == "" {
		card = CardSuccess
	}
	redirect, err := s.decidePay(t, f.Get("action") == "approve", card, f.Get("otp"))
	switch {
	case errors.Is(err, ErrUnknownCard):
		s.errorPage(w, &rejection{"99", "Chỉ dùng thẻ thử nghiệm của sandbox"})
		return
	case err != nil && !errors.Is(err, ErrNotPending):
		s.errorPage(w, &rejection{"99", err.Error()})
		return
	}
	// A second submit (ErrNotPending) gets the first result again.
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// decidePay applies a buyer decision to a pending payment and returns the
// browser redirect.
func (s *Sandbox) decidePay(t *txn, approve bool, cardNo, otp string) (string, error) {
	var card *Card
	if approve {
		c, ok := FindCard(cardNo)
		if !ok {
			return "", ErrUnknownCard
		}
		card = &c
	}
	now := s.now()
	s.mu.Lock()
	if t.ResponseCode != "" {
		redirect := t.RedirectURL
		s.mu.Unlock()
		return redirect, ErrNotPending
	}
	code := "24"
	switch {
	case now.After(t.expire):
		code = "11"
	case !approve:
	case otp != TestOTP:
		code = "13"
	default:
		code = card.PayCode
	}
	redirect, fire := s.completePay(t, code, card, now)
	s.mu.Unlock()
	fire()
	return redirect, nil
}

// completePay records the result of a payment and prepares its callbacks.
// Callers hold s.mu and call fire after unlocking.
func (s *Sandbox) completePay(t *txn, code string, card *Card, now time.Time) (redirect string, fire func()) {
	t.ResponseCode = code
	t.TransactionStatus = "02"
	t.BankCode, t.CardType = "NCB", "ATM"
	if t.bankCode != "" {
		t.BankCode = t.bankCode
	}
	if t.BankCode == "VNPAYQR" {
		t.CardType = "QRCODE"
	}
	if card != nil {
		t.BankCode, t.CardType, t.CardNumber = card.Bank, card.Type, card.Masked()
	}
	if code == "00" {
		t.TransactionStatus = "00"
		t.BankTranNo = "VNP" + t.TransactionNo
	}
	t.PayDate = s.format(now)
	p := s.payFields(t, t.amountWire)
	t.RedirectURL = withQuery(t.ReturnURL, vnpay.SignedQuery(s.cfg.HashSecret, p, vnpay.HashField))
	t.ipnTarget = s.cfg.IPNURL
	t.ipnQuery = s.ipnQuery(p, t, s.faults)
	s.log.Info("payment decided", "txn_ref", t.TxnRef, "response_code", code, "transaction_no", t.TransactionNo)
	faults := s.faults
	return t.RedirectURL, func() { s.deliver(t, faults, faults.IPNBeforeRedirect) }
}

// payFields are the signed §4.1 result fields of a payment.
func (s *Sandbox) payFields(t *txn, amountWire string) url.Values {
	p := url.Values{}
	set := func(k, v string) {
		if v != "" {
			p.Set(k, v)
		}
	}
	set("vnp_Amount", amountWire)
	set("vnp_BankCode", t.BankCode)
	set("vnp_BankTranNo", t.BankTranNo)
	set("vnp_CardType", t.CardType)
	set("vnp_OrderInfo", t.OrderInfo)
	set("vnp_PayDate", t.PayDate)
	set("vnp_ResponseCode", t.ResponseCode)
	set("vnp_TmnCode", s.cfg.TmnCode)
	set("vnp_TransactionNo", t.TransactionNo)
	set("vnp_TransactionStatus", t.TransactionStatus)
	set("vnp_TxnRef", t.TxnRef)
	return p
}

// ipnQuery signs the IPN fields, applying the tampering faults.
func (s *Sandbox) ipnQuery(p url.Values, t *txn, f Faults) string {
	hashField := vnpay.HashField
	if t.Kind == KindLink {
		hashField = vnpay.TokenHashField
	}
	if f.TamperAmount && t.Kind == KindPay {
		v, _ := strconv.ParseInt(t.amountWire, 10, 64)
		p = cloneValues(p)
		p.Set("vnp_Amount", strconv.FormatInt(v+100*100, 10))
	}
	q := vnpay.SignedQuery(s.cfg.HashSecret, p, hashField)
	if f.BadSignature {
		last := q[len(q)-1]
		flip := byte('0')
		if last == '0' {
			flip = '1'
		}
		q = q[:len(q)-1] + string(flip)
	}
	return q
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
