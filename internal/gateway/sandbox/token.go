package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"billing/internal/gateway/vnpay"
)

// checkLink validates a token_create request.
func (s *Sandbox) checkLink(q url.Values) *rejection {
	for _, k := range []string{"vnp_version", "vnp_command", "vnp_tmn_code", "vnp_app_user_id", "vnp_txn_ref",
		"vnp_return_url", "vnp_ip_addr", "vnp_create_date", vnpay.TokenHashField} {
		if q.Get(k) == "" {
			return malformed("thiếu " + k)
		}
	}
	if q.Get("vnp_tmn_code") != s.cfg.TmnCode {
		return rejTerminal
	}
	if vnpay.Verify(s.cfg.HashSecret, q, vnpay.TokenHashField) != nil {
		return rejBadSignature
	}
	_, err := time.ParseInLocation(vnpay.TimeLayout, q.Get("vnp_create_date"), s.cfg.Location)
	switch ct, cur := q.Get("vnp_card_type"), q.Get("vnp_curr_code"); {
	case q.Get("vnp_version") != vnpay.Version:
		return malformed("vnp_version phải là " + vnpay.Version)
	case q.Get("vnp_command") != "token_create":
		return malformed("vnp_command phải là token_create")
	case ct != "" && ct != "01" && ct != "02":
		return malformed("vnp_card_type")
	case cur != "" && cur != "VND":
		return malformed("vnp_curr_code")
	case !userIDRE.MatchString(q.Get("vnp_app_user_id")):
		return malformed("vnp_app_user_id")
	case !txnRefRE.MatchString(q.Get("vnp_txn_ref")):
		return malformed("vnp_txn_ref")
	case !absoluteURL(q.Get("vnp_return_url"), 10, 255):
		return malformed("vnp_return_url")
	case q.Get("vnp_cancel_url") != "" && !absoluteURL(q.Get("vnp_cancel_url"), 10, 255):
		return malformed("vnp_cancel_url")
	case q.Get("vnp_txn_desc") != "" && !printableASCII(q.Get("vnp_txn_desc"), 255):
		return malformed("vnp_txn_desc phải là tiếng Việt không dấu")
	case err != nil:
		return malformed("vnp_create_date")
	}
	return nil
}

// openLink serves GET create-token.html.
func (s *Sandbox) openLink(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if rej := s.checkLink(q); rej != nil {
		s.log.InfoContext(r.Context(), "link page rejected", "txn_ref", q.Get("vnp_txn_ref"), "code", rej.code, "reason", rej.msg)
		s.errorPage(w, rej)
		return
	}
	ref, created, hash := q.Get("vnp_txn_ref"), q.Get("vnp_create_date"), strings.ToLower(q.Get(vnpay.TokenHashField))
	s.mu.Lock()
	t := s.sameDay(ref, created)
	switch {
	case t != nil && (t.hash != hash || t.Kind != KindLink):
		s.mu.Unlock()
		s.errorPage(w, rejDuplicate)
		return
	case t != nil && t.ResponseCode != "":
		redirect := t.RedirectURL
		s.mu.Unlock()
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	case t == nil:
		t = &txn{
			Transaction: Transaction{
				Kind:              KindLink,
				TxnRef:            ref,
				OrderInfo:         q.Get("vnp_txn_desc"),
				CreateDate:        created,
				ReturnURL:         q.Get("vnp_return_url"),
				UserID:            q.Get("vnp_app_user_id"),
				TransactionStatus: "01",
			},
			hash:      hash,
			cancelURL: q.Get("vnp_cancel_url"),
		}
		s.record(t)
		s.log.InfoContext(r.Context(), "link opened", "txn_ref", ref)
	}
	view := pageView{
		Title: "Liên kết thẻ với VNPAY (sandbox)", Action: "create-token.html", ID: t.id, TxnRef: t.TxnRef,
		Merchant: s.cfg.TmnCode, UserID: t.UserID, OrderInfo: t.OrderInfo, Cards: TestCards, OTP: TestOTP,
		Approve: "link", Decline: "cancel", ApproveLabel: "Link card", DeclineLabel: "Cancel",
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, pageTmpl, view)
}

// submitLink serves the link page's form.
func (s *Sandbox) submitLink(w http.ResponseWriter, r *http.Request) {
	f, err := parseForm(w, r)
	if err != nil {
		s.errorPage(w, malformed("form"))
		return
	}
	s.mu.Lock()
	t := s.byID[f.Get("id")]
	s.mu.Unlock()
	if t == nil || t.Kind != KindLink {
		s.errorPage(w, &rejection{"91", "Không tìm thấy giao dịch"})
		return
	}
	card := f.Get("card")
	if card == "" {
		card = CardSuccess
	}
	redirect, err := s.decideLink(t, f.Get("action") == "link", card, f.Get("otp"))
	switch {
	case errors.Is(err, ErrUnknownCard):
		s.errorPage(w, &rejection{"99", "Chỉ dùng thẻ thử nghiệm của sandbox"})
		return
	case err != nil && !errors.Is(err, ErrNotPending):
		s.errorPage(w, &rejection{"99", err.Error()})
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// decideLink applies the buyer's decision on the link page.
func (s *Sandbox) decideLink(t *txn, link bool, cardNo, otp string) (string, error) {
	var card *Card
	if link {
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
	case !link:
	case otp != TestOTP:
		code = "13"
	default:
		code = card.LinkCode
	}
	t.ResponseCode, t.TransactionStatus, t.PayDate = code, "02", s.format(now)
	p := url.Values{
		"vnp_command":            {"token_create"},
		"vnp_tmn_code":           {s.cfg.TmnCode},
		"vnp_txn_ref":            {t.TxnRef},
		"vnp_app_user_id":        {t.UserID},
		"vnp_response_code":      {code},
		"vnp_transaction_no":     {t.TransactionNo},
		"vnp_pay_date":           {t.PayDate},
		"vnp_transaction_status": {"02"},
	}
	if card != nil {
		t.BankCode, t.CardType, t.CardNumber = card.Bank, card.Type, card.Masked()
		p.Set("vnp_bank_code", card.Bank)
		p.Set("vnp_card_number", card.Masked())
		p.Set("vnp_card_type", card.linkType())
	}
	if code == "00" {
		t.TransactionStatus = "00"
		t.Token = newToken()
		s.tokens[t.Token] = &linkedToken{userID: t.UserID, card: *card}
		p.Set("vnp_transaction_status", "00")
		p.Set("vnp_token", t.Token)
	}
	back := t.ReturnURL
	if code == "24" && t.cancelURL != "" {
		back = t.cancelURL
	}
	t.RedirectURL = withQuery(back, vnpay.SignedQuery(s.cfg.HashSecret, p, vnpay.TokenHashField))
	t.ipnTarget = s.cfg.LinkIPNURL
	t.ipnQuery = s.ipnQuery(p, t, s.faults)
	faults := s.faults
	redirect := t.RedirectURL
	s.log.Info("link decided", "txn_ref", t.TxnRef, "response_code", code)
	s.mu.Unlock()
	s.deliver(t, faults, faults.IPNBeforeRedirect)
	return redirect, nil
}

// tokenPay serves POST api/token-pay (package vnpay doc, "Token protocol").
func (s *Sandbox) tokenPay(w http.ResponseWriter, r *http.Request) {
	q, err := parseForm(w, r)
	if err != nil {
		s.tokenAnswer(w, url.Values{}, "03", "Invalid request format")
		return
	}
	base := url.Values{
		"vnp_command":  {"token_pay"},
		"vnp_tmn_code": {q.Get("vnp_tmn_code")},
		"vnp_txn_ref":  {q.Get("vnp_txn_ref")},
		"vnp_amount":   {q.Get("vnp_amount")},
	}
	for _, k := range []string{"vnp_version", "vnp_command", "vnp_tmn_code", "vnp_token", "vnp_amount", "vnp_curr_code",
		"vnp_txn_ref", "vnp_txn_desc", "vnp_ip_addr", "vnp_create_date", vnpay.TokenHashField} {
		if q.Get(k) == "" {
			s.tokenAnswer(w, base, "03", "Missing "+k)
			return
		}
	}
	if q.Get("vnp_tmn_code") != s.cfg.TmnCode {
		s.tokenAnswer(w, base, "02", "Invalid TmnCode")
		return
	}
	if vnpay.Verify(s.cfg.HashSecret, q, vnpay.TokenHashField) != nil {
		s.tokenAnswer(w, base, "97", "Invalid Checksum")
		return
	}
	_, err = time.ParseInLocation(vnpay.TimeLayout, q.Get("vnp_create_date"), s.cfg.Location)
	if q.Get("vnp_version") != vnpay.Version || q.Get("vnp_command") != "token_pay" || q.Get("vnp_curr_code") != "VND" ||
		!validAmount(q.Get("vnp_amount")) || !txnRefRE.MatchString(q.Get("vnp_txn_ref")) ||
		!printableASCII(q.Get("vnp_txn_desc"), 255) || err != nil {
		s.tokenAnswer(w, base, "03", "Invalid request format")
		return
	}
	ref, created := q.Get("vnp_txn_ref"), q.Get("vnp_create_date")
	now := s.now()
	s.mu.Lock()
	tok := s.tokens[q.Get("vnp_token")]
	if tok == nil || (q.Get("vnp_app_user_id") != "" && q.Get("vnp_app_user_id") != tok.userID) {
		s.mu.Unlock()
		s.tokenAnswer(w, base, "91", "Token not found")
		return
	}
	if s.sameDay(ref, created) != nil {
		s.mu.Unlock()
		s.tokenAnswer(w, base, "94", "Duplicate vnp_txn_ref")
		return
	}
	amount, _ := vnpay.ParseWireAmount(q.Get("vnp_amount"))
	t := &txn{
		Transaction: Transaction{
			Kind:       KindTokenPay,
			TxnRef:     ref,
			Amount:     amount,
			OrderInfo:  q.Get("vnp_txn_desc"),
			CreateDate: created,
			UserID:     tok.userID,
			Token:      q.Get("vnp_token"),
			BankCode:   tok.card.Bank,
			CardType:   tok.card.Type,
			CardNumber: tok.card.Masked(),
			PayDate:    s.format(now),
		},
		amountWire: q.Get("vnp_amount"),
	}
	s.record(t)
	code, msg := "00", "Success"
	t.TransactionStatus = "00"
	if tok.card.Charge == OutcomeInsufficientFunds {
		code, msg = "51", "Insufficient funds"
		t.TransactionStatus = "02"
	}
	t.ResponseCode = code
	if code == "00" {
		t.BankTranNo = "VNP" + t.TransactionNo
	}
	base.Set("vnp_transaction_no", t.TransactionNo)
	base.Set("vnp_transaction_status", t.TransactionStatus)
	base.Set("vnp_bank_code", t.BankCode)
	base.Set("vnp_card_number", t.CardNumber)
	base.Set("vnp_pay_date", t.PayDate)
	hang := tok.card.Charge == OutcomeTimeout
	s.mu.Unlock()
	s.log.InfoContext(r.Context(), "token charge", "txn_ref", ref, "response_code", code, "hang", hang)
	if hang {
		// Recorded as paid, but the answer is lost: wait until the client
		// gives up (its context ends), the sandbox closes or HangLimit.
		tm := time.NewTimer(s.cfg.HangLimit)
		defer tm.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case <-tm.C:
		}
	}
	s.tokenAnswer(w, base, code, msg)
}

// tokenAnswer writes a signed token_pay answer.
func (s *Sandbox) tokenAnswer(w http.ResponseWriter, fields url.Values, code, msg string) {
	fields.Set("vnp_response_code", code)
	fields.Set("vnp_message", msg)
	fields.Set(vnpay.TokenHashField, vnpay.Sign(s.cfg.HashSecret, fields))
	out := make(map[string]string, len(fields))
	for k := range fields {
		if v := fields.Get(k); v != "" {
			out[k] = v
		}
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
