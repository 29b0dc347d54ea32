package checkout

import (
	"context"
	"fmt"
	"slices"
	"time"

	"billing/ent"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/internal/events"
	"billing/internal/money"
	"billing/internal/pulid"
)

// PaymentEvent is the payload of every events.TopicPayment event (subject:
// the payment id). One is appended, in the same transaction, for every
// status change of a payment and for every provisioning result of one of
// its resources, so a subscriber that replays the topic in order sees the
// payment's whole life.
type PaymentEvent struct {
	PaymentID pulid.ID        `json:"paymentId"`
	OrderID   pulid.ID        `json:"orderId,omitempty"`
	Purpose   payment.Purpose `json:"purpose"`
	// Status is the payment's status after the change.
	Status payment.Status `json:"status"`
	// Previous is the status before the change ("" for the first event and
	// for provisioning results that did not change the status).
	Previous payment.Status `json:"previous,omitempty"`
	// RedirectURL is set while the customer must finish on the gateway page.
	RedirectURL string `json:"redirectUrl,omitempty"`
	// ResourceID and Provisioned are set on provisioning results.
	ResourceID  pulid.ID `json:"resourceId,omitempty"`
	Provisioned *bool    `json:"provisioned,omitempty"`
	// Reason explains a failure, an expiry or a failed resource.
	Reason string `json:"reason,omitempty"`
	// RefundedAmount is the payment's refunded total after the change.
	RefundedAmount money.Amount `json:"refundedAmount"`
	// Final is true on the last event: the payment and every resource of
	// its order reached a final state.
	Final bool `json:"final"`
}

// The payment state machine. A status change is one conditional UPDATE …
// WHERE status IN (from…), so of two concurrent attempts at a transition
// exactly one happens; the loser sees no row and changes nothing.
//
//	PENDING ──► REQUIRES_ACTION ──► SUCCEEDED ──► PARTIALLY_REFUNDED ──► REFUNDED
//	   │   └──► PROCESSING ─────────►   │  └───────────────────────────────►┘
//	   └──────────────────────────────►─┘
//	PENDING | REQUIRES_ACTION | PROCESSING ──► FAILED | CANCELED
//	PENDING | REQUIRES_ACTION ──► EXPIRED   (PROCESSING never expires: a charge is in flight)
var transitions = map[payment.Status][]payment.Status{
	payment.StatusREQUIRES_ACTION:    {payment.StatusPENDING},
	payment.StatusPROCESSING:         {payment.StatusPENDING, payment.StatusREQUIRES_ACTION},
	payment.StatusSUCCEEDED:          {payment.StatusPENDING, payment.StatusREQUIRES_ACTION, payment.StatusPROCESSING},
	payment.StatusFAILED:             {payment.StatusPENDING, payment.StatusREQUIRES_ACTION, payment.StatusPROCESSING},
	payment.StatusCANCELED:           {payment.StatusPENDING, payment.StatusREQUIRES_ACTION, payment.StatusPROCESSING},
	payment.StatusEXPIRED:            {payment.StatusPENDING, payment.StatusREQUIRES_ACTION},
	payment.StatusPARTIALLY_REFUNDED: {payment.StatusSUCCEEDED, payment.StatusPARTIALLY_REFUNDED},
	payment.StatusREFUNDED:           {payment.StatusSUCCEEDED, payment.StatusPARTIALLY_REFUNDED},
}

// openStatuses are the statuses in which the payment's money is not settled.
var openStatuses = []payment.Status{payment.StatusPENDING, payment.StatusREQUIRES_ACTION, payment.StatusPROCESSING}

// isOpen reports whether the payment still waits for its money.
func isOpen(st payment.Status) bool { return slices.Contains(openStatuses, st) }

// transition moves p to `to` if it is in one of the statuses transitions
// allows, applying set to the same UPDATE, and appends the event. It
// returns the payment as it is now and whether this call moved it.
func (s *Service) transition(ctx context.Context, tx *ent.Tx, p *ent.Payment, to payment.Status, now time.Time,
	ev PaymentEvent, set func(*ent.PaymentUpdate)) (*ent.Payment, bool, error) {
	from, ok := transitions[to]
	if !ok {
		return nil, false, fmt.Errorf("payment %s: no transition to %s", p.ID, to)
	}
	u := tx.Payment.Update().
		Where(payment.ID(p.ID), payment.StatusIn(from...)).
		SetStatus(to).
		SetUpdatedAt(now)
	if set != nil {
		set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("payment %s → %s: %w", p.ID, to, err)
	}
	cur, err := tx.Payment.Get(ctx, p.ID)
	if err != nil {
		return nil, false, fmt.Errorf("read payment %s: %w", p.ID, err)
	}
	if n == 0 {
		return cur, false, nil
	}
	ev.Previous = p.Status
	if err := s.emit(ctx, tx, cur, now, ev); err != nil {
		return nil, false, err
	}
	return cur, true, nil
}

// emit appends the payment's event with its current status, computing
// whether it is the last one.
func (s *Service) emit(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time, ev PaymentEvent) error {
	final, err := s.isFinal(ctx, tx, p)
	if err != nil {
		return err
	}
	return s.emitFinal(ctx, tx, p, now, ev, final)
}

// emitFinal is emit for a caller that knows whether the event is the last
// one (what isFinal would answer), saving its query.
func (s *Service) emitFinal(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time, ev PaymentEvent, final bool) error {
	if err := s.outbox.Append(ctx, tx, events.TopicPayment, p.AccountID, string(p.ID), paymentEvent(p, ev, final), now); err != nil {
		return fmt.Errorf("payment %s event: %w", p.ID, err)
	}
	return nil
}

// paymentEvent is ev completed with p as it is now: the payload of every
// events.TopicPayment event.
func paymentEvent(p *ent.Payment, ev PaymentEvent, final bool) PaymentEvent {
	ev.PaymentID, ev.OrderID, ev.Purpose, ev.Status = p.ID, p.OrderID, p.Purpose, p.Status
	ev.RefundedAmount = p.RefundedAmount
	if p.Status == payment.StatusREQUIRES_ACTION && ev.RedirectURL == "" {
		ev.RedirectURL = p.RedirectURL
	}
	ev.Final = final
	return ev
}

// isFinal reports whether nothing more will happen to p: it failed,
// was canceled or expired; or it succeeded and no resource of its order
// waits for provisioning any more.
func (s *Service) isFinal(ctx context.Context, tx *ent.Tx, p *ent.Payment) (bool, error) {
	if final, settled := finalStatus(p); settled {
		return final, nil
	}
	open, err := tx.OrderItem.Query().
		Where(orderitem.OrderID(p.OrderID),
			orderitem.StatusIn(orderitem.StatusPENDING, orderitem.StatusPROVISIONING)).
		Exist(ctx)
	if err != nil {
		return false, fmt.Errorf("payment %s: read items: %w", p.ID, err)
	}
	return !open, nil
}

// isFinalWith is isFinal for a caller holding the current items of p's
// order (read under the payment's lock, with this transaction's changes).
func isFinalWith(p *ent.Payment, items []*ent.OrderItem) bool {
	if final, settled := finalStatus(p); settled {
		return final
	}
	for _, it := range items {
		if it.Status == orderitem.StatusPENDING || it.Status == orderitem.StatusPROVISIONING {
			return false
		}
	}
	return true
}

// finalStatus answers isFinal when p's status alone decides (settled):
// everything but a paid order payment, whose answer depends on its items.
func finalStatus(p *ent.Payment) (final, settled bool) {
	switch p.Status {
	case payment.StatusFAILED, payment.StatusCANCELED, payment.StatusEXPIRED:
		return true, true
	case payment.StatusSUCCEEDED, payment.StatusPARTIALLY_REFUNDED, payment.StatusREFUNDED:
		if p.OrderID == "" {
			return true, true
		}
		return false, false
	}
	return false, true
}

// markCreated appends the first event of a new (PENDING) payment.
func (s *Service) markCreated(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) error {
	return s.emit(ctx, tx, p, now, PaymentEvent{})
}

// markRequiresAction records the gateway page the customer must finish on.
func (s *Service) markRequiresAction(ctx context.Context, tx *ent.Tx, p *ent.Payment, redirectURL string, now time.Time) (*ent.Payment, bool, error) {
	return s.transition(ctx, tx, p, payment.StatusREQUIRES_ACTION, now, PaymentEvent{RedirectURL: redirectURL},
		func(u *ent.PaymentUpdate) { u.SetRedirectURL(redirectURL) })
}

// markProcessing records that a charge is in flight at the gateway.
func (s *Service) markProcessing(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) (*ent.Payment, bool, error) {
	return s.transition(ctx, tx, p, payment.StatusPROCESSING, now, PaymentEvent{}, nil)
}

// markSucceeded records that the payment's money is ours.
func (s *Service) markSucceeded(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) (*ent.Payment, bool, error) {
	return s.transition(ctx, tx, p, payment.StatusSUCCEEDED, now, PaymentEvent{},
		func(u *ent.PaymentUpdate) { u.ClearRedirectURL() })
}

// markFailed records a declined or failed payment.
func (s *Service) markFailed(ctx context.Context, tx *ent.Tx, p *ent.Payment, reason string, now time.Time) (*ent.Payment, bool, error) {
	return s.transition(ctx, tx, p, payment.StatusFAILED, now, PaymentEvent{Reason: reason},
		func(u *ent.PaymentUpdate) { u.SetFailureReason(reason).ClearRedirectURL() })
}

// markCanceled records that the customer canceled on the gateway page.
func (s *Service) markCanceled(ctx context.Context, tx *ent.Tx, p *ent.Payment, reason string, now time.Time) (*ent.Payment, bool, error) {
	return s.transition(ctx, tx, p, payment.StatusCANCELED, now, PaymentEvent{Reason: reason},
		func(u *ent.PaymentUpdate) { u.SetFailureReason(reason).ClearRedirectURL() })
}

// markExpired records that the customer never finished paying in time.
func (s *Service) markExpired(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) (*ent.Payment, bool, error) {
	const reason = "the payment was not completed in time"
	return s.transition(ctx, tx, p, payment.StatusEXPIRED, now, PaymentEvent{Reason: reason},
		func(u *ent.PaymentUpdate) {
			u.Where(payment.ExpiresAtLTE(now)).SetFailureReason(reason).ClearRedirectURL()
		})
}

// markRefunded adds amount to the payment's refunded total after a
// resource failed, moving it to PARTIALLY_REFUNDED or (everything back)
// REFUNDED; the event carries the resource's provisioning result.
func (s *Service) markRefunded(ctx context.Context, tx *ent.Tx, p *ent.Payment, amount money.Amount, resourceID pulid.ID, reason string, now time.Time) (*ent.Payment, error) {
	refunded := p.RefundedAmount.Add(amount)
	if refunded.GreaterThan(p.Amount) {
		return nil, fmt.Errorf("payment %s: refunds of %s would exceed the amount %s", p.ID, refunded, p.Amount)
	}
	to := payment.StatusPARTIALLY_REFUNDED
	if refunded.Equal(p.Amount) {
		to = payment.StatusREFUNDED
	}
	no := false
	cur, ok, err := s.transition(ctx, tx, p, to, now,
		PaymentEvent{ResourceID: resourceID, Provisioned: &no, Reason: reason},
		func(u *ent.PaymentUpdate) { u.SetRefundedAmount(refunded) })
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("payment %s is %s: cannot refund", p.ID, cur.Status)
	}
	return cur, nil
}

// markProvisioned appends the event of a resource's provisioning result
// that did not change the payment's status (a success, or a failure with
// nothing to refund).
func (s *Service) markProvisioned(ctx context.Context, tx *ent.Tx, p *ent.Payment, resourceID pulid.ID, ok bool, reason string, now time.Time) error {
	cur, err := tx.Payment.Get(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("read payment %s: %w", p.ID, err)
	}
	return s.emit(ctx, tx, cur, now, PaymentEvent{ResourceID: resourceID, Provisioned: &ok, Reason: reason})
}
