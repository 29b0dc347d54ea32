package checkout

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	entsql "entgo.io/ent/dialect/sql"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/plan"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/provision"
	"billing/internal/pulid"
	"billing/internal/store"
)

// day30 is one month of service.
const day30 = 30 * 24 * time.Hour

// provisionedReason is the reason of a resource's Activate transition.
const provisionedReason = "provisioned"

// ReportInput is a product service's provisioning result for a resource.
type ReportInput struct {
	ResourceID pulid.ID
	// Succeeded reports whether the resource now exists.
	Succeeded bool
	// ExternalRef is the product service's own id of the resource.
	ExternalRef string
	// Reason explains a failure; shown to the customer.
	Reason string
}

// Validate checks the input; faults name the GraphQL input fields.
func (in ReportInput) Validate() error {
	switch {
	case in.ResourceID == "":
		return fault.New(fault.Invalid, "a resource id is required", "input", "resourceId")
	case len(in.ExternalRef) > MaxExternalRefLength:
		return fault.Newf(fault.Invalid, []string{"input", "externalRef"}, "the external reference is longer than %d bytes", MaxExternalRefLength)
	case len(in.Reason) > MaxReasonLength || !utf8.ValidString(in.Reason):
		return fault.Newf(fault.Invalid, []string{"input", "reason"}, "the reason must be valid text of at most %d bytes", MaxReasonLength)
	}
	return nil
}

// provisionOrder hands every PROVISIONING resource of a paid order to the
// provisioner, in quote order, after the payment committed. A hand-over
// that fails is logged; the resource stays PROVISIONING.
func (s *Service) provisionOrder(ctx context.Context, orderID pulid.ID) {
	ctx = auth.SystemContext(context.WithoutCancel(ctx))
	reqs, err := s.provisionRequests(ctx, orderID)
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: prepare provisioning", "order", orderID, "error", err)
		return
	}
	s.provision(ctx, reqs)
}

// provision hands the requests to the provisioner in order, acting as the
// process itself (ctx: auth.SystemContext, not canceled with the request).
func (s *Service) provision(ctx context.Context, reqs []provision.Request) {
	for _, req := range reqs {
		if err := s.prov.Provision(ctx, req, s.report); err != nil {
			s.logger.ErrorContext(ctx, "checkout: provisioning not started", "resource", req.ResourceID, "error", err)
		}
	}
}

// provisionRequests builds the provisioning requests of an order's
// PROVISIONING items.
func (s *Service) provisionRequests(ctx context.Context, orderID pulid.ID) ([]provision.Request, error) {
	items, err := s.db.Client.OrderItem.Query().
		Where(orderitem.OrderID(orderID)).
		Order(ent.Asc(orderitem.FieldID)).
		All(ctx)
	if err != nil {
		return nil, err
	}
	var planIDs, resIDs []pulid.ID
	for _, it := range items {
		planIDs = append(planIDs, it.PlanID)
		resIDs = append(resIDs, it.ResourceID)
	}
	plans, err := s.db.Client.Plan.Query().Where(plan.IDIn(planIDs...)).WithProduct().All(ctx)
	if err != nil {
		return nil, err
	}
	planOf := map[pulid.ID]*ent.Plan{}
	for _, pl := range plans {
		planOf[pl.ID] = pl
	}
	resources, err := s.db.Client.Resource.Query().Where(resource.IDIn(resIDs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	resOf := map[pulid.ID]*ent.Resource{}
	for _, r := range resources {
		resOf[r.ID] = r
	}
	var reqs []provision.Request
	for pos, it := range items {
		r, pl := resOf[it.ResourceID], planOf[it.PlanID]
		if it.Status != orderitem.StatusPROVISIONING || r == nil || pl == nil {
			continue
		}
		reqs = append(reqs, provision.Request{
			ResourceID:  r.ID,
			AccountID:   r.AccountID,
			OrderID:     orderID,
			ProductCode: pl.Edges.Product.Code,
			PlanCode:    pl.Code,
			Name:        r.Name,
			Components:  it.Components,
			Months:      it.PeriodMonths,
			Position:    pos,
		})
	}
	return reqs, nil
}

// inline reports whether the provisioner reports its results before
// Provision returns (the simulator without delay).
func (s *Service) inline() bool {
	p, ok := s.prov.(interface{ Inline() bool })
	return ok && p.Inline()
}

// decideInline hands a new order's resources to a provisioner that
// answers at once (inline), inside the transaction that pays for them, and
// returns each result as ReportProvisioning would take it, in order.
func (s *Service) decideInline(ctx context.Context, reqs []provision.Request) ([]ReportInput, error) {
	// The simulator reports as the process itself (see report).
	ctx = auth.SystemContext(ctx)
	results := make([]ReportInput, len(reqs))
	for i, req := range reqs {
		var got *provision.Result
		err := s.prov.Provision(ctx, req, func(_ context.Context, r provision.Result) error {
			got = &r
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("provision %s: %w", req.ResourceID, err)
		}
		if got == nil || got.ResourceID != req.ResourceID {
			return nil, fmt.Errorf("provision %s: no result before Provision returned", req.ResourceID)
		}
		in, err := ReportInput{
			ResourceID: got.ResourceID, Succeeded: got.Succeeded, ExternalRef: got.ExternalRef, Reason: got.Reason,
		}.normalized()
		if err != nil {
			return nil, fmt.Errorf("report provisioning of %s: %w", req.ResourceID, err)
		}
		results[i] = in
	}
	return results, nil
}

// allSucceeded reports whether every result is a success.
func allSucceeded(results []ReportInput) bool {
	for _, in := range results {
		if !in.Succeeded {
			return false
		}
	}
	return true
}

// provisionedAtOnce appends, for a new order whose rows were written as
// provisioned (see placeFromCredit), the events ReportProvisioning would
// have appended for each resource in turn — the resource's Activate
// transition (state.Event, as state.Machine writes it), then the payment's
// provisioning result, final on the last resource — and issues the
// invoices last. p, made and invs are what the transaction wrote.
func (s *Service) provisionedAtOnce(ctx context.Context, tx *ent.Tx, p *ent.Payment, made *createdResources,
	invs []invoicing.PrepaidInput, now time.Time) error {
	ok := true
	for i, r := range made.resources {
		ev := state.Event{
			ResourceID: r.ID, AccountID: r.AccountID, Transition: state.Activate.Name,
			From: resource.StatePENDING, To: r.State, PeriodEnd: r.PeriodEnd, Reason: provisionedReason,
		}
		if err := s.outbox.Append(ctx, tx, state.TopicResource, r.AccountID, string(r.ID), ev, now); err != nil {
			return fmt.Errorf("resource %s event: %w", r.ID, err)
		}
		last := i == len(made.resources)-1
		if err := s.emitFinal(ctx, tx, p, now, PaymentEvent{ResourceID: r.ID, Provisioned: &ok}, last); err != nil {
			return err
		}
	}
	return s.issueInvoices(ctx, tx, invs)
}

// createInvoices returns the paid CREATE invoice of every resource of a
// new order written as provisioned at now.
func createInvoices(made *createdResources, now time.Time) ([]invoicing.PrepaidInput, error) {
	invs := make([]invoicing.PrepaidInput, len(made.items))
	for i, it := range made.items {
		inv, err := createInvoice(it, made.resources[i], now)
		if err != nil {
			return nil, err
		}
		invs[i] = inv
	}
	return invs, nil
}

// createInvoice is the paid CREATE invoice of a resource provisioned at
// start, rebuilt from what its order item stores by the same pricing as
// its quote, with a new id.
func createInvoice(it *ent.OrderItem, r *ent.Resource, start time.Time) (invoicing.PrepaidInput, error) {
	rq, err := resourceQuote("", "", it.Components, it.PeriodMonths, it.Discount)
	if err != nil {
		return invoicing.PrepaidInput{}, err
	}
	if !rq.Payable.Equal(it.Total) {
		return invoicing.PrepaidInput{}, fmt.Errorf("resource %s: invoice total %s differs from the %s paid", r.ID, rq.Payable, it.Total)
	}
	return invoicing.PrepaidInput{
		ID: pulid.New("inv"), AccountID: r.AccountID, ResourceID: r.ID, ProductID: r.ProductID, OrderID: it.OrderID,
		Action: invoice.ActionCREATE, Quote: rq, PeriodStart: start, PeriodEnd: start.Add(time.Duration(it.PeriodMonths) * day30),
		IssuedAt: start,
	}, nil
}

// provisionInline records the inline provisioning results of a new order
// paid from credit in tx, one resource after the other, as
// ReportProvisioning would in transactions of its own: the same rows,
// ledger entries and events in the same order, without re-locking or
// re-reading what tx wrote (o, p and made). The invoices come last
// (issueInvoices). It returns the order and payment as they are at the
// end.
func (s *Service) provisionInline(ctx context.Context, tx *ent.Tx, o *ent.Order, p *ent.Payment, made *createdResources,
	results []ReportInput, now time.Time) (*OrderResult, error) {
	// Results are recorded as the process itself, like report's.
	ctx = auth.SystemContext(ctx)
	var invs []invoicing.PrepaidInput
	for i, in := range results {
		it, r := made.items[i], made.resources[i]
		if it.ResourceID != in.ResourceID || r.ID != in.ResourceID {
			return nil, fmt.Errorf("provision %s: rows out of order", in.ResourceID)
		}
		var err error
		if in.Succeeded {
			var inv invoicing.PrepaidInput
			if p, inv, err = s.provisioned(ctx, tx, p, it, made.items, r, in, now); err != nil {
				return nil, fmt.Errorf("report provisioning of %s: %w", in.ResourceID, err)
			}
			invs = append(invs, inv)
			continue
		}
		if p, err = s.provisionFailed(ctx, tx, p, it, in.Reason, now); err != nil {
			return nil, fmt.Errorf("report provisioning of %s: %w", in.ResourceID, err)
		}
		if _, err := s.finishOrderWith(ctx, tx, it.OrderID, made.items, now); err != nil {
			return nil, fmt.Errorf("report provisioning of %s: %w", in.ResourceID, err)
		}
	}
	if err := s.issueInvoices(ctx, tx, invs); err != nil {
		return nil, err
	}
	if to := orderEnd(made.items); to != "" {
		o.Status, o.UpdatedAt = to, now
	}
	return &OrderResult{Order: o, Payment: p}, nil
}

// report is the provision.ReportFunc given to the provisioner: the
// simulator reports as the process itself.
func (s *Service) report(ctx context.Context, r provision.Result) error {
	// Nobody reads the resource back here: skip ReportProvisioning's read.
	return s.reportProvisioning(auth.SystemContext(ctx), ReportInput{
		ResourceID: r.ResourceID, Succeeded: r.Succeeded, ExternalRef: r.ExternalRef, Reason: r.Reason,
	})
}

// ReportProvisioning records a resource's provisioning result, once, in
// one transaction (product services, operators and the process itself):
//
//   - success: the resource becomes ACTIVE for [now, now + months × 30
//     days), its item SUCCEEDED, and its CREATE invoice is issued PAID with
//     the next gapless code;
//   - failure: everything paid for the resource (its total after its coupon
//     share, whatever the method) is refunded to the credit wallet (REFUND
//     against REFUNDS), the resource and its item become FAILED with the
//     reason, no invoice; the payment becomes PARTIALLY_REFUNDED or
//     REFUNDED.
//
// When it was the order's last resource the order ends COMPLETED,
// PARTIALLY_FAILED or FAILED. A payment event carries the result. The same
// result reported again returns the resource unchanged; the opposite
// result for a resource already decided is a fault.InvalidState, as is a
// report for a resource whose order is not paid.
func (s *Service) ReportProvisioning(ctx context.Context, in ReportInput) (*ent.Resource, error) {
	if err := s.reportProvisioning(ctx, in); err != nil {
		return nil, err
	}
	r, err := s.db.Client.Resource.Get(ctx, in.ResourceID)
	if err != nil {
		return nil, fmt.Errorf("report provisioning of %s: read resource: %w", in.ResourceID, err)
	}
	return r, nil
}

// reportProvisioning is ReportProvisioning without reading the resource
// back.
//
// Its transaction first locks the payment of the resource's order, found
// through the resource's CREATE item in the same statement, then reads the
// order's items once: under the payment's lock they cannot change, so the
// item, whether the payment event is final and how the order ends all come
// from that one read and this transaction's own changes. The invoice is
// written last, so the month's invoice sequence row — which every
// provisioning of the month needs — stays locked only for the invoice's
// own statements and the commit.
func (s *Service) reportProvisioning(ctx context.Context, in ReportInput) error {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return fault.New(fault.Unauthenticated, "authentication required")
	}
	if !v.IsService() && !v.IsAdmin() && !v.IsSystem() {
		return fault.New(fault.Forbidden, "only product services report provisioning")
	}
	in, err := in.normalized()
	if err != nil {
		return err
	}
	now := s.now()
	err = store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		s.outbox.Defer(tx)
		p, err := s.lockPaymentOfResource(ctx, tx, in.ResourceID)
		if err != nil {
			return err
		}
		items, err := tx.OrderItem.Query().
			Where(orderitem.OrderID(p.OrderID)).
			Order(ent.Asc(orderitem.FieldID)).
			All(ctx)
		if err != nil {
			return fmt.Errorf("read items of order %s: %w", p.OrderID, err)
		}
		var it *ent.OrderItem
		for _, x := range items {
			if x.ResourceID == in.ResourceID && x.Action == orderitem.ActionCREATE {
				it = x
			}
		}
		if it == nil {
			return fault.New(fault.NotFound, "resource not found", "input", "resourceId")
		}
		switch it.Status {
		case orderitem.StatusPROVISIONING:
		case orderitem.StatusSUCCEEDED:
			if in.Succeeded {
				return nil
			}
			return fault.New(fault.InvalidState, "the resource was already reported provisioned", "input", "succeeded")
		case orderitem.StatusFAILED, orderitem.StatusREFUNDED:
			if isOpen(p.Status) || p.Status == payment.StatusFAILED || p.Status == payment.StatusCANCELED || p.Status == payment.StatusEXPIRED {
				return fault.New(fault.InvalidState, "the resource's order was never paid", "input", "resourceId")
			}
			if !in.Succeeded {
				return nil
			}
			return fault.New(fault.InvalidState, "the resource was already reported failed", "input", "succeeded")
		default:
			return fault.New(fault.InvalidState, "the resource's order is not paid", "input", "resourceId")
		}
		if in.Succeeded {
			_, inv, err := s.provisioned(ctx, tx, p, it, items, nil, in, now)
			if err != nil {
				return err
			}
			return s.issueInvoices(ctx, tx, []invoicing.PrepaidInput{inv})
		}
		if _, err := s.provisionFailed(ctx, tx, p, it, in.Reason, now); err != nil {
			return err
		}
		return s.finishOrder(ctx, tx, it.OrderID, now)
	})
	if err != nil {
		return fmt.Errorf("report provisioning of %s: %w", in.ResourceID, err)
	}
	return nil
}

// normalized trims the input, checks it and supplies the default reason
// of a failure.
func (in ReportInput) normalized() (ReportInput, error) {
	in.ExternalRef, in.Reason = strings.TrimSpace(in.ExternalRef), strings.TrimSpace(in.Reason)
	if err := in.Validate(); err != nil {
		return in, err
	}
	if !in.Succeeded && in.Reason == "" {
		in.Reason = "the resource could not be created"
	}
	return in, nil
}

// lockPaymentOfResource takes the row lock of the payment of the order
// that created the resource (lockPayment's lock, found by the resource
// instead of the payment id). No such order is a fault.NotFound.
//
// payments has no index on order_id, so the payment is looked up through
// its account (indexed) as well: the order's items carry the same
// account as its payment, and the lookup stays an index scan of one
// account's payments instead of a scan of the whole table.
func (s *Service) lockPaymentOfResource(ctx context.Context, tx *ent.Tx, resourceID pulid.ID) (*ent.Payment, error) {
	q := tx.Payment.Query().Where(func(sel *entsql.Selector) {
		item := func(column string) *entsql.Selector {
			return entsql.Select(column).From(entsql.Table(orderitem.Table)).Where(entsql.And(
				entsql.EQ(orderitem.FieldResourceID, string(resourceID)),
				entsql.EQ(orderitem.FieldAction, string(orderitem.ActionCREATE)),
			))
		}
		sel.Where(entsql.And(
			entsql.In(sel.C(payment.FieldAccountID), item(orderitem.FieldAccountID)),
			entsql.In(sel.C(payment.FieldOrderID), item(orderitem.FieldOrderID)),
		))
	})
	if s.db.IsPostgres() {
		q.ForUpdate()
	}
	p, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "resource not found", "input", "resourceId")
	}
	if err != nil {
		return nil, fmt.Errorf("lock payment of resource %s: %w", resourceID, err)
	}
	return p, nil
}

// provisioned activates the resource, appends the payment's event and
// ends the order when it was its last resource. It returns the payment as
// it is now and the resource's paid CREATE invoice, which the caller
// issues last (issueInvoices). items are the order's items as read under
// the payment's lock (or written by this transaction); it is one of them.
// r is the resource when the caller wrote it in this transaction (nil:
// locked here).
func (s *Service) provisioned(ctx context.Context, tx *ent.Tx, p *ent.Payment, it *ent.OrderItem, items []*ent.OrderItem,
	r *ent.Resource, in ReportInput, now time.Time) (*ent.Payment, invoicing.PrepaidInput, error) {
	var inv invoicing.PrepaidInput
	if err := s.itemDone(ctx, tx, it, orderitem.StatusSUCCEEDED, "", now); err != nil {
		return nil, inv, err
	}
	start, end := now, now.Add(time.Duration(it.PeriodMonths)*day30)
	var err error
	if r == nil {
		if r, err = s.machine.Lock(ctx, tx, it.ResourceID); err != nil {
			return nil, inv, err
		}
	}
	r, err = s.machine.Apply(ctx, tx, state.Activate, r, now, state.Change{
		Set: func(u *ent.ResourceUpdate) {
			u.SetPeriodStart(start).
				SetPeriodEnd(end).
				SetPeriodMonths(it.PeriodMonths).
				SetPeriodPaid(it.Total)
			if in.ExternalRef != "" {
				u.SetExternalRef(in.ExternalRef)
			}
		},
		Reason: provisionedReason,
	})
	if err != nil {
		return nil, inv, fmt.Errorf("activate resource %s: %w", it.ResourceID, err)
	}
	if inv, err = createInvoice(it, r, start); err != nil {
		return nil, inv, err
	}
	// p was read under its lock in this transaction (or written by it) and
	// has not changed since: it is the payment as it is now.
	ok := true
	if err := s.emitFinal(ctx, tx, p, now, PaymentEvent{ResourceID: r.ID, Provisioned: &ok}, isFinalWith(p, items)); err != nil {
		return nil, inv, err
	}
	ids := append(append([]string(nil), p.InvoiceIds...), string(inv.ID))
	if err := tx.Payment.Update().Where(payment.ID(p.ID)).SetInvoiceIds(ids).SetUpdatedAt(now).Exec(ctx); err != nil {
		return nil, inv, fmt.Errorf("record invoice of payment %s: %w", p.ID, err)
	}
	cur := *p
	cur.InvoiceIds, cur.UpdatedAt = ids, now
	if _, err := s.finishOrderWith(ctx, tx, it.OrderID, items, now); err != nil {
		return nil, inv, err
	}
	return &cur, inv, nil
}

// issueInvoices writes the transaction's deferred events, then the paid
// invoices, in order: the last statements before the commit. The invoices
// are numbered at the commit (invoicing.IssuePrepaidAtCommit), so a
// checkout holds its month's sequence row only inside COMMIT and
// concurrent checkouts do not queue behind each other's round trips.
func (s *Service) issueInvoices(ctx context.Context, tx *ent.Tx, invs []invoicing.PrepaidInput) error {
	if err := s.outbox.Flush(ctx, tx); err != nil {
		return err
	}
	if len(invs) == 0 {
		return nil
	}
	return s.invoices.IssuePrepaidAtCommit(ctx, tx, invs)
}

// provisionFailed refunds what was paid for the resource to credit and
// marks it FAILED.
// It returns the payment as it is now.
func (s *Service) provisionFailed(ctx context.Context, tx *ent.Tx, p *ent.Payment, it *ent.OrderItem, reason string, now time.Time) (*ent.Payment, error) {
	if err := s.itemDone(ctx, tx, it, orderitem.StatusFAILED, reason, now); err != nil {
		return nil, err
	}
	r, err := s.machine.Lock(ctx, tx, it.ResourceID)
	if err != nil {
		return nil, err
	}
	if _, err := s.machine.Apply(ctx, tx, state.Fail, r, now, state.Change{Reason: reason}); err != nil {
		return nil, fmt.Errorf("fail resource %s: %w", it.ResourceID, err)
	}
	return s.refund(ctx, tx, p, it, "Refund: resource could not be provisioned", reason, now)
}

// refundItem refunds everything paid for an order item (its total after
// its coupon share, whatever the method) to the credit wallet (REFUND
// against REFUNDS) and records it on the payment, whose event carries the
// item's failed result.
func (s *Service) refundItem(ctx context.Context, tx *ent.Tx, p *ent.Payment, it *ent.OrderItem, description, reason string, now time.Time) error {
	_, err := s.refund(ctx, tx, p, it, description, reason, now)
	return err
}

// refund is refundItem returning the payment as it is now.
func (s *Service) refund(ctx context.Context, tx *ent.Tx, p *ent.Payment, it *ent.OrderItem, description, reason string, now time.Time) (*ent.Payment, error) {
	refund := it.Total
	if !refund.IsPositive() {
		return p, s.markProvisioned(ctx, tx, p, it.ResourceID, false, reason, now)
	}
	_, err := s.ledger.Credit(ctx, tx, ledger.Movement{
		AccountID: p.AccountID, Amount: refund, Kind: ledgertransaction.KindREFUND,
		Counter: ledgeraccount.KindREFUNDS,
		Memo:    ledger.Memo{Description: description, Reference: string(it.ResourceID), At: now},
	})
	if err != nil {
		return nil, fmt.Errorf("refund resource %s: %w", it.ResourceID, err)
	}
	return s.markRefunded(ctx, tx, p, refund, it.ResourceID, reason, now)
}

// itemDone moves a PROVISIONING item to its result; it (the caller's
// copy) follows.
func (s *Service) itemDone(ctx context.Context, tx *ent.Tx, it *ent.OrderItem, to orderitem.Status, reason string, now time.Time) error {
	u := tx.OrderItem.Update().
		Where(orderitem.ID(it.ID), orderitem.StatusEQ(orderitem.StatusPROVISIONING)).
		SetStatus(to).
		SetUpdatedAt(now)
	if reason != "" {
		u.SetFailureReason(reason)
	}
	n, err := u.Save(ctx)
	if err != nil || n != 1 {
		return fmt.Errorf("order item %s → %s: %w (%d rows)", it.ID, to, err, n)
	}
	it.Status, it.UpdatedAt = to, now
	if reason != "" {
		it.FailureReason = reason
	}
	return nil
}

// finishOrder ends a PAID order once none of its items waits any more:
// COMPLETED (all provisioned), FAILED (none) or PARTIALLY_FAILED.
func (s *Service) finishOrder(ctx context.Context, tx *ent.Tx, orderID pulid.ID, now time.Time) error {
	items, err := tx.OrderItem.Query().Where(orderitem.OrderID(orderID)).All(ctx)
	if err != nil {
		return fmt.Errorf("read items of order %s: %w", orderID, err)
	}
	_, err = s.finishOrderWith(ctx, tx, orderID, items, now)
	return err
}

// finishOrderWith is finishOrder for a caller holding the order's items as
// they are now in tx (read under the payment's lock, or written by tx,
// followed by itemDone). It returns the status the order ended in ("":
// some item still waits).
func (s *Service) finishOrderWith(ctx context.Context, tx *ent.Tx, orderID pulid.ID, items []*ent.OrderItem, now time.Time) (order.Status, error) {
	to := orderEnd(items)
	if to == "" {
		return "", nil
	}
	err := tx.Order.Update().
		Where(order.ID(orderID), order.StatusEQ(order.StatusPAID)).
		SetStatus(to).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("order %s → %s: %w", orderID, to, err)
	}
	return to, nil
}

// orderEnd is how a paid order with these items ends: COMPLETED (all
// provisioned), FAILED (none) or PARTIALLY_FAILED; "" while one waits.
func orderEnd(items []*ent.OrderItem) order.Status {
	var ok, failed int
	for _, it := range items {
		switch it.Status {
		case orderitem.StatusSUCCEEDED:
			ok++
		case orderitem.StatusFAILED, orderitem.StatusREFUNDED:
			failed++
		default:
			return ""
		}
	}
	switch {
	case failed == 0:
		return order.StatusCOMPLETED
	case ok == 0:
		return order.StatusFAILED
	}
	return order.StatusPARTIALLY_FAILED
}

// PaymentInvoices returns the invoices a payment paid for (one per
// provisioned resource), in code order, as the viewer may see them.
func (s *Service) PaymentInvoices(ctx context.Context, paymentID pulid.ID) ([]*ent.Invoice, error) {
	p, err := s.db.Client.Payment.Get(ctx, paymentID)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "payment not found", "id")
	}
	if err != nil {
		return nil, fmt.Errorf("payment invoices of %s: %w", paymentID, err)
	}
	if len(p.InvoiceIds) == 0 {
		return []*ent.Invoice{}, nil
	}
	ids := make([]pulid.ID, len(p.InvoiceIds))
	for i, id := range p.InvoiceIds {
		ids[i] = pulid.ID(id)
	}
	invs, err := s.db.Client.Invoice.Query().
		Where(invoice.IDIn(ids...)).
		Order(ent.Asc(invoice.FieldCode)).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("payment invoices of %s: %w", paymentID, err)
	}
	return invs, nil
}
