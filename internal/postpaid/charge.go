package postpaid

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// Interval is a usage interval as billed: one configuration of a resource
// from Start to End (nil while it is still open), both on whole minutes.
type Interval struct {
	ResourceID      pulid.ID
	Start           time.Time
	End             *time.Time
	Components      []pricing.Component
	DiscountPercent money.Amount

	// groups caches groupByRate(Components) when many intervals share
	// one configuration (month-end parses each distinct one once).
	groups []rateGroup
}

// Line is one invoice line: one usage interval clipped to a window (one
// line per VAT rate when a configuration mixes rates, which the catalog
// never does).
type Line struct {
	Description string
	// UnitPrice and Quantity are the component's when the configuration
	// has one priced component; otherwise UnitPrice is the whole
	// configuration's price per 30 days and Quantity 1.
	UnitPrice money.Amount
	Quantity  int64
	// Minutes the configuration ran in the window.
	Minutes int64
	// Start and End are the interval clipped to the window.
	Start, End      time.Time
	DiscountPercent money.Amount
	// VATRate is the rate of the line's components, in percent.
	VATRate money.Amount
	// Amount is the pre-tax amount, rounded half-up once to whole VND.
	Amount money.Amount
}

// Bill is what a resource owes for a window: its lines, their pre-tax
// subtotal, the VAT on top, the coupon discount and the total.
type Bill struct {
	Lines    []Line
	Subtotal money.Amount
	VAT      money.Amount
	Discount money.Amount
	Total    money.Amount
}

// lineDenominator is 43,200 minutes × 100 (the discount is in percent).
var (
	lineDenominator = decimal.NewFromInt(money.MinutesPer30Days * 100)
	hundred         = decimal.NewFromInt(100)
)

// lineDigits is how many decimals LineAmount keeps before its one
// rounding. The exact value is N / 4,320,000 with N a multiple of 10⁻⁸
// (unit prices and discounts have at most 4 decimals), so it lies either
// exactly on a half-VND or at least 1/(4.32·10¹⁴) away from one: 20
// decimals never change how it rounds.
const lineDigits = 20

// LineAmount is the pre-tax amount of a line (SPEC §7):
//
//	round(minutes × unit price × quantity × (100 − discount %) / (100 × 43,200))
//
// rounded half-up once to whole VND.
func LineAmount(unitPrice money.Amount, quantity, minutes int64, discountPercent money.Amount) money.Amount {
	v := unitPrice.Decimal().
		Mul(decimal.NewFromInt(quantity)).
		Mul(decimal.NewFromInt(minutes)).
		Mul(hundred.Sub(discountPercent.Decimal()))
	return money.FromDecimal(v.DivRound(lineDenominator, lineDigits)).RoundVND()
}

// minutesIn is the number of whole minutes of [start, end) inside
// [from, to); every bound is on a whole minute.
func minutesIn(start time.Time, end *time.Time, from, to time.Time) (int64, time.Time, time.Time) {
	s := start
	if s.Before(from) {
		s = from
	}
	e := to
	if end != nil && end.Before(e) {
		e = *end
	}
	if !e.After(s) {
		return 0, s, e
	}
	return int64(e.Sub(s) / time.Minute), s, e
}

// BillIntervals computes what the intervals of one resource cost in the
// window [from, to) (a billing month, or the month so far), both on whole
// minutes: one line per interval with minutes in the window, rounded once;
// the subtotal is the sum of the lines; the VAT is computed once on the
// subtotal (once per rate if rates were mixed) and rounded once; no coupon
// applies to postpaid usage, so the discount is zero and
// total = subtotal + VAT.
func BillIntervals(intervals []Interval, from, to time.Time) Bill {
	var b Bill
	byRate := map[string]money.Amount{}
	var rates []money.Amount
	for _, iv := range intervals {
		minutes, s, e := minutesIn(iv.Start, iv.End, from, to)
		if minutes <= 0 {
			continue
		}
		groups := iv.groups
		if groups == nil {
			groups = groupByRate(iv.Components)
		}
		for _, g := range groups {
			l := Line{
				Description:     g.description,
				UnitPrice:       g.unitPrice,
				Quantity:        g.quantity,
				Minutes:         minutes,
				Start:           s,
				End:             e,
				DiscountPercent: iv.DiscountPercent,
				VATRate:         g.rate,
			}
			l.Amount = LineAmount(l.UnitPrice, l.Quantity, minutes, iv.DiscountPercent)
			b.Lines = append(b.Lines, l)
			b.Subtotal = b.Subtotal.Add(l.Amount)
			k := g.rate.String()
			if _, ok := byRate[k]; !ok {
				rates = append(rates, g.rate)
			}
			byRate[k] = byRate[k].Add(l.Amount)
		}
	}
	slices.SortFunc(rates, func(a, b money.Amount) int { return a.Cmp(b) })
	for _, r := range rates {
		b.VAT = b.VAT.Add(pricing.ExclusiveVAT(byRate[r.String()], r))
	}
	b.Total = b.Subtotal.Add(b.VAT).Sub(b.Discount)
	return b
}

// MonthlyCharge is what a configuration costs for one 30-day month
// (43,200 minutes), VAT included: the amount the credit-limit check adds
// for a new or enlarged resource.
func MonthlyCharge(components []pricing.Component, discountPercent money.Amount) money.Amount {
	t := time.Unix(0, 0).UTC()
	end := t.Add(money.MinutesPer30Days * time.Minute)
	return BillIntervals([]Interval{{Start: t, End: &end, Components: components, DiscountPercent: discountPercent}}, t, end).Total
}

// rateGroup is the components of one configuration at one VAT rate, as
// one line.
type rateGroup struct {
	rate        money.Amount
	description string
	unitPrice   money.Amount
	quantity    int64
}

// groupByRate makes the line(s) of a configuration: one per VAT rate, in
// the order the rates first appear. A group of one component shows its
// own unit price and quantity; a group of several shows the price of the
// group per 30 days with quantity 1 and names each part.
func groupByRate(cs []pricing.Component) []rateGroup {
	var out []rateGroup
	members := map[string][]pricing.Component{}
	for _, c := range cs {
		k := c.VATRate.String()
		if _, ok := members[k]; !ok {
			out = append(out, rateGroup{rate: c.VATRate})
		}
		members[k] = append(members[k], c)
	}
	for i := range out {
		m := members[out[i].rate.String()]
		if len(m) == 1 {
			out[i].description = m[0].Name
			out[i].unitPrice = m[0].UnitPrice
			out[i].quantity = m[0].Quantity
			continue
		}
		parts := make([]string, 0, len(m))
		for _, c := range m {
			out[i].unitPrice = out[i].unitPrice.Add(c.UnitPrice.MulInt(c.Quantity))
			if c.Quantity > 0 {
				parts = append(parts, fmt.Sprintf("%s × %d %s", c.Name, c.Quantity, c.Unit))
			}
		}
		out[i].description = strings.Join(parts, ", ")
		out[i].quantity = 1
	}
	return out
}

// Month is the billing month that t falls in, in loc: [first day 00:00,
// first day of the next month 00:00) local, as UTC instants.
func Month(t time.Time, loc *time.Location) (start, end time.Time) {
	l := t.In(loc)
	s := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	return s.UTC(), s.AddDate(0, 1, 0).UTC()
}

// PreviousMonth is the billing month before the one t falls in: the month
// that month-end at t invoices.
func PreviousMonth(t time.Time, loc *time.Location) (start, end time.Time) {
	s, _ := Month(t, loc)
	return Month(s.Add(-time.Minute), loc)
}

// minute truncates an instant to its whole minute, in UTC. Usage is
// metered in whole minutes; billing zones have whole-minute offsets, so
// this is the same minute in every zone.
func minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }
