package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"billing/internal/gateway/vnpay"
)

// serveAPI serves POST merchant_webapi/api/transaction: querydr and refund
// (§6), checked in the order malformed (03) → terminal (02) → checksum (97)
// → repeated request id (94) → transaction (91) → state (95, 94).
func (s *Sandbox) serveAPI(w http.ResponseWriter, r *http.Request) {
	req, err := decodeStrings(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		req = map[string]string{}
	}
	var resp map[string]string
	switch req["vnp_Command"] {
	case "refund":
		resp = s.refund(req)
		resp["vnp_SecureHash"] = vnpay.PipeSign(s.cfg.HashSecret, resp, vnpay.RefundResponseFields)
	default:
		resp = s.querydr(req, err == nil && req["vnp_Command"] == "querydr")
		resp["vnp_SecureHash"] = vnpay.PipeSign(s.cfg.HashSecret, resp, vnpay.QueryDRResponseFields)
	}
	out := map[string]string{}
	for k, v := range resp {
		if v != "" {
			out[k] = v
		}
	}
	writeJSON(w, out)
}

// decodeStrings reads a JSON object whose values must all be strings.
func decodeStrings(r io.Reader) (map[string]string, error) {
	var m map[string]string
	err := json.NewDecoder(r).Decode(&m)
	return m, err
}

func (s *Sandbox) apiAnswer(req map[string]string, code, msg string) map[string]string {
	return map[string]string{
		"vnp_ResponseId":   randomHex(16),
		"vnp_Command":      req["vnp_Command"],
		"vnp_ResponseCode": code,
		"vnp_Message":      msg,
		"vnp_TmnCode":      req["vnp_TmnCode"],
		"vnp_TxnRef":       req["vnp_TxnRef"],
	}
}

// checkAPI runs the checks common to querydr and refund and returns the
// transaction, or the answer to send.
func (s *Sandbox) checkAPI(req map[string]string, wellFormed bool, required, hashOrder []string) (*txn, map[string]string) {
	for _, k := range required {
		if req[k] == "" {
			wellFormed = false
		}
	}
	_, err1 := time.ParseInLocation(vnpay.TimeLayout, req["vnp_TransactionDate"], s.cfg.Location)
	_, err2 := time.ParseInLocation(vnpay.TimeLayout, req["vnp_CreateDate"], s.cfg.Location)
	if !wellFormed || err1 != nil || err2 != nil || req["vnp_Version"] != vnpay.Version || len(req["vnp_RequestId"]) > 32 {
		return nil, s.apiAnswer(req, "03", "Invalid request format")
	}
	if req["vnp_TmnCode"] != s.cfg.TmnCode {
		return nil, s.apiAnswer(req, "02", "Invalid TmnCode")
	}
	if !vnpay.HashEqual(vnpay.PipeSign(s.cfg.HashSecret, req, hashOrder), req["vnp_SecureHash"]) {
		return nil, s.apiAnswer(req, "97", "Invalid Checksum")
	}
	key := req["vnp_CreateDate"][:8] + "|" + req["vnp_Command"] + "|" + req["vnp_RequestId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requestIDs[key] {
		return nil, s.apiAnswer(req, "94", "Duplicate request")
	}
	s.requestIDs[key] = true
	for _, t := range s.byRef[req["vnp_TxnRef"]] {
		if t.CreateDate == req["vnp_TransactionDate"] && t.Kind != KindLink {
			return t, nil
		}
	}
	return nil, s.apiAnswer(req, "91", "Transaction not found")
}

// expireIfDue ends a pending hosted payment whose vnp_ExpireDate has
// passed with code 11. It returns the IPN sender to call after unlocking.
// Callers hold s.mu.
func (s *Sandbox) expireIfDue(t *txn) func() {
	now := s.now()
	if t.Kind != KindPay || t.ResponseCode != "" || !now.After(t.expire) {
		return func() {}
	}
	_, fire := s.completePay(t, "11", nil, now)
	return fire
}

func (s *Sandbox) querydr(req map[string]string, wellFormed bool) map[string]string {
	t, answer := s.checkAPI(req, wellFormed, vnpay.QueryDRRequestFields, vnpay.QueryDRRequestFields)
	if answer != nil {
		return answer
	}
	s.mu.Lock()
	fire := s.expireIfDue(t)
	resp := s.apiAnswer(req, "00", "QueryDR Success")
	resp["vnp_Amount"] = t.amountWire
	resp["vnp_OrderInfo"] = t.OrderInfo
	resp["vnp_BankCode"] = t.BankCode
	resp["vnp_PayDate"] = t.PayDate
	resp["vnp_TransactionNo"] = t.TransactionNo
	resp["vnp_TransactionType"] = t.TransactionType
	resp["vnp_TransactionStatus"] = t.TransactionStatus
	s.mu.Unlock()
	fire()
	return resp
}

func (s *Sandbox) refund(req map[string]string) map[string]string {
	required := make([]string, 0, len(vnpay.RefundRequestFields))
	for _, k := range vnpay.RefundRequestFields {
		if k != "vnp_TransactionNo" {
			required = append(required, k)
		}
	}
	t, answer := s.checkAPI(req, true, required, vnpay.RefundRequestFields)
	if answer != nil {
		return answer
	}
	typ := req["vnp_TransactionType"]
	if (typ != "02" && typ != "03") || !validAmount(req["vnp_Amount"]) {
		return s.apiAnswer(req, "03", "Invalid request format")
	}
	if no := req["vnp_TransactionNo"]; no != "" && no != "0" && no != t.TransactionNo {
		return s.apiAnswer(req, "91", "Transaction not found")
	}
	amount, _ := vnpay.ParseWireAmount(req["vnp_Amount"])
	s.mu.Lock()
	fire := s.expireIfDue(t)
	defer fire()
	defer s.mu.Unlock()
	if t.ResponseCode != "00" {
		return s.apiAnswer(req, "95", "Transaction is not successful")
	}
	remaining := t.Amount.Sub(t.Refunded)
	switch {
	case !remaining.IsPositive():
		return s.apiAnswer(req, "94", "Transaction has been refunded")
	case amount.GreaterThan(remaining), typ == "02" && !amount.Equal(remaining):
		return s.apiAnswer(req, "03", "Invalid refund amount")
	}
	t.Refunded = t.Refunded.Add(amount)
	t.TransactionType = typ
	t.TransactionStatus = "06" // the refund has been sent to the bank
	s.seq++
	resp := s.apiAnswer(req, "00", "Refund success")
	resp["vnp_Amount"] = req["vnp_Amount"]
	resp["vnp_OrderInfo"] = req["vnp_OrderInfo"]
	resp["vnp_BankCode"] = t.BankCode
	resp["vnp_PayDate"] = s.format(s.now())
	resp["vnp_TransactionNo"] = strconv.Itoa(14000000 + s.seq)
	resp["vnp_TransactionType"] = typ
	resp["vnp_TransactionStatus"] = "05" // VNPAY is processing the refund
	s.log.Info("refund", "txn_ref", t.TxnRef, "amount", amount.String(), "refunded", t.Refunded.String(), "remaining", t.Amount.Sub(t.Refunded).String())
	return resp
}

// bankList serves the static get_bank_list answer.
func (s *Sandbox) bankList(w http.ResponseWriter) {
	type bank struct {
		BankCode     string `json:"bank_code"`
		BankName     string `json:"bank_name"`
		BankType     int    `json:"bank_type"`
		DisplayOrder int    `json:"display_order"`
	}
	writeJSON(w, []bank{
		{"VNPAYQR", "Thanh toan quet ma QR", 0, 1},
		{"VNBANK", "The ATM - Tai khoan ngan hang noi dia", 1, 2},
		{"INTCARD", "The thanh toan quoc te", 2, 3},
		{"NCB", "Ngan hang NCB", 1, 4},
	})
}
