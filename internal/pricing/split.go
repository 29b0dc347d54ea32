package pricing

import (
	"math/big"
	"sort"

	"github.com/shopspring/decimal"

	"billing/internal/money"
)

// SplitProportional divides total, a whole number of VND, into one whole-VND
// share per weight, in proportion to the weights, by the largest-remainder
// method: every share starts at the floor of its exact quotient
// total × weight / Σweights, and the VND left over go one each to the
// largest remainders, ties to the earlier weight. The shares always sum to
// total exactly, a zero weight gets nothing, and a share never exceeds
// its weight when total ≤ Σweights and the weights are whole VND.
//
// A total larger than the weights' sum is split all the same (shares then
// exceed their weights); callers that must not give more than a weight, like
// the coupon split, cap total first. When every weight is zero the total is
// split equally. A negative total is split as its absolute value and the
// shares negated. It panics on a negative weight, on a total that is not
// whole VND and on amounts with more than money.Scale decimals: each is a
// programming error, not an input error.
func SplitProportional(total money.Amount, weights []money.Amount) []money.Amount {
	shares := make([]money.Amount, len(weights))
	if len(weights) == 0 {
		if !total.IsZero() {
			panic("pricing.SplitProportional: a non-zero total needs at least one weight")
		}
		return shares
	}
	if !total.Decimal().IsInteger() {
		panic("pricing.SplitProportional: total " + total.String() + " is not whole VND")
	}
	if total.IsNegative() {
		for i, s := range SplitProportional(total.Neg(), weights) {
			shares[i] = s.Neg()
		}
		return shares
	}
	// Exact integer arithmetic: weights in 1/10,000 VND as big integers, so
	// remainders compare exactly (no repeating decimals).
	ws := make([]*big.Int, len(weights))
	sum := new(big.Int)
	for i, w := range weights {
		if w.IsNegative() {
			panic("pricing.SplitProportional: negative weight " + w.String())
		}
		ws[i] = scaledInt(w)
		sum.Add(sum, ws[i])
	}
	if sum.Sign() == 0 {
		for i := range ws {
			ws[i] = big.NewInt(1)
		}
		sum.SetInt64(int64(len(ws)))
	}
	t := total.Decimal().BigInt()
	type rem struct {
		i int
		r *big.Int
	}
	rems := make([]rem, len(ws))
	floors := make([]*big.Int, len(ws))
	left := new(big.Int).Set(t)
	for i, w := range ws {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(t, w), sum, new(big.Int))
		floors[i] = q
		rems[i] = rem{i: i, r: r}
		left.Sub(left, q)
	}
	// left < len(weights): the fractional parts sum to it and each is < 1.
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r.Cmp(rems[b].r) > 0 })
	for k := int64(0); k < left.Int64(); k++ {
		floors[rems[k].i].Add(floors[rems[k].i], big.NewInt(1))
	}
	for i, f := range floors {
		shares[i] = money.FromDecimal(decimal.NewFromBigInt(f, 0))
	}
	return shares
}

// scaledInt returns a in 1/10,000 VND as a big integer.
func scaledInt(a money.Amount) *big.Int {
	d := a.Decimal().Shift(money.Scale)
	if !d.IsInteger() {
		panic("pricing: amount " + a.String() + " has more than 4 decimals")
	}
	return d.BigInt()
}
