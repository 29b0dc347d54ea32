package pricing

import (
	"errors"

	"billing/internal/fault"
)

// CouponReason says why a coupon cannot be used, for callers that react to
// the reason rather than show the message (metrics, the checkout's choice
// to retry without the coupon). The values are stable.
type CouponReason string

// Why a coupon is refused. Scope and minimum are judged by QuoteOrder; the
// others by the coupon service against the database.
const (
	CouponUnknown       CouponReason = "UNKNOWN"
	CouponInactive      CouponReason = "INACTIVE"
	CouponNotYetValid   CouponReason = "NOT_YET_VALID"
	CouponExpired       CouponReason = "EXPIRED"
	CouponExhausted     CouponReason = "EXHAUSTED"
	CouponOutOfScope    CouponReason = "OUT_OF_SCOPE"
	CouponBelowMinimum  CouponReason = "BELOW_MINIMUM"
	CouponAlreadyUsed   CouponReason = "ALREADY_USED"
	CouponNotFirstOrder CouponReason = "NOT_FIRST_ORDER"
)

// CouponField is the input field every coupon refusal names.
var CouponField = []string{"input", "couponCode"}

// CouponRejection is a refused coupon: a fault.CouponInvalid (reachable
// with fault.As, so the GraphQL layer needs nothing special) tagged with
// its reason.
type CouponRejection struct {
	Reason CouponReason
	Fault  *fault.Error
}

// Error implements error with the fault's text.
func (r *CouponRejection) Error() string { return r.Fault.Error() }

// Unwrap exposes the fault to errors.As and fault.As.
func (r *CouponRejection) Unwrap() error { return r.Fault }

// RejectCoupon returns a CouponRejection with a fault.CouponInvalid on the
// couponCode input field carrying message.
func RejectCoupon(reason CouponReason, message string) error {
	f := fault.New(fault.CouponInvalid, message, CouponField...)
	return &CouponRejection{Reason: reason, Fault: f}
}

// CouponReasonOf returns the reason of a coupon refusal anywhere in err's
// chain, and false when err is not one.
func CouponReasonOf(err error) (CouponReason, bool) {
	var r *CouponRejection
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return "", false
}
