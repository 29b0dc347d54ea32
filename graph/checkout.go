package graph

import (
	"context"
	"strconv"

	"billing/ent"
	"billing/ent/orderitem"
	"billing/ent/outboxevent"
	"billing/ent/payment"
	"billing/graph/model"
	"billing/internal/checkout"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// checkoutItems maps GraphQL checkout items to the service's.
func checkoutItems(in []*model.CheckoutItemInput) []checkout.ItemInput {
	out := make([]checkout.ItemInput, len(in))
	for i, it := range in {
		q := map[string]int64{}
		for _, c := range it.Quantities {
			q[c.Code] = int64(c.Quantity)
		}
		out[i] = checkout.ItemInput{PlanRef: it.Plan, Quantities: q, Count: it.Count, Months: it.Months}
	}
	return out
}

// quoteModel maps a priced quote to GraphQL. Item keys are the input
// item indexes.
func quoteModel(q pricing.Quote, keyIndex func(string) int) *model.Quote {
	out := &model.Quote{Subtotal: q.Subtotal, Discount: q.Discount, Total: q.Total, Vat: q.VAT}
	if q.Coupon != nil {
		code := q.Coupon.Code
		out.CouponCode = &code
	}
	for _, r := range q.Resources {
		rq := &model.ResourceQuote{
			Item: keyIndex(r.ItemKey), Index: r.Index, ProductCode: r.ProductCode, PlanCode: r.PlanCode, Months: r.Months,
			Amount: r.Amount, CouponShare: r.CouponShare, Total: r.Total, Vat: r.VAT, PreTax: r.PreTax,
		}
		for _, l := range r.Lines {
			rq.Lines = append(rq.Lines, &model.QuoteLine{
				Code: l.Code, Description: l.Description, UnitPrice: l.UnitPrice, Quantity: int(l.Quantity),
				Months: l.Months, DurationMinutes: int(l.DurationMinutes), Amount: l.Amount,
			})
		}
		out.Resources = append(out.Resources, rq)
	}
	return out
}

// paymentFinal reports whether a payment and every resource of its order
// reached a final state: the last message of paymentChanged.
func (r *Resolver) paymentFinal(ctx context.Context, p *ent.Payment) (bool, error) {
	switch p.Status {
	case payment.StatusFAILED, payment.StatusCANCELED, payment.StatusEXPIRED:
		return true, nil
	case payment.StatusSUCCEEDED, payment.StatusREFUNDED, payment.StatusPARTIALLY_REFUNDED:
	default:
		return false, nil
	}
	if p.OrderID == "" {
		return true, nil
	}
	open, err := r.DB.Client.OrderItem.Query().
		Where(orderitem.OrderID(p.OrderID), orderitem.StatusIn(orderitem.StatusPENDING, orderitem.StatusPROVISIONING)).
		Exist(ctx)
	return !open, err
}

// paymentEvents streams a payment: its current state first, then each
// change, ending after the final one.
func (r *Resolver) paymentEvents(ctx context.Context, id pulid.ID) (<-chan *model.PaymentEvent, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	if !id.Valid() || id.Prefix() != "pay" {
		return nil, fault.New(fault.NotFound, "not found", "id")
	}
	// Subscribe before reading the current state so no change is missed.
	// Events of one payment are written under its row lock, so their ids
	// grow with commit order: the highest id already committed, read
	// before the payment, marks what the first message already shows.
	// Events up to it may still arrive (the listener delivers after
	// commit) and are dropped, so the stream never goes back in time.
	sub := r.Hub.SubscribeTopic(events.TopicPayment, "", string(id), 256)
	var seen int64
	last, err := r.DB.Client.OutboxEvent.Query().
		Where(outboxevent.Topic(events.TopicPayment), outboxevent.SubjectID(string(id))).
		Order(ent.Desc(outboxevent.FieldID)).First(ctx)
	switch {
	case err == nil:
		seen = last.ID
	case !ent.IsNotFound(err):
		sub.Close()
		return nil, err
	}
	p, err := r.DB.Client.Payment.Get(ctx, id)
	if err != nil {
		sub.Close()
		if ent.IsNotFound(err) {
			return nil, fault.New(fault.NotFound, "not found", "id")
		}
		return nil, err
	}
	final, err := r.paymentFinal(ctx, p)
	if err != nil {
		sub.Close()
		return nil, err
	}
	first := &model.PaymentEvent{Payment: p, Status: p.Status, Final: final}
	if p.Status == payment.StatusREQUIRES_ACTION && p.RedirectURL != "" {
		u := p.RedirectURL
		first.RedirectURL = &u
	}
	out := make(chan *model.PaymentEvent, 1)
	out <- first
	if final {
		sub.Close()
		close(out)
		return out, nil
	}
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-sub.C:
				if !ok {
					return // dropped as too slow: the client resubscribes
				}
				if ev.ID <= seen {
					continue // already reflected in the first message
				}
				var pe checkout.PaymentEvent
				if err := ev.Decode(&pe); err != nil {
					r.Logger.ErrorContext(ctx, "decode payment event", "err", err)
					continue
				}
				msg := &model.PaymentEvent{Status: pe.Status, Final: pe.Final, Provisioned: pe.Provisioned}
				if pe.RedirectURL != "" {
					u := pe.RedirectURL
					msg.RedirectURL = &u
				}
				if msg.Payment, err = r.DB.Client.Payment.Get(ctx, id); err != nil {
					r.Logger.ErrorContext(ctx, "reload payment", "err", err)
					return
				}
				if pe.ResourceID != "" {
					if msg.Resource, err = r.DB.Client.Resource.Get(ctx, pe.ResourceID); err != nil {
						r.Logger.ErrorContext(ctx, "load resource", "err", err)
						return
					}
				}
				select {
				case out <- msg:
				case <-ctx.Done():
					return
				}
				if pe.Final {
					return
				}
			}
		}
	}()
	return out, nil
}

// itemIndex turns the quote's item key (the input index, as text) back
// into the index.
func itemIndex(key string) int {
	n, err := strconv.Atoi(key)
	if err != nil {
		return -1
	}
	return n
}
