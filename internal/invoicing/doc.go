// Package invoicing issues invoices: one per resource per chargeable action.
//
// Prepaid invoices (CREATE, RENEW, RESIZE, RECOVER, AUTO_RENEW) are created
// already PAID by CreatePrepaid, inside the transaction that records the
// successful provisioning or renewal, from the pricing.ResourceQuote the
// customer was shown: one line per component (description, unit price,
// quantity, duration in minutes, its part of the coupon share, amount
// rounded once), then
//
//	subtotal = pre-tax part of the total     (ResourceQuote.PreTax)
//	vat      = VAT contained in the total    (ResourceQuote.VAT)
//	discount = the resource's coupon share   (ResourceQuote.CouponShare)
//	total    = amount paid = subtotal + vat  (ResourceQuote.Payable)
//
// so Σ line amounts − discount = total for VAT-inclusive prepaid prices.
//
// # Gapless codes
//
// Codes are INV-YYYYMM-NNNNNN, numbered per month of issue in the billing
// time zone (default Asia/Ho_Chi_Minh; an invoice issued at 17:30 UTC on
// 30 November is a December invoice there). NextCode takes the number in
// the invoice's own transaction:
//
//	INSERT INTO invoice_sequences (id, last_value) VALUES ('INV-202612', 0) ON CONFLICT DO NOTHING
//	UPDATE invoice_sequences SET last_value = last_value + 1 WHERE id = 'INV-202612' RETURNING last_value
//
// The UPDATE locks the month's row until the transaction ends, so
// concurrent invoices queue on it (PostgreSQL re-reads the committed value
// after the wait; SQLite serializes writers with BEGIN IMMEDIATE) and a
// transaction that rolls back takes its increment with it. The codes that
// exist are therefore consecutive with no gap and no duplicate; the price is
// that invoice-issuing transactions of one month serialize on that row from
// the moment they take their number, which is why callers take it last.
//
// Customers' invoices take it later still: IssuePrepaidAtCommit,
// CreatePrepaid and CodeAtCommit (PostgreSQL) write invoices under
// placeholder codes ("INV-202611#<id>") and a deferred constraint trigger
// (migration number_invoices_at_commit) numbers them inside COMMIT, the
// same way. The row is then held only for the commit's own work, never
// across a round trip to the service, whose replies wait for a CPU on a
// busy machine. A placeholder is never seen outside its transaction;
// nothing inside it reads the code after writing it. Only IssuePrepaid (the
// auto-renew chunks, which commit right after it), CreateMonthly and
// NextCode still number in their statement.
package invoicing
