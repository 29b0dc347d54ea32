package pricing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"billing/internal/money"
	"billing/internal/pricing"
)

const day = 24 * 60

func TestProrate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		price   string
		minutes int64
		want    string
	}{
		{"a whole 30 days", "181000", 30 * day, "181000"},
		{"exactly 50 days", "181000", 50 * day, "301666.6666666666666667"},
		{"one minute", "43200", 1, "1"},
		{"half a đồng stays exact", "1", 21_600, "0.5"},
		{"decimal unit price", "7.7", 43_200 * 2, "15.4"},
		{"no time", "520000", 0, "0"},
		{"negative time is not clamped here", "43200", -1, "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, pricing.Prorate(money.MustParse(tt.price), tt.minutes).String())
		})
	}
}

func TestResizeDifference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		oldPrice, newPrice    int64
		minutes               int64
		oldValue, newValue, d string
	}{
		// SPEC §5: s-general-1x1 → s-general-2x4 with exactly 50 days left.
		{"SPEC upgrade", 181_000, 520_000, 50 * day, "301667", "866667", "565000"},
		{"downgrade is refunded", 520_000, 181_000, 50 * day, "866667", "301667", "-565000"},
		{"difference of rounded values, not rounded difference", 1, 2, 21_600, "1", "1", "0"},
		{"same price", 181_000, 181_000, 12_345, "51723", "51723", "0"},
		{"end reached", 181_000, 520_000, 0, "0", "0", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, n, d := pricing.ResizeDifference(money.VND(tt.oldPrice), money.VND(tt.newPrice), tt.minutes)
			require.Equal(t, tt.oldValue, o.String())
			require.Equal(t, tt.newValue, n.String())
			require.Equal(t, tt.d, d.String())
		})
	}
}

func TestVAT(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		amount    string
		rate      string
		inclusive string
		exclusive string
	}{
		{"SPEC checkout total", "230000", "10", "20909", "23000"},
		{"list price", "181000", "10", "16455", "18100"},
		{"exact", "110", "10", "10", "11"},
		{"half rounds away from zero", "105", "10", "10", "11"}, // 9.545…, 10.5
		{"8 percent", "50000", "8", "3704", "4000"},
		{"decimal rate", "1000", "5.5", "52", "55"},
		{"zero rate", "1000", "0", "0", "0"},
		{"negative amount", "-230000", "10", "-20909", "-23000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, r := money.MustParse(tt.amount), money.MustParse(tt.rate)
			require.Equal(t, tt.inclusive, pricing.InclusiveVAT(a, r).String())
			require.Equal(t, tt.exclusive, pricing.ExclusiveVAT(a, r).String())
		})
	}
}
