// Package postpaid runs postpaid billing (SPEC §7): operators make an
// account postpaid with a credit limit; its resources run without checkout
// and their usage is recorded as intervals; at month end each resource gets
// a MONTHLY invoice from its usage; invoices are paid automatically from
// credit or by the customer; accounts that do not pay are suspended and
// come back when they pay.
//
//	create            resize                 delete
//	  │── interval 1 ────│── interval 2 ─────────│
//	  │  (config A)      │  (config B)           │
//	──┼──────────────────┼──────────┬────────────┼──────────┬──► local time
//	                                │ month end  │          │ month end
//	                     MONTHLY invoice: line A, line B    MONTHLY invoice: line B (to deletion)
//
// # Services
//
//	Convert, SetCreditLimit          operators: account type and credit limit (audit-logged)
//	CreateResource, Resize, Delete   postpaid resources and their usage intervals (idempotent by key)
//	RunMonthEnd, InvoiceMonth        MONTHLY invoices of the month just closed (job, operators)
//	AutoPay                          daily payment of open invoices from credit (job)
//	PayInvoices                      the customer pays invoices from credit (idempotent by key)
//	SettleInvoicePayment             applies a gateway INVOICE payment, inside the checkout's transaction
//	SuspendOverdue                   suspension for non-payment (job)
//	RunningCharges, Debt, Invoices, Invoice   dashboard reads
//
// # Decisions
//
// Account type. An account's type decides the billing mode of the
// resources created from then on; a resource's billing_mode is fixed at
// creation and never changes. Converting PREPAID → POSTPAID leaves the
// existing prepaid resources prepaid until they end (released or deleted):
// they are renewed, auto-renewed, resized and deleted through the checkout
// and the lifecycle service as before. Converting POSTPAID → PREPAID leaves
// the existing postpaid resources postpaid until they are deleted: they
// are still metered, resized, deleted and invoiced every month, their
// invoices stay due, are paid automatically and can suspend them; only new
// postpaid resources are refused (fault.InvalidState). Converting to the
// type the account already has is a fault.InvalidState; a reason is
// required. The credit limit is kept across conversions and only used for
// postpaid creations and enlargements.
//
// Usage intervals. Every create, resize and delete closes the open
// interval and opens the next one in the change's transaction: (start,
// end, configuration snapshot at the plan's current POSTPAID rates,
// discount %). Instants are recorded on whole minutes: the instant of the
// change truncated to its minute (UTC; billing zones have whole-minute
// offsets, so it is the same minute locally). A change at 10:00:45 closes
// one interval and opens the next at 10:00, so consecutive intervals never
// overlap or leave a gap. Stop and start change no interval (no billing
// effect); neither does a suspension: a suspended resource keeps its
// capacity and is charged until it is deleted. A postpaid resource is
// created ACTIVE at once (state.Activate, whose event tells the product
// service) and deleted straight to DELETED (no trash: it cannot be
// recovered).
//
// Minutes across month boundaries. Postpaid months are calendar months in
// the billing zone (default Asia/Ho_Chi_Minh): [00:00 on the 1st, 00:00
// on the 1st of the next month) local time, as UTC instants. An
// interval's minutes in a month are the whole minutes of
// [start, end) ∩ [month start, month end); an open interval runs to the
// month end. An interval spanning local midnight at a month end is split
// exactly there, so the minutes of all months add up to the interval's
// length. Months are not stretched to 30 days: a whole month is 40,320,
// 41,760, 43,200 or 44,640 minutes, so a 31-day month costs 31/30 of the
// rate (300,000 per 30 days → 310,000 for a 31-day month).
//
// Lines and rounding. One line per usage interval with minutes in the
// month (one per VAT rate if a configuration mixed rates, which the catalog
// never does): pre-tax = minutes × unit price × quantity × (100 −
// discount %) / (100 × 43,200), computed exactly and rounded half-up once
// to whole VND (LineAmount). A one-component configuration shows that
// component's unit price and quantity; a configuration of several shows
// its price per 30 days with quantity 1 and names each part in the
// description. Subtotal = Σ line amounts; VAT = round(subtotal × rate /
// 100), once on the subtotal; discount (coupon share) = 0 — postpaid usage
// carries no coupon today, the columns and invoicing.MonthlyInput carry
// one when it does; total = subtotal + VAT − discount. A resource without
// a minute of usage in the month gets no invoice; an invoice whose total
// is 0 is issued PAID.
//
// Month-end invoicing. At 00:00 on the 1st (billing zone) RunMonthEnd(now)
// invoices the month before the one now falls in; InvoiceMonth lets an
// operator invoice any closed month. Invoices are issued at now, UNPAID,
// due DueDays × 24 h later (default 15), period = the month, code from the
// gapless sequence of the month of issue (INV-202612-… for November's
// usage). It is set-based: resources are taken by keyset on usage
// intervals, Batch (2,000) per transaction; each transaction takes a
// PostgreSQL advisory lock on the month (SQLite serializes writers),
// skips resources that already have their invoice (unique
// (resource_id, MONTHLY, period_start)), reads the usage of the rest,
// computes the bills in Go (exact decimals) and writes them with
// invoicing.CreateMonthly: one code reservation (UPDATE … last_value + n)
// and one INSERT … SELECT FROM unnest(arrays) each for invoices and lines.
// Running it twice, or on several instances at once, issues each invoice
// once; a failed batch rolls back with its numbers. A resource deleted
// during the month is invoiced for its usage up to the deletion. A change
// committed after a month was invoiced that dates from before its end is
// not re-invoiced.
//
// Credit limit. "Unpaid and running charges" is the account's Exposure:
// Unpaid (Σ total − amount paid of UNPAID and PARTIALLY_PAID invoices) +
// Running (usage since the start of the current billing month, to the
// current minute, VAT included, exactly as the month-end invoices will
// say) + Committed (the next 30 days of every running postpaid resource at
// its current configuration, VAT included). Creating a resource is refused
// with fault.CreditLimitExceeded when Exposure + one 30-day month of the
// new configuration (VAT included, MonthlyCharge) exceeds the limit; equal
// is allowed. Committed is what makes the limit bound many resources
// created at once, whose usage so far is still zero. A resize to a
// configuration that costs more per month is checked the same way, with
// the resized resource counted at its new configuration; a smaller one is
// never refused. A lower limit never touches existing resources. The check
// runs with the account row locked (FOR UPDATE), so concurrent creations
// cannot both use the same room. Creation is also refused while an
// invoice is overdue past the suspension threshold.
//
// Payments. Credit pays open invoices oldest first — by the date they were
// issued in the billing zone — then smallest outstanding amount first
// (then issue instant and code). Each invoice gets min(outstanding, credit
// left); amount_paid accumulates what was paid, the unpaid amount is total
// − amount_paid (Outstanding); the invoice becomes PAID (paid_at set) when
// nothing is left, else PARTIALLY_PAID. A payment is one Payment (purpose
// INVOICE, method CREDIT, SUCCEEDED, invoice_ids in the order paid, amount
// = credit_amount), one ledger transaction (INVOICE_PAYMENT, customer
// AVAILABLE → REVENUE, referenced by the payment id, so it appears in the
// credit history), a payment event (the checkout's PaymentEvent shape,
// Final) and one notice (invoice.paid). AutoPay makes one payment per
// account and run, for every invoice it pays; accounts whose available
// credit is zero or less are not touched. PayInvoices pays the invoices
// named, in the same order, the whole outstanding amount or a smaller
// Amount (a partial payment); credit must cover it
// (fault.InsufficientCredit, nothing written).
//
// Gateway payments of invoices go through the checkout (same methods,
// holds, attempts, callbacks and live status as purchases):
// checkout.PayInvoices is idempotent and makes an INVOICE payment with
// invoice_ids and amount = Σ Outstanding read under the account's lock,
// split into credit and gateway parts by method as for orders (CREDIT is
// handed to PayInvoices here). On success the checkout calls
// SettleInvoicePayment before capturing a TOP_UP_AND_PAY hold (lock
// order); failure, cancel and expiry release the hold as for orders. The
// checkout imports this package; this package imports neither checkout
// nor lifecycle.
//
// Overdue. SuspendOverdue (daily) suspends, for every account with an
// UNPAID or PARTIALLY_PAID invoice whose due date is OverdueDays (default
// 15) or more before now, the account's ACTIVE and STOPPED postpaid
// resources (SuspendForNonPayment → SUSPENDED, suspend_reason NON_PAYMENT)
// and notifies once (postpaid.suspended). Every payment (AutoPay,
// PayInvoices, SettleInvoicePayment) ends by checking that no invoice is
// overdue past that threshold any more and then reinstates the resources
// suspended for NON_PAYMENT (Reinstate → ACTIVE, reason cleared, notice
// postpaid.reinstated); a resource suspended for another reason (OPERATOR,
// EXPIRED) is never among them. A resource that was STOPPED when it was
// suspended comes back ACTIVE: the schema keeps no previous state (a
// Resource.suspended_from field would let it come back STOPPED).
//
// State machine. lifecycle/state has no transition from ACTIVE or STOPPED
// to SUSPENDED and none lifting a suspension without a renewal, so this
// package defines SuspendForNonPayment and Reinstate as state.Transition
// values applied by the same state.Machine (conditional UPDATE and a
// resource event in the same transaction). Create uses state.Activate,
// Resize state.Resize, Delete state.Delete. Prepaid-only actions (renew,
// recover, auto-renew) are refused for postpaid resources by the checkout
// and the lifecycle service with fault.InvalidState; PrepaidOnly and
// PostpaidOnly give the same refusal here.
//
// Who. Customers act on their own account (a resource or invoice of
// another account is NOT_FOUND); operators act on any account they name,
// and alone grant discounts, convert accounts and set credit limits;
// read-only members only read; product services neither. Jobs run as the
// process; operators may run them, customers may not.
//
// # Jobs (wired by the scheduler)
//
//	month-end-invoices   0 0 1 * *   (billing zone)  RunMonthEnd(now)
//	auto-pay-invoices    0 1 * * *   daily            AutoPay(now)
//	suspend-overdue      30 1 * * *  after auto-pay   SuspendOverdue(now)
//
// # Lock order
//
// Account → invoices → resources (id order) → wallet → invoice sequence.
// Every transaction here that decides on an account's debt takes the
// account row first, so they queue per account; month-end takes only its
// advisory lock on the month and, last, the sequence row.
package postpaid
