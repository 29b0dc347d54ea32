// Package pricing holds the pure billing arithmetic: quotes, proration,
// coupon splits and the value types they work on. It does no I/O, so every
// formula in SPEC sections 3–7 can be tested exhaustively in isolation.
package pricing
