package catalog

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/plan"
	"billing/ent/plancomponent"
	"billing/ent/price"
	"billing/ent/product"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pricing"
)

// requireFault checks that err carries a fault with the code and field path.
func requireFault(t *testing.T, err error, code fault.Code, field ...string) {
	t.Helper()
	require.Error(t, err)
	f, ok := fault.As(err)
	require.True(t, ok, "want a fault, got %v", err)
	require.Equal(t, code, f.Code, f.Message)
	require.Equal(t, field, f.Field, f.Message)
}

func TestActivePlan(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)

	byCode, err := ActivePlan(b.ctx, b.client, "s-general-2x4")
	require.NoError(t, err)
	require.Equal(t, "s-general-2x4", byCode.Code)
	require.Equal(t, "vserver", byCode.Edges.Product.Code)
	var codes []string
	for _, c := range byCode.Edges.Components {
		codes = append(codes, c.Code)
		require.Len(t, c.Edges.Prices, 2, c.Code)
	}
	require.Equal(t, []string{"flavor", "root_disk_gb", "public_ip"}, codes, "components in creation order")

	byID, err := ActivePlan(b.ctx, b.client, string(byCode.ID))
	require.NoError(t, err)
	require.Equal(t, byCode.ID, byID.ID)
	require.Len(t, byID.Edges.Components, 3)

	_, err = ActivePlan(b.ctx, b.client, "s-general-64x256")
	requireFault(t, err, fault.NotFound, "plan")
	_, err = ActivePlan(b.ctx, b.client, "pln_01JDX3Q6V7N2M8K4P5R6S7T8V9")
	requireFault(t, err, fault.NotFound, "plan")
	_, err = ActivePlan(b.ctx, b.client, "")
	requireFault(t, err, fault.Invalid, "plan")

	b.client.Plan.Update().Where(plan.Code("s-general-1x2")).SetActive(false).ExecX(b.ctx)
	_, err = ActivePlan(b.ctx, b.client, "s-general-1x2")
	requireFault(t, err, fault.Invalid, "plan")

	b.client.Product.Update().Where(product.Code("vmonitor")).SetActive(false).ExecX(b.ctx)
	_, err = ActivePlan(b.ctx, b.client, "monitor-pro")
	requireFault(t, err, fault.Invalid, "plan")
}

func TestActivePlanLoadsOnlyActivePrices(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)

	disk := b.client.PlanComponent.Query().
		Where(plancomponent.Code("root_disk_gb"), plancomponent.HasPlanWith(plan.Code("s-general-1x1"))).
		OnlyX(b.ctx)
	b.client.Price.Update().
		Where(price.ComponentID(disk.ID), price.BillingModeEQ(price.BillingModePREPAID)).
		SetActive(false).ExecX(b.ctx)
	b.client.Price.Create().
		SetComponentID(disk.ID).SetBillingMode(price.BillingModePREPAID).
		SetUnitPrice(money.MustParse("3200.5")).SetVatRate(money.VND(10)).SetVatIncluded(true).
		ExecX(b.ctx)

	p, err := ActivePlan(b.ctx, b.client, "s-general-1x1")
	require.NoError(t, err)
	got, err := PriceComponents(p, Prepaid, map[string]int64{"root_disk_gb": 30})
	require.NoError(t, err)
	require.Equal(t, "3200.5", got[1].UnitPrice.String())
	require.Equal(t, "96015", money.VND(0).Add(got[1].UnitPrice.MulInt(30)).String())

	// A second active price for the same mode is a catalog error, not a guess.
	b.client.Price.Create().
		SetComponentID(disk.ID).SetBillingMode(price.BillingModePREPAID).
		SetUnitPrice(money.VND(3_000)).SetVatRate(money.VND(10)).SetVatIncluded(true).
		ExecX(b.ctx)
	p, err = ActivePlan(b.ctx, b.client, "s-general-1x1")
	require.NoError(t, err)
	_, err = PriceComponents(p, Prepaid, nil)
	require.ErrorContains(t, err, "component root_disk_gb has 2 active PREPAID prices")
	_, isFault := fault.As(err)
	require.False(t, isFault)
}

func TestPriceComponents(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)
	server, err := ActivePlan(b.ctx, b.client, "s-general-1x1")
	require.NoError(t, err)
	storage, err := ActivePlan(b.ctx, b.client, "object-standard")
	require.NoError(t, err)

	vat := money.VND(10)
	flavor := func(incl bool) pricing.Component {
		return pricing.Component{Code: "flavor", Name: "s-general-1x1 (1 vCPU, 1 GB RAM)", Unit: "server",
			Quantity: 1, UnitPrice: money.VND(181_000), VATRate: vat, VATIncluded: incl}
	}
	disk := func(gb int64, incl bool) pricing.Component {
		return pricing.Component{Code: "root_disk_gb", Name: "Root disk SSD", Unit: "GB",
			Quantity: gb, UnitPrice: money.VND(3_500), VATRate: vat, VATIncluded: incl}
	}
	ip := func(n int64, incl bool) pricing.Component {
		return pricing.Component{Code: "public_ip", Name: "Public IPv4", Unit: "IP",
			Quantity: n, UnitPrice: money.VND(55_000), VATRate: vat, VATIncluded: incl}
	}
	quota := func(gb int64) pricing.Component {
		return pricing.Component{Code: "quota_gb", Name: "Object storage quota", Unit: "GB",
			Quantity: gb, UnitPrice: money.VND(1_100), VATRate: vat, VATIncluded: true}
	}

	tests := []struct {
		name       string
		plan       *ent.Plan
		mode       string
		quantities map[string]int64
		want       []pricing.Component
		wantField  []string // set for a fault.Invalid
	}{
		{"defaults", server, Prepaid, nil,
			[]pricing.Component{flavor(true), disk(20, true), ip(1, true)}, nil},
		{"empty map means defaults", server, Prepaid, map[string]int64{},
			[]pricing.Component{flavor(true), disk(20, true), ip(1, true)}, nil},
		{"some given", server, Prepaid, map[string]int64{"root_disk_gb": 100},
			[]pricing.Component{flavor(true), disk(100, true), ip(1, true)}, nil},
		{"all given, bounds", server, Prepaid, map[string]int64{"flavor": 1, "root_disk_gb": 2000, "public_ip": 0},
			[]pricing.Component{flavor(true), disk(2000, true), ip(0, true)}, nil},
		{"postpaid is VAT-exclusive", server, Postpaid, map[string]int64{"public_ip": 4},
			[]pricing.Component{flavor(false), disk(20, false), ip(4, false)}, nil},
		{"storage default is the 30 GB minimum", storage, Prepaid, nil,
			[]pricing.Component{quota(30)}, nil},
		{"storage step", storage, Prepaid, map[string]int64{"quota_gb": 1_000},
			[]pricing.Component{quota(1_000)}, nil},

		{"disk below min", server, Prepaid, map[string]int64{"root_disk_gb": 10}, nil, []string{"quantities", "root_disk_gb"}},
		{"disk above max", server, Prepaid, map[string]int64{"root_disk_gb": 2010}, nil, []string{"quantities", "root_disk_gb"}},
		{"disk off step", server, Prepaid, map[string]int64{"root_disk_gb": 25}, nil, []string{"quantities", "root_disk_gb"}},
		{"negative", server, Prepaid, map[string]int64{"public_ip": -1}, nil, []string{"quantities", "public_ip"}},
		{"ip above max", server, Prepaid, map[string]int64{"public_ip": 5}, nil, []string{"quantities", "public_ip"}},
		{"flavor is fixed", server, Prepaid, map[string]int64{"flavor": 2}, nil, []string{"quantities", "flavor"}},
		{"flavor zero", server, Prepaid, map[string]int64{"flavor": 0}, nil, []string{"quantities", "flavor"}},
		{"quota below 30 GB", storage, Prepaid, map[string]int64{"quota_gb": 20}, nil, []string{"quantities", "quota_gb"}},
		{"quota off step", storage, Prepaid, map[string]int64{"quota_gb": 35}, nil, []string{"quantities", "quota_gb"}},
		{"unknown code", server, Prepaid, map[string]int64{"gpu": 1}, nil, []string{"quantities", "gpu"}},
		{"unknown reported before valid ones", server, Prepaid,
			map[string]int64{"root_disk_gb": 30, "zz": 1, "gpu": 1}, nil, []string{"quantities", "gpu"}},
		{"other plan's component", storage, Prepaid, map[string]int64{"root_disk_gb": 20}, nil, []string{"quantities", "root_disk_gb"}},
		{"bad mode", server, "YEARLY", nil, nil, []string{"billingMode"}},
		{"lowercase mode", server, "prepaid", nil, nil, []string{"billingMode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := PriceComponents(tt.plan, tt.mode, tt.quantities)
			if tt.wantField != nil {
				requireFault(t, err, fault.Invalid, tt.wantField...)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i := range tt.want {
				require.Equal(t, fmt.Sprintf("%+v", tt.want[i]), fmt.Sprintf("%+v", got[i]))
			}
		})
	}
}

func TestPriceComponentsNeedsLoadedEdges(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)
	bare := b.client.Plan.Query().Where(plan.Code("s-general-1x1")).OnlyX(b.ctx)
	_, err := PriceComponents(bare, Prepaid, nil)
	require.ErrorContains(t, err, "components not loaded")
}

func TestPeriodPrice(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)
	p, err := ActivePlan(b.ctx, b.client, "s-general-1x1")
	require.NoError(t, err)

	tests := []struct {
		name       string
		mode       string
		quantities map[string]int64
		want       string
	}{
		// 181,000 + 20 × 3,500 + 1 × 55,000
		{"1x1, 20 GB, 1 IP", Prepaid, map[string]int64{"root_disk_gb": 20, "public_ip": 1}, "306000"},
		// 181,000 + 30 × 3,500 + 2 × 55,000
		{"1x1, 30 GB, 2 IPs", Prepaid, map[string]int64{"root_disk_gb": 30, "public_ip": 2}, "396000"},
		// 181,000 + 20 × 3,500, no IP
		{"1x1, no IP", Prepaid, map[string]int64{"public_ip": 0}, "251000"},
		// postpaid rates, VAT added on the invoice
		{"postpaid 1x1 defaults", Postpaid, nil, "306000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			comps, err := PriceComponents(p, tt.mode, tt.quantities)
			require.NoError(t, err)
			require.Equal(t, tt.want, PeriodPrice(comps).String())
		})
	}

	// Decimal unit prices stay exact (no rounding here).
	exact := PeriodPrice([]pricing.Component{
		{Code: "a", Quantity: 3, UnitPrice: money.MustParse("7.7")},
		{Code: "b", Quantity: 1, UnitPrice: money.MustParse("0.0001")},
	})
	require.Equal(t, "23.1001", exact.String())
	require.True(t, PeriodPrice(nil).IsZero())
}

func TestPeriodPrice2x4(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)
	p, err := ActivePlan(b.ctx, b.client, "s-general-2x4")
	require.NoError(t, err)
	comps, err := PriceComponents(p, Prepaid, map[string]int64{"root_disk_gb": 40})
	require.NoError(t, err)
	// 520,000 + 40 × 3,500 + 55,000
	require.Equal(t, "715000", PeriodPrice(comps).String())
}

func TestAllowedPeriod(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)
	vserver := b.client.Product.Query().Where(product.Code("vserver")).OnlyX(b.ctx)
	vmonitor := b.client.Product.Query().Where(product.Code("vmonitor")).OnlyX(b.ctx)

	tests := []struct {
		product *ent.Product
		months  int
		ok      bool
	}{
		{vserver, 1, true},
		{vserver, 3, true},
		{vserver, 6, true},
		{vserver, 12, true},
		{vserver, 24, true},
		{vserver, 36, true},
		{vserver, 2, false},
		{vserver, 0, false},
		{vserver, -1, false},
		{vserver, 48, false},
		{vmonitor, 12, true},
		{vmonitor, 24, false},
		{vmonitor, 36, false},
	}
	for _, tt := range tests {
		err := AllowedPeriod(tt.product, tt.months)
		if tt.ok {
			require.NoError(t, err, "%s %d", tt.product.Code, tt.months)
			continue
		}
		requireFault(t, err, fault.Invalid, "months")
	}
	err := AllowedPeriod(vserver, 2)
	require.EqualError(t, err, "INVALID_INPUT: vServer is sold for 1, 3, 6, 12, 24, 36 months, not 2 ([months])")
}
