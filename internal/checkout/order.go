package checkout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/gatewayattempt"
	"billing/ent/invoice"
	"billing/ent/ledgertransaction"
	"billing/ent/linkedaccount"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/provision"
	"billing/internal/pulid"
)

// PlaceOrderOperation names PlaceOrder in idempotency records.
const PlaceOrderOperation = "checkout.placeOrder"

// PlaceOrderInput buys the resources of Items.
type PlaceOrderInput struct {
	// AccountID is the account to buy for: empty for customers (their
	// own); required for operators acting for a customer.
	AccountID pulid.ID
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	Items          []ItemInput
	CouponCode     string
	// Method is CREDIT, TOP_UP_AND_PAY, GATEWAY or LINKED_ACCOUNT.
	Method payment.Method
	// ReturnURL is where the gateway sends the customer's browser back
	// (GATEWAY and TOP_UP_AND_PAY; default: PublicURL + DefaultReturnPath).
	ReturnURL string
	// LinkedAccountID is the linked payment account to charge (LINKED_ACCOUNT).
	LinkedAccountID pulid.ID
	// IPAddr is the customer's IP address, passed to the gateway.
	IPAddr string
}

// OrderResult is what PlaceOrder did.
type OrderResult struct {
	Order   *ent.Order
	Payment *ent.Payment
	// RedirectURL is where to send the customer (payment REQUIRES_ACTION).
	RedirectURL string
	// Replayed is set when the key had been used for this same request:
	// nothing was done now, Order and Payment are their current state.
	Replayed bool
}

// placeRequest is what an idempotency key is bound to.
type placeRequest struct {
	AccountID       pulid.ID       `json:"accountId"`
	Items           []ItemInput    `json:"items"`
	CouponCode      string         `json:"couponCode"`
	Method          payment.Method `json:"method"`
	ReturnURL       string         `json:"returnUrl"`
	LinkedAccountID pulid.ID       `json:"linkedAccountId"`
}

// placed is what the idempotency record keeps.
type placed struct {
	OrderID   pulid.ID `json:"orderId"`
	PaymentID pulid.ID `json:"paymentId"`
}

// needsRedirect reports whether a method may send the customer to the
// gateway's page.
func needsRedirect(m payment.Method) bool {
	return m == payment.MethodGATEWAY || m == payment.MethodTOP_UP_AND_PAY
}

// PlaceOrder creates an order with one PENDING resource (and one order
// item) per resource bought, reserves the coupon and takes the order's one
// payment by in.Method — all in one transaction with the idempotency
// record and the payment's events:
//
//   - CREDIT debits the whole total from available credit, or fails with
//     fault.InsufficientCredit and writes nothing.
//   - TOP_UP_AND_PAY holds all available credit and charges the rest
//     through the gateway (REQUIRES_ACTION); when available credit covers
//     the total it debits it at once, exactly like CREDIT.
//   - GATEWAY charges everything through the gateway (REQUIRES_ACTION).
//   - LINKED_ACCOUNT charges a linked token without a redirect.
//
// The gateway is called after that transaction commits, and its answer
// recorded in the next one. A paid order's resources are handed to the
// provisioner after commit. A replay of the key returns the order and
// payment as they are now (and resumes a redirect that was never issued);
// the same key with another request is fault.IdempotencyKeyReused.
func (s *Service) PlaceOrder(ctx context.Context, in PlaceOrderInput) (*OrderResult, error) {
	defer s.serving()()
	a, err := resolveActor(ctx, in.AccountID, false)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if payment.MethodValidator(in.Method) != nil {
		return nil, fault.New(fault.Invalid, "choose a payment method", "input", "paymentMethod")
	}
	returnURL, err := s.returnURL(in.ReturnURL, needsRedirect(in.Method))
	if err != nil {
		return nil, err
	}
	if in.Method == payment.MethodLINKED_ACCOUNT && in.LinkedAccountID == "" {
		return nil, fault.New(fault.Invalid, "choose the linked account to charge", "input", "linkedAccountId")
	}
	if err := validateItems(in.Items); err != nil {
		return nil, err
	}
	req := placeRequest{
		AccountID: a.accountID, Items: in.Items, CouponCode: strings.TrimSpace(in.CouponCode),
		Method: in.Method, ReturnURL: returnURL, LinkedAccountID: in.LinkedAccountID,
	}
	now := s.now()
	// The ids are made up front, so the idempotency record is written with
	// its result in its first statement (idempotency.Expect).
	ids := placed{OrderID: pulid.New("ord"), PaymentID: pulid.New("pay")}
	var fresh *freshOrder
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, PlaceOrderOperation, req,
		func(ctx context.Context, tx *ent.Tx) (placed, error) {
			f, err := s.placeOrder(ctx, tx, req, in.IdempotencyKey, ids, now)
			fresh = f
			return ids, err
		}, idempotency.At(now), idempotency.Expect(ids))
	if err != nil {
		return nil, fmt.Errorf("place order: %w", err)
	}
	switch {
	case !replayed && fresh != nil && fresh.done != nil:
		// Paid and provisioned in the transaction that just committed:
		// the answer is what it wrote, without reading it back.
		fresh.done.Order, fresh.done.Payment = fresh.done.Order.Unwrap(), fresh.done.Payment.Unwrap()
		return fresh.done, nil
	case !replayed && fresh != nil && fresh.paid:
		// Paid from credit in the transaction that just committed: its
		// resources go to the provisioner as that transaction wrote them,
		// without reading them back.
		s.provision(auth.SystemContext(context.WithoutCancel(ctx)), fresh.requests)
	case !replayed || in.Method != payment.MethodLINKED_ACCOUNT:
		// A replay never charges a token again: whether the first call's
		// charge reached the gateway is for ReconcileUnknown to find out.
		s.advance(ctx, rec.PaymentID, in.IPAddr, !replayed)
	}
	return s.orderResult(ctx, rec, replayed)
}

// freshOrder is what PlaceOrder's transaction knows about the order it
// wrote, for the steps after its commit.
type freshOrder struct {
	// paid is set when the payment succeeded in the transaction (CREDIT).
	paid bool
	// requests hands the order's resources to the provisioner, in quote
	// order (what provisionRequests would read back).
	requests []provision.Request
	// done is the result when the resources were provisioned in the
	// transaction too (provisionInline): the order and payment as it
	// left them, bound to the client once it committed.
	done *OrderResult
}

// orderResult reads the order and payment as they are now.
func (s *Service) orderResult(ctx context.Context, rec placed, replayed bool) (*OrderResult, error) {
	o, err := s.db.Client.Order.Get(ctx, rec.OrderID)
	if err != nil {
		return nil, fmt.Errorf("place order: read order: %w", err)
	}
	p, err := s.db.Client.Payment.Get(ctx, rec.PaymentID)
	if err != nil {
		return nil, fmt.Errorf("place order: read payment: %w", err)
	}
	res := &OrderResult{Order: o, Payment: p, Replayed: replayed}
	if p.Status == payment.StatusREQUIRES_ACTION {
		res.RedirectURL = p.RedirectURL
	}
	return res, nil
}

// placeOrder is PlaceOrder's transaction; ids are the order's and the
// payment's.
//
// CREDIT (with something to pay) is settled inside it, and its rows are
// written in their final states at once — order PAID, items PROVISIONING,
// payment SUCCEEDED with its credit part — instead of PENDING and then
// updated, as collect and settlePaid do for the other methods: nothing
// outside the transaction can see them in between, and a shortfall of
// credit rolls all of it back. The rows, ledger entries and events are the
// same as on the step-by-step path (see payNewFromCredit).
func (s *Service) placeOrder(ctx context.Context, tx *ent.Tx, in placeRequest, key string, ids placed, now time.Time) (*freshOrder, error) {
	acc, err := checkAccount(ctx, tx, in.AccountID)
	if err != nil {
		return nil, err
	}
	if err := refusePostpaid(acc); err != nil {
		return nil, err
	}
	po, err := s.price(ctx, tx, acc.ID, in.Items, in.CouponCode)
	if err != nil {
		return nil, err
	}
	q := po.quote
	var link *ent.LinkedAccount
	if in.Method == payment.MethodLINKED_ACCOUNT {
		if link, err = s.linkedAccount(ctx, tx, acc.ID, in.LinkedAccountID); err != nil {
			return nil, err
		}
	}
	paidNow := in.Method == payment.MethodCREDIT && q.Payable.IsPositive()
	status, itemStatus := order.StatusPENDING, orderitem.StatusPENDING
	if paidNow {
		status, itemStatus = order.StatusPAID, orderitem.StatusPROVISIONING
	}

	// Events go out with one statement, before the invoices (see
	// issueInvoices) or at the commit.
	s.outbox.Defer(tx)
	oc := tx.Order.Create().
		SetID(ids.OrderID).
		SetAccountID(acc.ID).
		SetStatus(status).
		SetSubtotal(q.Subtotal).
		SetDiscount(q.Discount).
		SetTotal(q.Payable).
		SetIdempotencyKey(key).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if po.coupon != nil {
		oc.SetCouponID(po.coupon.ID).SetCouponCode(po.coupon.Code)
	}
	planned, err := s.planResources(tx, acc.ID, ids.OrderID, po, itemStatus, now)
	if err != nil {
		return nil, err
	}
	if paidNow {
		return s.placeFromCredit(ctx, tx, acc.ID, ids, in.ReturnURL, key, po, oc, planned, now)
	}
	if err := oc.Exec(ctx); err != nil {
		return nil, fmt.Errorf("create order: %w", err)
	}
	if _, err := planned.write(ctx, tx); err != nil {
		return nil, err
	}
	// Coupon before wallet: the lock order of every checkout transaction.
	if po.coupon != nil {
		if err := s.coupons.Reserve(ctx, tx, po.coupon.ID, acc.ID, ids.OrderID, q.Discount); err != nil {
			return nil, err
		}
	}
	p, err := s.createPayment(ctx, tx, ids.PaymentID, acc.ID, ids.OrderID, in.Method, q.Payable, in.ReturnURL, key, now)
	if err != nil {
		return nil, err
	}
	if err := s.collect(ctx, tx, p, link, now); err != nil {
		return nil, err
	}
	return &freshOrder{}, nil
}

// placeFromCredit is placeOrder for CREDIT with something to pay, from
// the coupon on: oc and planned are the order and its resources, not
// written yet. The payment is settled at once (payNewFromCredit), so the
// rows are written in their final states instead of PENDING and then
// updated: order PAID, items PROVISIONING, payment SUCCEEDED. With an
// inline provisioner (the simulator without delay) the results are known
// before anything is written; when every resource succeeded the rows go in
// as ReportProvisioning would leave them — order COMPLETED, items
// SUCCEEDED, resources ACTIVE with their period, the payment with its
// invoices — followed by the events it would append and the invoices
// (provisionedAtOnce). A failure takes the step-by-step way inside the
// same transaction (provisionInline), where refunds follow the rules of
// ReportProvisioning.
func (s *Service) placeFromCredit(ctx context.Context, tx *ent.Tx, accountID pulid.ID, ids placed, returnURL, key string,
	po *pricedOrder, oc *ent.OrderCreate, planned *plannedResources, now time.Time) (*freshOrder, error) {
	// Coupon before wallet: the lock order of every checkout transaction.
	if po.coupon != nil {
		if err := s.coupons.Reserve(ctx, tx, po.coupon.ID, accountID, ids.OrderID, po.quote.Discount); err != nil {
			return nil, err
		}
	}
	pc, err := s.payNewFromCredit(ctx, tx, accountID, ids, po.quote.Payable, returnURL, key, po.coupon != nil, now)
	if err != nil {
		return nil, err
	}
	f := &freshOrder{paid: true, requests: planned.requests}
	var results []ReportInput
	if s.inline() {
		if results, err = s.decideInline(ctx, planned.requests); err != nil {
			return nil, err
		}
	}
	atOnce := results != nil && allSucceeded(results)
	if atOnce {
		oc.SetStatus(order.StatusCOMPLETED)
		planned.activate(results, now)
	}
	o, err := oc.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create order: %w", err)
	}
	made, err := planned.write(ctx, tx)
	if err != nil {
		return nil, err
	}
	var invs []invoicing.PrepaidInput
	if atOnce {
		if invs, err = createInvoices(made, now); err != nil {
			return nil, err
		}
		invIDs := make([]string, len(invs))
		for i, in := range invs {
			invIDs[i] = string(in.ID)
		}
		pc.SetInvoiceIds(invIDs)
	}
	p, err := pc.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create payment: %w", err)
	}
	switch {
	case atOnce:
		if err := s.provisionedAtOnce(ctx, tx, p, made, invs, now); err != nil {
			return nil, err
		}
		f.done = &OrderResult{Order: o, Payment: p}
	case results != nil:
		if f.done, err = s.provisionInline(ctx, tx, o, p, made, results, now); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// payNewFromCredit settles the payment of a new order paid from credit,
// in the order's transaction, as createPayment, collect and settlePaid
// would: the amount debited from available credit (PURCHASE to REVENUE,
// fault.InsufficientCredit on input.paymentMethod when short), the coupon
// redemption (if any) consumed, and the same three events in the same
// order — created (PENDING), the wallet's, SUCCEEDED (not final: the
// items wait for provisioning). It returns the payment, SUCCEEDED with
// credit_amount = amount, for the caller to write once its order is.
func (s *Service) payNewFromCredit(ctx context.Context, tx *ent.Tx, accountID pulid.ID, ids placed, total money.Amount,
	returnURL, key string, coupon bool, now time.Time) (*ent.PaymentCreate, error) {
	pc := tx.Payment.Create().
		SetID(ids.PaymentID).
		SetAccountID(accountID).
		SetOrderID(ids.OrderID).
		SetPurpose(payment.PurposeORDER).
		SetMethod(payment.MethodCREDIT).
		SetStatus(payment.StatusSUCCEEDED).
		SetAmount(total).
		SetCreditAmount(total).
		SetIdempotencyKey(key).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if returnURL != "" {
		pc.SetReturnURL(returnURL)
	}
	// What the events say of the payment (emitFinal): the row itself is
	// written later, after its order.
	p := &ent.Payment{
		ID: ids.PaymentID, AccountID: accountID, OrderID: ids.OrderID, Purpose: payment.PurposeORDER,
		Status: payment.StatusPENDING, RefundedAmount: money.Zero,
	}
	if err := s.emitFinal(ctx, tx, p, now, PaymentEvent{}, false); err != nil {
		return nil, err
	}
	_, err := s.ledger.Debit(ctx, tx, ledger.Movement{
		AccountID: accountID, Amount: total, Kind: ledgertransaction.KindPURCHASE, NoEntities: true,
		Memo: ledger.Memo{Description: "Order payment", Reference: string(ids.PaymentID), At: now},
	})
	if err != nil {
		return nil, withField(unfield(err), "input", "paymentMethod")
	}
	p.Status = payment.StatusSUCCEEDED
	if err := s.emitFinal(ctx, tx, p, now, PaymentEvent{Previous: payment.StatusPENDING}, false); err != nil {
		return nil, err
	}
	if coupon {
		if err := s.coupons.Consume(ctx, tx, ids.OrderID); err != nil {
			return nil, err
		}
	}
	return pc, nil
}

// createPayment creates the one PENDING payment of a new order and
// appends its first event.
func (s *Service) createPayment(ctx context.Context, tx *ent.Tx, id, accountID, orderID pulid.ID, method payment.Method,
	total money.Amount, returnURL, key string, now time.Time) (*ent.Payment, error) {
	pc := tx.Payment.Create().
		SetID(id).
		SetAccountID(accountID).
		SetOrderID(orderID).
		SetPurpose(payment.PurposeORDER).
		SetMethod(method).
		SetStatus(payment.StatusPENDING).
		SetAmount(total).
		SetIdempotencyKey(key).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if returnURL != "" {
		pc.SetReturnURL(returnURL)
	}
	p, err := pc.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create payment: %w", err)
	}
	if err := s.markCreated(ctx, tx, p, now); err != nil {
		return nil, err
	}
	return p, nil
}

// planResources prepares, in quote order, one PENDING resource and one
// order item (in itemStatus) per resource of the quote, after checking
// that each resource's invoice will be rebuilt exactly from what its item
// stores, with the provisioning request of each resource. Nothing is
// written before write.
func (s *Service) planResources(tx *ent.Tx, accountID, orderID pulid.ID, po *pricedOrder,
	itemStatus orderitem.Status, now time.Time) (*plannedResources, error) {
	resources := make([]*ent.ResourceCreate, 0, len(po.quote.Resources))
	items := make([]*ent.OrderItemCreate, 0, len(po.quote.Resources))
	reqs := make([]provision.Request, 0, len(po.quote.Resources))
	k := 0
	for _, it := range po.items {
		for range it.count {
			rq := po.quote.Resources[k]
			k++
			rebuilt, err := resourceQuote(rq.ProductCode, rq.PlanCode, it.components, it.months, rq.CouponShare)
			if err != nil {
				return nil, err
			}
			if err := checkRebuild(rq, rebuilt); err != nil {
				return nil, err
			}
			// ULIDs from one process increase, so ids keep quote order.
			resID := pulid.New("res")
			resources = append(resources, tx.Resource.Create().
				SetID(resID).
				SetAccountID(accountID).
				SetProductID(it.plan.ProductID).
				SetPlanID(it.plan.ID).
				SetName(resourceName(it.plan.Code, resID)).
				SetBillingMode(resource.BillingModePREPAID).
				SetState(resource.StatePENDING).
				SetComponents(it.components).
				SetPeriodPrice(catalog.PeriodPrice(it.components)).
				SetPeriodMonths(it.months).
				// Auto-renew starts on (1 month, from credit only): a
				// forgotten renewal must not cost the customer a resource.
				SetAutoRenew(true).
				SetCreatedAt(now).
				SetUpdatedAt(now))
			items = append(items, tx.OrderItem.Create().
				SetID(pulid.New("oit")).
				SetAccountID(accountID).
				SetOrderID(orderID).
				SetAction(orderitem.ActionCREATE).
				SetPlanID(it.plan.ID).
				SetResourceID(resID).
				SetQuantity(1).
				SetPeriodMonths(it.months).
				SetComponents(it.components).
				SetAmount(rq.Amount).
				SetDiscount(rq.CouponShare).
				SetTotal(rq.Payable).
				SetStatus(itemStatus).
				SetCreatedAt(now).
				SetUpdatedAt(now))
			reqs = append(reqs, provision.Request{
				ResourceID:  resID,
				AccountID:   accountID,
				OrderID:     orderID,
				ProductCode: it.plan.Edges.Product.Code,
				PlanCode:    it.plan.Code,
				Name:        resourceName(it.plan.Code, resID),
				Components:  it.components,
				Months:      it.months,
				Position:    len(reqs),
			})
		}
	}
	return &plannedResources{resources: resources, items: items, requests: reqs}, nil
}

// plannedResources are the resources and items of a new order, in quote
// order, not written yet.
type plannedResources struct {
	resources []*ent.ResourceCreate
	items     []*ent.OrderItemCreate
	requests  []provision.Request
}

// activate makes every planned resource ACTIVE for [now, now + months ×
// 30 days) with its provisioning result (all succeeded) and its item
// SUCCEEDED: the rows as provisioned would leave them.
func (pl *plannedResources) activate(results []ReportInput, now time.Time) {
	for i, in := range results {
		req, it := pl.requests[i], pl.items[i]
		total, _ := it.Mutation().Total()
		pl.resources[i].
			SetState(resource.StateACTIVE).
			SetPeriodStart(now).
			SetPeriodEnd(now.Add(time.Duration(req.Months) * day30)).
			SetPeriodMonths(req.Months).
			SetPeriodPaid(total)
		if in.ExternalRef != "" {
			pl.resources[i].SetExternalRef(in.ExternalRef)
		}
		it.SetStatus(orderitem.StatusSUCCEEDED)
	}
}

// write inserts the planned rows (two statements).
func (pl *plannedResources) write(ctx context.Context, tx *ent.Tx) (*createdResources, error) {
	rs, err := tx.Resource.CreateBulk(pl.resources...).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create resources: %w", err)
	}
	its, err := tx.OrderItem.CreateBulk(pl.items...).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create order items: %w", err)
	}
	return &createdResources{resources: rs, items: its, requests: pl.requests}, nil
}

// createdResources is what plannedResources.write wrote, in quote order.
type createdResources struct {
	resources []*ent.Resource
	items     []*ent.OrderItem
	requests  []provision.Request
}

// resourceName is a new resource's display name: its plan and the end of
// its id ("s-general-1x1-k3m9qz").
func resourceName(planCode string, id pulid.ID) string {
	s := strings.ToLower(string(id))
	return planCode + "-" + s[len(s)-6:]
}

// linkedAccount loads an active linked account of the account.
func (s *Service) linkedAccount(ctx context.Context, tx *ent.Tx, accountID, id pulid.ID) (*ent.LinkedAccount, error) {
	l, err := tx.LinkedAccount.Query().
		Where(linkedaccount.ID(id), linkedaccount.AccountID(accountID)).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "linked account not found", "input", "linkedAccountId")
	}
	if err != nil {
		return nil, fmt.Errorf("read linked account %s: %w", id, err)
	}
	if !l.Active || l.Gateway != s.gw.Name() {
		return nil, fault.New(fault.InvalidState, "this linked account can no longer be charged", "input", "linkedAccountId")
	}
	return l, nil
}

// collect takes a new payment's money by its method, inside the order's
// transaction; see PlaceOrder.
func (s *Service) collect(ctx context.Context, tx *ent.Tx, p *ent.Payment, link *ent.LinkedAccount, now time.Time) error {
	total := p.Amount
	if total.IsZero() {
		// Nothing to pay (a 100% coupon): paid by any method, no money moves.
		return s.settlePaid(ctx, tx, p, now)
	}
	switch p.Method {
	case payment.MethodCREDIT:
		return s.payFromCredit(ctx, tx, p, now, invoice.ActionRENEW)
	case payment.MethodTOP_UP_AND_PAY:
		available, err := s.lockAvailable(ctx, tx, p.AccountID)
		if err != nil {
			return err
		}
		if !available.LessThan(total) {
			return s.payFromCredit(ctx, tx, p, now, invoice.ActionRENEW)
		}
		gatewayPart := total
		if available.IsPositive() {
			h, err := s.ledger.Hold(ctx, tx, ledger.HoldInput{
				AccountID: p.AccountID, Amount: available, PaymentID: p.ID,
				Reason: "top up and pay",
				Memo:   ledger.Memo{Description: "Credit held for order payment", Reference: string(p.ID), At: now},
			})
			if err != nil {
				return withField(err, "input", "paymentMethod")
			}
			gatewayPart = total.Sub(available)
			err = tx.Payment.UpdateOneID(p.ID).SetHoldID(h.Hold.ID).SetCreditAmount(available).Exec(ctx)
			if err != nil {
				return fmt.Errorf("record hold of payment %s: %w", p.ID, err)
			}
		}
		return s.startAttempt(ctx, tx, p, gatewayPart, "", now)
	case payment.MethodGATEWAY:
		return s.startAttempt(ctx, tx, p, total, "", now)
	case payment.MethodLINKED_ACCOUNT:
		if err := s.startAttempt(ctx, tx, p, total, link.ID, now); err != nil {
			return err
		}
		_, _, err := s.markProcessing(ctx, tx, p, now)
		return err
	}
	return fmt.Errorf("payment %s: unknown method %s", p.ID, p.Method)
}

// payFromCredit debits the whole payment from available credit and
// settles it as paid; renewAs is the invoice action of its renewals
// (RENEW, or AUTO_RENEW for the scheduler's).
func (s *Service) payFromCredit(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time, renewAs invoice.Action) error {
	_, err := s.ledger.Debit(ctx, tx, ledger.Movement{
		AccountID: p.AccountID, Amount: p.Amount, Kind: ledgertransaction.KindPURCHASE,
		Memo: ledger.Memo{Description: "Order payment", Reference: string(p.ID), At: now},
	})
	if err != nil {
		return withField(unfield(err), "input", "paymentMethod")
	}
	if err := tx.Payment.UpdateOneID(p.ID).SetCreditAmount(p.Amount).Exec(ctx); err != nil {
		return fmt.Errorf("record credit part of payment %s: %w", p.ID, err)
	}
	return s.settlePaidAs(ctx, tx, p, now, renewAs)
}

// unfield drops the field of a fault (the ledger names its own "amount").
func unfield(err error) error {
	if f, ok := fault.As(err); ok {
		return &fault.Error{Code: f.Code, Message: f.Message}
	}
	return err
}

// lockAvailable returns the account's available credit with the wallet
// row locked (PostgreSQL) until the transaction ends, so that the hold of
// "all available credit" cannot race with another debit.
func (s *Service) lockAvailable(ctx context.Context, tx *ent.Tx, accountID pulid.ID) (money.Amount, error) {
	q := `SELECT balance - held FROM wallets WHERE account_id = $1`
	if s.db.IsPostgres() {
		q += ` FOR UPDATE`
	}
	rows, err := tx.QueryContext(ctx, q, string(accountID))
	if err != nil {
		return money.Zero, fmt.Errorf("read wallet of %s: %w", accountID, err)
	}
	defer rows.Close()
	var available money.Amount
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return money.Zero, fmt.Errorf("read wallet of %s: %w", accountID, err)
		}
		return money.Zero, fault.New(fault.NotFound, "wallet not found", "input", "accountId")
	}
	if err := rows.Scan(&available); err != nil {
		return money.Zero, fmt.Errorf("read wallet of %s: %w", accountID, err)
	}
	return available, rows.Close()
}

// startAttempt records the gateway charge of a payment before the gateway
// is called: the gateway part, our reference (txn_ref) and, for redirect
// payments, the expiry. A token charge is recorded PENDING (in flight)
// already, so that a crash before its answer is found by ReconcileUnknown.
func (s *Service) startAttempt(ctx context.Context, tx *ent.Tx, p *ent.Payment, amount money.Amount, linkID pulid.ID, now time.Time) error {
	id := pulid.New("gwa")
	c := tx.GatewayAttempt.Create().
		SetID(id).
		SetAccountID(p.AccountID).
		SetPaymentID(p.ID).
		SetGateway(s.gw.Name()).
		SetTxnRef(txnRef(id)).
		SetAmount(amount).
		SetStatus(gatewayattempt.StatusCREATED).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if linkID != "" {
		c.SetLinkedAccountID(linkID).SetStatus(gatewayattempt.StatusPENDING)
	}
	if err := c.Exec(ctx); err != nil {
		return fmt.Errorf("record gateway attempt of payment %s: %w", p.ID, err)
	}
	u := tx.Payment.UpdateOneID(p.ID).SetGatewayAmount(amount)
	if linkID == "" {
		u.SetExpiresAt(now.Add(s.expiry))
	}
	if err := u.Exec(ctx); err != nil {
		return fmt.Errorf("record gateway part of payment %s: %w", p.ID, err)
	}
	return nil
}

// txnRef is the gateway reference of an attempt: the ULID of its id,
// which is unique and alphanumeric as VNPAY requires.
func txnRef(id pulid.ID) string {
	_, u, _ := strings.Cut(string(id), "_")
	return u
}
