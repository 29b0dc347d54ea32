package checkout

import (
	"context"
	"errors"
	"fmt"

	"billing/ent"
	"billing/ent/gatewayattempt"
	"billing/ent/payment"
	"billing/internal/auth"
	"billing/internal/gateway"
	"billing/internal/store"
)

// expireBatch bounds the payments one ExpireAbandoned run looks at; the
// job runs every minute or so and picks up the rest next time.
const expireBatch = 500

// ExpireAbandoned ends the gateway payments the customer abandoned: every
// PENDING or REQUIRES_ACTION payment past its expires_at becomes EXPIRED,
// its credit hold and coupon reservation are released, its order becomes
// EXPIRED and the order's resources FAILED (never provisioned), with the
// payment's event — in one transaction per payment. Before expiring a
// payment whose customer reached the gateway page, it asks the gateway
// (Query): a payment that did succeed (its IPN was lost) is applied as paid
// instead. Payments in PROCESSING never expire here (a charge is in flight;
// see ReconcileUnknown).
//
// Each payment expires exactly once even when runs overlap (on one or
// several instances): the transition is a conditional update under the
// payment's row lock, and a run that loses it skips the payment. It
// returns how many payments this run expired.
func (s *Service) ExpireAbandoned(ctx context.Context) (int, error) {
	ctx = auth.SystemContext(ctx)
	now := s.now()
	ps, err := s.db.Client.Payment.Query().
		Where(
			payment.StatusIn(payment.StatusPENDING, payment.StatusREQUIRES_ACTION),
			payment.ExpiresAtNotNil(),
			payment.ExpiresAtLTE(now),
		).
		Order(ent.Asc(payment.FieldExpiresAt)).
		Limit(expireBatch).
		All(ctx)
	if err != nil {
		return 0, fmt.Errorf("expire payments: list: %w", err)
	}
	var (
		expired int
		errs    []error
	)
	for _, p := range ps {
		if s.paidMeanwhile(ctx, p) {
			continue
		}
		var ok bool
		err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
			cur, err := s.lockPayment(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			ok, err = s.settleUnpaid(ctx, tx, cur, payment.StatusEXPIRED, "", s.now())
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("expire payment %s: %w", p.ID, err))
			continue
		}
		if ok {
			expired++
		}
	}
	return expired, errors.Join(errs...)
}

// paidMeanwhile asks the gateway about a payment about to expire whose
// customer was sent to the gateway page, and applies a success the IPN
// never delivered. A gateway that cannot be asked does not stop the
// expiry: a payment that succeeded anyway is credited to the wallet when
// its IPN finally arrives (see latePayment).
func (s *Service) paidMeanwhile(ctx context.Context, p *ent.Payment) bool {
	if p.Status != payment.StatusREQUIRES_ACTION {
		return false
	}
	att, err := s.db.Client.GatewayAttempt.Query().
		Where(gatewayattempt.PaymentID(p.ID), gatewayattempt.StatusEQ(gatewayattempt.StatusPENDING)).
		First(ctx)
	if err != nil {
		return false
	}
	res, err := s.gw.Query(ctx, gateway.QueryRequest{TxnRef: att.TxnRef, TransactionDate: att.CreatedAt})
	if err != nil {
		s.logger.WarnContext(ctx, "checkout: gateway not asked before expiry", "payment", p.ID, "error", err)
		return false
	}
	if res.Status != gateway.StatusSucceeded {
		return false
	}
	amount := res.Amount
	outcome, err := s.applyResult(ctx, att.TxnRef, chargeResult{
		success: true, transactionNo: res.TransactionNo, responseCode: res.ResponseCode,
		bankCode: res.BankCode, paidAt: res.PayDate, amount: &amount,
	})
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: apply payment found before expiry", "payment", p.ID, "error", err)
		return false
	}
	return outcome == gateway.IPNConfirmed
}
