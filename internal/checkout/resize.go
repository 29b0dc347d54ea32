package checkout

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/predicate"
	"billing/ent/resource"
	"billing/internal/catalog"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// ResizeOperation names Resize in idempotency records.
const ResizeOperation = "checkout.resize"

// ResizeInput changes the configuration of a prepaid resource for the
// rest of its period.
type ResizeInput struct {
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	ResourceID     pulid.ID
	// PlanRef is the new plan (id or code) of the same product; empty
	// keeps the plan and changes quantities only.
	PlanRef string
	// Quantities are per component code. Missing components keep their
	// current quantity when the plan stays, else take their default.
	Quantities map[string]int64
	// Method pays the difference when it is positive (required then);
	// ReturnURL, LinkedAccountID and IPAddr are as for PlaceOrder.
	Method          payment.Method
	ReturnURL       string
	LinkedAccountID pulid.ID
	IPAddr          string
}

// ResizeResult is what Resize did.
type ResizeResult struct {
	// Order is the order paying a positive difference (its payment may
	// still be open); nil when nothing was due and the resize was applied
	// at once.
	Order *OrderResult
	// Resource is the resource as it is now.
	Resource *ent.Resource
	// Invoice is the RESIZE invoice, once the resize is applied (nil
	// while its payment is open or when it failed).
	Invoice *ent.Invoice
	// OldValue is the unused value of the old configuration, NewValue the
	// new configuration for the same time and Difference = NewValue −
	// OldValue, as priced (SPEC §5).
	OldValue, NewValue, Difference money.Amount
	// Refunded is what went back to credit (a negative difference).
	Refunded money.Amount
	// Replayed is set when the key had been used for this same request.
	Replayed bool
}

// resizeRequest is what an idempotency key of Resize is bound to.
type resizeRequest struct {
	ResourceID      pulid.ID         `json:"resourceId"`
	PlanRef         string           `json:"plan"`
	Quantities      map[string]int64 `json:"quantities,omitempty"`
	Method          payment.Method   `json:"method"`
	ReturnURL       string           `json:"returnUrl"`
	LinkedAccountID pulid.ID         `json:"linkedAccountId"`
}

// resized is what the idempotency record of Resize keeps.
type resized struct {
	ResourceID pulid.ID     `json:"resourceId"`
	OrderID    pulid.ID     `json:"orderId,omitempty"`
	PaymentID  pulid.ID     `json:"paymentId,omitempty"`
	InvoiceID  pulid.ID     `json:"invoiceId,omitempty"`
	OldValue   money.Amount `json:"oldValue"`
	NewValue   money.Amount `json:"newValue"`
	Refunded   money.Amount `json:"refunded"`
}

// Resize changes a prepaid resource's configuration until the end of its
// period, which does not move (SPEC §5). With m the whole minutes left,
//
//	difference = round(new price × m / 43,200) − round(old price snapshot × m / 43,200)
//
// (pricing.ResizeDifference). Positive: an order with one RESIZE item is
// paid through the checkout by in.Method, and the resize is applied in the
// payment's transaction. Zero or negative: the resize is applied at once,
// and a negative difference is refunded to credit (REFUND) in the same
// transaction. Either way the resource gets the new plan, components and
// price snapshot and a PAID RESIZE invoice for [now, end) with two lines
// (the unused value of the old configuration, negative; the new one for
// the remaining time, positive), and the earlier invoices covering that
// time record that they were superseded (superseded_by_id).
//
// A refund never exceeds what was actually paid for the remaining time
// (UnusedPaid): when a coupon paid for part of it, the invoice has a third
// line for the discount that is not refunded. Only ACTIVE and STOPPED
// resources with time left are resized; the plan must be of the same
// product and differ from the current configuration.
func (s *Service) Resize(ctx context.Context, in ResizeInput) (*ResizeResult, error) {
	defer s.serving()()
	a, err := resourceActor(ctx)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if in.ResourceID == "" {
		return nil, fault.New(fault.Invalid, "choose a resource", "input", "resourceId")
	}
	var pay payWith
	if in.Method != "" {
		if pay, err = s.validatePayment(in.Method, in.ReturnURL, in.LinkedAccountID); err != nil {
			return nil, err
		}
	}
	req := resizeRequest{
		ResourceID: in.ResourceID, PlanRef: strings.TrimSpace(in.PlanRef), Quantities: in.Quantities,
		Method: in.Method, ReturnURL: pay.returnURL, LinkedAccountID: in.LinkedAccountID,
	}
	now := s.now()
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, ResizeOperation, req,
		func(ctx context.Context, tx *ent.Tx) (resized, error) {
			return s.resizeTx(ctx, tx, req, pay, in.IdempotencyKey, now)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("resize %s: %w", in.ResourceID, err)
	}
	res := &ResizeResult{
		OldValue: rec.OldValue, NewValue: rec.NewValue, Difference: rec.NewValue.Sub(rec.OldValue),
		Refunded: rec.Refunded, Replayed: replayed,
	}
	invoiceID := rec.InvoiceID
	if rec.PaymentID != "" {
		if !replayed || in.Method != payment.MethodLINKED_ACCOUNT {
			s.advance(ctx, rec.PaymentID, in.IPAddr, !replayed)
		}
		if res.Order, err = s.orderResult(ctx, placed{OrderID: rec.OrderID, PaymentID: rec.PaymentID}, replayed); err != nil {
			return nil, err
		}
		if ids := res.Order.Payment.InvoiceIds; len(ids) > 0 {
			invoiceID = pulid.ID(ids[0])
		}
	}
	if res.Resource, err = s.db.Client.Resource.Get(ctx, rec.ResourceID); err != nil {
		return nil, fmt.Errorf("resize %s: read resource: %w", rec.ResourceID, err)
	}
	if invoiceID != "" {
		if res.Invoice, err = s.db.Client.Invoice.Get(ctx, invoiceID); err != nil {
			return nil, fmt.Errorf("resize %s: read invoice: %w", rec.ResourceID, err)
		}
	}
	return res, nil
}

// resizeTx is Resize's transaction.
func (s *Service) resizeTx(ctx context.Context, tx *ent.Tx, req resizeRequest, pay payWith, key string, now time.Time) (resized, error) {
	pr, err := s.priceResize(ctx, tx, req, now)
	if err != nil {
		return resized{}, err
	}
	out := resized{ResourceID: pr.res.ID, OldValue: pr.oldValue, NewValue: pr.newValue}
	if pr.diff.IsPositive() {
		if req.Method == "" {
			return resized{}, fault.Newf(fault.Invalid, []string{"input", "paymentMethod"},
				"choose how to pay the difference of %s", pr.diff.Format())
		}
		pa := pricedAction{
			item: ActionItem{Action: orderitem.ActionRESIZE, ResourceID: pr.res.ID},
			res:  pr.res, planID: pr.plan.ID, components: pr.components, amount: pr.diff,
		}
		pl, err := s.placeActions(ctx, tx, pr.res.AccountID, []pricedAction{pa}, pay, key, now, invoice.ActionRENEW)
		if err != nil {
			return resized{}, err
		}
		out.OrderID, out.PaymentID = pl.OrderID, pl.PaymentID
		return out, nil
	}
	inv, refund, err := s.resize(ctx, tx, pr.res, pr.plan, pr.components, now, now, "")
	if err != nil {
		return resized{}, err
	}
	out.InvoiceID, out.Refunded = inv.ID, refund
	return out, nil
}

// pricedResize is a resize priced against its locked resource.
type pricedResize struct {
	res        *ent.Resource
	plan       *ent.Plan // the new plan, with its product
	components []pricing.Component
	oldValue   money.Amount
	newValue   money.Amount
	diff       money.Amount
}

// priceResize locks the resource, checks that it may be resized now and
// prices the new configuration (see Resize).
func (s *Service) priceResize(ctx context.Context, tx *ent.Tx, req resizeRequest, now time.Time) (*pricedResize, error) {
	r, err := s.machine.Lock(ctx, tx, req.ResourceID)
	if err != nil {
		return nil, err
	}
	if err := prepaid(r, orderitem.ActionRESIZE); err != nil {
		return nil, err
	}
	if err := state.Check(state.Resize, r); err != nil {
		return nil, err
	}
	m := int64(0)
	if r.PeriodEnd != nil {
		m = minutesBetween(now, *r.PeriodEnd)
	}
	if m <= 0 {
		return nil, fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
			"cannot resize %s: its period has ended; renew it first", r.Name)
	}
	if _, err := checkAccount(ctx, tx, r.AccountID); err != nil {
		return nil, err
	}
	if busy, err := openAction(ctx, tx, []pulid.ID{r.ID}); err != nil {
		return nil, err
	} else if busy != "" {
		return nil, fault.Newf(fault.Conflict, []string{"input", "resourceId"},
			"a payment for %s is already in progress; finish or abandon it first", r.Name)
	}
	ref := req.PlanRef
	if ref == "" {
		ref = string(r.PlanID)
	}
	pl, err := s.plans.Active(ctx, tx.Client(), ref)
	if err != nil {
		return nil, withField(err, "input")
	}
	if pl.ProductID != r.ProductID {
		return nil, fault.Newf(fault.Invalid, []string{"input", "plan"},
			"%s can only be resized to another %s plan", r.Name, pl.Edges.Product.Name)
	}
	want := map[string]int64{}
	if pl.ID == r.PlanID {
		want = quantities(r.Components)
	}
	maps.Copy(want, req.Quantities)
	comps, err := catalog.PriceComponents(pl, catalog.Prepaid, want)
	if err != nil {
		return nil, withField(err, "input")
	}
	if pl.ID == r.PlanID && maps.Equal(quantities(comps), quantities(r.Components)) {
		return nil, fault.New(fault.Invalid, "the new configuration is the current one", "input", "plan")
	}
	oldValue, newValue, diff := pricing.ResizeDifference(r.PeriodPrice, catalog.PeriodPrice(comps), m)
	return &pricedResize{res: r, plan: pl, components: comps, oldValue: oldValue, newValue: newValue, diff: diff}, nil
}

// applyPaidResize applies a paid RESIZE item: the resize takes effect at
// the time it was priced (the order's creation), so the customer gets
// exactly the time paid for. It is refused (and refunded) when the
// resource changed since: another state, another end or snapshot.
func (s *Service) applyPaidResize(ctx context.Context, tx *ent.Tx, o *ent.Order, it *ent.OrderItem, r *ent.Resource, now time.Time) (*ent.Invoice, error) {
	if err := state.Check(state.Resize, r); err != nil {
		return nil, err
	}
	at := o.CreatedAt.UTC()
	if r.PeriodEnd == nil || minutesBetween(at, *r.PeriodEnd) <= 0 {
		return nil, fault.Newf(fault.InvalidState, nil, "the period of %s has ended", r.Name)
	}
	_, _, diff := pricing.ResizeDifference(r.PeriodPrice, catalog.PeriodPrice(it.Components), minutesBetween(at, *r.PeriodEnd))
	if !diff.Equal(it.Total) {
		return nil, fault.Newf(fault.Conflict, nil, "%s changed after the resize was priced", r.Name)
	}
	pl, err := tx.Plan.Get(ctx, it.PlanID)
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", it.PlanID, err)
	}
	inv, _, err := s.resize(ctx, tx, r, pl, it.Components, at, now, o.ID)
	return inv, err
}

// resizeLine is one line of a RESIZE invoice: the value of a configuration
// for the remaining minutes.
type resizeLine struct {
	description string
	unitPrice   money.Amount
	minutes     int64
	amount      money.Amount
	// components the amount is split over for VAT.
	components []pricing.Component
}

// resize applies a new configuration to the locked resource r from `at`
// to the end of its period, inside tx: the resource's snapshot, a refund
// of a negative difference (capped at what was paid for the remaining
// time), the RESIZE invoice and the supersession of the invoices it
// replaces. The resource's period becomes [at, end) with period_paid =
// what was paid for the remaining time + the invoice's total, so that a
// later deletion refunds from the new configuration.
func (s *Service) resize(ctx context.Context, tx *ent.Tx, r *ent.Resource, pl *ent.Plan, comps []pricing.Component,
	at, now time.Time, orderID pulid.ID) (*ent.Invoice, money.Amount, error) {
	end := *r.PeriodEnd
	m := minutesBetween(at, end)
	oldPrice, newPrice := r.PeriodPrice, catalog.PeriodPrice(comps)
	oldValue, newValue, diff := pricing.ResizeDifference(oldPrice, newPrice, m)
	oldPlan, err := tx.Plan.Get(ctx, r.PlanID)
	if err != nil {
		return nil, money.Zero, fmt.Errorf("read plan %s: %w", r.PlanID, err)
	}
	paidLeft := UnusedPaid(r, at)
	lines := []resizeLine{
		{description: "Unused time of the previous configuration (" + oldPlan.Name + ")",
			unitPrice: oldPrice, minutes: m, amount: oldValue.Neg(), components: r.Components},
		{description: "New configuration (" + pl.Name + ") for the remaining time",
			unitPrice: newPrice, minutes: m, amount: newValue, components: comps},
	}
	refund := money.Zero
	if diff.IsNegative() {
		refund = money.Min(diff.Neg(), paidLeft)
		if kept := diff.Neg().Sub(refund); kept.IsPositive() {
			lines = append(lines, resizeLine{description: "Discount on the unused time, not refunded",
				unitPrice: kept, minutes: m, amount: kept, components: r.Components})
		}
	}
	total := money.Zero
	for _, l := range lines {
		total = total.Add(l.amount)
	}
	paid := money.MaxOf(paidLeft.Add(total), money.Zero)
	cur, err := s.machine.Apply(ctx, tx, state.Resize, r, now, state.Change{
		Set: func(u *ent.ResourceUpdate) {
			u.SetPlanID(pl.ID).SetComponents(comps).SetPeriodPrice(newPrice).SetPeriodStart(at).SetPeriodPaid(paid)
		},
		Where:  []predicate.Resource{resource.PeriodEnd(end)},
		Reason: "resized",
	})
	if err != nil {
		return nil, money.Zero, err
	}
	// Wallet before the invoice sequence: the lock order.
	if refund.IsPositive() {
		_, err := s.ledger.Credit(ctx, tx, ledger.Movement{
			AccountID: cur.AccountID, Amount: refund, Kind: ledgertransaction.KindREFUND,
			Counter: ledgeraccount.KindREFUNDS,
			Memo:    ledger.Memo{Description: "Refund: " + cur.Name + " resized down", Reference: string(cur.ID), At: now},
		})
		if err != nil {
			return nil, money.Zero, fmt.Errorf("refund resize of %s: %w", cur.ID, err)
		}
	}
	inv, err := s.resizeInvoice(ctx, tx, cur, lines, at, end, orderID, now)
	if err != nil {
		return nil, money.Zero, err
	}
	return inv, refund, nil
}

// resizeInvoice issues the PAID RESIZE invoice of r for [start, end) with
// lines, and marks the invoices it supersedes. Its total is the sum of the
// lines and may be negative (a credit note settled by the refund); VAT is
// the VAT contained in it, rounded once per rate.
func (s *Service) resizeInvoice(ctx context.Context, tx *ent.Tx, r *ent.Resource, lines []resizeLine,
	start, end time.Time, orderID pulid.ID, now time.Time) (*ent.Invoice, error) {
	total := money.Zero
	for _, l := range lines {
		total = total.Add(l.amount)
	}
	vat, err := resizeVAT(lines)
	if err != nil {
		return nil, fmt.Errorf("resize invoice of %s: %w", r.ID, err)
	}
	// Numbered at commit (on SQLite here: one writer at a time).
	id := pulid.New("inv")
	code, err := s.invoices.CodeAtCommit(ctx, tx, id, now)
	if err != nil {
		return nil, err
	}
	start, end = start.UTC(), end.UTC()
	c := tx.Invoice.Create().
		SetID(id).
		SetCode(code).
		SetAccountID(r.AccountID).
		SetResourceID(r.ID).
		SetProductID(r.ProductID).
		SetAction(invoice.ActionRESIZE).
		SetStatus(invoice.StatusPAID).
		SetPeriodStart(start).
		SetPeriodEnd(end).
		SetSubtotal(total.Sub(vat)).
		SetVat(vat).
		SetDiscount(money.Zero).
		SetTotal(total).
		SetAmountPaid(total).
		SetIssuedAt(now).
		SetPaidAt(now).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if orderID != "" {
		c.SetOrderID(orderID)
	}
	inv, err := c.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create invoice %s for %s: %w", code, r.ID, err)
	}
	creates := make([]*ent.InvoiceLineCreate, len(lines))
	for i, l := range lines {
		creates[i] = tx.InvoiceLine.Create().
			SetInvoiceID(inv.ID).
			SetAccountID(r.AccountID).
			SetPosition(i + 1).
			SetDescription(l.description).
			SetUnitPrice(l.unitPrice).
			SetQuantity(1).
			SetDurationMinutes(l.minutes).
			SetPeriodStart(start).
			SetPeriodEnd(end).
			SetCouponShare(money.Zero).
			SetAmount(l.amount)
	}
	if err := tx.InvoiceLine.CreateBulk(creates...).Exec(ctx); err != nil {
		return nil, fmt.Errorf("create lines of invoice %s: %w", code, err)
	}
	err = tx.Invoice.Update().
		Where(invoice.ResourceID(r.ID), invoice.IDNEQ(inv.ID), invoice.ActionNEQ(invoice.ActionMONTHLY),
			invoice.PeriodEndGT(start),
			invoice.Or(invoice.SupersededByIDIsNil(), invoice.SupersededByIDEQ(""))).
		SetSupersededByID(inv.ID).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("supersede invoices of %s: %w", r.ID, err)
	}
	return inv, nil
}

// resizeVAT is the VAT contained in the lines' total: each line is split
// over its configuration's VAT rates in proportion to the components'
// prices (whole VND), the parts are summed per rate, and each rate's sum
// gets its VAT once (pricing.InclusiveVAT). Prepaid snapshots are always
// VAT-inclusive.
func resizeVAT(lines []resizeLine) (money.Amount, error) {
	var (
		rates []money.Amount
		sums  []money.Amount
	)
	for _, l := range lines {
		weights := make([]money.Amount, len(l.components))
		for k, c := range l.components {
			if !c.VATIncluded {
				return money.Zero, fmt.Errorf("component %s is not VAT-inclusive", c.Code)
			}
			weights[k] = c.UnitPrice.MulInt(c.Quantity)
		}
		for k, part := range pricing.SplitProportional(l.amount, weights) {
			rate := l.components[k].VATRate
			i := -1
			for j, r := range rates {
				if r.Equal(rate) {
					i = j
					break
				}
			}
			if i < 0 {
				rates, sums = append(rates, rate), append(sums, money.Zero)
				i = len(rates) - 1
			}
			sums[i] = sums[i].Add(part)
		}
	}
	vat := money.Zero
	for i, rate := range rates {
		vat = vat.Add(pricing.InclusiveVAT(sums[i], rate))
	}
	return vat, nil
}
