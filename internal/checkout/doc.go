// Package checkout is the prepaid checkout (SPEC §4): quotes, orders and
// their one payment by credit or through the payment gateway, gateway
// callbacks, provisioning results with refunds of failed resources, expiry
// of abandoned payments, credit top-ups and linked payment accounts.
//
// # Flow
//
//	Quote ──► PlaceOrder ──tx──► order + items + PENDING resources + coupon reserved + payment
//	            │                 CREDIT: debit ─► SUCCEEDED ─► (after commit) provision
//	            │                         (inline provisioner: provisioned and invoiced in the same tx)
//	            │                 TOP_UP_AND_PAY / GATEWAY: hold credit part, attempt CREATED
//	            │                 LINKED_ACCOUNT: attempt PENDING, payment PROCESSING
//	            └─(after commit)─► gateway: StartPayment ─tx─► REQUIRES_ACTION (redirect URL)
//	                               or ChargeToken ─tx─► SUCCEEDED | FAILED | (no answer) UNKNOWN
//	IPN ──► ApplyGatewayCallback ─tx─► SUCCEEDED (capture hold, consume coupon, order PAID)
//	                                 | FAILED / CANCELED (release hold and coupon, order ends)
//	provisioner ──► ReportProvisioning ─tx─► resource ACTIVE + PAID invoice
//	                                       | resource FAILED + refund to credit
//	ExpireAbandoned ─tx─► EXPIRED (release hold and coupon)     ReconcileUnknown ─► Query ─► apply
//
// Every money movement, state change, invoice, idempotency record and
// outbox event of a step commits in one transaction. Gateway and
// provisioner calls happen between transactions: the attempt is recorded
// first, the gateway called, its answer recorded next.
//
// # Payment states
//
//	PENDING ──► REQUIRES_ACTION ──► SUCCEEDED ──► PARTIALLY_REFUNDED ──► REFUNDED
//	   │  └───► PROCESSING ───────►    ▲
//	   └───────────────────────────────┘ (CREDIT, or nothing to pay)
//	PENDING | REQUIRES_ACTION | PROCESSING ──► FAILED | CANCELED
//	PENDING | REQUIRES_ACTION ──► EXPIRED
//
// REQUIRES_ACTION: the customer must finish on the gateway page
// (redirect_url). PROCESSING: a token charge is in flight with no customer
// involved; it never expires and, without an answer, waits for
// ReconcileUnknown. A redirect payment's IPN moves it straight from
// REQUIRES_ACTION to its result. CANCELED is the customer's cancel on the
// gateway page (VNPAY code 24). REFUNDED / PARTIALLY_REFUNDED follow
// refunds of resources that failed to provision. Each status change is a
// conditional UPDATE … WHERE status IN (allowed predecessors) in payment.go
// (markRequiresAction, markProcessing, markSucceeded, markFailed,
// markCanceled, markExpired, markRefunded), and each appends a
// PaymentEvent on events.TopicPayment (subject: the payment id) in the same
// transaction; so does every provisioning result (markProvisioned, or
// markRefunded for a failure). The last event of a payment has Final set:
// it failed, was canceled or expired, or it succeeded and every resource
// of its order has its result.
//
// # Decisions
//
//   - One order item per resource. An input item with Count N becomes N
//     OrderItems (quantity 1), each linked to its own Resource, holding the
//     resource's price snapshot, amount, coupon share (discount) and total,
//     its status and failure reason. So "which resources failed" and "what
//     was refunded for which resource" are plain rows of the order.
//   - Quote and PlaceOrder share one function (price): catalog.ActivePlan,
//     catalog.PriceComponents (PREPAID), catalog.AllowedPeriod,
//     coupon.(*Service).Check and pricing.QuoteOrder. The invoice of a
//     resource is rebuilt at provisioning time from what its order item
//     stored, by the same pricing.QuoteOrder (one resource, a FIXED coupon
//     of exactly its share); PlaceOrder verifies before commit that this
//     rebuild equals the quote for every resource, so the invoice always
//     says what the customer was quoted.
//   - Plans come from a catalog.PlanCache (one per Service): a catalog
//     change made through the service's ent client is seen by the next
//     quote or order; one made by another process within
//     catalog.CacheTTL (10 s). PlaceOrder still checks its invoices
//     against what it priced, so a stale plan can never make an invoice
//     differ from its order.
//   - A refused coupon refuses the order (fault.CouponInvalid on
//     input.couponCode, nothing written), including when the last
//     redemption was taken by a concurrent order: silently charging more
//     than quoted would be worse.
//   - TOP_UP_AND_PAY holds all available credit and charges the rest
//     through the gateway. When available credit covers the total it
//     behaves exactly like CREDIT (debited at once; the payment keeps
//     method TOP_UP_AND_PAY, with credit_amount = amount). Available credit
//     is read with the wallet row locked, so the hold cannot race a debit.
//   - Insufficient credit (CREDIT) is fault.InsufficientCredit on
//     input.paymentMethod and writes nothing.
//   - Nothing to pay (a coupon worth the whole order): the payment succeeds
//     at once whatever the method, without ledger or gateway.
//   - Money paid through the gateway for an order never passes through the
//     wallet: the ledger records the credit part (PURCHASE, or HOLD then
//     CAPTURE, to REVENUE); the gateway part is recorded by the payment and
//     its GatewayAttempt. Top-ups are DEPOSITs against GATEWAY_CLEARING,
//     written only when the gateway confirmed.
//   - A resource that fails to provision is refunded to the credit wallet
//     in full — its total after its coupon share, whether it was paid from
//     credit, through the gateway or both (REFUND against REFUNDS) — and
//     gets no invoice. The coupon stays consumed (the order was paid).
//     The order ends COMPLETED, PARTIALLY_FAILED or FAILED when its last
//     resource has its result.
//   - A failed, canceled or expired payment fails its order (FAILED,
//     CANCELED, EXPIRED), releases the hold and the coupon reservation and
//     marks its resources FAILED (never provisioned). To try again the
//     customer places a new order.
//   - A gateway that refuses to start a payment fails it at once (the
//     order is returned with payment FAILED, no error).
//   - Gateway callbacks: the gateway package verifies the signature (97);
//     ApplyGatewayCallback checks the attempt exists by txn_ref (01), amount
//     and currency VND (04), still open (02), then records the result with
//     a conditional update of the attempt and the payment under the
//     payment's row lock; gateway_transaction_no is unique. A repeated or
//     out-of-order callback changes nothing. A success that arrives after
//     the payment expired is not lost: it is credited to the wallet as a
//     DEPOSIT and the order stays expired.
//   - Before expiring a REQUIRES_ACTION payment, ExpireAbandoned queries the
//     gateway and applies a success whose IPN never came; if the gateway
//     cannot be asked it expires anyway (a late IPN is then credited).
//   - Token charges: the attempt is recorded PENDING and the payment
//     PROCESSING before ChargeToken is called. A timeout or transport error
//     marks the attempt UNKNOWN; ReconcileUnknown queries UNKNOWN attempts,
//     and PENDING ones older than Config.ReconcileAfter (the process died
//     before recording the answer). A charge the gateway never received
//     (NOT_FOUND) fails the payment. A replayed PlaceOrder or TopUp never
//     sends a token charge again.
//   - Idempotency: (scope, key) per idempotency.Do, scope = the account for
//     customers and read-only members, "admin:<subject>" for operators
//     (the request, including the account, is part of the hash). A replay
//     returns the order and payment as they are now; a redirect that was
//     never issued (crash after commit) is issued on replay.
//   - Who may do what: PlaceOrder and StartLink need role customer (own
//     account); TopUp and Quote also accept read-only members (SPEC §1:
//     they may top up). Operators (admin) may act for an account by naming
//     it in AccountID; the process itself (system) likewise, for jobs.
//     ReportProvisioning is for product services (service tokens), admins
//     and the process. Gateway callbacks run as the system viewer.
//   - Resources start with auto-renew on (1 month, paid from credit only),
//     so a forgotten renewal never costs a customer a resource; customers
//     turn it off where the product allows.
//   - The service period starts when provisioning succeeds:
//     [reported at, reported at + months × 30 days).
//   - Return URLs must be absolute http(s) URLs; a gateway payment without
//     one returns to Config.PublicURL + DefaultReturnPath.
//   - Top-ups are whole VND from MinTopUp (10,000) to MaxTopUp
//     (1,000,000,000), by GATEWAY or LINKED_ACCOUNT.
//   - Linked accounts store the gateway's token and masked label only; the
//     same token linked twice is stored once.
//
// # Actions on existing resources
//
// PlaceActionOrder (RENEW, RECOVER), Resize and AutoRenew sell actions on
// existing prepaid resources through the same orders and payments: one
// order item per resource with its action, one payment by any method. On
// success the payment's transaction applies the actions instead of
// provisioning them (applyActions): the resource changes through the
// state machine (package lifecycle/state), gets its PAID invoice (RENEW,
// AUTO_RENEW, RECOVER, RESIZE) and the item SUCCEEDED, with a payment
// event per resource (Provisioned = applied). An action that no longer
// applies when the money arrives is refunded to credit like a failed
// provisioning. A failed payment leaves the resources untouched. A resize
// whose difference is zero or negative needs no payment: it is applied at
// once and a negative difference refunded. The rules are in the lifecycle
// package's documentation; every resource state change, here too
// (provisioning, failures), goes through state.Machine.
//
// AutoRenewAll (autorenew_batch.go) is AutoRenew for a chunk of due
// resources at once, on PostgreSQL: the same checks in the same order and
// the same rows (TestAutoRenewAllMatchesOneByOne in package lifecycle),
// written with a fixed number of multi-row statements per chunk instead of
// a transaction per resource. The scheduler's auto-renew attempts use it;
// SQLite keeps AutoRenew.
//
// Customers' payment requests (PlaceOrder, PlaceActionOrder, Resize,
// TopUp, PayInvoices) are counted while they run: Busy reports one in
// progress, and the scheduler's sweeps rest between their batches while
// it does (lifecycle's giveWay).
//
// # Invoice payments
//
// PayInvoices (invoicepay.go) pays open postpaid invoices of the caller's
// account in full through the same payments: purpose INVOICE, invoice_ids
// in the order they are paid (oldest issue date, then smallest), amount =
// their outstanding total read with the account and invoices locked.
// GATEWAY, TOP_UP_AND_PAY (hold, rest through the gateway; or debited at
// once, INVOICE_PAYMENT, when credit covers it) and LINKED_ACCOUNT work as
// for orders — attempts, callbacks, expiry, reconciliation, events;
// CREDIT is handed to postpaid.PayInvoices. The invoices change only when
// the money is in: settlePaidAs calls postpaid.SettleInvoicePayment
// (account → invoices → resources suspended for non-payment), then
// captures the hold. A failed, canceled or expired one releases the hold
// and leaves the invoices as they were. Two open payments may name the
// same invoice (a customer retrying after leaving the gateway page): what
// the second brings that no invoice needs any more goes to credit
// (SettleInvoicePayment), never lost. PlaceOrder refuses postpaid
// accounts (fault.InvalidState on input.items): their new resources are
// postpaid; their existing prepaid ones still renew through the checkout.
//
// # Lock order
//
// Every transaction that changes a checkout after it was placed first
// takes the payment's row lock (lockPayment), then, as needed, the coupon
// row, the resources' rows (in id order: state.Machine.LockAll), the
// wallet row and last the invoice sequence row; PlaceOrder creates its
// payment, so it starts at the coupon, and action orders lock their
// resources before the wallet. One order for all of them means concurrent
// callbacks, reports, expiry runs, sweeps and new orders queue instead of
// deadlocking on PostgreSQL; SQLite serializes writers anyway.
//
// # Statements on the credit path
//
// Each round trip to PostgreSQL counts (lib/pq sends a statement with
// parameters as two exchanges, Parse/Describe then Bind/Execute), so a
// CREDIT checkout is written as few statements as its rules allow:
//
//   - PlaceOrder makes the order and payment ids up front: the idempotency
//     record is inserted with its result (idempotency.Expect), not updated
//     after. CREDIT rows are written in their final states instead of
//     PENDING and then updated (placeFromCredit): the payment is settled
//     first — events PENDING, the wallet's, SUCCEEDED; the debit, its
//     ledger transaction and entries in one statement
//     (ledger.Movement.NoEntities) — and the rows go in after it.
//   - With an inline provisioner (the simulator without delay,
//     provision.Simulator.Inline) the whole checkout is one write
//     transaction: the resources are handed over inside it, after the
//     debit, and their results recorded in it. When every resource
//     succeeded, the rows are written as ReportProvisioning would leave
//     them (order COMPLETED, items SUCCEEDED, resources ACTIVE with their
//     period, the payment with its invoice ids), followed by the events it
//     would append (each resource's Activate transition, then the
//     payment's result, final on the last). A failure takes the
//     step-by-step way inside the same transaction (provisionInline).
//     Either way the rows, ledger entries and events are those of the
//     step-by-step path (TestCreditMatchesStepByStep), and the answer is
//     built from what the transaction wrote, not read back after commit.
//     With a delay or the external provisioner the resources go to the
//     provisioner after commit, as before, and ReportProvisioning records
//     each result in a transaction of its own.
//   - Events are deferred (events.Outbox.Defer): one multi-row INSERT with
//     one pg_notify per transaction, so also one wake-up of every
//     instance's listener per checkout.
//   - The invoices come last (issueInvoices): the events are flushed, then
//     invoicing.IssuePrepaidAtCommit writes the invoices and their lines in
//     one statement, under placeholder codes that a deferred trigger
//     numbers inside COMMIT. The month's sequence row, which serializes
//     every invoice of the month, is locked only for the commit's own work
//     (the trigger and the WAL flush), never across a round trip to this
//     process: on the 2-core VM, old and new code in alternating runs, 32
//     clients went from 293–300 to 347–393 checkouts a second and 8 from
//     319–346 to 349–419 (it was the round trips under the lock, delayed
//     by a busy scheduler, that set the pace).
//   - ReportProvisioning (external provisioner or a delay) finds and locks
//     the payment in one statement (through the resource's item and, since
//     payments.order_id has no index, the account), reads the order's
//     items once under that lock, and derives the event's Final flag and
//     the order's end from them; its invoice comes last the same way.
//
// What is left per checkout (one resource): the idempotency record, the
// account, the order, resources, items and payment inserts, the debit,
// the events and the invoice — 9 statements in one transaction and one
// commit, each one exchange with the server (store caches prepared
// statements), the plan coming from the PlanCache. The invoice statement
// passes invoicing's gate: this process's checkouts queue in memory for
// the sequence row, not in PostgreSQL's lock manager.
package checkout
