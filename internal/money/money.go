package money

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/shopspring/decimal"
)

// Scale is the number of decimal places an Amount keeps (1/10,000 VND).
const Scale = 4

// Currency is the only currency the service bills in.
const Currency = "VND"

// MinutesPer30Days is the length of a billing month in minutes: a month of
// service is exactly 30 days.
const MinutesPer30Days = 43200

var (
	scaleFactor = decimal.New(1, Scale)
	// Max is the largest absolute amount the service accepts anywhere:
	// 1,000,000,000,000 VND (10^16 in the database form). It keeps every
	// stored value, and the sum of up to 900 maximal ones, inside a signed
	// 64-bit integer; SQLite's SUM reports an overflow rather than wrapping
	// and PostgreSQL's SUM(bigint) is an exact numeric.
	Max = Amount{d: decimal.New(1, 12)}
)

// ErrInvalid is returned (wrapped) for every amount that cannot be
// represented exactly: too many decimals, out of range, or not a number.
var ErrInvalid = errors.New("invalid amount")

// Amount is an exact amount of money (or an exact unit price) in VND.
// The zero value is zero.
type Amount struct {
	d decimal.Decimal
}

// Zero is the zero amount.
var Zero = Amount{}

// VND returns an amount of whole đồng.
func VND(v int64) Amount { return Amount{d: decimal.NewFromInt(v)} }

// FromDecimal returns the amount for d. It does not validate; use Validate
// (or Parse) on untrusted input.
func FromDecimal(d decimal.Decimal) Amount { return Amount{d: d} }

// FromScaled returns the amount whose database form is v (1/10,000 VND).
func FromScaled(v int64) Amount { return Amount{d: decimal.New(v, -Scale)} }

// Parse reads a decimal string such as "181000" or "7.7" and validates it.
func Parse(s string) (Amount, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Amount{}, fmt.Errorf("%w: %q is not a decimal number", ErrInvalid, s)
	}
	a := Amount{d: d}
	if err := a.Validate(); err != nil {
		return Amount{}, err
	}
	return a, nil
}

// MustParse is Parse for constants in code and tests; it panics on error.
func MustParse(s string) Amount {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// Validate reports whether the amount fits the database form exactly.
func (a Amount) Validate() error {
	if a.d.Exponent() < -Scale && !a.d.Equal(a.d.Round(Scale)) {
		return fmt.Errorf("%w: more than %d decimal places", ErrInvalid, Scale)
	}
	if a.d.Abs().GreaterThan(Max.d) {
		return fmt.Errorf("%w: larger than %s", ErrInvalid, Max.d.String())
	}
	return nil
}

// Decimal returns the amount as a decimal for computations that need more
// than the methods below (proration, percentages).
func (a Amount) Decimal() decimal.Decimal { return a.d }

// Scaled returns the database form: the amount in 1/10,000 VND.
// It panics if the amount does not fit; callers validate input first.
func (a Amount) Scaled() int64 {
	v, err := a.scaled()
	if err != nil {
		panic(err)
	}
	return v
}

func (a Amount) scaled() (int64, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	s := a.d.Mul(scaleFactor)
	if !s.IsInteger() {
		return 0, fmt.Errorf("%w: more than %d decimal places", ErrInvalid, Scale)
	}
	return s.IntPart(), nil
}

// Add returns a + b.
func (a Amount) Add(b Amount) Amount { return Amount{d: a.d.Add(b.d)} }

// Sub returns a − b.
func (a Amount) Sub(b Amount) Amount { return Amount{d: a.d.Sub(b.d)} }

// Neg returns −a.
func (a Amount) Neg() Amount { return Amount{d: a.d.Neg()} }

// Abs returns |a|.
func (a Amount) Abs() Amount { return Amount{d: a.d.Abs()} }

// MulInt returns a × n.
func (a Amount) MulInt(n int64) Amount { return Amount{d: a.d.Mul(decimal.NewFromInt(n))} }

// Mul returns a × f, exactly.
func (a Amount) Mul(f decimal.Decimal) Amount { return Amount{d: a.d.Mul(f)} }

// RoundVND rounds to whole đồng, half away from zero. This is the one
// rounding rule of the service: once per invoice line, once per VAT amount.
func (a Amount) RoundVND() Amount { return Amount{d: a.d.Round(0)} }

// Cmp compares a and b: −1, 0 or +1.
func (a Amount) Cmp(b Amount) int { return a.d.Cmp(b.d) }

// Equal reports whether a and b are the same amount (whatever their scale).
func (a Amount) Equal(b Amount) bool { return a.d.Equal(b.d) }

// LessThan reports a < b.
func (a Amount) LessThan(b Amount) bool { return a.d.LessThan(b.d) }

// GreaterThan reports a > b.
func (a Amount) GreaterThan(b Amount) bool { return a.d.GreaterThan(b.d) }

// IsZero reports a == 0.
func (a Amount) IsZero() bool { return a.d.IsZero() }

// IsPositive reports a > 0.
func (a Amount) IsPositive() bool { return a.d.IsPositive() }

// IsNegative reports a < 0.
func (a Amount) IsNegative() bool { return a.d.IsNegative() }

// Min returns the smaller of a and b.
func Min(a, b Amount) Amount {
	if a.LessThan(b) {
		return a
	}
	return b
}

// MaxOf returns the larger of a and b.
func MaxOf(a, b Amount) Amount {
	if a.GreaterThan(b) {
		return a
	}
	return b
}

// Sum adds amounts.
func Sum(as ...Amount) Amount {
	var t Amount
	for _, a := range as {
		t = t.Add(a)
	}
	return t
}

// String renders the amount without trailing zeros: "181000", "7.7", "-0.0001".
func (a Amount) String() string { return a.d.String() }

// Format renders whole đồng with thousands separators for people: "181,000 VND".
func (a Amount) Format() string {
	s := a.d.StringFixed(0)
	if a.d.Exponent() < 0 && !a.d.IsInteger() {
		s = a.d.String()
	}
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i:]
			break
		}
	}
	out := make([]byte, 0, len(intPart)+len(intPart)/3)
	for i := range len(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, intPart[i])
	}
	r := string(out) + frac + " " + Currency
	if neg {
		r = "-" + r
	}
	return r
}

// Value stores the amount as a bigint of 1/10,000 VND.
func (a Amount) Value() (driver.Value, error) {
	v, err := a.scaled()
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Scan reads the bigint form written by Value. SUM() over bigint comes back
// from PostgreSQL as numeric text, which is accepted when it is an integer.
func (a *Amount) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*a = FromScaled(v)
	case []byte:
		return a.scanText(string(v))
	case string:
		return a.scanText(v)
	case nil:
		*a = Amount{}
	default:
		return fmt.Errorf("scan amount: unsupported type %T", src)
	}
	return nil
}

func (a *Amount) scanText(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*a = FromScaled(n)
		return nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil || !d.IsInteger() {
		return fmt.Errorf("scan amount: %q is not an integer number of 1/10,000 VND", s)
	}
	*a = Amount{d: d.Shift(-Scale)}
	return nil
}

// MarshalJSON writes the amount as a JSON string, never a number.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON accepts only a JSON string.
func (a *Amount) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: money must be a JSON string", ErrInvalid)
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalGQL writes the Decimal scalar: a JSON string.
func (a Amount) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(a.String()))
}

// UnmarshalGQL reads the Decimal scalar. Only strings are accepted: a JSON
// number may already have lost precision in the client's parser.
func (a *Amount) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%w: Decimal must be sent as a string, e.g. \"181000\"", ErrInvalid)
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*a = p
	return nil
}
