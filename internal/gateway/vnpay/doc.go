// Package vnpay is the gateway.Gateway adapter for VNPAY, API version
// 2.1.0 (see /work/shared/gateway-vnpay.md for the protocol reference; §
// numbers below refer to it).
//
// # Pay flow
//
// StartPayment builds the hosted-page URL (vnp_Command=pay): every non-empty
// vnp_ parameter, sorted by name, form-urlencoded with uppercase %XX, signed
// with HMAC-SHA512 keyed by the hash secret, lowercase hex, appended last as
// vnp_SecureHash; no vnp_SecureHashType. Free text (vnp_OrderInfo) is
// sanitised first: diacritics stripped, only letters, digits, space and
// "- _ . , : / #" kept, at most 255 bytes — the only alphabet on which
// every VNPAY encoder agrees (§3.2). Amounts are whole VND × 100 on the
// wire; times are yyyyMMddHHmmss in GMT+7.
//
// VerifyCallback checks an IPN or return-URL query: the signature is
// recomputed from the decoded vnp_ parameters (all others, such as the
// merchant's own query in its return URL, are ignored) and compared in
// constant time, case-insensitively. Success means vnp_ResponseCode 00 and
// vnp_TransactionStatus 00.
//
// # Merchant web API
//
// Query (querydr) and Refund POST JSON to Config.APIURL, signed over a
// pipe-joined list of raw values in the fixed order of §6
// (QueryDRRequestFields, RefundRequestFields); the answer's signature
// (QueryDRResponseFields, RefundResponseFields) is verified over the raw
// values as received before any field is trusted.
//
// # Token protocol
//
// VNPAY's public token specification is incomplete (§7); this package and
// the sandbox both speak exactly the following. All names are snake_case,
// signed with the §3.1 rule (sorted, form-urlencoded, HMAC-SHA512) and the
// signature travels as vnp_secure_hash. Paths are relative to
// Config.TokenURL (VNPAY: https://sandbox.vnpayment.vn/tokenUI; the
// sandbox: <base>/sandbox/tokenUI).
//
// Link a card, browser redirect — GET {TokenURL}/create-token.html with
//
//	vnp_version=2.1.0  vnp_command=token_create  vnp_tmn_code
//	vnp_app_user_id (our account id)  vnp_card_type=01  vnp_txn_ref
//	vnp_txn_desc  vnp_curr_code=VND  vnp_return_url  vnp_cancel_url
//	vnp_ip_addr  vnp_create_date  vnp_locale  vnp_secure_hash
//
// The result comes back twice with the same signed fields — the browser to
// vnp_return_url (vnp_cancel_url on cancel), and a server-to-server GET to
// the terminal's link IPN URL, answered like the pay IPN
// ({"RspCode":"00","Message":"Confirm Success"}, retried otherwise):
//
//	vnp_command=token_create  vnp_tmn_code  vnp_txn_ref  vnp_app_user_id
//	vnp_response_code (00 linked, 24 cancelled, 09/12/13/99 refused)
//	vnp_transaction_status (00 / 02)  vnp_transaction_no  vnp_pay_date
//	vnp_token, vnp_bank_code, vnp_card_number (masked, 970419******2198),
//	vnp_card_type (01 domestic, 02 international) — when known
//	vnp_secure_hash
//
// Charge a token, server to server — POST {TokenURL}/api/token-pay,
// Content-Type application/x-www-form-urlencoded, body
//
//	vnp_version=2.1.0  vnp_command=token_pay  vnp_tmn_code  vnp_token
//	vnp_app_user_id (optional; must match the token's user)
//	vnp_amount (VND × 100)  vnp_curr_code=VND  vnp_txn_ref  vnp_txn_desc
//	vnp_ip_addr  vnp_create_date  vnp_locale  vnp_secure_hash
//
// answered HTTP 200 with a flat JSON object of strings, signed the same way
// over all its vnp_ fields except vnp_secure_hash:
//
//	vnp_command=token_pay  vnp_tmn_code  vnp_txn_ref  vnp_amount
//	vnp_response_code  vnp_message  vnp_transaction_status (00 / 02)
//	vnp_transaction_no  vnp_bank_code  vnp_card_number  vnp_pay_date
//	vnp_secure_hash
//
// Response codes: 00 paid; 51 insufficient funds; 12 card locked; 91
// unknown token (or token of another user); 94 vnp_txn_ref already used
// today; 97 bad signature; 02 unknown terminal; 03 malformed request; 99
// other. There is no IPN for token_pay: a charge whose answer is lost
// (timeout) is resolved with querydr, using vnp_txn_ref as vnp_TxnRef and
// vnp_create_date as vnp_TransactionDate — token charges live in the same
// transaction space as hosted payments.
package vnpay

// Token endpoint paths, relative to Config.TokenURL.
const (
	TokenCreatePath = "/create-token.html"
	TokenPayPath    = "/api/token-pay"
)
