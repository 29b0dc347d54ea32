package catalog

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/plan"
	"billing/ent/plancomponent"
	"billing/ent/price"
	"billing/ent/product"
	"billing/internal/auth"
	"billing/internal/money"
	"billing/internal/testdb"
)

// The reference catalog: 3 products; 6 + 2 + 2 plans; 6×3 + 2 + 2
// components; two prices (prepaid, postpaid) per component.
var wantSeeded = SeedResult{Products: 3, Plans: 10, Components: 22, Prices: 44}

func TestSeedIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)

	first, err := Seed(b.ctx, b.client)
	require.NoError(t, err)
	require.Equal(t, wantSeeded, first)
	after1 := countRows(t, b)
	require.Equal(t, rowCounts{3, 10, 22, 44}, after1)
	snapshot1 := catalogSnapshot(t, b)

	second, err := Seed(b.ctx, b.client)
	require.NoError(t, err)
	require.Equal(t, SeedResult{}, second)
	require.Zero(t, second.Total())
	require.Equal(t, after1, countRows(t, b))
	// Nothing changed either: same ids, values and timestamps.
	require.Equal(t, snapshot1, catalogSnapshot(t, b))
	requireNoDuplicates(t, b)
}

func TestSeedConcurrent(t *testing.T) {
	t.Parallel()
	// Several "processes": separate clients (connection pools) on one database.
	dsn := testdb.NewDSN(t)
	first := testdb.Open(t, dsn)
	ctx := auth.SystemContext(context.Background())
	require.NoError(t, first.Migrate(ctx))
	clients := []*ent.Client{first.Client}
	for range 3 {
		clients = append(clients, testdb.Open(t, dsn).Client)
	}
	b := &testBundle{ctx: ctx, client: first.Client}

	// On an empty database the seeders race on inserting the products.
	require.Equal(t, wantSeeded, seedConcurrently(t, ctx, clients), "every row inserted exactly once across seeders")
	require.Equal(t, rowCounts{3, 10, 22, 44}, countRows(t, b))
	requireNoDuplicates(t, b)

	// With the products present and the prices gone, they race on prices,
	// which have no unique key: only the product row lock keeps them apart.
	b.client.Price.Delete().ExecX(ctx)
	require.Equal(t, SeedResult{Prices: 44}, seedConcurrently(t, ctx, clients))
	require.Equal(t, rowCounts{3, 10, 22, 44}, countRows(t, b))
	requireNoDuplicates(t, b)
}

// seedConcurrently runs Seed once per client, all at once, and adds up
// what they inserted.
func seedConcurrently(t *testing.T, ctx context.Context, clients []*ent.Client) SeedResult {
	t.Helper()
	results := make([]SeedResult, len(clients))
	errs := make([]error, len(clients))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			<-start
			results[i], errs[i] = Seed(ctx, c)
		})
	}
	close(start)
	wg.Wait()
	var total SeedResult
	for i := range clients {
		require.NoError(t, errs[i], "seeder %d", i)
		total.Products += results[i].Products
		total.Plans += results[i].Plans
		total.Components += results[i].Components
		total.Prices += results[i].Prices
	}
	return total
}

func TestSeedKeepsOperatorChanges(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)

	// An operator raised the 1x1 prepaid price (new price, old deactivated),
	// stopped selling 1x1 postpaid and renamed the product.
	flavor := b.client.PlanComponent.Query().
		Where(plancomponent.Code("flavor"), plancomponent.HasPlanWith(plan.Code("s-general-1x1"))).
		OnlyX(b.ctx)
	b.client.Price.Update().
		Where(price.ComponentID(flavor.ID)).
		SetActive(false).ExecX(b.ctx)
	b.client.Price.Create().
		SetComponentID(flavor.ID).SetBillingMode(price.BillingModePREPAID).
		SetUnitPrice(money.VND(190_000)).SetVatRate(money.VND(10)).SetVatIncluded(true).
		ExecX(b.ctx)
	b.client.Product.Update().Where(product.Code("vserver")).SetName("vServer (legacy)").ExecX(b.ctx)
	before := countRows(t, b)

	res, err := Seed(b.ctx, b.client)
	require.NoError(t, err)
	require.Equal(t, SeedResult{}, res)
	require.Equal(t, before, countRows(t, b))
	require.Equal(t, "vServer (legacy)", b.client.Product.Query().Where(product.Code("vserver")).OnlyX(b.ctx).Name)

	p, err := ActivePlan(b.ctx, b.client, "s-general-1x1")
	require.NoError(t, err)
	got, err := PriceComponents(p, Prepaid, nil)
	require.NoError(t, err)
	require.Equal(t, "190000", got[0].UnitPrice.String())
	_, err = PriceComponents(p, Postpaid, nil)
	requireFault(t, err, "INVALID_INPUT", "billingMode")
}

func TestSeedRestoresMissingRows(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)

	// A component lost its postpaid price: a re-run adds exactly that price.
	ip := b.client.PlanComponent.Query().
		Where(plancomponent.Code("public_ip"), plancomponent.HasPlanWith(plan.Code("s-general-2x2"))).
		OnlyX(b.ctx)
	b.client.Price.Delete().
		Where(price.ComponentID(ip.ID), price.BillingModeEQ(price.BillingModePOSTPAID)).ExecX(b.ctx)

	res, err := Seed(b.ctx, b.client)
	require.NoError(t, err)
	require.Equal(t, SeedResult{Prices: 1}, res)
	require.Equal(t, rowCounts{3, 10, 22, 44}, countRows(t, b))
}

func TestSeedPrices(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)

	tests := []struct {
		plan, component string
		mode            price.BillingMode
		unitPrice       string
		vatIncluded     bool
	}{
		{"s-general-1x1", "flavor", price.BillingModePREPAID, "181000", true},
		{"s-general-1x2", "flavor", price.BillingModePREPAID, "260000", true},
		{"s-general-2x2", "flavor", price.BillingModePREPAID, "362000", true},
		{"s-general-2x4", "flavor", price.BillingModePREPAID, "520000", true},
		{"s-general-4x8", "flavor", price.BillingModePREPAID, "1040000", true},
		{"s-general-8x16", "flavor", price.BillingModePREPAID, "2080000", true},
		{"s-general-1x1", "flavor", price.BillingModePOSTPAID, "181000", false},
		{"s-general-2x4", "flavor", price.BillingModePOSTPAID, "520000", false},
		{"s-general-1x1", "root_disk_gb", price.BillingModePREPAID, "3500", true},
		{"s-general-8x16", "root_disk_gb", price.BillingModePOSTPAID, "3500", false},
		{"s-general-2x4", "public_ip", price.BillingModePREPAID, "55000", true},
		{"object-standard", "quota_gb", price.BillingModePREPAID, "1100", true},
		{"file-standard", "quota_gb", price.BillingModePREPAID, "2750", true},
		{"monitor-basic", "hosts", price.BillingModePREPAID, "22000", true},
		{"monitor-pro", "hosts", price.BillingModePOSTPAID, "44000", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%s", tt.plan, tt.component, tt.mode), func(t *testing.T) {
			t.Parallel()
			pr, err := b.client.Price.Query().
				Where(
					price.BillingModeEQ(tt.mode),
					price.HasComponentWith(
						plancomponent.Code(tt.component),
						plancomponent.HasPlanWith(plan.Code(tt.plan)),
					),
				).
				Only(b.ctx)
			require.NoError(t, err)
			require.Equal(t, tt.unitPrice, pr.UnitPrice.String())
			require.Equal(t, "10", pr.VatRate.String())
			require.Equal(t, tt.vatIncluded, pr.VatIncluded)
			require.Equal(t, price.PerPERIOD_30_DAYS, pr.Per)
			require.True(t, pr.Active)
		})
	}
}

func TestSeedProducts(t *testing.T) {
	t.Parallel()
	b := setupSeeded(t)

	type policy struct {
		periods                          []int
		refundable, autoRenewOptional    bool
		grace, suspension, trash, nPlans int
	}
	want := map[string]policy{
		"vserver":  {[]int{1, 3, 6, 12, 24, 36}, true, true, 15, 15, 7, 6},
		"vstorage": {[]int{1, 3, 6, 12, 24, 36}, true, false, 15, 15, 0, 2},
		"vmonitor": {[]int{1, 3, 6, 12}, false, true, 7, 7, 0, 2},
	}
	products := b.client.Product.Query().WithPlans().AllX(b.ctx)
	require.Len(t, products, len(want))
	for _, p := range products {
		w, ok := want[p.Code]
		require.True(t, ok, p.Code)
		got := policy{p.AllowedPeriods, p.Refundable, p.AutoRenewOptional,
			p.GraceDays, p.SuspensionDays, p.TrashDays, len(p.Edges.Plans)}
		require.Equal(t, w, got, p.Code)
		require.True(t, p.Active)
	}

	comp := b.client.PlanComponent.Query().
		Where(plancomponent.Code("root_disk_gb"), plancomponent.HasPlanWith(plan.Code("s-general-2x4"))).
		OnlyX(b.ctx)
	require.Equal(t, [5]any{"GB", int64(20), int64(2000), int64(20), int64(10)},
		[5]any{comp.Unit, comp.MinQuantity, comp.MaxQuantity, comp.DefaultQuantity, comp.Step})
	quota := b.client.PlanComponent.Query().
		Where(plancomponent.Code("quota_gb"), plancomponent.HasPlanWith(plan.Code("object-standard"))).
		OnlyX(b.ctx)
	require.Equal(t, [5]any{"GB", int64(30), int64(100000), int64(30), int64(10)},
		[5]any{quota.Unit, quota.MinQuantity, quota.MaxQuantity, quota.DefaultQuantity, quota.Step})
}

// TestSeedData checks the table itself: every default is a valid quantity,
// every component is sold both ways at 10% VAT, and codes are unique.
func TestSeedData(t *testing.T) {
	t.Parallel()
	plans := map[string]bool{}
	for _, p := range seedCatalog {
		require.NotEmpty(t, p.Periods, p.Code)
		for _, pl := range p.Plans {
			require.False(t, plans[pl.Code], "duplicate plan code %s", pl.Code)
			plans[pl.Code] = true
			comps := map[string]bool{}
			for _, c := range pl.Components {
				name := pl.Code + "/" + c.Code
				require.False(t, comps[c.Code], "duplicate component %s", name)
				comps[c.Code] = true
				require.Positive(t, c.Step, name)
				require.LessOrEqual(t, c.Min, c.Default, name)
				require.LessOrEqual(t, c.Default, c.Max, name)
				require.Zero(t, (c.Default-c.Min)%c.Step, name)
				require.Zero(t, (c.Max-c.Min)%c.Step, "%s: max must be reachable", name)
				require.Len(t, c.Prices, 2, name)
				for _, pr := range c.Prices {
					require.Equal(t, "10", pr.VATRate.String(), name)
					require.Equal(t, pr.Mode == price.BillingModePREPAID, pr.VATIncluded, name)
					require.True(t, pr.UnitPrice.IsPositive(), name)
				}
				require.NotEqual(t, c.Prices[0].Mode, c.Prices[1].Mode, name)
			}
		}
	}
}

// TestSeedDataFlavorFormula pins the rule the flavor prices follow:
// 102,000 VND per vCPU + 79,000 VND per GB RAM, prepaid and postpaid.
func TestSeedDataFlavorFormula(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^s-general-(\d+)x(\d+)$`)
	n := 0
	for _, pl := range seedCatalog[0].Plans {
		m := re.FindStringSubmatch(pl.Code)
		require.NotNil(t, m, pl.Code)
		vcpu, _ := strconv.ParseInt(m[1], 10, 64)
		ram, _ := strconv.ParseInt(m[2], 10, 64)
		want := money.VND(102_000*vcpu + 79_000*ram)
		require.Equal(t, "flavor", pl.Components[0].Code)
		for _, pr := range pl.Components[0].Prices {
			require.True(t, want.Equal(pr.UnitPrice), "%s %s: %s, want %s", pl.Code, pr.Mode, pr.UnitPrice, want)
		}
		n++
	}
	require.Equal(t, 6, n)
}

// catalogSnapshot renders every catalog row, ids and timestamps included.
func catalogSnapshot(t *testing.T, b *testBundle) []string {
	t.Helper()
	var out []string
	for _, p := range b.client.Product.Query().Order(ent.Asc(product.FieldID)).AllX(b.ctx) {
		out = append(out, fmt.Sprintf("%s %s %s %v %v %d %d %d %v %v %d %d",
			p.ID, p.Code, p.Name, p.AllowedPeriods, p.Refundable, p.GraceDays, p.SuspensionDays, p.TrashDays,
			p.AutoRenewOptional, p.Active, p.CreatedAt.UnixMicro(), p.UpdatedAt.UnixMicro()))
	}
	for _, p := range b.client.Plan.Query().Order(ent.Asc(plan.FieldID)).AllX(b.ctx) {
		out = append(out, fmt.Sprintf("%s %s %s %s %v %d %d %d",
			p.ID, p.ProductID, p.Code, p.Name, p.Active, p.SortOrder, p.CreatedAt.UnixMicro(), p.UpdatedAt.UnixMicro()))
	}
	for _, c := range b.client.PlanComponent.Query().Order(ent.Asc(plancomponent.FieldID)).AllX(b.ctx) {
		out = append(out, fmt.Sprintf("%s %s %s %s %s %d %d %d %d %d %d",
			c.ID, c.PlanID, c.Code, c.Name, c.Unit, c.MinQuantity, c.MaxQuantity, c.DefaultQuantity, c.Step,
			c.CreatedAt.UnixMicro(), c.UpdatedAt.UnixMicro()))
	}
	for _, p := range b.client.Price.Query().Order(ent.Asc(price.FieldID)).AllX(b.ctx) {
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s %v %v %d %d",
			p.ID, p.ComponentID, p.BillingMode, p.Per, p.UnitPrice, p.VatRate, p.VatIncluded, p.Active,
			p.CreatedAt.UnixMicro(), p.UpdatedAt.UnixMicro()))
	}
	return out
}

func requireNoDuplicates(t *testing.T, b *testBundle) {
	t.Helper()
	seen := map[string]bool{}
	check := func(key string) {
		t.Helper()
		require.False(t, seen[key], "duplicate %s", key)
		seen[key] = true
	}
	for _, p := range b.client.Product.Query().AllX(b.ctx) {
		check("product " + p.Code)
	}
	for _, p := range b.client.Plan.Query().AllX(b.ctx) {
		check("plan " + p.Code)
	}
	for _, c := range b.client.PlanComponent.Query().AllX(b.ctx) {
		check("component " + string(c.PlanID) + "/" + c.Code)
	}
	for _, p := range b.client.Price.Query().AllX(b.ctx) {
		check("price " + string(p.ComponentID) + "/" + string(p.BillingMode))
	}
}
