package pricing

import (
	"github.com/shopspring/decimal"

	"billing/internal/money"
)

var hundred = decimal.NewFromInt(100)

// InclusiveVAT is the VAT contained in a VAT-inclusive amount (prepaid list
// prices): round(gross × rate / (100 + rate)), rate in percent. The pre-tax
// part is gross minus it, so the two always add up to gross.
func InclusiveVAT(gross, rate money.Amount) money.Amount {
	if rate.IsZero() {
		return money.Zero
	}
	r := rate.Decimal()
	// Multiply before dividing: the quotient is then the only inexact step.
	v := gross.Decimal().Mul(r).DivRound(hundred.Add(r), prorateDigits)
	return money.FromDecimal(v).RoundVND()
}

// ExclusiveVAT is the VAT added on top of a pre-tax amount (postpaid rates):
// round(net × rate / 100), rate in percent. It is exact before rounding.
func ExclusiveVAT(net, rate money.Amount) money.Amount {
	return net.Mul(rate.Decimal()).Mul(decimal.New(1, -2)).RoundVND()
}
