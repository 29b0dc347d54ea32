package account

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/member"
	"billing/internal/audit"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/ledger"
	"billing/internal/store"
)

// Length limits of the text inputs, in characters.
const (
	MaxNameLength    = 200
	MaxEmailLength   = 254
	MaxSubjectLength = 200
)

// Service opens and manages accounts.
type Service struct {
	db    *store.DB
	clock clockwork.Clock
}

// New returns an account service.
func New(db *store.DB, clock clockwork.Clock) *Service {
	if db == nil || clock == nil {
		panic("account.New: db and clock are required")
	}
	return &Service{db: db, clock: clock}
}

// CreateInput opens an account.
type CreateInput struct {
	// Name is the organisation's display name (required).
	Name string
	// Email is the billing contact (optional).
	Email string
	// OwnerSubject is the token subject of the owner (required).
	OwnerSubject string
	// Type is PREPAID when empty.
	Type entaccount.Type
}

// normalized trims the text fields and applies the default type.
func (in CreateInput) normalized() CreateInput {
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	in.OwnerSubject = strings.TrimSpace(in.OwnerSubject)
	if in.Type == "" {
		in.Type = entaccount.TypePREPAID
	}
	return in
}

// Validate checks the input (after trimming); faults name the GraphQL
// input fields.
func (in CreateInput) Validate() error {
	in = in.normalized()
	switch {
	case in.Name == "":
		return fault.New(fault.Invalid, "a name is required", "input", "name")
	case utf8.RuneCountInString(in.Name) > MaxNameLength:
		return fault.New(fault.Invalid, fmt.Sprintf("the name is longer than %d characters", MaxNameLength), "input", "name")
	case in.OwnerSubject == "":
		return fault.New(fault.Invalid, "an owner is required", "input", "ownerSubject")
	case utf8.RuneCountInString(in.OwnerSubject) > MaxSubjectLength:
		return fault.New(fault.Invalid, fmt.Sprintf("the owner is longer than %d characters", MaxSubjectLength), "input", "ownerSubject")
	case entaccount.TypeValidator(in.Type) != nil:
		return fault.New(fault.Invalid, "the type must be PREPAID or POSTPAID", "input", "type")
	}
	if in.Email != "" {
		addr, err := mail.ParseAddress(in.Email)
		if err != nil || addr.Address != in.Email || len(in.Email) > MaxEmailLength {
			return fault.New(fault.Invalid, "the email address is not valid", "input", "email")
		}
	}
	return nil
}

// Create opens an account with its owner, wallet and ledger accounts in
// one transaction. Only admin and system viewers may open accounts.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.Account, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return nil, fault.New(fault.Unauthenticated, "authentication required")
	}
	if !v.IsAdmin() && !v.IsSystem() {
		return nil, fault.New(fault.Forbidden, "only operators may open accounts")
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	in = in.normalized()
	// Microseconds: what PostgreSQL stores, so the returned entity equals a later read.
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	var acc *ent.Account
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		var err error
		acc, err = tx.Account.Create().
			SetName(in.Name).
			SetEmail(in.Email).
			SetType(in.Type).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		err = tx.Member.Create().
			SetAccountID(acc.ID).
			SetSubject(in.OwnerSubject).
			SetEmail(in.Email).
			SetRole(member.RoleOWNER).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert owner: %w", err)
		}
		if _, err := ledger.OpenWallet(ctx, tx, acc.ID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{
			Action:     "account.create",
			TargetType: "account",
			TargetID:   string(acc.ID),
			AccountID:  acc.ID,
			Details: map[string]any{
				"name":         in.Name,
				"type":         string(in.Type),
				"ownerSubject": in.OwnerSubject,
			},
			At: now,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("create account %q: %w", in.Name, err)
	}
	return acc.Unwrap(), nil
}
