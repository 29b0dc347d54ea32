// Package sandbox is a local VNPAY, served by the billing binary under
// /sandbox/, that speaks the same 2.1.0 protocol as the real gateway: the
// vnpay adapter pointed at it (see ClientConfig) works unchanged. It exists
// so that development, demos and tests can run every payment path offline
// and deterministically.
//
// # Paths (relative to the mount point /sandbox/)
//
//	GET  /sandbox/                                       transaction list (for people)
//	GET  /sandbox/paymentv2/vpcpay.html?…                hosted payment page (pay)
//	POST /sandbox/paymentv2/vpcpay.html                  the page's Approve / Decline form
//	POST /sandbox/merchant_webapi/api/transaction        querydr and refund (JSON)
//	GET  /sandbox/tokenUI/create-token.html?…            link page (token_create)
//	POST /sandbox/tokenUI/create-token.html              the link page's form
//	POST /sandbox/tokenUI/api/token-pay                  token charge (token_pay)
//	POST /sandbox/qrpayauth/api/merchant/get_bank_list   static bank list
//
// The handler also works behind http.StripPrefix("/sandbox", …). The token
// endpoints and their fields are the ones defined in the vnpay package doc.
//
// # Hosted page
//
// A GET validates the request like VNPAY: required fields, formats and
// lengths; vnp_TmnCode must be the configured terminal (else code 02);
// vnp_Version 2.1.0, vnp_Command pay, vnp_CurrCode VND, an amount that is a
// positive multiple of 100, no vnp_SecureHashType, a vnp_ExpireDate after
// vnp_CreateDate (malformed: 03); the checksum (mismatch: "Sai chữ ký",
// code 70); an unexpired vnp_ExpireDate (11); and a vnp_TxnRef not used
// before on the same GMT+7 day (01) — reopening the identical signed URL
// shows the same payment again. A rejected request gets an HTML error page
// (HTTP 400): no transaction, no redirect, no IPN.
//
// An accepted request is recorded as pending (querydr: 01) and the page
// shows the amount with a test-card picker, an OTP field and Approve /
// Decline buttons (a plain form, no external assets). The decision is
// recorded, the signed IPN is sent to Config.IPNURL in the background and
// the browser is redirected (303) to vnp_ReturnUrl — its own query kept —
// with the signed result. Decline is the buyer's cancel (24); Approve pays
// with the chosen card (default: the success card); a wrong OTP gives 13;
// a decision after vnp_ExpireDate, or a querydr / reopening of a pending
// payment past it, ends the payment with 11 (and sends its IPN).
//
// # Test cards (§8; holder NGUYEN VAN A, OTP 123456)
//
//	9704198526191432198  NCB    pay 00 · links · charges succeed
//	9704195798459170488  NCB    pay 51 · links · charges fail 51 (insufficient funds)
//	9704192181368742     NCB    pay 09 · link refused 09 (not activated)
//	9704193370791314     NCB    pay 12 · link refused 12 (locked)
//	9704194841945513     NCB    pay 99 · link refused 99 (expired)
//	9704000000000018     NCB    sandbox only: pay 11 · links · charges time out
//	4456530000001005 4456530000001096 (VISA), 5200000000001005
//	5200000000001096 (MasterCard), 3337000000000008 3337000000200004 (JCB)
//	                            pay 00 · link · charges succeed
//
// # Tokens
//
// Linking (the link page, LinkWithCard, ApproveLink) issues an opaque
// token bound to vnp_app_user_id; its charges behave by card as above.
// LinkTestToken issues one directly, by outcome: OutcomeSuccess,
// OutcomeInsufficientFunds (code 51, failed) or OutcomeTimeout: the charge
// is recorded as successful, but the HTTP answer is held back until the
// client gives up (or Config.HangLimit), so the adapter reports
// StatusUnknown; a later querydr shows the success, and the merchant must
// not charge again.
//
// # IPN delivery
//
// Each result IPN is a GET of the configured URL with the signed fields.
// RspCode 00 or 02 ends delivery; any other code, a non-JSON or non-200
// answer or a transport error is retried, up to Config.MaxAttempts calls
// (default 10) Config.RetryInterval apart (default 5 s; VNPAY uses 5 min).
// Deliveries run in goroutines that Close stops. SetFaults switches on the
// misbehaviours a merchant must survive: no IPN, IPN before the redirect,
// every call sent twice concurrently, a validly signed wrong amount, a bad
// signature, a delay; ResendIPN replays a delivered IPN.
//
// # State
//
// Everything is in memory and per process: a restarted sandbox forgets its
// payments and tokens. In a multi-instance deployment each instance may
// run its own sandbox — the buyer must finish a payment on the instance
// that served its page, and querydr only knows that instance's payments —
// while the IPN always goes to the configured IPNURL, which may be served
// by any instance (point it at the load balancer).
package sandbox
