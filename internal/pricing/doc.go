// Package pricing holds the pure billing arithmetic: quotes, proration,
// coupon splits and the value types they work on. It does no I/O, so every
// formula in SPEC sections 3–7 can be tested exhaustively in isolation.
//
// Rounding happens at named points only, always half away from zero to
// whole VND (money.Amount.RoundVND):
//
//   - once per invoice line: round(unit price × quantity × months) in
//     QuoteOrder, round(price × minutes / 43,200) in ResizeDifference;
//   - once per VAT rate of a resource (InclusiveVAT, ExclusiveVAT);
//   - once for a PERCENT coupon's discount, before its split.
//
// Everything else is a sum of rounded amounts or a whole-VND share from
// SplitProportional, so a quote's totals are exactly what its invoices add
// up to.
//
// A coupon's discount is split over the order's resources like this
// (largest remainder; ties to the earlier resource):
//
//	resources   A 70,000   B 110,000   C 125,000     Σ 305,000
//	exact       11,475.41  18,032.79   20,491.80     Σ  50,000
//	floor       11,475     18,032      20,491        Σ  49,998
//	+1 to the 2 largest remainders (C .80, B .79)
//	shares      11,475     18,033      20,492        Σ  50,000
//
// Coupon refusals that depend on the order (scope, minimum) are decided
// here and returned as a CouponRejection, a fault.CouponInvalid that also
// carries a CouponReason; the coupon service uses the same type for the
// refusals that depend on the database.
package pricing
