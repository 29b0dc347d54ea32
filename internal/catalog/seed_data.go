package catalog

import (
	"fmt"

	"billing/ent/price"
	"billing/internal/money"
)

// The reference catalog, modelled on the public price lists of Vietnamese
// clouds. Every amount is VND per unit per 30 days.
//
//   - PREPAID prices are list prices: VAT-inclusive at 10%.
//   - POSTPAID rates are VAT-exclusive and carry a 10% pay-as-you-go
//     premium on the prepaid pre-tax price:
//     postpaid = prepaid / 1.1 (VAT removed) × 1.1 (premium),
//     so the postpaid rate is numerically the prepaid list price and a
//     postpaid month costs 10% more once VAT is added on the invoice
//     (s-general-1x1: 181,000 prepaid vs 181,000 + 18,100 VAT postpaid).
//   - vServer flavors are priced 102,000 per vCPU + 79,000 per GB of RAM,
//     which gives the two anchors of the public list: s-general-1x1
//     181,000 and s-general-2x4 520,000 (TestSeedDataFlavorFormula).
//
// Seed adds what is missing and never changes what exists, so editing a
// price here only affects fresh databases; change live prices through the
// admin API (new price, old one deactivated). README.md renders this table
// (TestREADMEPriceTable keeps the two in step).
var seedCatalog = []seedProduct{
	{
		Code: "vserver", Name: "vServer",
		Description: "Cloud servers: a flavor (vCPU and RAM), an SSD root disk and public IPv4 addresses.",
		Periods:     []int{1, 3, 6, 12, 24, 36}, Refundable: true, AutoRenewOptional: true,
		GraceDays: 15, SuspensionDays: 15, TrashDays: 7, // released at end + 30 days
		Plans: []seedPlan{
			serverPlan("s-general-1x1", 1, 1, vnd(181_000), vnd(181_000)),
			serverPlan("s-general-1x2", 1, 2, vnd(260_000), vnd(260_000)),
			serverPlan("s-general-2x2", 2, 2, vnd(362_000), vnd(362_000)),
			serverPlan("s-general-2x4", 2, 4, vnd(520_000), vnd(520_000)),
			serverPlan("s-general-4x8", 4, 8, vnd(1_040_000), vnd(1_040_000)),
			serverPlan("s-general-8x16", 8, 16, vnd(2_080_000), vnd(2_080_000)),
		},
	},
	{
		Code: "vstorage", Name: "vStorage",
		Description: "S3-compatible object storage and NFS file storage, bought as a quota of GB.",
		Periods:     []int{1, 3, 6, 12, 24, 36}, Refundable: true,
		// Stored data has no trash (0 days) and is gone once released, so
		// auto-renew stays on: a forgotten renewal must not destroy a bucket.
		AutoRenewOptional: false,
		GraceDays:         15, SuspensionDays: 15, TrashDays: 0,
		Plans: []seedPlan{
			{Code: "object-standard", Name: "Object Storage Standard",
				Description: "S3-compatible object storage, 30 GB minimum.",
				Components: []seedComponent{
					{Code: "quota_gb", Name: "Object storage quota", Unit: "GB", Min: 30, Max: 100_000, Default: 30, Step: 10,
						Prices: pricePair(vnd(1_100), vnd(1_100))},
				}},
			{Code: "file-standard", Name: "File Storage Standard (NFS)",
				Description: "NFS file storage shared between servers, 50 GB minimum.",
				Components: []seedComponent{
					{Code: "quota_gb", Name: "File storage quota", Unit: "GB", Min: 50, Max: 50_000, Default: 100, Step: 10,
						Prices: pricePair(vnd(2_750), vnd(2_750))},
				}},
		},
	},
	{
		Code: "vmonitor", Name: "vMonitor",
		Description: "Metrics, dashboards and alerting for servers and services, priced per monitored host.",
		Periods:     []int{1, 3, 6, 12}, Refundable: false, AutoRenewOptional: true,
		GraceDays: 7, SuspensionDays: 7, TrashDays: 0,
		Plans: []seedPlan{
			{Code: "monitor-basic", Name: "vMonitor Basic",
				Description: "1-minute metrics kept 30 days, email alerts.",
				Components: []seedComponent{
					{Code: "hosts", Name: "Monitored hosts (Basic)", Unit: "host", Min: 1, Max: 50, Default: 5, Step: 1,
						Prices: pricePair(vnd(22_000), vnd(22_000))},
				}},
			{Code: "monitor-pro", Name: "vMonitor Pro",
				Description: "10-second metrics kept 13 months, email, SMS and webhook alerts.",
				Components: []seedComponent{
					{Code: "hosts", Name: "Monitored hosts (Pro)", Unit: "host", Min: 1, Max: 500, Default: 10, Step: 1,
						Prices: pricePair(vnd(44_000), vnd(44_000))},
				}},
		},
	},
}

// serverPlan is a vServer flavor: the flavor itself (one server) plus the
// root disk and public IPs every server has.
func serverPlan(code string, vcpu, ramGB int, prepaid, postpaid money.Amount) seedPlan {
	name := flavorName(code, vcpu, ramGB)
	return seedPlan{
		Code: code, Name: name,
		Description: "General-purpose cloud server with an SSD root disk.",
		Components: []seedComponent{
			{Code: "flavor", Name: name, Unit: "server", Min: 1, Max: 1, Default: 1, Step: 1,
				Prices: pricePair(prepaid, postpaid)},
			{Code: "root_disk_gb", Name: "Root disk SSD", Unit: "GB", Min: 20, Max: 2_000, Default: 20, Step: 10,
				Prices: pricePair(vnd(3_500), vnd(3_500))},
			{Code: "public_ip", Name: "Public IPv4", Unit: "IP", Min: 0, Max: 4, Default: 1, Step: 1,
				Prices: pricePair(vnd(55_000), vnd(55_000))},
		},
	}
}

// vat is the VAT rate of every seeded price, in percent.
var vat = money.VND(10)

// pricePair is the two prices of a component: the prepaid list price
// (VAT-inclusive) and the postpaid rate (VAT-exclusive), both at 10% VAT.
func pricePair(prepaid, postpaid money.Amount) []seedPrice {
	return []seedPrice{
		{Mode: price.BillingModePREPAID, UnitPrice: prepaid, VATRate: vat, VATIncluded: true},
		{Mode: price.BillingModePOSTPAID, UnitPrice: postpaid, VATRate: vat, VATIncluded: false},
	}
}

func vnd(v int64) money.Amount { return money.VND(v) }

func flavorName(code string, vcpu, ramGB int) string {
	return fmt.Sprintf("%s (%d vCPU, %d GB RAM)", code, vcpu, ramGB)
}

// seedProduct is one product of the reference catalog with its lifecycle policy.
type seedProduct struct {
	Code, Name, Description string
	Periods                 []int
	Refundable              bool
	AutoRenewOptional       bool
	GraceDays               int
	SuspensionDays          int
	TrashDays               int
	Plans                   []seedPlan
}

// seedPlan is one plan of a product.
type seedPlan struct {
	Code, Name, Description string
	Components              []seedComponent
}

// seedComponent is one priced part of a plan with the quantities allowed.
type seedComponent struct {
	Code, Name, Unit        string
	Min, Max, Default, Step int64
	Prices                  []seedPrice
}

// seedPrice is the price of one unit of a component per 30 days.
type seedPrice struct {
	Mode        price.BillingMode
	UnitPrice   money.Amount
	VATRate     money.Amount
	VATIncluded bool
}
