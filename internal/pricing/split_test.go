package pricing_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/internal/money"
	"billing/internal/pricing"
)

func amounts(vs ...string) []money.Amount {
	out := make([]money.Amount, len(vs))
	for i, v := range vs {
		out[i] = money.MustParse(v)
	}
	return out
}

func strs(as []money.Amount) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func TestSplitProportional(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		total   string
		weights []string
		want    []string
	}{
		{"equal thirds: remainder to the first", "100", []string{"1", "1", "1"}, []string{"34", "33", "33"}},
		{"exact", "10", []string{"3", "3", "4"}, []string{"3", "3", "4"}},
		// exact 0.7 1.4 2.1 2.8 → floors 0 1 2 2, 2 left → .8 then .7
		{"largest remainders win", "7", []string{"1", "2", "3", "4"}, []string{"1", "1", "2", "3"}},
		{"package doc example", "50000", []string{"70000", "110000", "125000"}, []string{"11475", "18033", "20492"}},
		{"zero weights get nothing", "10", []string{"0", "5", "0", "5"}, []string{"0", "5", "0", "5"}},
		{"tie between positive weights goes first", "11", []string{"0", "5", "0", "5"}, []string{"0", "6", "0", "5"}},
		{"all zero weights: equal split", "5", []string{"0", "0"}, []string{"3", "2"}},
		{"zero total", "0", []string{"1", "2"}, []string{"0", "0"}},
		{"negative total mirrors the positive one", "-7", []string{"1", "2", "3", "4"}, []string{"-1", "-1", "-2", "-3"}},
		{"decimal weights", "10", []string{"0.5", "0.5", "1"}, []string{"3", "2", "5"}},
		{"total equal to the weights", "305000", []string{"70000", "110000", "125000"}, []string{"70000", "110000", "125000"}},
		{"total above the weights is still split (callers cap it)", "10", []string{"1", "1"}, []string{"5", "5"}},
		{"one weight takes all", "12345", []string{"7"}, []string{"12345"}},
		{"no weights, zero total", "0", nil, []string{}},
		{"money.Max over tiny weights", "1000000000000", []string{"0.0001", "0.0002"}, []string{"333333333333", "666666666667"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := pricing.SplitProportional(money.MustParse(tt.total), amounts(tt.weights...))
			require.Equal(t, tt.want, strs(got))
		})
	}
}

func TestSplitProportionalPanics(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { pricing.SplitProportional(money.VND(1), amounts("1", "-1")) })
	require.Panics(t, func() { pricing.SplitProportional(money.MustParse("1.5"), amounts("1")) })
	require.Panics(t, func() { pricing.SplitProportional(money.VND(1), nil) })
}

// TestSplitProportionalProperties checks, on random input, what the coupon
// split relies on: the shares sum to the total, no share exceeds its weight
// when the total does not exceed the weights' sum, and each share is within
// one đồng of its exact proportional value.
func TestSplitProportionalProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(8)
		weights := make([]money.Amount, n)
		sum := money.Zero
		for i := range weights {
			if r.IntN(4) > 0 {
				weights[i] = money.VND(r.Int64N(5_000_000))
			}
			sum = sum.Add(weights[i])
		}
		if sum.IsZero() {
			continue
		}
		total := money.VND(r.Int64N(sum.Decimal().IntPart() + 1))
		shares := pricing.SplitProportional(total, weights)
		require.Equal(t, total.String(), money.Sum(shares...).String())
		for i, s := range shares {
			require.False(t, s.IsNegative())
			require.False(t, s.GreaterThan(weights[i]), "share %s > weight %s", s, weights[i])
			exact := total.Decimal().Mul(weights[i].Decimal()).Div(sum.Decimal())
			require.True(t, s.Decimal().Sub(exact).Abs().LessThan(money.VND(1).Decimal()), "share %s vs exact %s", s, exact)
		}
	}
}
