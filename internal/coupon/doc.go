// Package coupon manages discount codes and their redemptions.
//
// Operators create, update and deactivate coupons (Create, Update,
// Deactivate, Usage); every change is audit-logged in its transaction. The
// checkout uses the coupon in four steps, each inside the checkout's own
// transaction so that the order and its coupon reservation commit together:
//
//	place order          Check ─► pricing.QuoteOrder ─► Reserve   RESERVED
//	payment succeeds     Consume                                   CONSUMED
//	payment fails/expires Release (gives the redemption back)      RELEASED
//
// Check refuses a coupon that is unknown, inactive, not yet valid or
// expired, exhausted, already used by the account as often as allowed, or
// first-order-only for an account that already has a paid order; pricing
// refuses it when the order is out of its product scope or below its
// minimum. Every refusal is a pricing.CouponRejection: a
// fault.CouponInvalid on the couponCode field that also carries the reason.
//
// # Why Reserve cannot oversell
//
// coupons.redeemed_count counts RESERVED and CONSUMED redemptions. Reserve
// takes a slot with one conditional statement,
//
//	UPDATE coupons SET redeemed_count = redeemed_count + 1
//	WHERE id = ? AND active AND (max_redemptions IS NULL OR redeemed_count < max_redemptions)
//
// which both engines run atomically: on PostgreSQL the row lock makes a
// concurrent reservation wait and then re-evaluate the WHERE clause against
// the committed count (READ COMMITTED, the default isolation); on SQLite
// every write transaction is BEGIN IMMEDIATE, so they run one at a time.
// The per-account limit is checked after that statement, while the row lock
// is held: every reservation of the coupon passes through the same row, so
// the count of the account's redemptions it reads (a new snapshot per
// statement) already includes any reservation that committed before it. A
// refusal at that point gives the slot back in the same statement order,
// so a failed Reserve changes nothing and leaves the caller's transaction
// usable.
//
// Release is idempotent (a second release changes nothing) and gives the
// slot back only when it moves a redemption from RESERVED to RELEASED, with
// the same kind of conditional update, so two concurrent releases of one
// order decrement once.
package coupon
