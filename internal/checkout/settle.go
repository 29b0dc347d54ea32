package checkout

import (
	"context"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/gatewayattempt"
	"billing/ent/invoice"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/pulid"
)

// openAttempt are the statuses of a gateway attempt whose outcome is not
// recorded yet.
var openAttempt = []gatewayattempt.Status{
	gatewayattempt.StatusCREATED, gatewayattempt.StatusPENDING, gatewayattempt.StatusUNKNOWN,
}

// settlePaid moves an open payment to SUCCEEDED and does what that means,
// inside the caller's transaction (which holds the payment's lock or
// created it):
//
//   - order payment: the coupon redemption is consumed, the credit hold
//     (TOP_UP_AND_PAY) captured, the order PAID and its items PROVISIONING
//     — the resources are handed to the provisioner after commit;
//   - top-up: the gateway amount is credited to the wallet (DEPOSIT
//     against GATEWAY_CLEARING);
//   - invoice payment: the amount is applied to its invoices
//     (postpaid.SettleInvoicePayment), then the credit hold captured.
//
// An order of actions on existing resources (renew, resize, recover) has
// no provisioning: its actions are applied here, in this transaction, with
// their invoices (see applyActions).
//
// A payment that is no longer open is an error: callers check first.
func (s *Service) settlePaid(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) error {
	return s.settlePaidAs(ctx, tx, p, now, invoice.ActionRENEW)
}

// settlePaidAs is settlePaid with the invoice action of the order's
// renewals: RENEW, or AUTO_RENEW for the scheduler's.
func (s *Service) settlePaidAs(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time, renewAs invoice.Action) error {
	cur, ok, err := s.markSucceeded(ctx, tx, p, now)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("payment %s is %s, not open: cannot settle it as paid", p.ID, cur.Status)
	}
	switch cur.Purpose {
	case payment.PurposeTOP_UP:
		_, err := s.ledger.Credit(ctx, tx, ledger.Movement{
			AccountID: cur.AccountID, Amount: cur.Amount, Kind: ledgertransaction.KindDEPOSIT,
			Counter: ledgeraccount.KindGATEWAY_CLEARING,
			Memo:    ledger.Memo{Description: "Credit top-up through " + s.gw.Name(), Reference: string(cur.ID), At: now},
		})
		if err != nil {
			return fmt.Errorf("credit top-up %s: %w", cur.ID, err)
		}
		return nil
	case payment.PurposeORDER:
		// Coupon before wallet: the lock order of every checkout transaction.
		if err := s.coupons.Consume(ctx, tx, cur.OrderID); err != nil {
			return err
		}
		// Resources before wallet: the lock order of every checkout transaction.
		actions, err := s.lockActions(ctx, tx, cur.OrderID)
		if err != nil {
			return err
		}
		if cur.HoldID != "" {
			_, err := s.ledger.Capture(ctx, tx, cur.HoldID, ledger.Memo{
				Description: "Held credit used for order payment", Reference: string(cur.ID), At: now,
			})
			if err != nil {
				return err
			}
		}
		n, err := tx.Order.Update().
			Where(order.ID(cur.OrderID), order.StatusEQ(order.StatusPENDING)).
			SetStatus(order.StatusPAID).
			SetUpdatedAt(now).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("order %s → PAID: %w", cur.OrderID, err)
		}
		if n != 1 {
			return fmt.Errorf("order %s of payment %s is not PENDING", cur.OrderID, cur.ID)
		}
		err = tx.OrderItem.Update().
			Where(orderitem.OrderID(cur.OrderID), orderitem.StatusEQ(orderitem.StatusPENDING),
				orderitem.ActionEQ(orderitem.ActionCREATE)).
			SetStatus(orderitem.StatusPROVISIONING).
			SetUpdatedAt(now).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("items of order %s → PROVISIONING: %w", cur.OrderID, err)
		}
		if len(actions.items) == 0 {
			return nil
		}
		return s.applyActions(ctx, tx, cur, actions, now, renewAs)
	case payment.PurposeINVOICE:
		// Invoices, then the TOP_UP_AND_PAY hold (see invoicepay.go).
		return s.settleInvoices(ctx, tx, cur, now)
	}
	return fmt.Errorf("payment %s: purpose %s cannot be settled here", cur.ID, cur.Purpose)
}

// settleUnpaid ends an open payment without its money — to is FAILED,
// CANCELED or EXPIRED — and undoes what placing it reserved, inside the
// caller's transaction (which holds the payment's lock): the coupon
// redemption is released, the credit hold released, open gateway attempts
// closed (EXPIRED on expiry, else FAILED), and the order ends with the same
// status (FAILED, CANCELED, EXPIRED) with its items FAILED and its
// resources FAILED, never provisioned. It reports false, changing nothing,
// when the payment was not open (another transaction settled it first) or,
// for EXPIRED, not yet past its expiry.
func (s *Service) settleUnpaid(ctx context.Context, tx *ent.Tx, p *ent.Payment, to payment.Status, reason string, now time.Time) (bool, error) {
	var (
		cur *ent.Payment
		ok  bool
		err error
	)
	switch to {
	case payment.StatusFAILED:
		cur, ok, err = s.markFailed(ctx, tx, p, reason, now)
	case payment.StatusCANCELED:
		cur, ok, err = s.markCanceled(ctx, tx, p, reason, now)
	case payment.StatusEXPIRED:
		cur, ok, err = s.markExpired(ctx, tx, p, now)
		reason = "the payment was not completed in time"
	default:
		return false, fmt.Errorf("payment %s: %s is not an unpaid end", p.ID, to)
	}
	if err != nil || !ok {
		return false, err
	}
	if cur.OrderID != "" {
		if err := s.coupons.Release(ctx, tx, cur.OrderID); err != nil {
			return false, err
		}
	}
	if cur.HoldID != "" {
		memo := "Held credit released: order not paid"
		if cur.Purpose == payment.PurposeINVOICE {
			memo = "Held credit released: invoice payment not completed"
		}
		_, err := s.ledger.Release(ctx, tx, cur.HoldID, ledger.Memo{
			Description: memo, Reference: string(cur.ID), At: now,
		})
		if err != nil {
			return false, err
		}
	}
	attempt := gatewayattempt.StatusFAILED
	if to == payment.StatusEXPIRED {
		attempt = gatewayattempt.StatusEXPIRED
	}
	err = tx.GatewayAttempt.Update().
		Where(gatewayattempt.PaymentID(cur.ID), gatewayattempt.StatusIn(openAttempt...)).
		SetStatus(attempt).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("close attempts of payment %s: %w", cur.ID, err)
	}
	if cur.OrderID == "" {
		return true, nil
	}
	err = tx.Order.Update().
		Where(order.ID(cur.OrderID), order.StatusEQ(order.StatusPENDING)).
		SetStatus(order.Status(to)).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("order %s → %s: %w", cur.OrderID, to, err)
	}
	items, err := tx.OrderItem.Query().
		Where(orderitem.OrderID(cur.OrderID), orderitem.StatusEQ(orderitem.StatusPENDING)).
		All(ctx)
	if err != nil {
		return false, fmt.Errorf("items of order %s: %w", cur.OrderID, err)
	}
	err = tx.OrderItem.Update().
		Where(orderitem.OrderID(cur.OrderID), orderitem.StatusEQ(orderitem.StatusPENDING)).
		SetStatus(orderitem.StatusFAILED).
		SetFailureReason(reason).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("items of order %s → FAILED: %w", cur.OrderID, err)
	}
	for _, it := range items {
		// The resources of actions (renew, resize, recover) are left
		// exactly as they were: nothing was paid.
		if it.ResourceID == "" || it.Action != orderitem.ActionCREATE {
			continue
		}
		if err := s.failPending(ctx, tx, it.ResourceID, reason, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// failPending moves a resource that is still PENDING to FAILED (state.Fail);
// a resource in any other state is left alone.
func (s *Service) failPending(ctx context.Context, tx *ent.Tx, id pulid.ID, reason string, now time.Time) error {
	r, err := tx.Resource.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("read resource %s: %w", id, err)
	}
	if r.State != resource.StatePENDING {
		return nil
	}
	if _, err := s.machine.Apply(ctx, tx, state.Fail, r, now, state.Change{Reason: reason}); err != nil {
		return fmt.Errorf("resource %s → FAILED: %w", id, err)
	}
	return nil
}
