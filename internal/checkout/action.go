package checkout

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/predicate"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/invoicing"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// PlaceActionOrderOperation names PlaceActionOrder in idempotency records.
const PlaceActionOrderOperation = "checkout.placeActionOrder"

// ActionItem is one action on an existing resource: RENEW it for Months
// more months, or RECOVER it from the trash for Months months.
type ActionItem struct {
	Action     orderitem.Action `json:"action"`
	ResourceID pulid.ID         `json:"resourceId"`
	// Months is one of the product's allowed periods.
	Months int `json:"months"`
}

// ActionOrderInput pays for actions on existing resources (SPEC §5) with
// one payment, exactly like PlaceOrder pays for new ones.
type ActionOrderInput struct {
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	// Items are the actions, one per resource, all of one account.
	Items []ActionItem
	// Method, ReturnURL, LinkedAccountID and IPAddr are as for PlaceOrder.
	Method          payment.Method
	ReturnURL       string
	LinkedAccountID pulid.ID
	IPAddr          string
}

// actionRequest is what an idempotency key of PlaceActionOrder is bound to.
type actionRequest struct {
	Items           []ActionItem   `json:"items"`
	Method          payment.Method `json:"method"`
	ReturnURL       string         `json:"returnUrl"`
	LinkedAccountID pulid.ID       `json:"linkedAccountId"`
}

// validateActionItems checks the shape of action items before any lookup.
func validateActionItems(items []ActionItem) error {
	if len(items) == 0 {
		return fault.New(fault.Invalid, "choose at least one resource", "input", "items")
	}
	if len(items) > MaxResources {
		return fault.Newf(fault.Invalid, []string{"input", "items"}, "an order acts on at most %d resources", MaxResources)
	}
	seen := make(map[pulid.ID]bool, len(items))
	for i, it := range items {
		field := func(name string) []string { return []string{"input", "items", strconv.Itoa(i), name} }
		switch {
		case it.Action != orderitem.ActionRENEW && it.Action != orderitem.ActionRECOVER:
			return fault.Newf(fault.Invalid, field("action"), "%q is not an action an order can pay for", it.Action)
		case it.ResourceID == "":
			return fault.New(fault.Invalid, "choose a resource", field("resourceId")...)
		case seen[it.ResourceID]:
			return fault.New(fault.Invalid, "a resource can appear only once in an order", field("resourceId")...)
		case it.Months <= 0:
			return fault.New(fault.Invalid, "the period must be at least one month", field("months")...)
		}
		seen[it.ResourceID] = true
	}
	return nil
}

// resourceActor decides who a customer-facing action on existing resources
// acts as. The account is the resources' own: customers only see theirs
// (the tenant filter turns another account's resource into NOT_FOUND);
// operators and the process act on any. Read-only members and product
// services may not.
func resourceActor(ctx context.Context) (actor, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return actor{}, fault.New(fault.Unauthenticated, "authentication required")
	}
	switch {
	case v.Role == auth.RoleCustomer:
		if v.AccountID == "" {
			return actor{}, fault.New(fault.Forbidden, "the token belongs to no account")
		}
		return actor{viewer: v, accountID: pulid.ID(v.AccountID)}, nil
	case v.Role == auth.RoleViewer:
		return actor{}, fault.New(fault.Forbidden, "read-only members cannot do this")
	case v.IsAdmin() || v.IsSystem():
		return actor{viewer: v}, nil
	default:
		return actor{}, fault.New(fault.Forbidden, "this caller cannot do this")
	}
}

// PlaceActionOrder creates an order that renews or recovers existing
// prepaid resources and takes its one payment by in.Method, like
// PlaceOrder: one order item per resource (action RENEW or RECOVER), the
// payment collected in the same transaction as the order, the gateway
// called after commit.
//
//   - RENEW: amount = the resource's price snapshot × Months; from ACTIVE,
//     STOPPED, GRACE or SUSPENDED (for expiry). Once paid, the period is
//     extended from its current end by Months × 30 days (lapsed days are
//     paid) and a GRACE or SUSPENDED resource runs again (ACTIVE).
//   - RECOVER: priced like a new purchase (the plan's current prepaid price
//     for the resource's quantities) from the trash, within its window.
//     Once paid the resource is ACTIVE for [now, now + Months × 30 days).
//
// Each resource gets a PAID invoice (RENEW, RECOVER) in the transaction
// that records the payment; a failed, canceled or expired payment changes
// nothing on the resources. An action that can no longer be applied when
// the payment arrives (the resource was released or deleted meanwhile) is
// refunded to credit. A resource with an unfinished action payment cannot
// get another one (fault.Conflict). Faults name
// ["input","items",i,"resourceId"|"months"|…].
func (s *Service) PlaceActionOrder(ctx context.Context, in ActionOrderInput) (*OrderResult, error) {
	defer s.serving()()
	a, err := resourceActor(ctx)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if err := validateActionItems(in.Items); err != nil {
		return nil, err
	}
	pay, err := s.validatePayment(in.Method, in.ReturnURL, in.LinkedAccountID)
	if err != nil {
		return nil, err
	}
	req := actionRequest{Items: in.Items, Method: in.Method, ReturnURL: pay.returnURL, LinkedAccountID: in.LinkedAccountID}
	now := s.now()
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, PlaceActionOrderOperation, req,
		func(ctx context.Context, tx *ent.Tx) (placed, error) {
			pas, acc, err := s.priceActions(ctx, tx, in.Items, now)
			if err != nil {
				return placed{}, err
			}
			return s.placeActions(ctx, tx, acc, pas, pay, in.IdempotencyKey, now, invoice.ActionRENEW)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("place action order: %w", err)
	}
	if !replayed || in.Method != payment.MethodLINKED_ACCOUNT {
		s.advance(ctx, rec.PaymentID, in.IPAddr, !replayed)
	}
	return s.orderResult(ctx, rec, replayed)
}

// payWith is a validated choice of payment.
type payWith struct {
	method    payment.Method
	returnURL string
	linkID    pulid.ID
}

// validatePayment checks a payment choice as PlaceOrder does.
func (s *Service) validatePayment(method payment.Method, returnURL string, linkID pulid.ID) (payWith, error) {
	if payment.MethodValidator(method) != nil {
		return payWith{}, fault.New(fault.Invalid, "choose a payment method", "input", "paymentMethod")
	}
	u, err := s.returnURL(returnURL, needsRedirect(method))
	if err != nil {
		return payWith{}, err
	}
	if method == payment.MethodLINKED_ACCOUNT && linkID == "" {
		return payWith{}, fault.New(fault.Invalid, "choose the linked account to charge", "input", "linkedAccountId")
	}
	return payWith{method: method, returnURL: u, linkID: linkID}, nil
}

// pricedAction is one action item priced against its locked resource.
type pricedAction struct {
	item       ActionItem
	res        *ent.Resource
	planID     pulid.ID
	components []pricing.Component
	months     int
	amount     money.Amount
}

// priceActions locks the items' resources (in id order), checks that they
// belong to one active account, may take the action now and have no
// unfinished action payment, and prices each action. Faults name the item.
func (s *Service) priceActions(ctx context.Context, tx *ent.Tx, items []ActionItem, now time.Time) ([]pricedAction, pulid.ID, error) {
	ids := make([]pulid.ID, len(items))
	for i, it := range items {
		ids[i] = it.ResourceID
	}
	rs, err := s.machine.LockAll(ctx, tx, ids)
	byID := make(map[pulid.ID]*ent.Resource, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	if err != nil {
		if !fault.Is(err, fault.NotFound) {
			return nil, "", err
		}
		for i, it := range items {
			if byID[it.ResourceID] == nil {
				return nil, "", fault.New(fault.NotFound, "resource not found", "input", "items", strconv.Itoa(i), "resourceId")
			}
		}
		return nil, "", err
	}
	accountID := rs[0].AccountID
	for i, it := range items {
		if byID[it.ResourceID].AccountID != accountID {
			return nil, "", fault.New(fault.Invalid, "all resources of an order must belong to one account",
				"input", "items", strconv.Itoa(i), "resourceId")
		}
	}
	if _, err := checkAccount(ctx, tx, accountID); err != nil {
		return nil, "", err
	}
	if busy, err := openAction(ctx, tx, ids); err != nil {
		return nil, "", err
	} else if busy != "" {
		i := slices.Index(ids, busy)
		return nil, "", fault.Newf(fault.Conflict, []string{"input", "items", strconv.Itoa(i), "resourceId"},
			"a payment for %s is already in progress; finish or abandon it first", byID[busy].Name)
	}
	out := make([]pricedAction, len(items))
	for i, it := range items {
		pa, err := s.priceAction(ctx, tx, it, byID[it.ResourceID], now)
		if err != nil {
			return nil, "", itemFault(err, i)
		}
		out[i] = pa
	}
	return out, accountID, nil
}

// priceAction prices one RENEW or RECOVER of r.
func (s *Service) priceAction(ctx context.Context, tx *ent.Tx, it ActionItem, r *ent.Resource, now time.Time) (pricedAction, error) {
	if err := prepaid(r, it.Action); err != nil {
		return pricedAction{}, err
	}
	prod, err := tx.Product.Get(ctx, r.ProductID)
	if err != nil {
		return pricedAction{}, fmt.Errorf("read product of %s: %w", r.ID, err)
	}
	pa := pricedAction{item: it, res: r, planID: r.PlanID, months: it.Months}
	switch it.Action {
	case orderitem.ActionRENEW:
		if err := checkRenewable(r); err != nil {
			return pricedAction{}, err
		}
		pa.components = r.Components
	case orderitem.ActionRECOVER:
		if err := checkRecoverable(r, now); err != nil {
			return pricedAction{}, err
		}
		// Like a new purchase: the plan's current price for the same
		// quantities.
		pl, err := s.plans.Active(ctx, tx.Client(), string(r.PlanID))
		if err != nil {
			return pricedAction{}, err
		}
		if pa.components, err = catalog.PriceComponents(pl, catalog.Prepaid, quantities(r.Components)); err != nil {
			return pricedAction{}, err
		}
	default:
		return pricedAction{}, fmt.Errorf("price action: unexpected %s", it.Action)
	}
	if err := catalog.AllowedPeriod(prod, it.Months); err != nil {
		return pricedAction{}, err
	}
	rq, err := resourceQuote("", "", pa.components, it.Months, money.Zero)
	if err != nil {
		return pricedAction{}, err
	}
	pa.amount = rq.Payable
	return pa, nil
}

// itemFault names item i in a fault's field: a field under "input" (or a
// catalog field such as "months") becomes ["input","items",i,…].
func itemFault(err error, i int) error {
	f, ok := fault.As(err)
	if !ok {
		return err
	}
	rest := f.Field
	if len(rest) > 0 && rest[0] == "input" {
		rest = rest[1:]
	}
	field := append([]string{"input", "items", strconv.Itoa(i)}, rest...)
	return &fault.Error{Code: f.Code, Field: field, Message: f.Message}
}

// prepaid refuses actions on postpaid resources: they are billed from
// usage (SPEC §7), never renewed, resized through checkout or recovered.
func prepaid(r *ent.Resource, action orderitem.Action) error {
	if r.BillingMode != resource.BillingModePREPAID {
		return fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
			"%s is billed postpaid: there is nothing to %s", r.Name, strings.ToLower(string(action)))
	}
	return nil
}

// checkRenewable refuses a renewal of r in its current state. A resource
// suspended for another reason than its expiry (an operator's decision)
// is not lifted by paying for time.
func checkRenewable(r *ent.Resource) error {
	if err := state.Check(state.Renew, r); err != nil {
		return err
	}
	if r.State == resource.StateSUSPENDED && r.SuspendReason != nil && *r.SuspendReason != resource.SuspendReasonEXPIRED {
		return fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
			"cannot renew %s: it was suspended (%s); contact support", r.Name, *r.SuspendReason)
	}
	if r.PeriodEnd == nil {
		return fault.Newf(fault.InvalidState, []string{"input", "resourceId"}, "cannot renew %s: it has no service period", r.Name)
	}
	return nil
}

// renewablePredicate is checkRenewable's condition on the suspension
// reason, for the conditional update.
func renewablePredicate() predicate.Resource {
	return resource.Or(
		resource.StateNEQ(resource.StateSUSPENDED),
		resource.SuspendReasonIsNil(),
		resource.SuspendReasonEQ(resource.SuspendReasonEXPIRED),
	)
}

// checkRecoverable refuses recovering r unless it is in the trash and its
// trash window has not ended.
func checkRecoverable(r *ent.Resource, now time.Time) error {
	if err := state.Check(state.Recover, r); err != nil {
		return err
	}
	if r.PurgeAt == nil || !now.Before(*r.PurgeAt) {
		return trashWindowEnded(r)
	}
	return nil
}

func trashWindowEnded(r *ent.Resource) error {
	when := "already"
	if r.PurgeAt != nil {
		when = "at " + r.PurgeAt.UTC().Format(time.RFC3339)
	}
	return fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
		"cannot recover %s: its time in the trash ended %s", r.Name, when)
}

// quantities are the component quantities of a configuration.
func quantities(comps []pricing.Component) map[string]int64 {
	q := make(map[string]int64, len(comps))
	for _, c := range comps {
		q[c.Code] = c.Quantity
	}
	return q
}

// openAction returns the first of ids with an unfinished action payment
// (a PENDING renew, resize or recover item), or "".
func openAction(ctx context.Context, tx *ent.Tx, ids []pulid.ID) (pulid.ID, error) {
	its, err := tx.OrderItem.Query().
		Where(orderitem.ResourceIDIn(ids...), orderitem.StatusEQ(orderitem.StatusPENDING),
			orderitem.ActionNEQ(orderitem.ActionCREATE)).
		All(ctx)
	if err != nil {
		return "", fmt.Errorf("read open actions: %w", err)
	}
	for _, id := range ids {
		for _, it := range its {
			if it.ResourceID == id {
				return id, nil
			}
		}
	}
	return "", nil
}

// placeActions creates the order, its items and its payment for priced
// actions and collects the payment (see PlaceActionOrder). renewAs is the
// invoice action of the renewals once paid.
func (s *Service) placeActions(ctx context.Context, tx *ent.Tx, accountID pulid.ID, pas []pricedAction, pay payWith,
	key string, now time.Time, renewAs invoice.Action) (placed, error) {
	var link *ent.LinkedAccount
	if pay.method == payment.MethodLINKED_ACCOUNT {
		var err error
		if link, err = s.linkedAccount(ctx, tx, accountID, pay.linkID); err != nil {
			return placed{}, err
		}
	}
	total := money.Zero
	for _, pa := range pas {
		total = total.Add(pa.amount)
	}
	o, err := tx.Order.Create().
		SetAccountID(accountID).
		SetStatus(order.StatusPENDING).
		SetSubtotal(total).
		SetDiscount(money.Zero).
		SetTotal(total).
		SetIdempotencyKey(key).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return placed{}, fmt.Errorf("create order: %w", err)
	}
	items := make([]*ent.OrderItemCreate, len(pas))
	for i, pa := range pas {
		// ULIDs from one process increase, so item ids keep input order.
		items[i] = tx.OrderItem.Create().
			SetID(pulid.New("oit")).
			SetAccountID(accountID).
			SetOrderID(o.ID).
			SetAction(pa.item.Action).
			SetPlanID(pa.planID).
			SetResourceID(pa.res.ID).
			SetQuantity(1).
			SetPeriodMonths(pa.months).
			SetComponents(pa.components).
			SetAmount(pa.amount).
			SetDiscount(money.Zero).
			SetTotal(pa.amount).
			SetStatus(orderitem.StatusPENDING).
			SetCreatedAt(now).
			SetUpdatedAt(now)
	}
	if err := tx.OrderItem.CreateBulk(items...).Exec(ctx); err != nil {
		return placed{}, fmt.Errorf("create order items: %w", err)
	}
	p, err := s.createPayment(ctx, tx, pulid.New("pay"), accountID, o.ID, pay.method, total, pay.returnURL, key, now)
	if err != nil {
		return placed{}, err
	}
	switch {
	case renewAs == invoice.ActionAUTO_RENEW && total.IsZero():
		err = s.settlePaidAs(ctx, tx, p, now, renewAs)
	case renewAs == invoice.ActionAUTO_RENEW:
		// Automatic renewals are paid from credit only (SPEC §5).
		err = s.payFromCredit(ctx, tx, p, now, renewAs)
	default:
		err = s.collect(ctx, tx, p, link, now)
	}
	if err != nil {
		return placed{}, err
	}
	return placed{OrderID: o.ID, PaymentID: p.ID}, nil
}

// paidActions are the action items of a paid order with their resources,
// locked.
type paidActions struct {
	items []*ent.OrderItem
	res   map[pulid.ID]*ent.Resource
}

// lockActions reads an order's unapplied action items and locks their
// resources, in id order, before the payment's transaction touches the
// wallet (resources before wallet: the lock order).
func (s *Service) lockActions(ctx context.Context, tx *ent.Tx, orderID pulid.ID) (paidActions, error) {
	its, err := tx.OrderItem.Query().
		Where(orderitem.OrderID(orderID), orderitem.StatusEQ(orderitem.StatusPENDING),
			orderitem.ActionNEQ(orderitem.ActionCREATE)).
		Order(ent.Asc(orderitem.FieldID)).
		All(ctx)
	if err != nil || len(its) == 0 {
		return paidActions{}, err
	}
	ids := make([]pulid.ID, len(its))
	for i, it := range its {
		ids[i] = it.ResourceID
	}
	rs, err := s.machine.LockAll(ctx, tx, ids)
	if err != nil {
		return paidActions{}, fmt.Errorf("lock resources of order %s: %w", orderID, err)
	}
	pa := paidActions{items: its, res: make(map[pulid.ID]*ent.Resource, len(rs))}
	for _, r := range rs {
		pa.res[r.ID] = r
	}
	return pa, nil
}

// applyActions applies the actions of a paid order inside the payment's
// transaction, in item order: each resource is renewed, resized or
// recovered with its PAID invoice, its item SUCCEEDED and a payment event
// carries the result. An action that can no longer be applied (the
// resource changed state meanwhile) fails its item and refunds what was
// paid for it to credit. The order then ends COMPLETED, PARTIALLY_FAILED
// or FAILED.
func (s *Service) applyActions(ctx context.Context, tx *ent.Tx, p *ent.Payment, pa paidActions, now time.Time, renewAs invoice.Action) error {
	o, err := tx.Order.Get(ctx, p.OrderID)
	if err != nil {
		return fmt.Errorf("read order %s: %w", p.OrderID, err)
	}
	var invoiceIDs []string
	for _, it := range pa.items {
		r := pa.res[it.ResourceID]
		inv, err := s.applyAction(ctx, tx, o, it, r, now, renewAs)
		if f, ok := fault.As(err); ok && (f.Code == fault.InvalidState || f.Code == fault.Conflict) {
			if err := s.actionFailed(ctx, tx, p.ID, it, f.Message, now); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := s.itemFinished(ctx, tx, it, orderitem.StatusSUCCEEDED, "", now); err != nil {
			return err
		}
		invoiceIDs = append(invoiceIDs, string(inv.ID))
		if err := s.markProvisioned(ctx, tx, p, r.ID, true, "", now); err != nil {
			return err
		}
	}
	if len(invoiceIDs) > 0 {
		cur, err := tx.Payment.Get(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("read payment %s: %w", p.ID, err)
		}
		ids := append(append([]string(nil), cur.InvoiceIds...), invoiceIDs...)
		if err := tx.Payment.UpdateOneID(p.ID).SetInvoiceIds(ids).Exec(ctx); err != nil {
			return fmt.Errorf("record invoices of payment %s: %w", p.ID, err)
		}
	}
	return s.finishOrder(ctx, tx, o.ID, now)
}

// actionFailed fails an action item that could not be applied and refunds
// what was paid for it.
func (s *Service) actionFailed(ctx context.Context, tx *ent.Tx, paymentID pulid.ID, it *ent.OrderItem, reason string, now time.Time) error {
	if err := s.itemFinished(ctx, tx, it, orderitem.StatusFAILED, reason, now); err != nil {
		return err
	}
	p, err := tx.Payment.Get(ctx, paymentID) // fresh: refunds add up
	if err != nil {
		return fmt.Errorf("read payment %s: %w", paymentID, err)
	}
	return s.refundItem(ctx, tx, p, it, "Refund: "+strings.ToLower(string(it.Action))+" could not be applied", reason, now)
}

// itemFinished moves a PENDING action item to its result.
func (s *Service) itemFinished(ctx context.Context, tx *ent.Tx, it *ent.OrderItem, to orderitem.Status, reason string, now time.Time) error {
	u := tx.OrderItem.Update().
		Where(orderitem.ID(it.ID), orderitem.StatusEQ(orderitem.StatusPENDING)).
		SetStatus(to).
		SetUpdatedAt(now)
	if reason != "" {
		u.SetFailureReason(reason)
	}
	n, err := u.Save(ctx)
	if err != nil || n != 1 {
		return fmt.Errorf("order item %s → %s: %w (%d rows)", it.ID, to, err, n)
	}
	return nil
}

// applyAction applies one paid action to its locked resource and issues
// its invoice. A fault.InvalidState or fault.Conflict means the action no
// longer applies (see applyActions).
func (s *Service) applyAction(ctx context.Context, tx *ent.Tx, o *ent.Order, it *ent.OrderItem, r *ent.Resource,
	now time.Time, renewAs invoice.Action) (*ent.Invoice, error) {
	switch it.Action {
	case orderitem.ActionRENEW:
		return s.applyRenew(ctx, tx, o, it, r, now, renewAs)
	case orderitem.ActionRECOVER:
		return s.applyRecover(ctx, tx, o, it, r, now)
	case orderitem.ActionRESIZE:
		return s.applyPaidResize(ctx, tx, o, it, r, now)
	}
	return nil, fmt.Errorf("order item %s: unexpected action %s", it.ID, it.Action)
}

// applyRenew extends r's period by the item's months from its current end
// and issues the RENEW (or AUTO_RENEW) invoice for [old end, new end).
// The resource's period becomes [start, new end) and what was paid for it
// adds up in period_paid, so a later deletion refunds the unused part of
// all of it.
func (s *Service) applyRenew(ctx context.Context, tx *ent.Tx, o *ent.Order, it *ent.OrderItem, r *ent.Resource,
	now time.Time, as invoice.Action) (*ent.Invoice, error) {
	if err := checkRenewable(r); err != nil {
		return nil, err
	}
	if !catalog.PeriodPrice(it.Components).Equal(r.PeriodPrice) {
		return nil, fault.Newf(fault.Conflict, nil, "the configuration of %s changed after the renewal was priced", r.Name)
	}
	rq, err := resourceQuote("", "", it.Components, it.PeriodMonths, money.Zero)
	if err != nil {
		return nil, err
	}
	if !rq.Payable.Equal(it.Total) {
		return nil, fmt.Errorf("renew %s: invoice total %s differs from the %s paid", r.ID, rq.Payable, it.Total)
	}
	start, oldEnd, newEnd := renewedPeriod(r, it.PeriodMonths)
	t := state.RenewTransition(r.State)
	paid := r.PeriodPaid.Add(it.Total)
	reason := "renewed"
	if as == invoice.ActionAUTO_RENEW {
		reason = "renewed automatically"
	}
	r, err = s.machine.Apply(ctx, tx, t, r, now, state.Change{
		Set: func(u *ent.ResourceUpdate) {
			u.SetPeriodStart(start).SetPeriodEnd(newEnd).SetPeriodPaid(paid).SetPeriodMonths(r.PeriodMonths + it.PeriodMonths)
			if t.Name == state.Renewed.Name {
				u.ClearSuspendReason()
			}
		},
		Where:  []predicate.Resource{resource.PeriodEnd(oldEnd), renewablePredicate()},
		Reason: reason,
	})
	if err != nil {
		return nil, err
	}
	return s.invoices.CreatePrepaid(ctx, tx, invoicing.PrepaidInput{
		AccountID: r.AccountID, ResourceID: r.ID, ProductID: r.ProductID, OrderID: o.ID,
		Action: as, Quote: rq, PeriodStart: oldEnd, PeriodEnd: newEnd, IssuedAt: now,
	})
}

// renewedPeriod is r's service period once renewed for months (SPEC §5):
// it keeps its start, and its end moves from oldEnd, the current one, to
// newEnd, months × 30 days later — also when the resource is in grace or
// suspension (the lapsed days are paid).
func renewedPeriod(r *ent.Resource, months int) (start, oldEnd, newEnd time.Time) {
	oldEnd = *r.PeriodEnd
	start = oldEnd
	if r.PeriodStart != nil {
		start = *r.PeriodStart
	}
	return start, oldEnd, oldEnd.Add(time.Duration(months) * day30)
}

// applyRecover takes r out of the trash with the item's configuration and
// a new period [now, now + months) and issues its RECOVER invoice.
func (s *Service) applyRecover(ctx context.Context, tx *ent.Tx, o *ent.Order, it *ent.OrderItem, r *ent.Resource, now time.Time) (*ent.Invoice, error) {
	if err := checkRecoverable(r, now); err != nil {
		return nil, err
	}
	rq, err := resourceQuote("", "", it.Components, it.PeriodMonths, money.Zero)
	if err != nil {
		return nil, err
	}
	if !rq.Payable.Equal(it.Total) {
		return nil, fmt.Errorf("recover %s: invoice total %s differs from the %s paid", r.ID, rq.Payable, it.Total)
	}
	start, end := now, now.Add(time.Duration(it.PeriodMonths)*day30)
	r, err = s.machine.Apply(ctx, tx, state.Recover, r, now, state.Change{
		Set: func(u *ent.ResourceUpdate) {
			u.SetPlanID(it.PlanID).
				SetComponents(it.Components).
				SetPeriodPrice(catalog.PeriodPrice(it.Components)).
				SetPeriodStart(start).
				SetPeriodEnd(end).
				SetPeriodMonths(it.PeriodMonths).
				SetPeriodPaid(it.Total).
				ClearTrashedAt().
				ClearPurgeAt().
				ClearSuspendReason()
		},
		Where:   []predicate.Resource{resource.PurgeAtGT(now)},
		Refused: trashWindowEnded(r),
		Reason:  "recovered from the trash",
	})
	if err != nil {
		return nil, err
	}
	return s.invoices.CreatePrepaid(ctx, tx, invoicing.PrepaidInput{
		AccountID: r.AccountID, ResourceID: r.ID, ProductID: r.ProductID, OrderID: o.ID,
		Action: invoice.ActionRECOVER, Quote: rq, PeriodStart: start, PeriodEnd: end, IssuedAt: now,
	})
}

// minutesBetween is the whole minutes from a to b (rounded down), 0 when b
// is not after a.
func minutesBetween(a, b time.Time) int64 {
	if !b.After(a) {
		return 0
	}
	return int64(b.Sub(a) / time.Minute)
}

// UnusedPaid is the part of what was paid for r's current period that is
// unused at `at`: period_paid × remaining minutes / period minutes, rounded
// half up to whole VND once (SPEC §5; without a coupon it equals
// price × remaining minutes / 43,200). Minutes are whole, rounded down.
// It is zero when the period has ended or nothing was paid, and never more
// than was paid.
func UnusedPaid(r *ent.Resource, at time.Time) money.Amount {
	if r.PeriodStart == nil || r.PeriodEnd == nil || !r.PeriodPaid.IsPositive() {
		return money.Zero
	}
	left := minutesBetween(at, *r.PeriodEnd)
	total := minutesBetween(*r.PeriodStart, *r.PeriodEnd)
	if left <= 0 || total <= 0 {
		return money.Zero
	}
	if left >= total {
		return r.PeriodPaid
	}
	v := r.PeriodPaid.Decimal().Mul(decimal.NewFromInt(left)).DivRound(decimal.NewFromInt(total), 16)
	return money.FromDecimal(v).RoundVND()
}
