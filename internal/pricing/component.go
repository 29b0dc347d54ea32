package pricing

import "billing/internal/money"

// Component is one priced part of a resource's configuration, as sold: the
// catalog component it came from, how many units, and the unit price that
// was in force at the time. Resources keep these snapshots so that a later
// catalog price change never rewrites what a customer bought.
type Component struct {
	// Code is the catalog component code, e.g. "flavor" or "root_disk_gb".
	Code string `json:"code"`
	// Name is the component's display name at the time of sale.
	Name string `json:"name"`
	// Unit names what Quantity counts, e.g. "server" or "GB".
	Unit string `json:"unit"`
	// Quantity is the number of units.
	Quantity int64 `json:"quantity"`
	// UnitPrice is the price of one unit per 30 days.
	UnitPrice money.Amount `json:"unitPrice"`
	// VATRate is the VAT rate in percent (10 means 10%).
	VATRate money.Amount `json:"vatRate"`
	// VATIncluded says whether UnitPrice already includes VAT.
	VATIncluded bool `json:"vatIncluded"`
}
