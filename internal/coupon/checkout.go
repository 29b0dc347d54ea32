package coupon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"billing/ent"
	entcoupon "billing/ent/coupon"
	"billing/ent/couponredemption"
	"billing/ent/order"
	"billing/ent/predicate"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"

	"entgo.io/ent/dialect/sql"
)

// paidStatuses are the order statuses that make an account's next order
// not its first: the customer has paid for something.
var paidStatuses = []order.Status{order.StatusPAID, order.StatusCOMPLETED, order.StatusPARTIALLY_FAILED}

// Check tells whether the account may use the coupon code now, inside the
// checkout's transaction, and returns the coupon and its terms for
// pricing.QuoteOrder (which judges product scope and minimum order).
// Refusals are pricing.CouponRejection faults (fault.CouponInvalid on
// input.couponCode), checked in this order: unknown, inactive, not yet
// valid, expired, exhausted, already used by this account, not the
// account's first order. The validity window is [valid_from, valid_until).
func (s *Service) Check(ctx context.Context, tx *ent.Tx, code string, accountID pulid.ID) (*ent.Coupon, pricing.CouponTerms, error) {
	if accountID == "" {
		return nil, pricing.CouponTerms{}, errors.New("check coupon: account id is required")
	}
	code = NormalizeCode(code)
	c, err := tx.Coupon.Query().Where(entcoupon.Code(code)).Only(ctx)
	if ent.IsNotFound(err) || code == "" {
		return nil, pricing.CouponTerms{}, pricing.RejectCoupon(pricing.CouponUnknown,
			fmt.Sprintf("coupon %s does not exist", code))
	}
	if err != nil {
		return nil, pricing.CouponTerms{}, fmt.Errorf("check coupon %s: %w", code, err)
	}
	if err := usable(c, s.now()); err != nil {
		return nil, pricing.CouponTerms{}, err
	}
	if c.MaxRedemptions != nil && c.RedeemedCount >= *c.MaxRedemptions {
		return nil, pricing.CouponTerms{}, exhausted(c)
	}
	used, err := accountRedemptions(ctx, tx, c.ID, accountID)
	if err != nil {
		return nil, pricing.CouponTerms{}, fmt.Errorf("check coupon %s: %w", code, err)
	}
	if used >= c.PerAccountLimit {
		return nil, pricing.CouponTerms{}, alreadyUsed(c)
	}
	if c.FirstOrderOnly {
		paid, err := tx.Order.Query().
			Where(order.AccountID(accountID), order.StatusIn(paidStatuses...)).
			Exist(ctx)
		if err != nil {
			return nil, pricing.CouponTerms{}, fmt.Errorf("check coupon %s: %w", code, err)
		}
		if paid {
			return nil, pricing.CouponTerms{}, pricing.RejectCoupon(pricing.CouponNotFirstOrder,
				fmt.Sprintf("coupon %s is only for an account's first order", c.Code))
		}
	}
	return c, Terms(c), nil
}

// usable refuses an inactive coupon or one outside its validity window.
func usable(c *ent.Coupon, now time.Time) error {
	switch {
	case !c.Active:
		return pricing.RejectCoupon(pricing.CouponInactive, fmt.Sprintf("coupon %s is no longer active", c.Code))
	case c.ValidFrom != nil && now.Before(*c.ValidFrom):
		return pricing.RejectCoupon(pricing.CouponNotYetValid,
			fmt.Sprintf("coupon %s is not valid before %s", c.Code, day(*c.ValidFrom)))
	case c.ValidUntil != nil && !now.Before(*c.ValidUntil):
		return pricing.RejectCoupon(pricing.CouponExpired,
			fmt.Sprintf("coupon %s expired at %s", c.Code, day(*c.ValidUntil)))
	}
	return nil
}

func exhausted(c *ent.Coupon) error {
	return pricing.RejectCoupon(pricing.CouponExhausted, fmt.Sprintf("coupon %s has been fully redeemed", c.Code))
}

func alreadyUsed(c *ent.Coupon) error {
	msg := fmt.Sprintf("coupon %s has already been used by this account", c.Code)
	if c.PerAccountLimit > 1 {
		msg = fmt.Sprintf("coupon %s has already been used %d times by this account, its limit", c.Code, c.PerAccountLimit)
	}
	return pricing.RejectCoupon(pricing.CouponAlreadyUsed, msg)
}

// accountRedemptions counts the account's RESERVED and CONSUMED
// redemptions of a coupon: a released one was never used.
func accountRedemptions(ctx context.Context, tx *ent.Tx, couponID, accountID pulid.ID) (int, error) {
	n, err := tx.CouponRedemption.Query().
		Where(
			couponredemption.CouponID(couponID),
			couponredemption.AccountID(accountID),
			couponredemption.StatusNEQ(couponredemption.StatusRELEASED),
		).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count redemptions: %w", err)
	}
	return n, nil
}

// Reserve takes one redemption of the coupon for an order being placed,
// inside the checkout's transaction: amount is the order's discount
// (pricing.Quote.Discount). It is race-free on both engines (see the
// package documentation): of concurrent reservations beyond the coupon's
// limits, only those within them succeed. It refuses, with a
// pricing.CouponRejection, a coupon that does not exist, is inactive or
// outside its window, is exhausted, or that the account has used as often
// as allowed; an order that already has a redemption is a fault.Conflict.
// The first-order rule is Check's, which the checkout calls first in the
// same transaction. A refusal changes nothing and leaves tx usable.
func (s *Service) Reserve(ctx context.Context, tx *ent.Tx, couponID, accountID, orderID pulid.ID, amount money.Amount) error {
	if err := s.reserve(ctx, tx, couponID, accountID, orderID, amount); err != nil {
		return fmt.Errorf("reserve coupon %s for order %s: %w", couponID, orderID, err)
	}
	return nil
}

func (s *Service) reserve(ctx context.Context, tx *ent.Tx, couponID, accountID, orderID pulid.ID, amount money.Amount) error {
	if couponID == "" || accountID == "" || orderID == "" {
		return errors.New("coupon, account and order ids are required")
	}
	if amount.IsNegative() || !amount.Decimal().IsInteger() || amount.Validate() != nil {
		return fmt.Errorf("discount %s is not a whole amount of VND", amount)
	}
	taken, err := tx.CouponRedemption.Query().Where(couponredemption.OrderID(orderID)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("look up order redemption: %w", err)
	}
	if taken {
		return fault.New(fault.Conflict, "the order already has a coupon", pricing.CouponField...)
	}
	now := s.now()
	c, err := tx.Coupon.Get(ctx, couponID)
	if ent.IsNotFound(err) {
		return pricing.RejectCoupon(pricing.CouponUnknown, "the coupon does not exist")
	}
	if err != nil {
		return fmt.Errorf("read coupon: %w", err)
	}
	if err := usable(c, now); err != nil {
		return err
	}
	// The one statement that takes a slot; see the package documentation.
	n, err := tx.Coupon.Update().
		Where(
			entcoupon.ID(couponID),
			entcoupon.Active(true),
			entcoupon.Or(
				entcoupon.MaxRedemptionsIsNil(),
				predicate.Coupon(sql.FieldsLT(entcoupon.FieldRedeemedCount, entcoupon.FieldMaxRedemptions)),
			),
		).
		AddRedeemedCount(1).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("take a redemption: %w", err)
	}
	// Read again: the row as it is now, after any reservation that
	// committed while this one waited for the row lock.
	if c, err = tx.Coupon.Get(ctx, couponID); err != nil {
		return fmt.Errorf("read coupon: %w", err)
	}
	if n == 0 {
		if !c.Active {
			return usable(c, now)
		}
		return exhausted(c)
	}
	used, err := accountRedemptions(ctx, tx, couponID, accountID)
	if err != nil {
		return err
	}
	if used >= c.PerAccountLimit {
		if err := giveBack(ctx, tx, couponID, now); err != nil {
			return err
		}
		return alreadyUsed(c)
	}
	err = tx.CouponRedemption.Create().
		SetCouponID(couponID).
		SetAccountID(accountID).
		SetOrderID(orderID).
		SetStatus(couponredemption.StatusRESERVED).
		SetAmount(amount).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("insert redemption: %w", err)
	}
	return nil
}

// giveBack returns one slot of the coupon's redemption count.
func giveBack(ctx context.Context, tx *ent.Tx, couponID pulid.ID, now time.Time) error {
	err := tx.Coupon.Update().
		Where(entcoupon.ID(couponID), entcoupon.RedeemedCountGT(0)).
		AddRedeemedCount(-1).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("give back a redemption: %w", err)
	}
	return nil
}

// Consume marks the order's redemption CONSUMED when the order is paid,
// inside the payment's transaction. An order without a coupon, or whose
// redemption is already consumed, is left alone (nil), so the checkout may
// call it for every paid order and a replayed payment callback is harmless.
// A RELEASED redemption is a fault.InvalidState: its slot was given back
// when the payment failed or expired, and the checkout must decide what a
// late payment means rather than revive it here.
func (s *Service) Consume(ctx context.Context, tx *ent.Tx, orderID pulid.ID) error {
	_, err := s.transition(ctx, tx, orderID, couponredemption.StatusCONSUMED, couponredemption.StatusRELEASED)
	if err != nil {
		return fmt.Errorf("consume coupon of order %s: %w", orderID, err)
	}
	return nil
}

// Release marks the order's redemption RELEASED when its payment fails,
// is canceled or expires, and gives its slot back (redeemed_count − 1),
// inside that transaction. It is idempotent: an order without a coupon or
// an already released redemption is left alone, and of two concurrent
// releases only one gives the slot back. A CONSUMED redemption is a
// fault.InvalidState: the order was paid.
func (s *Service) Release(ctx context.Context, tx *ent.Tx, orderID pulid.ID) error {
	r, err := s.transition(ctx, tx, orderID, couponredemption.StatusRELEASED, couponredemption.StatusCONSUMED)
	if err == nil && r != nil {
		err = giveBack(ctx, tx, r.CouponID, s.now())
	}
	if err != nil {
		return fmt.Errorf("release coupon of order %s: %w", orderID, err)
	}
	return nil
}

// transition moves the order's redemption from RESERVED to `to` with a
// conditional update, so that of concurrent transitions one wins. It
// returns the redemption when this call moved it, nil when there was
// nothing to do (no redemption, or already `to`), and a
// fault.InvalidState when the redemption is `conflicting`.
func (s *Service) transition(ctx context.Context, tx *ent.Tx, orderID pulid.ID, to, conflicting couponredemption.Status) (*ent.CouponRedemption, error) {
	now := s.now()
	n, err := tx.CouponRedemption.Update().
		Where(couponredemption.OrderID(orderID), couponredemption.StatusEQ(couponredemption.StatusRESERVED)).
		SetStatus(to).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update redemption: %w", err)
	}
	r, err := tx.CouponRedemption.Query().Where(couponredemption.OrderID(orderID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read redemption: %w", err)
	}
	if n == 1 {
		return r, nil
	}
	if r.Status == conflicting {
		return nil, fault.Newf(fault.InvalidState, nil, "the order's coupon is already %s", r.Status)
	}
	return nil, nil
}
