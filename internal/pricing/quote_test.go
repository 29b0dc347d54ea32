package pricing_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pricing"
)

func vnd(v int64) money.Amount { return money.VND(v) }

func ptr[T any](v T) *T { return &v }

// incl is a VAT-inclusive (prepaid) component at 10%.
func incl(code string, qty int64, price money.Amount) pricing.Component {
	return pricing.Component{Code: code, Name: "Name of " + code, Unit: "unit", Quantity: qty,
		UnitPrice: price, VATRate: vnd(10), VATIncluded: true}
}

// server is the SPEC's example: image 90,000 + root disk 35,000 per 30 days.
func server(key string, count, months int) pricing.QuoteItem {
	return pricing.QuoteItem{Key: key, ProductCode: "vserver", PlanCode: "img", Count: count, Months: months,
		Components: []pricing.Component{incl("image", 1, vnd(90_000)), incl("root_disk_gb", 1, vnd(35_000))}}
}

// priced is one resource per item whose single component costs amount.
func priced(key, product string, amount int64) pricing.QuoteItem {
	return pricing.QuoteItem{Key: key, ProductCode: product, PlanCode: "p-" + key, Count: 1, Months: 1,
		Components: []pricing.Component{incl("c", 1, vnd(amount))}}
}

func fixed(amount int64) *pricing.CouponTerms {
	return &pricing.CouponTerms{Code: "FIX", Kind: pricing.CouponFixed, Amount: vnd(amount)}
}

func percent(p string, cap *money.Amount) *pricing.CouponTerms {
	return &pricing.CouponTerms{Code: "PCT", Kind: pricing.CouponPercent, Percent: money.MustParse(p), Cap: cap}
}

// want is the expected outcome of one resource.
type want struct {
	lines             []int64
	amount, share     int64
	total, vat, taxed int64 // taxed: PreTax
}

func TestQuoteOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		items     []pricing.QuoteItem
		coupon    *pricing.CouponTerms
		resources []want
		subtotal  int64
		discount  int64
		total     int64
		vat       int64
	}{
		{
			name:  "SPEC example: 2 months with a fixed 20,000 coupon",
			items: []pricing.QuoteItem{server("a", 1, 2)}, coupon: fixed(20_000),
			// VAT = round(230,000 × 10 / 110) = round(20,909.09)
			resources: []want{{[]int64{180_000, 70_000}, 250_000, 20_000, 230_000, 20_909, 209_091}},
			subtotal:  250_000, discount: 20_000, total: 230_000, vat: 20_909,
		},
		{
			name:      "no coupon",
			items:     []pricing.QuoteItem{server("a", 1, 1)},
			resources: []want{{[]int64{90_000, 35_000}, 125_000, 0, 125_000, 11_364, 113_636}},
			subtotal:  125_000, discount: 0, total: 125_000, vat: 11_364,
		},
		{
			name:  "percent under its cap, rounded once",
			items: []pricing.QuoteItem{priced("a", "vserver", 333_333)}, coupon: percent("15", ptr(vnd(60_000))),
			// 15% of 333,333 = 49,999.95 → 50,000
			resources: []want{{[]int64{333_333}, 333_333, 50_000, 283_333, 25_758, 257_575}},
			subtotal:  333_333, discount: 50_000, total: 283_333, vat: 25_758,
		},
		{
			name:  "percent cut to its cap and split over two resources",
			items: []pricing.QuoteItem{server("a", 2, 3)}, coupon: percent("20", ptr(vnd(100_001))),
			// 20% of 750,000 = 150,000 > cap 100,001 → 50,001 + 50,000
			resources: []want{
				{[]int64{270_000, 105_000}, 375_000, 50_001, 324_999, 29_545, 295_454},
				{[]int64{270_000, 105_000}, 375_000, 50_000, 325_000, 29_545, 295_455},
			},
			subtotal: 750_000, discount: 100_001, total: 649_999, vat: 59_090,
		},
		{
			name:  "100 percent without a cap is the whole order",
			items: []pricing.QuoteItem{server("a", 1, 1)}, coupon: percent("100", nil),
			resources: []want{{[]int64{90_000, 35_000}, 125_000, 125_000, 0, 0, 0}},
			subtotal:  125_000, discount: 125_000, total: 0, vat: 0,
		},
		{
			name:  "scope: only the storage resource is discounted",
			items: []pricing.QuoteItem{priced("srv", "vserver", 300_000), priced("sto", "vstorage", 100_000)},
			coupon: &pricing.CouponTerms{Code: "STO", Kind: pricing.CouponPercent, Percent: vnd(50),
				ProductCodes: []string{"VStorage"}},
			resources: []want{
				{[]int64{300_000}, 300_000, 0, 300_000, 27_273, 272_727},
				{[]int64{100_000}, 100_000, 50_000, 50_000, 4_545, 45_455},
			},
			subtotal: 400_000, discount: 50_000, total: 350_000, vat: 31_818,
		},
		{
			name:  "minimum order met exactly",
			items: []pricing.QuoteItem{server("a", 1, 2)},
			coupon: &pricing.CouponTerms{Code: "MIN", Kind: pricing.CouponFixed, Amount: vnd(20_000),
				MinOrderAmount: vnd(250_000)},
			resources: []want{{[]int64{180_000, 70_000}, 250_000, 20_000, 230_000, 20_909, 209_091}},
			subtotal:  250_000, discount: 20_000, total: 230_000, vat: 20_909,
		},
		{
			name: "3-way split with remainders (package doc table)",
			items: []pricing.QuoteItem{
				priced("a", "vserver", 70_000), priced("b", "vserver", 110_000), priced("c", "vserver", 125_000),
			},
			coupon: fixed(50_000),
			resources: []want{
				{[]int64{70_000}, 70_000, 11_475, 58_525, 5_320, 53_205},
				{[]int64{110_000}, 110_000, 18_033, 91_967, 8_361, 83_606},
				{[]int64{125_000}, 125_000, 20_492, 104_508, 9_501, 95_007},
			},
			subtotal: 305_000, discount: 50_000, total: 255_000, vat: 23_182,
		},
		{
			name:   "3 equal resources: the extra đồng goes to the first",
			items:  []pricing.QuoteItem{priced("a", "vserver", 100_000), {Key: "b", ProductCode: "vserver", Count: 2, Months: 1, Components: []pricing.Component{incl("c", 1, vnd(100_000))}}},
			coupon: fixed(100_000),
			// VAT round(66,666 × 10/110) = round(6,060.55); round(66,667 × 10/110) = round(6,060.64)
			resources: []want{
				{[]int64{100_000}, 100_000, 33_334, 66_666, 6_061, 60_605},
				{[]int64{100_000}, 100_000, 33_333, 66_667, 6_061, 60_606},
				{[]int64{100_000}, 100_000, 33_333, 66_667, 6_061, 60_606},
			},
			subtotal: 300_000, discount: 100_000, total: 200_000, vat: 18_183,
		},
		{
			name:  "coupon larger than the order: totals 0, never negative",
			items: []pricing.QuoteItem{server("a", 1, 2)}, coupon: fixed(1_000_000),
			resources: []want{{[]int64{180_000, 70_000}, 250_000, 250_000, 0, 0, 0}},
			subtotal:  250_000, discount: 250_000, total: 0, vat: 0,
		},
		{
			name:  "coupon larger than its scope leaves other products alone",
			items: []pricing.QuoteItem{priced("srv", "vserver", 300_000), priced("sto", "vstorage", 100_000)},
			coupon: &pricing.CouponTerms{Code: "STO", Kind: pricing.CouponFixed, Amount: vnd(500_000),
				ProductCodes: []string{"vstorage"}},
			resources: []want{
				{[]int64{300_000}, 300_000, 0, 300_000, 27_273, 272_727},
				{[]int64{100_000}, 100_000, 100_000, 0, 0, 0},
			},
			subtotal: 400_000, discount: 100_000, total: 300_000, vat: 27_273,
		},
		{
			name: "decimal unit prices are rounded once per line",
			items: []pricing.QuoteItem{{Key: "m", ProductCode: "vmonitor", Count: 1, Months: 3, Components: []pricing.Component{
				incl("checks", 3, money.MustParse("1234.5678")), // 11,111.1102 → 11,111
				incl("half", 1, money.MustParse("0.5")),         // 1.5 → 2
			}}},
			resources: []want{{[]int64{11_111, 2}, 11_113, 0, 11_113, 1_010, 10_103}},
			subtotal:  11_113, discount: 0, total: 11_113, vat: 1_010,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := pricing.QuoteOrder(tt.items, tt.coupon)
			require.NoError(t, err)
			require.Len(t, q.Resources, len(tt.resources))
			for i, w := range tt.resources {
				r := q.Resources[i]
				require.Len(t, r.Lines, len(w.lines), "resource %d", i)
				for j, l := range w.lines {
					require.Equal(t, vnd(l).String(), r.Lines[j].Amount.String(), "resource %d line %d", i, j)
				}
				require.Equal(t, vnd(w.amount).String(), r.Amount.String(), "resource %d amount", i)
				require.Equal(t, vnd(w.share).String(), r.CouponShare.String(), "resource %d share", i)
				require.Equal(t, vnd(w.total).String(), r.Total.String(), "resource %d total", i)
				require.Equal(t, vnd(w.vat).String(), r.VAT.String(), "resource %d VAT", i)
				require.Equal(t, vnd(w.taxed).String(), r.PreTax.String(), "resource %d pre-tax", i)
				require.Equal(t, r.Total.String(), r.Payable.String(), "prepaid: payable is the total")
				require.True(t, r.VATIncluded)
			}
			require.Equal(t, vnd(tt.subtotal).String(), q.Subtotal.String(), "subtotal")
			require.Equal(t, vnd(tt.discount).String(), q.Discount.String(), "discount")
			require.Equal(t, vnd(tt.total).String(), q.Total.String(), "total")
			require.Equal(t, vnd(tt.vat).String(), q.VAT.String(), "VAT")
			require.Equal(t, q.Total.String(), q.Payable.String())
			if tt.coupon == nil {
				require.Nil(t, q.Coupon)
			} else {
				require.Equal(t, tt.coupon.Code, q.Coupon.Code)
			}
		})
	}
}

func TestQuoteOrderResourceShape(t *testing.T) {
	t.Parallel()
	q, err := pricing.QuoteOrder([]pricing.QuoteItem{server("first", 2, 2), priced("second", "vstorage", 10)}, nil)
	require.NoError(t, err)
	require.Len(t, q.Resources, 3)
	keys := []string{q.Resources[0].ItemKey, q.Resources[1].ItemKey, q.Resources[2].ItemKey}
	require.Equal(t, []string{"first", "first", "second"}, keys)
	require.Equal(t, []int{0, 1, 0}, []int{q.Resources[0].Index, q.Resources[1].Index, q.Resources[2].Index})
	r := q.Resources[0]
	require.Equal(t, "vserver", r.ProductCode)
	require.Equal(t, "img", r.PlanCode)
	require.Equal(t, 2, r.Months)
	require.Equal(t, pricing.Line{
		Code: "image", Description: "Name of image", UnitPrice: vnd(90_000), Quantity: 1,
		Months: 2, DurationMinutes: 86_400, Amount: vnd(180_000),
	}, r.Lines[0])
	// Resources of one item do not share their lines.
	q.Resources[0].Lines[0].Amount = vnd(1)
	require.Equal(t, "180000", q.Resources[1].Lines[0].Amount.String())
}

func TestQuoteOrderVATRates(t *testing.T) {
	t.Parallel()
	mixed := pricing.QuoteItem{Key: "m", ProductCode: "vserver", Count: 1, Months: 1, Components: []pricing.Component{
		incl("ten", 1, vnd(100_000)),
		{Code: "eight", Quantity: 1, UnitPrice: vnd(50_000), VATRate: vnd(8), VATIncluded: true},
	}}
	tests := []struct {
		name           string
		item           pricing.QuoteItem
		coupon         *pricing.CouponTerms
		total, vat     int64
		preTax, payVal int64
	}{
		// round(100,000 × 10/110) + round(50,000 × 8/108) = 9,091 + 3,704
		{"two inclusive rates", mixed, nil, 150_000, 12_795, 137_205, 150_000},
		// 135,000 split 90,000 / 45,000: 8,182 + 3,333
		{"two inclusive rates after a coupon", mixed, fixed(15_000), 135_000, 11_515, 123_485, 135_000},
		{"exclusive: VAT on top", pricing.QuoteItem{Key: "p", ProductCode: "vserver", Count: 1, Months: 1,
			Components: []pricing.Component{{Code: "flavor", Quantity: 1, UnitPrice: vnd(181_000), VATRate: vnd(10)}}},
			nil, 181_000, 18_100, 181_000, 199_100},
		{"exclusive after a coupon", pricing.QuoteItem{Key: "p", ProductCode: "vserver", Count: 1, Months: 1,
			Components: []pricing.Component{{Code: "flavor", Quantity: 1, UnitPrice: vnd(181_000), VATRate: vnd(10)}}},
			fixed(1_005), 179_995, 18_000, 179_995, 197_995},
		{"zero rate", pricing.QuoteItem{Key: "z", ProductCode: "vserver", Count: 1, Months: 1,
			Components: []pricing.Component{{Code: "x", Quantity: 1, UnitPrice: vnd(1_000), VATIncluded: true}}},
			nil, 1_000, 0, 1_000, 1_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := pricing.QuoteOrder([]pricing.QuoteItem{tt.item}, tt.coupon)
			require.NoError(t, err)
			r := q.Resources[0]
			require.Equal(t, vnd(tt.total).String(), r.Total.String())
			require.Equal(t, vnd(tt.vat).String(), r.VAT.String())
			require.Equal(t, vnd(tt.preTax).String(), r.PreTax.String())
			require.Equal(t, vnd(tt.payVal).String(), r.Payable.String())
			require.Equal(t, vnd(tt.payVal).String(), q.Payable.String())
		})
	}
}

func TestQuoteOrderCouponRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		items   []pricing.QuoteItem
		coupon  *pricing.CouponTerms
		reason  pricing.CouponReason
		message string
	}{
		{"out of scope", []pricing.QuoteItem{server("a", 1, 1)},
			&pricing.CouponTerms{Code: "MON", Kind: pricing.CouponFixed, Amount: vnd(1), ProductCodes: []string{"vmonitor"}},
			pricing.CouponOutOfScope, "coupon MON is not valid for these products (only for vmonitor)"},
		{"below the minimum", []pricing.QuoteItem{server("a", 1, 2)},
			&pricing.CouponTerms{Code: "BIG", Kind: pricing.CouponFixed, Amount: vnd(1), MinOrderAmount: vnd(1_000_000)},
			pricing.CouponBelowMinimum, "coupon BIG needs an order of at least 1,000,000 VND (this order is 250,000 VND)"},
		{"minimum counts the whole order, not only the scope",
			[]pricing.QuoteItem{priced("srv", "vserver", 900_000), priced("sto", "vstorage", 99_999)},
			&pricing.CouponTerms{Code: "STO", Kind: pricing.CouponFixed, Amount: vnd(1), MinOrderAmount: vnd(1_000_000),
				ProductCodes: []string{"vstorage"}},
			pricing.CouponBelowMinimum, "coupon STO needs an order of at least 1,000,000 VND (this order is 999,999 VND)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pricing.QuoteOrder(tt.items, tt.coupon)
			require.Error(t, err)
			f, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, fault.CouponInvalid, f.Code)
			require.Equal(t, []string{"input", "couponCode"}, f.Field)
			require.Equal(t, tt.message, f.Message)
			reason, ok := pricing.CouponReasonOf(err)
			require.True(t, ok)
			require.Equal(t, tt.reason, reason)
		})
	}
	// The minimum is met by the whole order even if the scope alone is short.
	q, err := pricing.QuoteOrder([]pricing.QuoteItem{priced("srv", "vserver", 900_000), priced("sto", "vstorage", 100_000)},
		&pricing.CouponTerms{Code: "STO", Kind: pricing.CouponFixed, Amount: vnd(10_000), MinOrderAmount: vnd(1_000_000),
			ProductCodes: []string{"vstorage"}})
	require.NoError(t, err)
	require.Equal(t, "10000", q.Discount.String())
}

func TestQuoteOrderInvalid(t *testing.T) {
	t.Parallel()
	with := func(f func(*pricing.QuoteItem)) []pricing.QuoteItem {
		it := server("a", 1, 1)
		f(&it)
		return []pricing.QuoteItem{server("ok", 1, 1), it}
	}
	tests := []struct {
		name  string
		items []pricing.QuoteItem
		field []string
	}{
		{"no items", nil, []string{"input", "items"}},
		{"count 0", with(func(it *pricing.QuoteItem) { it.Count = 0 }), []string{"input", "items", "1", "count"}},
		{"count 101", with(func(it *pricing.QuoteItem) { it.Count = 101 }), []string{"input", "items", "1", "count"}},
		{"months 0", with(func(it *pricing.QuoteItem) { it.Months = 0 }), []string{"input", "items", "1", "months"}},
		{"months negative", with(func(it *pricing.QuoteItem) { it.Months = -1 }), []string{"input", "items", "1", "months"}},
		{"no components", with(func(it *pricing.QuoteItem) { it.Components = nil }), []string{"input", "items", "1", "components"}},
		{"negative quantity", with(func(it *pricing.QuoteItem) { it.Components[1].Quantity = -1 }), []string{"input", "items", "1", "components"}},
		{"item beyond money.Max", with(func(it *pricing.QuoteItem) { it.Components[0].UnitPrice = money.Max; it.Months = 2 }),
			[]string{"input", "items", "1"}},
		{"order beyond money.Max", []pricing.QuoteItem{{Key: "x", Count: 2, Months: 1,
			Components: []pricing.Component{incl("c", 1, money.Max)}}}, []string{"input", "items"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pricing.QuoteOrder(tt.items, fixed(1))
			f, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, fault.Invalid, f.Code)
			require.Equal(t, tt.field, f.Field)
		})
	}
	// The largest count is accepted.
	q, err := pricing.QuoteOrder([]pricing.QuoteItem{server("a", pricing.MaxCount, 1)}, nil)
	require.NoError(t, err)
	require.Len(t, q.Resources, pricing.MaxCount)
	require.Equal(t, "12500000", q.Total.String())
}

func TestQuoteOrderCorruptInput(t *testing.T) {
	t.Parallel()
	bad := func(f func(*pricing.Component)) []pricing.QuoteItem {
		it := server("a", 1, 1)
		f(&it.Components[1])
		return []pricing.QuoteItem{it}
	}
	tests := []struct {
		name   string
		items  []pricing.QuoteItem
		coupon *pricing.CouponTerms
	}{
		{"negative price", bad(func(c *pricing.Component) { c.UnitPrice = vnd(-1) }), nil},
		{"over-precise price", bad(func(c *pricing.Component) { c.UnitPrice = money.FromDecimal(decimal.RequireFromString("1.00001")) }), nil},
		{"VAT above 100", bad(func(c *pricing.Component) { c.VATRate = vnd(101) }), nil},
		{"negative VAT", bad(func(c *pricing.Component) { c.VATRate = vnd(-1) }), nil},
		{"mixed inclusive and exclusive", bad(func(c *pricing.Component) { c.VATIncluded = false }), nil},
		{"unknown coupon kind", []pricing.QuoteItem{server("a", 1, 1)}, &pricing.CouponTerms{Code: "X", Kind: "FREE"}},
		{"fractional coupon amount", []pricing.QuoteItem{server("a", 1, 1)}, &pricing.CouponTerms{Code: "X", Kind: pricing.CouponFixed, Amount: money.MustParse("0.5")}},
		{"percent above 100", []pricing.QuoteItem{server("a", 1, 1)}, percent("100.01", nil)},
		{"negative cap", []pricing.QuoteItem{server("a", 1, 1)}, percent("10", ptr(vnd(-5)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pricing.QuoteOrder(tt.items, tt.coupon)
			require.Error(t, err)
			require.Equal(t, fault.Internal, fault.CodeOf(err), "a corrupt snapshot is a bug, not a user error: %v", err)
		})
	}
}
