package postpaid

import (
	"context"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/ent/payment"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/pulid"
)

// Settlement is what SettleInvoicePayment did with a payment's money.
type Settlement struct {
	// Invoices are the invoices that received money, as they are now.
	Invoices []*ent.Invoice
	// Returned is the part of the payment no open invoice needed any more
	// (they were paid meanwhile, e.g. by the daily automatic payment); it
	// went back to the account's credit.
	Returned money.Amount
}

// SettleInvoicePayment applies an INVOICE payment that the checkout
// collected (GATEWAY, LINKED_ACCOUNT or TOP_UP_AND_PAY) and just marked
// SUCCEEDED to its invoices, inside the checkout's transaction, which
// holds the payment's lock. It is the gateway counterpart of PayInvoices
// (see the package documentation for what the checkout needs around it):
//
//   - the account is locked, then the payment's invoices that are still
//     open, then the account's resources suspended for non-payment;
//   - the amount goes to the invoices in auto-pay order, each at most its
//     outstanding amount (PAID or PARTIALLY_PAID, amount_paid recorded);
//   - what no invoice needs any more is returned to credit (REFUND against
//     REFUNDS, referenced by the payment id), never lost;
//   - the customer is notified once per payment, and the suspensions for
//     non-payment are lifted when nothing overdue is left.
//
// It moves no gateway money through the wallet (as for orders, the
// gateway part is recorded by the payment and its attempt); a
// TOP_UP_AND_PAY hold is the checkout's to capture. Call it before any
// wallet movement of the same transaction (capture the hold after it), so
// that the lock order account → invoices → resources → wallet holds.
func (s *Service) SettleInvoicePayment(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) (*Settlement, error) {
	if p.Purpose != payment.PurposeINVOICE || p.Status != payment.StatusSUCCEEDED {
		return nil, fmt.Errorf("settle invoice payment %s: it is a %s payment, %s", p.ID, p.Purpose, p.Status)
	}
	now = norm(now)
	if _, err := s.lockAccount(ctx, tx, p.AccountID); err != nil {
		return nil, err
	}
	ids := make([]pulid.ID, len(p.InvoiceIds))
	for i, id := range p.InvoiceIds {
		ids[i] = pulid.ID(id)
	}
	invs, err := s.openInvoices(ctx, tx, p.AccountID, ids)
	if err != nil {
		return nil, err
	}
	suspended, err := s.lockSuspended(ctx, tx, p.AccountID)
	if err != nil {
		return nil, err
	}
	left := p.Amount
	var parts []applied
	for _, inv := range invs {
		x := money.Min(Outstanding(inv), left)
		if !x.IsPositive() {
			continue
		}
		cur, err := s.applyToInvoice(ctx, tx, inv, x, now)
		if err != nil {
			return nil, err
		}
		parts = append(parts, applied{invoice: cur, amount: x})
		left = left.Sub(x)
	}
	out := &Settlement{Returned: left}
	for _, a := range parts {
		out.Invoices = append(out.Invoices, a.invoice)
	}
	if left.IsPositive() {
		_, err := s.ledger.Credit(ctx, tx, ledger.Movement{
			AccountID: p.AccountID, Amount: left, Kind: ledgertransaction.KindREFUND, Counter: ledgeraccount.KindREFUNDS,
			Memo: ledger.Memo{Description: "Invoice payment not needed any more, returned to credit", Reference: string(p.ID), At: now},
		})
		if err != nil {
			return nil, fmt.Errorf("return unneeded invoice payment %s: %w", p.ID, err)
		}
	}
	if len(parts) > 0 {
		if err := s.notifyPaid(ctx, tx, p, parts, "through "+methodName(p.Method), now); err != nil {
			return nil, err
		}
	}
	if err := s.liftIfSettled(ctx, tx, p.AccountID, suspended, now); err != nil {
		return nil, err
	}
	return out, nil
}

func methodName(m payment.Method) string {
	switch m {
	case payment.MethodLINKED_ACCOUNT:
		return "your linked payment account"
	case payment.MethodTOP_UP_AND_PAY:
		return "your credit and the payment gateway"
	case payment.MethodCREDIT:
		return "your credit"
	}
	return "the payment gateway"
}
