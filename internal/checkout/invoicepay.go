package checkout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/invoice"
	"billing/ent/ledgertransaction"
	"billing/ent/payment"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/postpaid"
	"billing/internal/pulid"
)

// PayInvoicesOperation names PayInvoices in idempotency records.
const PayInvoicesOperation = "checkout.payInvoices"

// errNoPostpaid is a wiring error: invoice payments need Config.Postpaid.
var errNoPostpaid = errors.New("checkout: invoice payments need Config.Postpaid")

// InvoicePaymentInput pays open invoices of one account in full.
type InvoicePaymentInput struct {
	// AccountID: empty for customers (their own account); required for
	// operators acting for a customer.
	AccountID pulid.ID
	// InvoiceIDs are the invoices to pay (1 to
	// postpaid.MaxInvoicesPerPayment, duplicates ignored), each UNPAID or
	// PARTIALLY_PAID; everything outstanding on them is paid.
	InvoiceIDs []pulid.ID
	// Method is GATEWAY, TOP_UP_AND_PAY, LINKED_ACCOUNT or CREDIT (handed
	// to postpaid.PayInvoices).
	Method payment.Method
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	// ReturnURL is where the gateway sends the customer's browser back
	// (GATEWAY and TOP_UP_AND_PAY; default: PublicURL + DefaultReturnPath).
	ReturnURL string
	// LinkedAccountID is the linked payment account to charge (LINKED_ACCOUNT).
	LinkedAccountID pulid.ID
	// IPAddr is the customer's IP address, passed to the gateway (optional).
	IPAddr string
}

// InvoicePaymentResult is what PayInvoices did.
type InvoicePaymentResult struct {
	// Payment is the INVOICE payment as it is now; its RedirectURL is set
	// while the customer must finish on the gateway page.
	Payment *ent.Payment
	// RedirectURL is where to send the customer (payment REQUIRES_ACTION).
	RedirectURL string
	// Invoices are the invoices paid (or being paid), as they are now, in
	// the order the payment pays them.
	Invoices []*ent.Invoice
	// Replayed is set when the key had been used for this same request.
	Replayed bool
}

type invoicePayRequest struct {
	AccountID       pulid.ID       `json:"accountId"`
	InvoiceIDs      []pulid.ID     `json:"invoiceIds"`
	Method          payment.Method `json:"method"`
	ReturnURL       string         `json:"returnUrl"`
	LinkedAccountID pulid.ID       `json:"linkedAccountId"`
}

type invoicesPaid struct {
	PaymentID pulid.ID `json:"paymentId"`
}

// PayInvoices pays the whole outstanding amount of open invoices (UNPAID
// or PARTIALLY_PAID, the caller's account's) with one payment of purpose
// INVOICE whose invoice_ids name them in the order they are paid (oldest
// first, then smallest, as postpaid.AutoPay), by in.Method:
//
//   - GATEWAY: everything through the gateway (REQUIRES_ACTION, redirect);
//   - TOP_UP_AND_PAY: all available credit is held and the rest charged
//     through the gateway; success captures the hold, failure, cancel or
//     expiry releases it. When available credit covers the total it is
//     debited at once (INVOICE_PAYMENT) and the invoices are paid in this
//     call; the payment keeps method TOP_UP_AND_PAY;
//   - LINKED_ACCOUNT: a linked token is charged without a redirect; a
//     charge without an answer stays PROCESSING for ReconcileUnknown and is
//     never sent twice;
//   - CREDIT: handed to postpaid.PayInvoices (the same rules as the
//     postpaid package's own entry; the result has the same shape).
//
// The money reaches the invoices only when the payment succeeds, in the
// transaction that records it (settlePaidAs → settleInvoices →
// postpaid.SettleInvoicePayment): they become PAID, the customer is told
// once, and suspensions for non-payment are lifted when nothing overdue
// is left. Until then the invoices do not change. An unknown invoice or
// another account's is fault.NotFound, one PAID or VOID is
// fault.InvalidState (on input.invoiceIds.<i>); nothing is written then.
//
// The payment, its events (paymentChanged), gateway attempts, callbacks,
// expiry (ExpireAbandoned) and reconciliation are the checkout's, as for
// orders. Idempotent by key like PlaceOrder: a replay returns the payment
// and invoices as they are now and never charges a token again.
//
// Customers pay for their own account, operators for the account they
// name; read-only members and product services may not.
func (s *Service) PayInvoices(ctx context.Context, in InvoicePaymentInput) (*InvoicePaymentResult, error) {
	defer s.serving()()
	if s.postpaid == nil {
		return nil, errNoPostpaid
	}
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
	ids := slices.Clone(in.InvoiceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	switch {
	case len(ids) == 0:
		return nil, fault.New(fault.Invalid, "choose at least one invoice", "input", "invoiceIds")
	case len(ids) > postpaid.MaxInvoicesPerPayment:
		return nil, fault.Newf(fault.Invalid, []string{"input", "invoiceIds"},
			"at most %d invoices per payment", postpaid.MaxInvoicesPerPayment)
	}
	if in.Method == payment.MethodCREDIT {
		return s.payInvoicesFromCredit(ctx, a, in)
	}
	if in.Method == payment.MethodLINKED_ACCOUNT && in.LinkedAccountID == "" {
		return nil, fault.New(fault.Invalid, "choose the linked account to charge", "input", "linkedAccountId")
	}
	returnURL, err := s.returnURL(in.ReturnURL, needsRedirect(in.Method))
	if err != nil {
		return nil, err
	}
	req := invoicePayRequest{
		AccountID: a.accountID, InvoiceIDs: ids, Method: in.Method, ReturnURL: returnURL,
		LinkedAccountID: in.LinkedAccountID,
	}
	now := s.now()
	rec := invoicesPaid{PaymentID: pulid.New("pay")}
	var paidNow bool
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, PayInvoicesOperation, req,
		func(ctx context.Context, tx *ent.Tx) (invoicesPaid, error) {
			var err error
			paidNow, err = s.placeInvoicePayment(ctx, tx, req, in.InvoiceIDs, in.IdempotencyKey, rec.PaymentID, now)
			return rec, err
		}, idempotency.At(now), idempotency.Expect(rec))
	if err != nil {
		return nil, fmt.Errorf("pay invoices: %w", err)
	}
	if !paidNow && (!replayed || in.Method != payment.MethodLINKED_ACCOUNT) {
		// A replay never charges a token again (see PlaceOrder).
		s.advance(ctx, rec.PaymentID, in.IPAddr, !replayed)
	}
	return s.invoicePaymentResult(ctx, rec.PaymentID, replayed)
}

// payInvoicesFromCredit hands a CREDIT payment to the postpaid package.
func (s *Service) payInvoicesFromCredit(ctx context.Context, a actor, in InvoicePaymentInput) (*InvoicePaymentResult, error) {
	res, err := s.postpaid.PayInvoices(ctx, postpaid.PayInvoicesInput{
		AccountID: a.accountID, IdempotencyKey: in.IdempotencyKey, InvoiceIDs: in.InvoiceIDs,
		Method: payment.MethodCREDIT,
	})
	if err != nil {
		return nil, err
	}
	return &InvoicePaymentResult{Payment: res.Payment, Invoices: res.Invoices, Replayed: res.Replayed}, nil
}

// invoicePaymentResult reads an invoice payment and its invoices as they
// are now.
func (s *Service) invoicePaymentResult(ctx context.Context, id pulid.ID, replayed bool) (*InvoicePaymentResult, error) {
	p, err := s.db.Client.Payment.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("pay invoices: read payment: %w", err)
	}
	res := &InvoicePaymentResult{Payment: p, Replayed: replayed}
	if p.Status == payment.StatusREQUIRES_ACTION {
		res.RedirectURL = p.RedirectURL
	}
	ids := make([]pulid.ID, len(p.InvoiceIds))
	for i, id := range p.InvoiceIds {
		ids[i] = pulid.ID(id)
	}
	invs, err := s.db.Client.Invoice.Query().Where(invoice.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("pay invoices: read invoices: %w", err)
	}
	pos := make(map[pulid.ID]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	slices.SortFunc(invs, func(a, b *ent.Invoice) int { return pos[a.ID] - pos[b.ID] })
	res.Invoices = invs
	return res, nil
}

// placeInvoicePayment is PayInvoices' transaction. It takes the locks in
// the postpaid order — account, invoices, (TOP_UP_AND_PAY) the resources
// suspended for non-payment, then the wallet — so it queues behind, and
// never deadlocks with, automatic payments, suspensions and settlements.
// It reports whether the payment succeeded in it (credit covered all).
func (s *Service) placeInvoicePayment(ctx context.Context, tx *ent.Tx, in invoicePayRequest, asGiven []pulid.ID,
	key string, id pulid.ID, now time.Time) (bool, error) {
	invs, err := s.postpaid.LockInvoices(ctx, tx, in.AccountID, asGiven)
	if err != nil {
		return false, err
	}
	var link *ent.LinkedAccount
	if in.Method == payment.MethodLINKED_ACCOUNT {
		if link, err = s.linkedAccount(ctx, tx, in.AccountID, in.LinkedAccountID); err != nil {
			return false, err
		}
	}
	total := money.Zero
	invoiceIDs := make([]string, len(invs))
	for i, inv := range invs {
		total = total.Add(postpaid.Outstanding(inv))
		invoiceIDs[i] = string(inv.ID)
	}
	pc := tx.Payment.Create().
		SetID(id).
		SetAccountID(in.AccountID).
		SetPurpose(payment.PurposeINVOICE).
		SetMethod(in.Method).
		SetStatus(payment.StatusPENDING).
		SetAmount(total).
		SetInvoiceIds(invoiceIDs).
		SetIdempotencyKey(key).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if in.ReturnURL != "" {
		pc.SetReturnURL(in.ReturnURL)
	}
	p, err := pc.Save(ctx)
	if err != nil {
		return false, fmt.Errorf("create payment: %w", err)
	}
	if err := s.markCreated(ctx, tx, p, now); err != nil {
		return false, err
	}
	switch in.Method {
	case payment.MethodGATEWAY:
		return false, s.startAttempt(ctx, tx, p, total, "", now)
	case payment.MethodLINKED_ACCOUNT:
		if err := s.startAttempt(ctx, tx, p, total, link.ID, now); err != nil {
			return false, err
		}
		_, _, err := s.markProcessing(ctx, tx, p, now)
		return false, err
	case payment.MethodTOP_UP_AND_PAY:
		// Resources before wallet: a payment that credit covers settles
		// here, and settlement may reinstate them.
		if err := s.postpaid.LockSuspended(ctx, tx, in.AccountID); err != nil {
			return false, err
		}
		available, err := s.lockAvailable(ctx, tx, in.AccountID)
		if err != nil {
			return false, err
		}
		if !available.LessThan(total) {
			_, err := s.ledger.Debit(ctx, tx, ledger.Movement{
				AccountID: in.AccountID, Amount: total, Kind: ledgertransaction.KindINVOICE_PAYMENT,
				Memo: ledger.Memo{Description: "Invoice payment", Reference: string(p.ID), At: now},
			})
			if err != nil {
				return false, withField(unfield(err), "input", "paymentMethod")
			}
			if err := tx.Payment.UpdateOneID(p.ID).SetCreditAmount(total).Exec(ctx); err != nil {
				return false, fmt.Errorf("record credit part of payment %s: %w", p.ID, err)
			}
			return true, s.settlePaid(ctx, tx, p, now)
		}
		gatewayPart := total
		if available.IsPositive() {
			h, err := s.ledger.Hold(ctx, tx, ledger.HoldInput{
				AccountID: in.AccountID, Amount: available, PaymentID: p.ID,
				Reason: "top up and pay",
				Memo:   ledger.Memo{Description: "Credit held for invoice payment", Reference: string(p.ID), At: now},
			})
			if err != nil {
				return false, withField(err, "input", "paymentMethod")
			}
			gatewayPart = total.Sub(available)
			err = tx.Payment.UpdateOneID(p.ID).SetHoldID(h.Hold.ID).SetCreditAmount(available).Exec(ctx)
			if err != nil {
				return false, fmt.Errorf("record hold of payment %s: %w", p.ID, err)
			}
		}
		return false, s.startAttempt(ctx, tx, p, gatewayPart, "", now)
	}
	return false, fmt.Errorf("payment %s: unknown method %s", p.ID, p.Method)
}

// settleInvoices is settlePaidAs for an INVOICE payment that just became
// SUCCEEDED: postpaid.SettleInvoicePayment applies its amount to its
// invoices first (it locks account, invoices and resources, which must
// come before the wallet), then the TOP_UP_AND_PAY hold is captured.
func (s *Service) settleInvoices(ctx context.Context, tx *ent.Tx, p *ent.Payment, now time.Time) error {
	if s.postpaid == nil {
		return errNoPostpaid
	}
	if _, err := s.postpaid.SettleInvoicePayment(ctx, tx, p, now); err != nil {
		return fmt.Errorf("settle invoice payment %s: %w", p.ID, err)
	}
	if p.HoldID == "" {
		return nil
	}
	_, err := s.ledger.Capture(ctx, tx, p.HoldID, ledger.Memo{
		Description: "Held credit used for invoice payment", Reference: string(p.ID), At: now,
	})
	return err
}

// refusePostpaid refuses prepaid purchases of new resources on a postpaid
// account: its new resources are postpaid (created without checkout and
// invoiced monthly). Existing prepaid resources of a converted account
// are still renewed and resized through the checkout.
func refusePostpaid(acc *ent.Account) error {
	if acc.Type != entaccount.TypePOSTPAID {
		return nil
	}
	return fault.New(fault.InvalidState,
		"this account is postpaid: create postpaid resources instead of buying prepaid ones", "input", "items")
}
