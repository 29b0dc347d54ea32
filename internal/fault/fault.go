// Package fault is the service's one application error type: a stable
// machine code, the input field it concerns, and a message safe to show the
// caller. Services return faults for every expected business failure; the
// GraphQL layer turns them into userErrors (or top-level errors with
// extensions.code), and anything that is not a fault becomes "internal
// error" at the edge, its details logged with the request id only.
package fault

import (
	"errors"
	"fmt"
)

// Code is a stable error code, part of the public API.
type Code string

// Codes. Keep in sync with the UserErrorCode enum in schema.graphqls.
const (
	Invalid              Code = "INVALID_INPUT"
	NotFound             Code = "NOT_FOUND"
	Conflict             Code = "CONFLICT"
	InsufficientCredit   Code = "INSUFFICIENT_CREDIT"
	IdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"
	Forbidden            Code = "FORBIDDEN"
	Unauthenticated      Code = "UNAUTHENTICATED"
	InvalidState         Code = "INVALID_STATE"
	CouponInvalid        Code = "COUPON_INVALID"
	CreditLimitExceeded  Code = "CREDIT_LIMIT_EXCEEDED"
	PaymentFailed        Code = "PAYMENT_FAILED"
	Internal             Code = "INTERNAL"
)

// Error is an expected failure with a code, an optional field path and a
// message for people.
type Error struct {
	Code    Code
	Field   []string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if len(e.Field) > 0 {
		return fmt.Sprintf("%s: %s (%v)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// New returns a fault.
func New(code Code, message string, field ...string) *Error {
	return &Error{Code: code, Field: field, Message: message}
}

// Newf returns a fault with a formatted message.
func Newf(code Code, field []string, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// As returns the fault inside err, if any.
func As(err error) (*Error, bool) {
	var f *Error
	if errors.As(err, &f) {
		return f, true
	}
	return nil, false
}

// CodeOf returns the code of err: its fault's code, or Internal.
func CodeOf(err error) Code {
	if f, ok := As(err); ok {
		return f.Code
	}
	return Internal
}

// Is reports whether err carries a fault with the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
