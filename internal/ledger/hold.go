package ledger

import (
	"context"
	"fmt"
	"time"

	"billing/ent"
	"billing/ent/hold"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
)

// HoldInput reserves part of a customer's available credit.
type HoldInput struct {
	// AccountID is the customer account.
	AccountID pulid.ID
	// Amount is positive, whole VND and at most money.Max.
	Amount money.Amount
	// PaymentID is the payment the hold waits for (optional).
	PaymentID pulid.ID
	// Reason is kept on the hold row for operators.
	Reason string
	Memo
}

// Validate checks the input before anything is written.
func (in HoldInput) Validate() error {
	if in.AccountID == "" {
		return fault.New(fault.Invalid, "account id is required", "accountId")
	}
	return ValidateAmount(in.Amount)
}

// Hold moves in.Amount from the customer's available credit to its held
// credit and creates an ACTIVE hold, inside tx. It fails with
// fault.InsufficientCredit when the available credit is smaller; that
// failure writes nothing and leaves tx usable.
func (s *Service) Hold(ctx context.Context, tx *ent.Tx, in HoldInput) (*Posting, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	x := in.Amount
	holdID := pulid.New("hld")
	memo := in.Memo
	if memo.Reference == "" {
		memo.Reference = string(holdID)
	}
	var h *ent.Hold
	p, err := s.post(ctx, tx, posting{
		accountID: in.AccountID,
		kind:      ledgertransaction.KindHOLD,
		amount:    x,
		op:        opHold,
		memo:      memo,
		legs:      customerLegs(in.AccountID, x.Neg(), x, ""),
		afterWallet: func(now time.Time) error {
			c := tx.Hold.Create().
				SetID(holdID).
				SetAccountID(in.AccountID).
				SetAmount(x).
				SetReason(in.Reason).
				SetCreatedAt(now).
				SetUpdatedAt(now)
			if in.PaymentID != "" {
				c.SetPaymentID(in.PaymentID)
			}
			var err error
			if h, err = c.Save(ctx); err != nil {
				return fmt.Errorf("create hold: %w", err)
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("hold %s on %s: %w", x, in.AccountID, err)
	}
	p.Hold = h
	return p, nil
}

// Capture spends an ACTIVE hold: its amount leaves the customer's held
// credit for revenue and the hold becomes CAPTURED, inside tx. A hold that
// is not ACTIVE is a fault.InvalidState and nothing changes.
func (s *Service) Capture(ctx context.Context, tx *ent.Tx, holdID pulid.ID, memo Memo) (*Posting, error) {
	p, err := s.resolve(ctx, tx, holdID, memo, hold.StatusCAPTURED)
	if err != nil {
		return nil, fmt.Errorf("capture hold %s: %w", holdID, err)
	}
	return p, nil
}

// Release returns an ACTIVE hold to the customer's available credit and
// marks it RELEASED, inside tx. A hold that is not ACTIVE is a
// fault.InvalidState and nothing changes.
func (s *Service) Release(ctx context.Context, tx *ent.Tx, holdID pulid.ID, memo Memo) (*Posting, error) {
	p, err := s.resolve(ctx, tx, holdID, memo, hold.StatusRELEASED)
	if err != nil {
		return nil, fmt.Errorf("release hold %s: %w", holdID, err)
	}
	return p, nil
}

// resolve ends an ACTIVE hold. The status change is one conditional
// UPDATE … WHERE status = 'ACTIVE', so of two concurrent resolutions of
// the same hold exactly one proceeds; the other sees no row and fails.
func (s *Service) resolve(ctx context.Context, tx *ent.Tx, holdID pulid.ID, memo Memo, to hold.Status) (*Posting, error) {
	// Read through ent: a customer-scoped viewer only finds its own holds.
	h, err := tx.Hold.Get(ctx, holdID)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "hold not found", "holdId")
	}
	if err != nil {
		return nil, fmt.Errorf("read hold: %w", err)
	}
	if h.Status != hold.StatusACTIVE {
		return nil, notActive(h.Status)
	}
	memo.At = s.now(memo.At)
	if memo.Reference == "" {
		memo.Reference = string(holdID)
	}
	n, err := tx.Hold.Update().
		Where(hold.ID(holdID), hold.StatusEQ(hold.StatusACTIVE)).
		SetStatus(to).
		SetResolvedAt(memo.At).
		SetUpdatedAt(memo.At).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update hold: %w", err)
	}
	if n == 0 {
		cur, err := tx.Hold.Get(ctx, holdID)
		if err != nil {
			return nil, fmt.Errorf("read hold: %w", err)
		}
		return nil, notActive(cur.Status)
	}
	x := h.Amount
	pt := posting{accountID: h.AccountID, amount: x, memo: memo}
	switch to {
	case hold.StatusCAPTURED:
		pt.kind = ledgertransaction.KindCAPTURE
		pt.op = opCapture
		pt.legs = customerLegs(h.AccountID, money.Zero, x.Neg(), captureCounter)
	default:
		pt.kind = ledgertransaction.KindRELEASE
		pt.op = opRelease
		pt.legs = customerLegs(h.AccountID, x, x.Neg(), "")
	}
	p, err := s.post(ctx, tx, pt)
	if err != nil {
		return nil, err
	}
	if p.Hold, err = tx.Hold.Get(ctx, holdID); err != nil {
		return nil, fmt.Errorf("read hold back: %w", err)
	}
	return p, nil
}

func notActive(st hold.Status) error {
	return fault.New(fault.InvalidState, fmt.Sprintf("the hold is %s, not ACTIVE", st), "holdId")
}

// customerLegs returns the entries of a hold movement: AVAILABLE by
// available, HELD by held (zero legs are left out) and, when counter is
// set, the counter account by the opposite of their sum.
func customerLegs(accountID pulid.ID, available, held money.Amount, counter ledgeraccount.Kind) []leg {
	cs := customerSpecs(accountID)
	var legs []leg
	if !available.IsZero() {
		legs = append(legs, leg{spec: cs[0], amount: available, customer: true})
	}
	if !held.IsZero() {
		legs = append(legs, leg{spec: cs[1], amount: held, customer: true})
	}
	if counter != "" {
		legs = append(legs, leg{spec: systemSpec(counter), amount: available.Add(held).Neg()})
	}
	return legs
}
