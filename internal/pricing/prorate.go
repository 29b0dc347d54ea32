package pricing

import (
	"github.com/shopspring/decimal"

	"billing/internal/money"
)

// prorateDigits is how many decimals Prorate keeps. The exact value
// price × minutes / 43,200 of a price with at most money.Scale decimals is a
// fraction whose denominator divides 43,200 × 10⁴, so it is either exactly
// representable or at least 1/432,000,000 away from any half-VND; 16
// decimals therefore never change how it rounds to whole VND.
const prorateDigits = 16

var minutesPer30Days = decimal.NewFromInt(money.MinutesPer30Days)

// Prorate is the value of minutes of service at pricePer30Days (SPEC §3:
// price × minutes / 43,200), unrounded: exact whenever the quotient
// terminates, else to 16 decimals, which rounds to the same whole VND as the
// exact fraction. Round it (RoundVND) once, where it becomes an invoice line
// or a refund; never store it as is. Negative minutes give a negative value:
// callers clamp the remaining time of an expired period to zero first.
func Prorate(pricePer30Days money.Amount, minutes int64) money.Amount {
	v := pricePer30Days.Decimal().Mul(decimal.NewFromInt(minutes))
	return money.FromDecimal(v.DivRound(minutesPer30Days, prorateDigits))
}

// ResizeDifference prices a resize with minutes left in the period (SPEC §5):
// oldValue = round(oldPrice × m / 43,200) is the unused value of the old
// configuration, newValue = round(newPrice × m / 43,200) the new
// configuration for the same time, and diff = newValue − oldValue, the
// difference of the two rounded values (so the resize invoice's two lines
// add up to it). Positive: the customer pays diff; negative: refunded.
// Prices are per 30 days; oldPrice is the snapshot the resource was sold at.
func ResizeDifference(oldPrice, newPrice money.Amount, minutes int64) (oldValue, newValue, diff money.Amount) {
	oldValue = Prorate(oldPrice, minutes).RoundVND()
	newValue = Prorate(newPrice, minutes).RoundVND()
	return oldValue, newValue, newValue.Sub(oldValue)
}
