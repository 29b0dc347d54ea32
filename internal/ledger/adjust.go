package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"billing/ent"
	"billing/ent/ledgertransaction"
	"billing/internal/audit"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/money"
	"billing/internal/pulid"
)

// MaxReasonLength is the longest adjustment reason accepted, in characters.
const MaxReasonLength = 500

// AdjustCreditAction is the audit action of a manual credit adjustment.
const AdjustCreditAction = "credit.adjust"

// AdjustCreditInput is an operator's manual change of a customer's credit.
type AdjustCreditInput struct {
	// AccountID is the customer account.
	AccountID pulid.ID
	// Amount is signed: positive credits, negative debits; non-zero, whole
	// VND, |Amount| ≤ money.Max.
	Amount money.Amount
	// Reason is mandatory, at most MaxReasonLength characters once trimmed.
	Reason string
	// IdempotencyKey makes retries safe; scoped to the operator.
	IdempotencyKey string
}

// Validate checks the input; faults name the GraphQL input fields.
func (in AdjustCreditInput) Validate() error {
	if in.AccountID == "" {
		return fault.New(fault.Invalid, "an account id is required", "input", "accountId")
	}
	if err := in.Amount.Validate(); err != nil || in.Amount.Abs().GreaterThan(money.Max) {
		return fault.New(fault.Invalid, "the amount must be a whole number of VND no larger than "+money.Max.String()+" in absolute value", "input", "amount")
	}
	if !in.Amount.Equal(in.Amount.RoundVND()) {
		return fault.New(fault.Invalid, "the amount must be a whole number of VND", "input", "amount")
	}
	if in.Amount.IsZero() {
		return fault.New(fault.Invalid, "the amount must not be zero", "input", "amount")
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		return fault.New(fault.Invalid, "a reason is required", "input", "reason")
	}
	if utf8.RuneCountInString(reason) > MaxReasonLength {
		return fault.New(fault.Invalid, fmt.Sprintf("the reason is longer than %d characters", MaxReasonLength), "input", "reason")
	}
	return idempotency.ValidateKey(in.IdempotencyKey)
}

// AdjustCreditResult is the outcome of AdjustCredit.
type AdjustCreditResult struct {
	// Wallet is the wallet after the adjustment; on a replay, its current state.
	Wallet *ent.Wallet
	// Transaction is the adjustment's ledger transaction (the same on a replay).
	Transaction *ent.LedgerTransaction
	// Replayed is set when the idempotency key had already been used for
	// this same request and nothing was done now.
	Replayed bool
}

// adjustRecord is what the idempotency record keeps of an adjustment.
type adjustRecord struct {
	TransactionID pulid.ID `json:"transactionId"`
	WalletID      pulid.ID `json:"walletId"`
}

// AdjustCredit credits (positive amount) or debits (negative amount) a
// customer's available credit against the ADJUSTMENTS account. Admins only.
// The movement, the audit entry, the wallet event and the idempotency
// record commit together; invalid input writes nothing.
func (s *Service) AdjustCredit(ctx context.Context, in AdjustCreditInput) (AdjustCreditResult, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return AdjustCreditResult{}, fault.New(fault.Unauthenticated, "authentication required")
	}
	if !v.IsAdmin() {
		return AdjustCreditResult{}, fault.New(fault.Forbidden, "only operators may adjust credit")
	}
	if err := in.Validate(); err != nil {
		return AdjustCreditResult{}, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	now := s.now(time.Time{})

	// What the key is bound to: replaying the key with any other account,
	// amount or reason is rejected.
	request := struct {
		AccountID pulid.ID     `json:"accountId"`
		Amount    money.Amount `json:"amount"`
		Reason    string       `json:"reason"`
	}{in.AccountID, in.Amount, in.Reason}

	var fresh *Posting
	rec, replayed, err := idempotency.Do(ctx, s.db, "admin:"+v.Subject, in.IdempotencyKey, AdjustCreditAction, request,
		func(ctx context.Context, tx *ent.Tx) (adjustRecord, error) {
			if _, err := tx.Account.Get(ctx, in.AccountID); ent.IsNotFound(err) {
				return adjustRecord{}, fault.New(fault.NotFound, "account not found", "input", "accountId")
			} else if err != nil {
				return adjustRecord{}, fmt.Errorf("read account: %w", err)
			}
			m := Movement{
				AccountID: in.AccountID,
				Amount:    in.Amount.Abs(),
				Kind:      ledgertransaction.KindADJUSTMENT,
				Memo:      Memo{Description: in.Reason, At: now},
			}
			var err error
			if in.Amount.IsPositive() {
				fresh, err = s.Credit(ctx, tx, m)
			} else {
				fresh, err = s.Debit(ctx, tx, m)
			}
			if f, ok := fault.As(err); ok {
				// Report it against the operator's input fields.
				return adjustRecord{}, fault.New(f.Code, f.Message, append([]string{"input"}, f.Field...)...)
			}
			if err != nil {
				return adjustRecord{}, err
			}
			w := fresh.Wallet
			err = audit.Record(ctx, tx, audit.Entry{
				Action:     AdjustCreditAction,
				TargetType: "wallet",
				TargetID:   string(w.ID),
				AccountID:  in.AccountID,
				Reason:     in.Reason,
				Details: map[string]any{
					"amount":         in.Amount.String(),
					"transactionId":  string(fresh.Transaction.ID),
					"balanceAfter":   w.Balance.String(),
					"heldAfter":      w.Held.String(),
					"idempotencyKey": in.IdempotencyKey,
				},
				At: now,
			})
			if err != nil {
				return adjustRecord{}, err
			}
			return adjustRecord{TransactionID: fresh.Transaction.ID, WalletID: w.ID}, nil
		}, idempotency.At(now))
	if err != nil {
		return AdjustCreditResult{}, fmt.Errorf("adjust credit of %s: %w", in.AccountID, err)
	}
	if !replayed {
		// Rebind the entities from the committed transaction to the client.
		return AdjustCreditResult{Wallet: fresh.Wallet.Unwrap(), Transaction: fresh.Transaction.Unwrap()}, nil
	}
	ltx, err := s.db.Client.LedgerTransaction.Get(ctx, rec.TransactionID)
	if err != nil {
		return AdjustCreditResult{}, fmt.Errorf("adjust credit of %s: read replayed transaction: %w", in.AccountID, err)
	}
	w, err := s.db.Client.Wallet.Get(ctx, rec.WalletID)
	if err != nil {
		return AdjustCreditResult{}, fmt.Errorf("adjust credit of %s: read wallet: %w", in.AccountID, err)
	}
	return AdjustCreditResult{Wallet: w, Transaction: ltx, Replayed: true}, nil
}
