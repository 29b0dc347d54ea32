package checkout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"billing/ent"
	"billing/internal/catalog"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
	"billing/internal/store"
)

// ItemInput is one line of a checkout: Count resources of a plan for
// Months months.
type ItemInput struct {
	// PlanRef is the plan's id ("pln_…") or code ("s-general-1x1").
	PlanRef string `json:"plan"`
	// Quantities are per component code; missing components take their
	// default quantity.
	Quantities map[string]int64 `json:"quantities,omitempty"`
	// Count is the number of resources, 1…pricing.MaxCount.
	Count int `json:"count"`
	// Months is one of the product's allowed periods.
	Months int `json:"months"`
}

// QuoteInput prices a checkout without side effects.
type QuoteInput struct {
	// AccountID is the account the quote is for: customers and read-only
	// members get their own (leave it empty); operators must name one
	// (coupon limits depend on the account).
	AccountID  pulid.ID
	Items      []ItemInput
	CouponCode string
}

// pricedItem is an input item resolved against the catalog.
type pricedItem struct {
	plan       *ent.Plan // with its product
	components []pricing.Component
	count      int
	months     int
}

// pricedOrder is everything the quote of an order was computed from.
type pricedOrder struct {
	items  []pricedItem
	quote  pricing.Quote
	coupon *ent.Coupon // nil without a coupon
}

// validateItems checks the shape of the items before any lookup.
func validateItems(items []ItemInput) error {
	if len(items) == 0 {
		return fault.New(fault.Invalid, "an order needs at least one item", "input", "items")
	}
	if len(items) > MaxItems {
		return fault.Newf(fault.Invalid, []string{"input", "items"}, "an order has at most %d items", MaxItems)
	}
	total := 0
	for i, it := range items {
		field := func(name string) []string { return []string{"input", "items", strconv.Itoa(i), name} }
		if strings.TrimSpace(it.PlanRef) == "" {
			return fault.New(fault.Invalid, "choose a plan", field("plan")...)
		}
		if it.Count < 1 || it.Count > pricing.MaxCount {
			return fault.Newf(fault.Invalid, field("count"), "the number of resources must be between 1 and %d", pricing.MaxCount)
		}
		if it.Months <= 0 {
			return fault.New(fault.Invalid, "the period must be at least one month", field("months")...)
		}
		total += it.Count
	}
	if total > MaxResources {
		return fault.Newf(fault.Invalid, []string{"input", "items"}, "an order creates at most %d resources", MaxResources)
	}
	return nil
}

// price is the one computation behind Quote and PlaceOrder: the catalog
// turns each item into a price snapshot, the coupon service checks the
// coupon for the account, and pricing.QuoteOrder prices the lot. It runs
// inside tx so that PlaceOrder reserves the very coupon it priced with.
func (s *Service) price(ctx context.Context, tx *ent.Tx, accountID pulid.ID, items []ItemInput, couponCode string) (*pricedOrder, error) {
	if err := validateItems(items); err != nil {
		return nil, err
	}
	client := tx.Client()
	po := &pricedOrder{items: make([]pricedItem, len(items))}
	qitems := make([]pricing.QuoteItem, len(items))
	for i, it := range items {
		prefix := []string{"input", "items", strconv.Itoa(i)}
		pl, err := s.plans.Active(ctx, client, it.PlanRef)
		if err != nil {
			return nil, withField(err, prefix...)
		}
		comps, err := catalog.PriceComponents(pl, catalog.Prepaid, it.Quantities)
		if err != nil {
			return nil, withField(err, prefix...)
		}
		prod := pl.Edges.Product
		if err := catalog.AllowedPeriod(prod, it.Months); err != nil {
			return nil, withField(err, prefix...)
		}
		po.items[i] = pricedItem{plan: pl, components: comps, count: it.Count, months: it.Months}
		qitems[i] = pricing.QuoteItem{
			Key:         strconv.Itoa(i),
			ProductCode: prod.Code,
			PlanCode:    pl.Code,
			Components:  comps,
			Count:       it.Count,
			Months:      it.Months,
		}
	}
	var terms *pricing.CouponTerms
	if strings.TrimSpace(couponCode) != "" {
		c, t, err := s.coupons.Check(ctx, tx, couponCode, accountID)
		if err != nil {
			return nil, err
		}
		po.coupon, terms = c, &t
	}
	q, err := pricing.QuoteOrder(qitems, terms)
	if err != nil {
		return nil, err
	}
	po.quote = q
	return po, nil
}

// errQuoteDone rolls back the read-only transaction of Quote.
var errQuoteDone = errors.New("quote done")

// Quote prices a checkout exactly as PlaceOrder will (the same function),
// without writing anything. Expected failures are faults naming the input
// field: ["input","items",i,"plan"|"quantities"|"months"|"count"],
// ["input","couponCode"].
func (s *Service) Quote(ctx context.Context, in QuoteInput) (pricing.Quote, error) {
	a, err := resolveActor(ctx, in.AccountID, true)
	if err != nil {
		return pricing.Quote{}, err
	}
	var q pricing.Quote
	err = store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		if _, err := checkAccount(ctx, tx, a.accountID); err != nil {
			return err
		}
		po, err := s.price(ctx, tx, a.accountID, in.Items, in.CouponCode)
		if err != nil {
			return err
		}
		q = po.quote
		// The coupon check only reads; never keep anything.
		return errQuoteDone
	})
	if err != nil && !errors.Is(err, errQuoteDone) {
		return pricing.Quote{}, fmt.Errorf("quote: %w", err)
	}
	return q, nil
}

// resourceQuote rebuilds the quote of one resource from what its order
// item stored (price snapshot, months, coupon share), with the same
// pricing.QuoteOrder: one item of one resource and a FIXED coupon of
// exactly its share. Lines, VAT and totals depend only on those, so the
// invoice carries exactly what the customer was quoted; PlaceOrder checks
// this for every resource before it commits (checkRebuild).
func resourceQuote(productCode, planCode string, comps []pricing.Component, months int, share money.Amount) (pricing.ResourceQuote, error) {
	var terms *pricing.CouponTerms
	if share.IsPositive() {
		terms = &pricing.CouponTerms{Code: "share", Kind: pricing.CouponFixed, Amount: share}
	}
	q, err := pricing.QuoteOrder([]pricing.QuoteItem{{
		Key: "0", ProductCode: productCode, PlanCode: planCode, Components: comps, Count: 1, Months: months,
	}}, terms)
	if err != nil {
		return pricing.ResourceQuote{}, fmt.Errorf("rebuild resource quote: %w", err)
	}
	return q.Resources[0], nil
}

// checkRebuild fails when the rebuilt quote of a resource differs from
// the one shown to the customer in any amount.
func checkRebuild(want, got pricing.ResourceQuote) error {
	same := len(want.Lines) == len(got.Lines) &&
		want.Amount.Equal(got.Amount) && want.CouponShare.Equal(got.CouponShare) &&
		want.Total.Equal(got.Total) && want.VAT.Equal(got.VAT) &&
		want.PreTax.Equal(got.PreTax) && want.Payable.Equal(got.Payable)
	for i := 0; same && i < len(want.Lines); i++ {
		w, g := want.Lines[i], got.Lines[i]
		same = w.Code == g.Code && w.Amount.Equal(g.Amount) && w.UnitPrice.Equal(g.UnitPrice) &&
			w.Quantity == g.Quantity && w.DurationMinutes == g.DurationMinutes
	}
	if !same {
		return fmt.Errorf("checkout: the invoice of resource %s/%d would differ from its quote", want.ItemKey, want.Index)
	}
	return nil
}
