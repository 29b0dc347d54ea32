// Package lifecycle runs the life of prepaid resources (SPEC §5, §6): the
// customer's actions — renew, resize, delete, recover, stop, start,
// auto-renew settings — and the scheduler's sweeps — expiry, suspension,
// release, purge and automatic renewal — plus the billing status shown on
// resources. Actions that cost money are paid through the checkout
// (checkout.PlaceActionOrder, checkout.Resize, checkout.AutoRenew) with
// the same methods as a purchase; this package is their API.
//
// # States
//
// Every state change is a named transition of package state (one place):
// a conditional UPDATE … WHERE id AND state IN (from…) that appends a
// state.Event (topic "resource") in the same transaction. A refused one is
// a fault.InvalidState saying why ("cannot resize srv-1: it is suspended;
// renew it first"); a resource of another account is a fault.NotFound for
// customers (the tenant filter hides it).
//
//	transition  from                              to           by
//	Activate    PENDING                           ACTIVE       provisioning success
//	Fail        PENDING                           FAILED       provisioning failure, unpaid order
//	Stop        ACTIVE                            STOPPED      customer
//	Start       STOPPED                           ACTIVE       customer
//	Extend      ACTIVE, STOPPED                   (unchanged)  paid renewal
//	Renewed     GRACE, SUSPENDED                  ACTIVE       paid renewal
//	Resize      ACTIVE, STOPPED                   (unchanged)  resize
//	Configure   ACTIVE, STOPPED, GRACE, SUSPENDED (unchanged)  auto-renew settings
//	Expire      ACTIVE, STOPPED                   GRACE        ExpireDue (at T)
//	Suspend     GRACE                             SUSPENDED    SuspendDue (at T + grace days)
//	Release     GRACE, SUSPENDED                  RELEASED     ReleaseDue (at T + grace + suspension days)
//	Trash       ACTIVE, STOPPED, GRACE, SUSPENDED TRASHED      Delete (trash days > 0)
//	Delete      ACTIVE, STOPPED, GRACE, SUSPENDED DELETED      Delete (trash days = 0)
//	Purge       TRASHED                           DELETED      PurgeDue (at purge_at)
//	Recover     TRASHED (before purge_at)         ACTIVE       paid recovery
//
// RELEASED, DELETED and FAILED are final. T is the period end; periods are
// [start, end), so "at T" means now ≥ T.
//
//	start            T           T+15d            T+30d
//	  │── ACTIVE ─────│── GRACE ────│── SUSPENDED ───│ RELEASED
//	  │  (renewal from any of these starts at T) ────┘
//
// # Decisions
//
//   - Money actions (renew, recover, a positive resize) are orders with
//     one item per resource (action RENEW, RECOVER, RESIZE) and one
//     payment, exactly like purchases, by CREDIT, TOP_UP_AND_PAY, GATEWAY
//     or LINKED_ACCOUNT. Instead of provisioning, the payment's transaction
//     applies each action with its PAID invoice (RENEW, RECOVER, RESIZE).
//     A failed, canceled or expired payment changes nothing on the
//     resources. The payment events carry one result per resource
//     (Provisioned = applied), the last one Final.
//   - Recover does not go through provisioning again: the trash keeps the
//     resource and its data, so paying takes it straight back to ACTIVE
//     (the product service learns it from the resource event, as it does
//     for stop, start, suspension and release).
//   - An action paid after the resource changed state (released, deleted
//     meanwhile) is not applied: its item fails and what was paid for it
//     is refunded to credit.
//   - One action payment at a time per resource: renewing, resizing or
//     recovering a resource that has an unfinished action payment is a
//     fault.Conflict (an abandoned gateway payment expires after 15
//     minutes). It keeps a resize priced against the period it is applied
//     to. Deleting is allowed meanwhile: the late payment is then refunded.
//   - Renew: amount = price snapshot × months (one invoice line per
//     component, as at purchase); the new period starts at the current
//     end (lapsed days in GRACE or SUSPENDED are paid); new end = old end +
//     months × 30 days; months from the product's allowed periods. The
//     resource's period becomes [start, new end) and period_paid adds up,
//     so a deletion later refunds the unused part of all of it. Only a
//     suspension for expiry is lifted by paying; one by an operator is not
//     (fault.InvalidState).
//   - Resize: m = whole minutes from now to the end (rounded down);
//     difference = round(new × m / 43,200) − round(old × m / 43,200). The
//     RESIZE invoice covers [now, end) with the unused value of the old
//     configuration (negative) and the new one (positive); the earlier
//     invoices covering that time get superseded_by_id. Positive: paid
//     through the checkout and applied from the time it was priced (the
//     order's creation). Zero or negative: applied at once with no order
//     or payment; a negative difference is refunded to credit (REFUND) and
//     the invoice total is negative (a credit note, PAID). A refund never
//     exceeds what was actually paid for the remaining time: when a coupon
//     paid for part of it, a third line keeps the discount. After a resize
//     the period is [now, end) and period_paid = what was paid for the
//     remaining time + the invoice total. Only ACTIVE and STOPPED resources
//     with time left, within the same product.
//   - Delete: refundable products refund checkout.UnusedPaid — period_paid
//     × remaining minutes / period minutes, rounded half up once; without a
//     coupon that is price × m / 43,200 — to credit (REFUND against
//     REFUNDS) in the deletion's transaction. The resource is TRASHED with
//     purge_at = now + trash days, or DELETED at once with 0 trash days.
//     Idempotent by key, like every money action.
//   - Recover: priced like a new purchase — the plan's current prepaid
//     price for the resource's quantities (a plan no longer sold cannot be
//     recovered), months from the allowed periods — for the period
//     [payment time, payment time + months). After the window:
//     fault.InvalidState.
//   - Coupons apply to purchases only, not to actions.
//   - Stop and start have no billing effect and no idempotency key: they
//     are naturally idempotent (stopping a STOPPED resource returns it).
//   - Auto-renew settings: on/off and months (0 keeps the current; one of
//     the allowed periods). Turning it off is a fault.Invalid on
//     ["input","enabled"] when the product's auto_renew_optional is false,
//     for operators too (the rule is the product's).
//   - AutoRenew (scheduler): credit only, AUTO_RENEW invoice, at most once
//     per (resource, period end) through LifecycleStep (resource,
//     period_end, "AUTO_RENEW") inserted first in the renewal's
//     transaction; concurrent attempts wait on that unique key and then
//     find it. Short credit, an open action payment or a period no longer
//     sold fail the attempt and record nothing, so the next attempt may
//     succeed. Attempts are accepted in ACTIVE, STOPPED and GRACE (the T
//     attempt may come after the expiry sweep).
//   - Sweeps take `now` from the scheduler, select due prepaid resources by
//     indexed conditions (state = X and period_end ≤ cut-off, one From
//     state at a time, so the (state, period_end) index yields only what
//     is still due; purge_at for the trash), lock them (FOR UPDATE on
//     PostgreSQL; re-checked when a concurrent sweep commits first) and
//     move up to SweepBatch per transaction with one UPDATE, their events
//     and notices written with multi-row INSERTs; running twice or on two
//     instances moves each resource once. Suspension and release use each
//     product's grace and suspension days; a resource suspended by an
//     operator or for non-payment is never released by expiry. STOPPED
//     resources expire like ACTIVE ones.
//   - BillingStatus: GOOD (> 15 days left), WARNING (5 to 15 days, both
//     included), ALERT (< 5 days), EXPIRED (now ≥ end); "" (none) for
//     postpaid resources and those not live.
//   - Actions are prepaid only; postpaid resources are refused with
//     fault.InvalidState (stop and start work for both).
//   - Who: customers act on their account's resources, operators on any,
//     the process for jobs; read-only members and product services may
//     not (fault.Forbidden). Idempotency scope as in the checkout.
//
// # Schedule
//
// All dates are local dates in the billing time zone (Config.Location,
// default Asia/Ho_Chi_Minh); T is the period end, D its local date. A step
// "on day D−k" is due from 08:00 on that date until the next step of the
// same countdown is due, and is made by the first run in that window — the
// run of that day when the jobs run daily, a later one if it was missed —
// and never twice (its key):
//
//	job (billing serve)          when             what
//	auto-renew                   08:00 daily      attempts on D−7, D−4, D−1, D (RunAutoRenewAttempts)
//	reminders                    08:05 daily      t-7, t-3, t-1; suspension-7/-3/-1; release-7/-3/-1
//	expire-resources             every 5 min      T → GRACE, notice "expired"
//	suspend-resources            every 5 min      T + grace days → SUSPENDED, notice "suspended"
//	release-resources            every 5 min      T + grace + suspension days → RELEASED, notice "released"
//	purge-trash                  every 5 min      purge_at → DELETED, notice "purged"
//
//	      D−7      D−4  D−3     D−1     D (T)        D+g (suspension)   D+g+s (release)
//	 ──────┼────────┼────┼───────┼───────┼──────────────────┼──────────────────┼──
//	 try   ●        ●            ●       ● (last; from GRACE if T < 08:00)
//	 remind t-7          t-3     t-1     expired …7 …3 …1 suspended …7 …3 …1 released
//
// Auto-renew attempts: per account, the due resources are renewed one by
// one with AutoRenew, earliest end first, until credit runs short; the
// account's later ones then fail too (a later resource never takes what an
// earlier one needed). Each attempt's outcome is a LifecycleStep
// (AUTO_RENEW_ATTEMPT_T-7, _T-4, _T-1, AUTO_RENEW_ATTEMPT_T; outcome
// RENEWED or FAILED <code>) written with its notice: autorenew.succeeded
// once per period, autorenew.failed once per attempt. After the attempt on
// T no run makes another for that period. A renewal moves the period end,
// so the old period's later attempts and reminders are simply no longer
// due.
//
// # Set-based auto-renew on PostgreSQL
//
// On PostgreSQL the attempts are set-based (issue #4: a sweep over
// 100,000 due resources must not take hours): checkout.AutoRenewAll
// makes a chunk of them (autoRenewChunk, in due order: whole accounts,
// or an account split over consecutive chunks) in one transaction with a
// fixed number of multi-row statements (INSERT … SELECT FROM
// unnest(arrays), UPDATE … FROM unnest(arrays)), and the chunk's
// outcomes and notices are recorded in the same transaction, before the
// invoices are numbered. Each account's
// credit is read once under its wallet lock and its renewals are taken
// from it in order, so the cumulative sum gives exactly the one-by-one
// result; every renewal writes the rows, ledger entries and events
// AutoRenew writes (TestAutoRenewAllMatchesOneByOne compares every table
// of the two paths). An account with anything unusual for a renewal
// (see AutoRenewAll) is left to AutoRenew, one by one, as before. A chunk
// holds the month's invoice sequence row only from its last statement to
// its commit, and after a chunk the sweep gives way to customers paying
// meanwhile (giveWay, as the other sweeps do).
//
// The chunks run in AutoRenewLanes lanes at once (attemptLanes): the due
// accounts are dealt to the lanes whole, so lanes share no resource and
// no wallet and only queue briefly for the invoice sequence row; each
// lane runs its chunks in order. A chunk is almost all database work and
// one connection is one PostgreSQL process, so one lane left all but one
// of the database's cores idle. Invoice codes follow the order in which
// the lanes' chunks commit (gapless still), so two runs over the same
// resources may number them differently.
//
// How fast, and how fast it could be: BenchmarkAutoRenew times the sweep
// against the plain UPDATE that only moves the due rows' period end (the
// issue's baseline), and against the database floor: the same renewals'
// rows written by hand-written set-based SQL in the sweep's lanes, rolled
// back, checked table by table against what the sweep then writes
// (floor_bench_test.go). A renewal writes 17 rows — two lifecycle steps,
// order, item, payment, ledger transaction and two entries, six events,
// the notice, invoice and line — besides the resource's update, which is
// the whole of the baseline, and its share of the wallet's and the
// invoice sequence's. Over 100,000 due resources on the 2-core VM
// (session 6) the sweep renewed 2,805 a second, the floor 2,769 and the
// plain UPDATE moved 27,960 rows (0.100×, 0.099×); over 4,000, in five
// runs whose baseline swung from 22,000 to 39,000 rows a second, the
// floor made 0.11–0.19× and the sweep 0.07–0.12×. The floor writes its rows
// faster one by one than the baseline updates its own, but there are
// eighteen of them: issue #4's 0.25× needs fewer or cheaper rows per
// renewal, not faster code.
//
// SQLite keeps the one-by-one path: it is the embedded development
// default, in process (a statement costs no round trip) and serializes
// its writers anyway, and the set-based statements are PostgreSQL's
// (arrays, unnest, FOR UPDATE). Both paths run the same tests.
//
// Reminders count down to each deadline of an unrenewed period — expiry
// (ACTIVE, STOPPED), suspension (GRACE), release (SUSPENDED for its
// expiry) — 7, 3 and 1 days before it, each only if shorter than the
// phase (3 grace days: only suspension-1). Resources with auto-renew on
// get them too, saying when the next attempt is; the reminders job runs
// after the attempts, so a resource renewed at 08:00 gets none. The
// changes themselves are notified by the sweeps, in the transaction of
// the change.
//
// Every notice is keyed notify.PeriodKey(resource, period end, step)
// (the purge: the purge time) with the steps above: one notice per
// resource, period and step, however often and on however many instances
// the jobs run.
//
// # Lock order
//
// Payment → coupon → resources (in id order) → wallet → invoice sequence,
// as in the checkout; AutoRenew takes its LifecycleStep key right after
// the resource. AutoRenewAll locks a chunk's resources in id order, then their
// wallets in account order (SELECT … ORDER BY account_id FOR UPDATE),
// inserts its LifecycleStep keys, and numbers its invoices with the last
// statement before the commit, so the month's sequence row is held only
// briefly.
package lifecycle
