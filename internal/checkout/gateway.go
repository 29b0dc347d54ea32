package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/gatewayattempt"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/ent/payment"
	"billing/internal/auth"
	"billing/internal/gateway"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
)

// CancelResponseCode is VNPAY's "the customer canceled" (§5.1): such a
// payment ends CANCELED rather than FAILED.
const CancelResponseCode = "24"

// advance continues a payment after the transaction that placed it (or a
// replay of it) committed: it sends the customer to the gateway, charges a
// linked token, or hands a paid order's resources to the provisioner.
// fresh is false on a replay, which only resumes a redirect that was never
// issued. Failures are recorded on the payment or logged: the order exists
// whatever happens here.
func (s *Service) advance(ctx context.Context, paymentID pulid.ID, ipAddr string, fresh bool) {
	// The customer's request may end before the gateway answers; what is
	// started here must finish. The process acts from now on.
	ctx = auth.SystemContext(context.WithoutCancel(ctx))
	p, err := s.db.Client.Payment.Get(ctx, paymentID)
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: read payment after commit", "payment", paymentID, "error", err)
		return
	}
	switch {
	case p.Status == payment.StatusPENDING:
		att, err := s.db.Client.GatewayAttempt.Query().
			Where(gatewayattempt.PaymentID(p.ID), gatewayattempt.StatusEQ(gatewayattempt.StatusCREATED)).
			Only(ctx)
		if err != nil {
			s.logger.ErrorContext(ctx, "checkout: no gateway attempt to start", "payment", p.ID, "error", err)
			return
		}
		s.startRedirect(ctx, p, att, ipAddr)
	case p.Status == payment.StatusPROCESSING && fresh:
		s.chargeToken(ctx, p, ipAddr)
	case p.Status == payment.StatusSUCCEEDED && fresh && p.Purpose == payment.PurposeORDER:
		s.provisionOrder(ctx, p.OrderID)
	}
}

// orderInfo is the description the gateway shows the customer.
func orderInfo(p *ent.Payment) string {
	if p.Purpose == payment.PurposeTOP_UP {
		return "Nap tien tai khoan " + string(p.ID)
	}
	if p.Purpose == payment.PurposeINVOICE {
		return "Thanh toan hoa don " + string(p.ID)
	}
	return "Thanh toan don hang " + string(p.OrderID)
}

// startRedirect asks the gateway for the hosted page of a PENDING payment
// and records it (REQUIRES_ACTION); a gateway that refuses fails the
// payment and releases what it reserved.
func (s *Service) startRedirect(ctx context.Context, p *ent.Payment, att *ent.GatewayAttempt, ipAddr string) {
	req := gateway.StartRequest{
		TxnRef: att.TxnRef, Amount: att.Amount, OrderInfo: orderInfo(p),
		ReturnURL: p.ReturnURL, IPAddr: ipAddr, CreatedAt: att.CreatedAt,
	}
	if p.ExpiresAt != nil {
		req.ExpiresAt = *p.ExpiresAt
	}
	res, startErr := s.gw.StartPayment(ctx, req)
	now := s.now()
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		cur, err := s.lockPayment(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if cur.Status != payment.StatusPENDING {
			return nil // a concurrent replay got there first
		}
		if startErr != nil {
			_, err := s.settleUnpaid(ctx, tx, cur, payment.StatusFAILED, "the payment gateway could not start the payment", now)
			return err
		}
		n, err := tx.GatewayAttempt.Update().
			Where(gatewayattempt.ID(att.ID), gatewayattempt.StatusEQ(gatewayattempt.StatusCREATED)).
			SetStatus(gatewayattempt.StatusPENDING).
			SetUpdatedAt(now).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("attempt %s → PENDING: %w", att.ID, err)
		}
		if n == 0 {
			return nil
		}
		_, _, err = s.markRequiresAction(ctx, tx, cur, res.RedirectURL, now)
		return err
	})
	if startErr != nil {
		s.logger.ErrorContext(ctx, "checkout: gateway refused to start a payment", "payment", p.ID, "error", startErr)
	}
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: record gateway redirect", "payment", p.ID, "error", err)
	}
}

// chargeToken charges the linked token of a PROCESSING payment once and
// applies the answer. No answer (a timeout, a transport error) leaves the
// payment PROCESSING and the attempt UNKNOWN for ReconcileUnknown: the
// token is never charged a second time.
func (s *Service) chargeToken(ctx context.Context, p *ent.Payment, ipAddr string) {
	att, err := s.db.Client.GatewayAttempt.Query().
		Where(gatewayattempt.PaymentID(p.ID), gatewayattempt.StatusEQ(gatewayattempt.StatusPENDING)).
		Only(ctx)
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: no token charge to send", "payment", p.ID, "error", err)
		return
	}
	link, err := s.db.Client.LinkedAccount.Get(ctx, att.LinkedAccountID)
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: read linked account", "payment", p.ID, "error", err)
		return
	}
	res, err := s.gw.ChargeToken(ctx, gateway.TokenCharge{
		TxnRef: att.TxnRef, Token: link.Token, Amount: att.Amount, OrderInfo: orderInfo(p),
		IPAddr: ipAddr, CreatedAt: att.CreatedAt, UserID: string(p.AccountID),
	})
	if err != nil {
		s.logger.WarnContext(ctx, "checkout: token charge without an answer", "payment", p.ID, "error", err)
		res = gateway.ChargeResult{Status: gateway.StatusUnknown}
	}
	r := chargeResult{transactionNo: res.TransactionNo, responseCode: res.ResponseCode}
	switch res.Status {
	case gateway.StatusSucceeded:
		r.success = true
	case gateway.StatusFailed, gateway.StatusNotFound:
		r.reason = declineReason(res.ResponseCode)
	default:
		s.markUnknown(ctx, att)
		return
	}
	if _, err := s.applyResult(ctx, att.TxnRef, r); err != nil {
		s.logger.ErrorContext(ctx, "checkout: record token charge", "payment", p.ID, "error", err)
	}
}

// markUnknown records that a charge's outcome is unknown.
func (s *Service) markUnknown(ctx context.Context, att *ent.GatewayAttempt) {
	err := s.db.Client.GatewayAttempt.Update().
		Where(gatewayattempt.ID(att.ID), gatewayattempt.StatusIn(gatewayattempt.StatusCREATED, gatewayattempt.StatusPENDING)).
		SetStatus(gatewayattempt.StatusUNKNOWN).
		SetUpdatedAt(s.now()).
		Exec(ctx)
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: mark charge unknown", "attempt", att.ID, "error", err)
	}
}

func declineReason(code string) string {
	if code == "" {
		return "the payment gateway declined the payment"
	}
	return "the payment gateway declined the payment (code " + code + ")"
}

// chargeResult is a gateway's verdict on one attempt, from an IPN, a token
// charge's answer or a query.
type chargeResult struct {
	success       bool
	canceled      bool
	transactionNo string
	responseCode  string
	bankCode      string
	paidAt        time.Time
	// amount, when set, is what the gateway says was charged; it must
	// equal the attempt's amount.
	amount *money.Amount
	reason string
}

// errDuplicateTransaction marks a gateway transaction number already
// recorded on another attempt.
var errDuplicateTransaction = errors.New("gateway transaction number already recorded")

// applyResult records a gateway's verdict on the attempt txnRef once, and
// settles its payment, in one transaction that first takes the payment's
// lock. The checks follow the IPN rules: unknown reference → IPNNotFound;
// amount differs → IPNInvalidAmount; attempt already decided (a repeated
// or out-of-order callback) → IPNAlreadyConfirmed, changing nothing. A
// success for an attempt that expired with its payment is a late payment:
// the money is credited to the wallet (see latePayment). After commit a
// paid order's resources go to the provisioner.
func (s *Service) applyResult(ctx context.Context, txnRef string, r chargeResult) (gateway.IPNOutcome, error) {
	now := s.now()
	outcome := gateway.IPNConfirmed
	var paid *ent.Payment
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		att, err := tx.GatewayAttempt.Query().Where(gatewayattempt.TxnRef(txnRef)).Only(ctx)
		if ent.IsNotFound(err) {
			outcome = gateway.IPNNotFound
			return nil
		}
		if err != nil {
			return fmt.Errorf("read attempt %s: %w", txnRef, err)
		}
		if r.amount != nil && !r.amount.Equal(att.Amount) {
			outcome = gateway.IPNInvalidAmount
			return nil
		}
		p, err := s.lockPayment(ctx, tx, att.PaymentID)
		if err != nil {
			return err
		}
		// Read again under the lock: a concurrent callback may have won.
		if att, err = tx.GatewayAttempt.Get(ctx, att.ID); err != nil {
			return fmt.Errorf("read attempt %s: %w", txnRef, err)
		}
		switch {
		case att.Status == gatewayattempt.StatusEXPIRED && r.success && !isOpen(p.Status):
			return s.latePayment(ctx, tx, p, att, r, now)
		case att.Status == gatewayattempt.StatusEXPIRED,
			att.Status == gatewayattempt.StatusSUCCEEDED, att.Status == gatewayattempt.StatusFAILED,
			!isOpen(p.Status):
			outcome = gateway.IPNAlreadyConfirmed
			return nil
		}
		to := gatewayattempt.StatusFAILED
		if r.success {
			to = gatewayattempt.StatusSUCCEEDED
		}
		u := tx.GatewayAttempt.Update().
			Where(gatewayattempt.ID(att.ID), gatewayattempt.StatusIn(openAttempt...)).
			SetStatus(to).
			SetResponseCode(r.responseCode).
			SetBankCode(r.bankCode).
			SetUpdatedAt(now)
		// VNPAY sends transaction number 0 on some failures: only real
		// numbers are recorded (and deduplicated by the unique index).
		if r.transactionNo != "" && r.transactionNo != "0" {
			u.SetGatewayTransactionNo(r.transactionNo)
		}
		if r.success {
			u.SetPaidAt(paidAt(r.paidAt, now))
		}
		n, err := u.Save(ctx)
		if ent.IsConstraintError(err) {
			return errDuplicateTransaction
		}
		if err != nil {
			return fmt.Errorf("attempt %s → %s: %w", att.ID, to, err)
		}
		if n == 0 {
			outcome = gateway.IPNAlreadyConfirmed
			return nil
		}
		switch {
		case r.success:
			if err := s.settlePaid(ctx, tx, p, now); err != nil {
				return err
			}
			paid = p
		case r.canceled || r.responseCode == CancelResponseCode:
			_, err = s.settleUnpaid(ctx, tx, p, payment.StatusCANCELED, "the payment was canceled on the gateway page", now)
		default:
			reason := r.reason
			if reason == "" {
				reason = declineReason(r.responseCode)
			}
			_, err = s.settleUnpaid(ctx, tx, p, payment.StatusFAILED, reason, now)
		}
		return err
	})
	if errors.Is(err, errDuplicateTransaction) {
		s.logger.WarnContext(ctx, "checkout: gateway transaction number seen on another attempt", "txn_ref", txnRef)
		return gateway.IPNAlreadyConfirmed, nil
	}
	if err != nil {
		return gateway.IPNError, fmt.Errorf("apply gateway result for %s: %w", txnRef, err)
	}
	if paid != nil && paid.Purpose == payment.PurposeORDER {
		s.provisionOrder(ctx, paid.OrderID)
	}
	return outcome, nil
}

func paidAt(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC().Truncate(time.Microsecond)
}

// latePayment records a success that arrives after its payment expired
// (the hold and coupon are released and the order is over): the customer's
// money is credited to the wallet as a top-up (DEPOSIT), the attempt is
// marked SUCCEEDED, and a payment event says so. The payment keeps its
// status.
func (s *Service) latePayment(ctx context.Context, tx *ent.Tx, p *ent.Payment, att *ent.GatewayAttempt, r chargeResult, now time.Time) error {
	u := tx.GatewayAttempt.Update().
		Where(gatewayattempt.ID(att.ID), gatewayattempt.StatusEQ(gatewayattempt.StatusEXPIRED)).
		SetStatus(gatewayattempt.StatusSUCCEEDED).
		SetResponseCode(r.responseCode).
		SetBankCode(r.bankCode).
		SetPaidAt(paidAt(r.paidAt, now)).
		SetUpdatedAt(now)
	if r.transactionNo != "" && r.transactionNo != "0" {
		u.SetGatewayTransactionNo(r.transactionNo)
	}
	n, err := u.Save(ctx)
	if ent.IsConstraintError(err) {
		return errDuplicateTransaction
	}
	if err != nil || n == 0 {
		return fmt.Errorf("record late payment of %s: %w (%d rows)", att.ID, err, n)
	}
	_, err = s.ledger.Credit(ctx, tx, ledger.Movement{
		AccountID: p.AccountID, Amount: att.Amount, Kind: ledgertransaction.KindDEPOSIT,
		Counter: ledgeraccount.KindGATEWAY_CLEARING,
		Memo: ledger.Memo{
			Description: "Payment received after the order expired, kept as credit",
			Reference:   string(p.ID), At: now,
		},
	})
	if err != nil {
		return fmt.Errorf("credit late payment of %s: %w", p.ID, err)
	}
	return s.emit(ctx, tx, p, now, PaymentEvent{Reason: "paid after expiry: " + att.Amount.Format() + " added to credit"})
}

// ApplyGatewayCallback applies a verified payment IPN (for
// gateway.IPNHandler, which has checked the signature): it checks that
// the attempt exists (IPNNotFound), that the amount and currency match
// (IPNInvalidAmount) and that it is still pending (IPNAlreadyConfirmed),
// then records the result once — a repeated or out-of-order callback
// changes nothing — and answers IPNConfirmed only once that is committed.
func (s *Service) ApplyGatewayCallback(ctx context.Context, cb gateway.Callback) gateway.IPNOutcome {
	ctx = auth.SystemContext(ctx)
	if cb.Currency != "" && cb.Currency != money.Currency {
		return gateway.IPNInvalidAmount
	}
	amount := cb.Amount
	outcome, err := s.applyResult(ctx, cb.TxnRef, chargeResult{
		success:       cb.Success,
		canceled:      !cb.Success && cb.ResponseCode == CancelResponseCode,
		transactionNo: cb.TransactionNo,
		responseCode:  cb.ResponseCode,
		bankCode:      cb.BankCode,
		paidAt:        cb.PayDate,
		amount:        &amount,
	})
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: gateway callback not applied", "txn_ref", cb.TxnRef, "error", err)
		return gateway.IPNError
	}
	return outcome
}

// ReconcileUnknown resolves charges whose outcome we do not know: token
// charges that timed out (UNKNOWN) and token charges still in flight after
// Config.ReconcileAfter (the process may have stopped before recording
// the answer). It asks the gateway (Query) and applies its answer — it
// never charges again. A charge the gateway never received (NOT_FOUND)
// fails its payment; one still pending is left for the next run. It
// returns how many payments it resolved; errors of single charges are
// joined and the rest are still tried.
func (s *Service) ReconcileUnknown(ctx context.Context) (int, error) {
	ctx = auth.SystemContext(ctx)
	cutoff := s.now().Add(-s.reconcileAfter)
	atts, err := s.db.Client.GatewayAttempt.Query().
		Where(gatewayattempt.Or(
			gatewayattempt.StatusEQ(gatewayattempt.StatusUNKNOWN),
			gatewayattempt.And(
				gatewayattempt.StatusEQ(gatewayattempt.StatusPENDING),
				gatewayattempt.LinkedAccountIDNotNil(),
				gatewayattempt.LinkedAccountIDNEQ(""),
				gatewayattempt.CreatedAtLTE(cutoff),
			),
		)).
		Order(ent.Asc(gatewayattempt.FieldCreatedAt)).
		All(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile: list charges: %w", err)
	}
	var (
		resolved int
		errs     []error
	)
	for _, att := range atts {
		res, err := s.gw.Query(ctx, gateway.QueryRequest{TxnRef: att.TxnRef, TransactionDate: att.CreatedAt})
		if err != nil {
			errs = append(errs, fmt.Errorf("query %s: %w", att.TxnRef, err))
			continue
		}
		r := chargeResult{transactionNo: res.TransactionNo, responseCode: res.ResponseCode,
			bankCode: res.BankCode, paidAt: res.PayDate}
		switch res.Status {
		case gateway.StatusSucceeded:
			amount := res.Amount
			r.success, r.amount = true, &amount
		case gateway.StatusFailed:
			r.reason = declineReason(res.TransactionStatus)
		case gateway.StatusNotFound:
			r.reason = "the payment gateway never received the charge"
		default:
			continue
		}
		outcome, err := s.applyResult(ctx, att.TxnRef, r)
		switch {
		case err != nil:
			errs = append(errs, err)
		case outcome == gateway.IPNConfirmed:
			resolved++
		case outcome == gateway.IPNInvalidAmount:
			errs = append(errs, fmt.Errorf("reconcile %s: the gateway reports %s, we sent %s", att.TxnRef, res.Amount, att.Amount))
		}
	}
	return resolved, errors.Join(errs...)
}
