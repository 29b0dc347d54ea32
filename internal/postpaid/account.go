package postpaid

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/internal/audit"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
)

// MaxReasonLength bounds an operator's reason, in characters.
const MaxReasonLength = 500

// ConvertInput changes an account's type.
type ConvertInput struct {
	AccountID pulid.ID
	// Type is the new type: PREPAID or POSTPAID.
	Type entaccount.Type
	// Reason is the operator's justification (required, audit-logged).
	Reason string
	// CreditLimit, when set, becomes the account's credit limit in the
	// same change (whole VND, ≥ 0).
	CreditLimit *money.Amount
}

// Validate checks the input; faults name the GraphQL input fields.
func (in ConvertInput) Validate() error {
	switch {
	case in.AccountID == "":
		return fault.New(fault.Invalid, "choose the account", "input", "accountId")
	case entaccount.TypeValidator(in.Type) != nil:
		return fault.New(fault.Invalid, "the type must be PREPAID or POSTPAID", "input", "type")
	}
	if err := validateReason(in.Reason, true); err != nil {
		return err
	}
	if in.CreditLimit != nil {
		return validateLimit(*in.CreditLimit)
	}
	return nil
}

func validateReason(reason string, required bool) error {
	r := strings.TrimSpace(reason)
	switch {
	case required && r == "":
		return fault.New(fault.Invalid, "a reason is required", "input", "reason")
	case !utf8.ValidString(r) || utf8.RuneCountInString(r) > MaxReasonLength:
		return fault.Newf(fault.Invalid, []string{"input", "reason"}, "the reason must be text of at most %d characters", MaxReasonLength)
	}
	return nil
}

func validateLimit(limit money.Amount) error {
	if limit.Validate() != nil || !limit.Equal(limit.RoundVND()) || limit.IsNegative() {
		return fault.Newf(fault.Invalid, []string{"input", "creditLimit"},
			"the credit limit is a whole number of VND from 0 to %s", money.Max.Format())
	}
	return nil
}

// operator refuses anyone but operators (and the process, for seeds).
func operator(ctx context.Context) error {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return fault.New(fault.Unauthenticated, "authentication required")
	}
	if !v.IsAdmin() && !v.IsSystem() {
		return fault.New(fault.Forbidden, "only operators change account types and credit limits")
	}
	return nil
}

// Convert makes an account PREPAID or POSTPAID (operators only), with an
// audit entry (account.convert: from, to, reason, credit limit) in the same
// transaction. The new type applies to resources created afterwards:
// existing resources keep their billing mode until they end (see the
// package documentation). Converting to the type the account already has
// is a fault.InvalidState.
func (s *Service) Convert(ctx context.Context, in ConvertInput) (*ent.Account, error) {
	if err := operator(ctx); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(in.Reason)
	now := s.now()
	var out *ent.Account
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		acc, err := s.lockAccount(ctx, tx, in.AccountID)
		if err != nil {
			return err
		}
		if acc.Type == in.Type {
			return fault.Newf(fault.InvalidState, []string{"input", "type"}, "the account is already %s", acc.Type)
		}
		u := tx.Account.UpdateOneID(acc.ID).SetType(in.Type).SetUpdatedAt(now)
		details := map[string]any{"from": string(acc.Type), "to": string(in.Type)}
		if in.CreditLimit != nil {
			u.SetCreditLimit(*in.CreditLimit)
			details["creditLimit"] = in.CreditLimit.String()
			details["previousCreditLimit"] = acc.CreditLimit.String()
		}
		if out, err = u.Save(ctx); err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Action: "account.convert", TargetType: "account", TargetID: string(acc.ID), AccountID: acc.ID,
			Reason: reason, Details: details, At: now,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("convert account %s to %s: %w", in.AccountID, in.Type, err)
	}
	return out.Unwrap(), nil
}

// SetCreditLimitInput sets an account's postpaid credit limit.
type SetCreditLimitInput struct {
	AccountID pulid.ID
	// Limit is whole VND, from 0 to money.Max.
	Limit money.Amount
	// Reason is the operator's justification (optional, audit-logged).
	Reason string
}

// SetCreditLimit sets an account's credit limit (operators only), with an
// audit entry (account.credit_limit: previous and new limit, reason). Any
// account may have one; only postpaid accounts use it. A lower limit does
// not touch existing resources: it only refuses later creations and
// enlargements (see CreateResource).
func (s *Service) SetCreditLimit(ctx context.Context, in SetCreditLimitInput) (*ent.Account, error) {
	if err := operator(ctx); err != nil {
		return nil, err
	}
	if in.AccountID == "" {
		return nil, fault.New(fault.Invalid, "choose the account", "input", "accountId")
	}
	if err := validateLimit(in.Limit); err != nil {
		return nil, err
	}
	if err := validateReason(in.Reason, false); err != nil {
		return nil, err
	}
	now := s.now()
	var out *ent.Account
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		acc, err := s.lockAccount(ctx, tx, in.AccountID)
		if err != nil {
			return err
		}
		if out, err = tx.Account.UpdateOneID(acc.ID).SetCreditLimit(in.Limit).SetUpdatedAt(now).Save(ctx); err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Action: "account.credit_limit", TargetType: "account", TargetID: string(acc.ID), AccountID: acc.ID,
			Reason: strings.TrimSpace(in.Reason),
			Details: map[string]any{
				"previous": acc.CreditLimit.String(), "limit": in.Limit.String(), "type": string(acc.Type),
			},
			At: now,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("set credit limit of %s: %w", in.AccountID, err)
	}
	return out.Unwrap(), nil
}
