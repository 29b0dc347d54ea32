package catalog

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"billing/ent"
	"billing/ent/plan"
	"billing/ent/plancomponent"
	"billing/ent/price"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// Billing modes a plan can be priced in; the values of price.billing_mode.
const (
	Prepaid  = string(price.BillingModePREPAID)
	Postpaid = string(price.BillingModePOSTPAID)
)

// planIDPrefix is the pulid prefix of plan ids (see ent/schema/catalog.go).
const planIDPrefix = "pln"

// ActivePlan loads a plan that may be sold now, by id ("pln_…") or by code
// ("s-general-1x1"), with its product, its components (in creation order)
// and their active prices. An unknown plan is a fault.NotFound; a plan or
// product that is no longer sold is a fault.Invalid. Both name the field
// "plan".
func ActivePlan(ctx context.Context, client *ent.Client, ref string) (*ent.Plan, error) {
	if ref == "" {
		return nil, fault.New(fault.Invalid, "choose a plan", "plan")
	}
	q := client.Plan.Query()
	if id := pulid.ID(ref); id.Valid() && id.Prefix() == planIDPrefix {
		q.Where(plan.ID(id))
	} else {
		q.Where(plan.Code(ref))
	}
	p, err := q.
		WithProduct().
		WithComponents(func(cq *ent.PlanComponentQuery) {
			cq.Order(ent.Asc(plancomponent.FieldID)).
				WithPrices(func(pq *ent.PriceQuery) {
					pq.Where(price.Active(true)).Order(ent.Asc(price.FieldID))
				})
		}).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.Newf(fault.NotFound, []string{"plan"}, "plan %q does not exist", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("load plan %s: %w", ref, err)
	}
	if !p.Active {
		return nil, fault.Newf(fault.Invalid, []string{"plan"}, "plan %s is no longer sold", p.Code)
	}
	if prod := p.Edges.Product; !prod.Active {
		return nil, fault.Newf(fault.Invalid, []string{"plan"}, "%s is no longer sold", prod.Name)
	}
	return p, nil
}

// PriceComponents turns the quantities a customer chose for a plan loaded
// by ActivePlan into the price snapshot of a resource: one
// pricing.Component per plan component, in plan order, carrying the unit
// price and VAT of the component's active PERIOD_30_DAYS price for mode
// (Prepaid or Postpaid).
//
// Components missing from quantities get their default quantity. Each
// quantity must lie in [min, max] and be min plus a multiple of step.
// Wrong input is a fault.Invalid whose Field is {"quantities", code} for a
// quantity (unknown codes included) and {"billingMode"} for a mode the plan
// is not sold in. Two active prices for one component and mode are a
// catalog error, returned as a plain error rather than guessed between.
func PriceComponents(p *ent.Plan, mode string, quantities map[string]int64) ([]pricing.Component, error) {
	if mode != Prepaid && mode != Postpaid {
		return nil, fault.Newf(fault.Invalid, []string{"billingMode"},
			"billing mode must be %s or %s, not %q", Prepaid, Postpaid, mode)
	}
	components, err := p.Edges.ComponentsOrErr()
	if err != nil {
		return nil, fmt.Errorf("price plan %s: components not loaded (use ActivePlan): %w", p.Code, err)
	}
	known := make(map[string]bool, len(components))
	for _, c := range components {
		known[c.Code] = true
	}
	var unknown []string
	for code := range quantities {
		if !known[code] {
			unknown = append(unknown, code)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown) // the same input always reports the same code
		return nil, fault.Newf(fault.Invalid, []string{"quantities", unknown[0]},
			"plan %s has no component %q", p.Code, unknown[0])
	}

	out := make([]pricing.Component, 0, len(components))
	for _, c := range components {
		q, ok := quantities[c.Code]
		if !ok {
			q = c.DefaultQuantity
		}
		if err := checkQuantity(c, q); err != nil {
			return nil, err
		}
		pr, err := activePrice(p, c, mode)
		if err != nil {
			return nil, err
		}
		out = append(out, pricing.Component{
			Code:        c.Code,
			Name:        c.Name,
			Unit:        c.Unit,
			Quantity:    q,
			UnitPrice:   pr.UnitPrice,
			VATRate:     pr.VatRate,
			VATIncluded: pr.VatIncluded,
		})
	}
	return out, nil
}

func checkQuantity(c *ent.PlanComponent, q int64) error {
	field := []string{"quantities", c.Code}
	switch {
	case q < c.MinQuantity:
		return fault.Newf(fault.Invalid, field, "%s must be at least %d %s, not %d", c.Code, c.MinQuantity, c.Unit, q)
	case q > c.MaxQuantity:
		return fault.Newf(fault.Invalid, field, "%s must be at most %d %s, not %d", c.Code, c.MaxQuantity, c.Unit, q)
	case c.Step > 1 && (q-c.MinQuantity)%c.Step != 0:
		return fault.Newf(fault.Invalid, field, "%s must be %d %s plus a multiple of %d, not %d",
			c.Code, c.MinQuantity, c.Unit, c.Step, q)
	}
	return nil
}

// activePrice finds the one active recurring price of c for mode among the
// prices ActivePlan loaded (only active ones). Metered (per UNIT) prices
// are billed from usage and never part of a period snapshot.
func activePrice(p *ent.Plan, c *ent.PlanComponent, mode string) (*ent.Price, error) {
	prices, err := c.Edges.PricesOrErr()
	if err != nil {
		return nil, fmt.Errorf("price plan %s: prices of %s not loaded (use ActivePlan): %w", p.Code, c.Code, err)
	}
	var found []*ent.Price
	for _, pr := range prices {
		if pr.Active && string(pr.BillingMode) == mode && pr.Per == price.PerPERIOD_30_DAYS {
			found = append(found, pr)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fault.Newf(fault.Invalid, []string{"billingMode"},
			"plan %s is not sold %s (component %s has no %s price)", p.Code, mode, c.Code, mode)
	default:
		return nil, fmt.Errorf("price plan %s: component %s has %d active %s prices", p.Code, c.Code, len(found), mode)
	}
}

// PeriodPrice is what a configuration costs per 30 days: Σ unit price ×
// quantity, exact and unrounded (rounding happens once per invoice line).
// It is VAT-inclusive for prepaid snapshots and pre-tax for postpaid ones,
// like the unit prices it sums.
func PeriodPrice(components []pricing.Component) money.Amount {
	total := money.Zero
	for _, c := range components {
		total = total.Add(c.UnitPrice.MulInt(c.Quantity))
	}
	return total
}

// AllowedPeriod checks that a prepaid period of months is one the product
// sells. A refusal is a fault.Invalid on the field "months" listing the
// allowed periods.
func AllowedPeriod(p *ent.Product, months int) error {
	if slices.Contains(p.AllowedPeriods, months) {
		return nil
	}
	allowed := make([]string, len(p.AllowedPeriods))
	for i, m := range p.AllowedPeriods {
		allowed[i] = strconv.Itoa(m)
	}
	return fault.Newf(fault.Invalid, []string{"months"},
		"%s is sold for %s months, not %d", p.Name, strings.Join(allowed, ", "), months)
}
