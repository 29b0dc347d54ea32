package pricing

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"billing/internal/fault"
	"billing/internal/money"
)

// MaxCount is the largest number of resources one order item may create.
const MaxCount = 100

// Coupon kinds, the values of CouponTerms.Kind (and of coupons.kind).
const (
	CouponFixed   = "FIXED"
	CouponPercent = "PERCENT"
)

// QuoteItem is one item of an order as pricing sees it: Count resources of
// one configuration, each bought (or renewed) for Months months.
type QuoteItem struct {
	// Key is the caller's name for the item (an order item id, an index);
	// it is copied to the item's resources so results can be matched up.
	Key string
	// ProductCode is the catalog product ("vserver"); coupon scope is
	// judged on it.
	ProductCode string
	// PlanCode is the catalog plan ("s-general-1x1"), for the record.
	PlanCode string
	// Components is the price snapshot of one resource (see
	// catalog.PriceComponents): one invoice line each.
	Components []Component
	// Count is the number of identical resources, 1..MaxCount.
	Count int
	// Months is the period, a whole number of 30-day months (> 0).
	Months int
}

// CouponTerms is what pricing needs to know of a coupon: its discount and
// the two conditions that depend on the order's content. Everything that
// depends on the database (validity, limits, first order) is the coupon
// service's business and checked before a quote is made.
type CouponTerms struct {
	// Code is the coupon code, for messages and the record.
	Code string
	// Kind is CouponFixed or CouponPercent.
	Kind string
	// Amount is the whole-VND discount of a FIXED coupon.
	Amount money.Amount
	// Percent is the discount of a PERCENT coupon, in percent (0 < p ≤ 100).
	Percent money.Amount
	// Cap is the largest discount of a PERCENT coupon, whole VND; nil: none.
	Cap *money.Amount
	// ProductCodes is the scope: the products the coupon applies to; empty
	// means every product.
	ProductCodes []string
	// MinOrderAmount is the smallest order Subtotal (before any discount,
	// all resources in or out of scope) the coupon may be used on.
	MinOrderAmount money.Amount
}

// Line is one invoice line of a resource: one component for the period.
type Line struct {
	// Code is the component code.
	Code string
	// Description is the component's name at the time of sale.
	Description string
	// UnitPrice is the component's price per unit per 30 days.
	UnitPrice money.Amount
	// Quantity is the number of units.
	Quantity int64
	// Months is the period in 30-day months.
	Months int
	// DurationMinutes is the period in minutes: Months × 43,200.
	DurationMinutes int64
	// Amount is round(UnitPrice × Quantity × Months), rounded once, here.
	Amount money.Amount
}

// ResourceQuote is what one resource of an order costs: the lines its
// invoice will carry, its share of the coupon, and the VAT in its total.
type ResourceQuote struct {
	// ItemKey is the QuoteItem.Key the resource comes from.
	ItemKey string
	// Index is the resource's position within its item, 0..Count−1.
	Index int
	// ProductCode and PlanCode are copied from the item.
	ProductCode, PlanCode string
	// Months is the period.
	Months int
	// Lines are one per component, in component order.
	Lines []Line
	// Amount is the sum of the lines.
	Amount money.Amount
	// CouponShare is the resource's whole-VND part of the order's discount.
	CouponShare money.Amount
	// Total is Amount − CouponShare, never negative.
	Total money.Amount
	// VATIncluded says whether Total includes VAT (prepaid list prices) or
	// VAT comes on top of it (postpaid rates).
	VATIncluded bool
	// VAT is the VAT of Total: contained in it when VATIncluded, else on top.
	VAT money.Amount
	// PreTax is Total without VAT: Total − VAT when VATIncluded, else Total.
	PreTax money.Amount
	// Payable is what the customer pays for the resource: Total when
	// VATIncluded, else Total + VAT.
	Payable money.Amount
}

// Quote prices a whole order. The numbers are exactly those its invoices
// will carry: every amount is a sum of once-rounded lines and whole-VND
// shares, so nothing is rounded twice and nothing is lost between the quote
// and the invoices.
type Quote struct {
	// Resources are in item order, then by Index.
	Resources []ResourceQuote
	// Subtotal is the sum of every resource's Amount, before the discount.
	Subtotal money.Amount
	// Discount is the coupon's discount: the sum of the coupon shares.
	Discount money.Amount
	// Total is Subtotal − Discount, the sum of the resources' totals.
	Total money.Amount
	// VAT is the sum of the resources' VAT.
	VAT money.Amount
	// Payable is the sum of the resources' Payable: what the order costs.
	// It equals Total for prepaid (VAT-inclusive) orders.
	Payable money.Amount
	// Coupon is the coupon applied, nil when none.
	Coupon *CouponTerms
}

// QuoteOrder prices items and applies coupon (nil for none).
//
// Each item becomes Count resources, each with one line per component:
// round(unit price × quantity × months). A coupon applies to the resources
// whose product is in its scope. It is refused (a CouponRejection wrapping
// fault.CouponInvalid) when no resource is in scope or the Subtotal is
// below its minimum. Its discount is, for FIXED, its amount, and for
// PERCENT round(eligible amount × percent / 100) cut to the cap, and never
// more than the eligible resources' amount, so no total goes negative. The
// discount is split over the eligible resources in proportion to their
// amounts, in whole VND, by SplitProportional.
//
// VAT of a resource is computed on its Total after the coupon, rounded once
// per VAT rate: the Total is split over the rates in proportion to the
// lines of each rate (SplitProportional; a single rate takes all of it), and
// each part's VAT is InclusiveVAT for VAT-inclusive prices or ExclusiveVAT
// for VAT-exclusive ones. Prepaid checkout uses the catalog's prepaid
// prices, which are VAT-inclusive, so Payable = Total there.
//
// Malformed items (no items, Count outside 1..MaxCount, Months ≤ 0, no
// components, a negative quantity, an order beyond money.Max) are
// fault.Invalid naming the field ["input","items",i,…]. A corrupt price
// snapshot (negative or over-precise price, VAT rate outside 0..100,
// VAT-inclusive and exclusive components in one resource) or corrupt coupon
// terms are plain errors: they are bugs, not input.
func QuoteOrder(items []QuoteItem, coupon *CouponTerms) (Quote, error) {
	if len(items) == 0 {
		return Quote{}, fault.New(fault.Invalid, "an order needs at least one item", "input", "items")
	}
	var (
		q      Quote
		itemOf []int // itemOf[r] is the index of resource r's item
	)
	for i, it := range items {
		lines, amount, err := itemLines(i, it)
		if err != nil {
			return Quote{}, err
		}
		for k := 0; k < it.Count; k++ {
			q.Resources = append(q.Resources, ResourceQuote{
				ItemKey:     it.Key,
				Index:       k,
				ProductCode: it.ProductCode,
				PlanCode:    it.PlanCode,
				Months:      it.Months,
				Lines:       append([]Line(nil), lines...),
				Amount:      amount,
				VATIncluded: it.Components[0].VATIncluded,
			})
			itemOf = append(itemOf, i)
			q.Subtotal = q.Subtotal.Add(amount)
		}
	}
	if q.Subtotal.Validate() != nil {
		return Quote{}, fault.Newf(fault.Invalid, []string{"input", "items"},
			"the order is larger than %s", money.Max.Format())
	}
	if coupon != nil {
		if err := applyCoupon(&q, coupon); err != nil {
			return Quote{}, err
		}
		c := *coupon
		c.ProductCodes = append([]string(nil), coupon.ProductCodes...)
		q.Coupon = &c
	}
	for r := range q.Resources {
		rq := &q.Resources[r]
		rq.Total = rq.Amount.Sub(rq.CouponShare)
		rq.VAT = resourceVAT(rq, items[itemOf[r]].Components)
		if rq.VATIncluded {
			rq.PreTax, rq.Payable = rq.Total.Sub(rq.VAT), rq.Total
		} else {
			rq.PreTax, rq.Payable = rq.Total, rq.Total.Add(rq.VAT)
		}
		q.Discount = q.Discount.Add(rq.CouponShare)
		q.Total = q.Total.Add(rq.Total)
		q.VAT = q.VAT.Add(rq.VAT)
		q.Payable = q.Payable.Add(rq.Payable)
	}
	return q, nil
}

// itemLines validates item i and returns the lines of one of its resources
// and their sum.
func itemLines(i int, it QuoteItem) ([]Line, money.Amount, error) {
	field := func(name string) []string { return []string{"input", "items", strconv.Itoa(i), name} }
	switch {
	case it.Count < 1 || it.Count > MaxCount:
		return nil, money.Zero, fault.Newf(fault.Invalid, field("count"),
			"the number of resources must be between 1 and %d", MaxCount)
	case it.Months <= 0:
		return nil, money.Zero, fault.New(fault.Invalid, "the period must be at least one month", field("months")...)
	case len(it.Components) == 0:
		return nil, money.Zero, fault.New(fault.Invalid, "the configuration has no priced components", field("components")...)
	}
	lines := make([]Line, 0, len(it.Components))
	amount := money.Zero
	for _, c := range it.Components {
		if c.Quantity < 0 {
			return nil, money.Zero, fault.Newf(fault.Invalid, field("components"),
				"the quantity of %s cannot be negative", c.Code)
		}
		if err := checkComponent(c); err != nil {
			return nil, money.Zero, fmt.Errorf("price item %d (%s): %w", i, it.PlanCode, err)
		}
		if c.VATIncluded != it.Components[0].VATIncluded {
			return nil, money.Zero, fmt.Errorf("price item %d (%s): VAT-inclusive and VAT-exclusive prices in one configuration", i, it.PlanCode)
		}
		name := c.Name
		if name == "" {
			name = c.Code
		}
		l := Line{
			Code:            c.Code,
			Description:     name,
			UnitPrice:       c.UnitPrice,
			Quantity:        c.Quantity,
			Months:          it.Months,
			DurationMinutes: int64(it.Months) * money.MinutesPer30Days,
			Amount:          c.UnitPrice.MulInt(c.Quantity).MulInt(int64(it.Months)).RoundVND(),
		}
		lines = append(lines, l)
		amount = amount.Add(l.Amount)
	}
	if amount.Validate() != nil {
		return nil, money.Zero, fault.Newf(fault.Invalid, []string{"input", "items", strconv.Itoa(i)},
			"the item is larger than %s", money.Max.Format())
	}
	return lines, amount, nil
}

// checkComponent rejects a price snapshot no catalog should produce.
func checkComponent(c Component) error {
	if err := c.UnitPrice.Validate(); err != nil {
		return fmt.Errorf("component %s: unit price: %w", c.Code, err)
	}
	if c.UnitPrice.IsNegative() {
		return fmt.Errorf("component %s: negative unit price %s", c.Code, c.UnitPrice)
	}
	if c.VATRate.IsNegative() || c.VATRate.GreaterThan(money.VND(100)) || c.VATRate.Validate() != nil {
		return fmt.Errorf("component %s: VAT rate %s is not a percentage", c.Code, c.VATRate)
	}
	return nil
}

// checkTerms rejects coupon terms the coupon service should never produce.
func checkTerms(c *CouponTerms) error {
	whole := func(a money.Amount) bool {
		return !a.IsNegative() && a.Decimal().IsInteger() && a.Validate() == nil
	}
	switch {
	case c.Kind != CouponFixed && c.Kind != CouponPercent:
		return fmt.Errorf("unknown coupon kind %q", c.Kind)
	case !whole(c.Amount):
		return fmt.Errorf("coupon amount %s is not whole VND", c.Amount)
	case c.Percent.IsNegative() || c.Percent.GreaterThan(money.VND(100)) || c.Percent.Validate() != nil:
		return fmt.Errorf("coupon percent %s is not a percentage", c.Percent)
	case c.Cap != nil && !whole(*c.Cap):
		return fmt.Errorf("coupon cap %s is not whole VND", *c.Cap)
	case !whole(c.MinOrderAmount):
		return fmt.Errorf("coupon minimum %s is not whole VND", c.MinOrderAmount)
	}
	return nil
}

// applyCoupon sets the coupon share of every resource of q.
func applyCoupon(q *Quote, c *CouponTerms) error {
	if err := checkTerms(c); err != nil {
		return fmt.Errorf("apply coupon %s: %w", c.Code, err)
	}
	var (
		eligible []int
		weights  []money.Amount
		base     money.Amount
	)
	for r, rq := range q.Resources {
		if inScope(c.ProductCodes, rq.ProductCode) {
			eligible = append(eligible, r)
			weights = append(weights, rq.Amount)
			base = base.Add(rq.Amount)
		}
	}
	if len(eligible) == 0 {
		return RejectCoupon(CouponOutOfScope, fmt.Sprintf("coupon %s is not valid for these products (only for %s)",
			c.Code, strings.Join(c.ProductCodes, ", ")))
	}
	if q.Subtotal.LessThan(c.MinOrderAmount) {
		return RejectCoupon(CouponBelowMinimum, fmt.Sprintf("coupon %s needs an order of at least %s (this order is %s)",
			c.Code, c.MinOrderAmount.Format(), q.Subtotal.Format()))
	}
	var discount money.Amount
	switch c.Kind {
	case CouponFixed:
		discount = c.Amount
	case CouponPercent:
		discount = base.Mul(c.Percent.Decimal()).Mul(decimal.New(1, -2)).RoundVND()
		if c.Cap != nil {
			discount = money.Min(discount, *c.Cap)
		}
	}
	// The coupon never makes a total negative: at most what it applies to.
	discount = money.Min(discount, base)
	for k, share := range SplitProportional(discount, weights) {
		q.Resources[eligible[k]].CouponShare = share
	}
	return nil
}

// inScope reports whether product is one of scope; an empty scope is every
// product. Product codes compare case-insensitively.
func inScope(scope []string, product string) bool {
	if len(scope) == 0 {
		return true
	}
	for _, p := range scope {
		if strings.EqualFold(p, product) {
			return true
		}
	}
	return false
}

// resourceVAT is the VAT of rq.Total, rounded once per VAT rate.
func resourceVAT(rq *ResourceQuote, comps []Component) money.Amount {
	var (
		rates   []money.Amount
		weights []money.Amount
	)
	for i, c := range comps {
		k := -1
		for j, r := range rates {
			if r.Equal(c.VATRate) {
				k = j
				break
			}
		}
		if k < 0 {
			rates = append(rates, c.VATRate)
			weights = append(weights, money.Zero)
			k = len(rates) - 1
		}
		weights[k] = weights[k].Add(rq.Lines[i].Amount)
	}
	vat := money.Zero
	for k, part := range SplitProportional(rq.Total, weights) {
		if rq.VATIncluded {
			vat = vat.Add(InclusiveVAT(part, rates[k]))
		} else {
			vat = vat.Add(ExclusiveVAT(part, rates[k]))
		}
	}
	return vat
}
