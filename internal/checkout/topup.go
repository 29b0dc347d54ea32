package checkout

import (
	"context"
	"fmt"
	"time"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/linkedaccount"
	"billing/ent/payment"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/gateway"
	"billing/internal/idempotency"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
)

// TopUpOperation names TopUp in idempotency records.
const TopUpOperation = "checkout.topUp"

// Top-up limits, whole VND.
var (
	// MinTopUp is the smallest top-up (VNPAY refuses tiny amounts).
	MinTopUp = money.VND(10_000)
	// MaxTopUp is the largest single top-up.
	MaxTopUp = money.VND(1_000_000_000)
)

// TopUpInput buys credit.
type TopUpInput struct {
	// AccountID: empty for members (their own account); required for operators.
	AccountID      pulid.ID
	IdempotencyKey string
	// Amount is whole VND in [MinTopUp, MaxTopUp].
	Amount money.Amount
	// Method is GATEWAY or LINKED_ACCOUNT.
	Method payment.Method
	// ReturnURL is for GATEWAY (default: PublicURL + DefaultReturnPath).
	ReturnURL string
	// LinkedAccountID is for LINKED_ACCOUNT.
	LinkedAccountID pulid.ID
	// IPAddr is the customer's IP address, passed to the gateway.
	IPAddr string
}

// TopUpResult is what TopUp did.
type TopUpResult struct {
	Payment     *ent.Payment
	RedirectURL string
	Replayed    bool
}

type topUpRequest struct {
	AccountID       pulid.ID       `json:"accountId"`
	Amount          money.Amount   `json:"amount"`
	Method          payment.Method `json:"method"`
	ReturnURL       string         `json:"returnUrl"`
	LinkedAccountID pulid.ID       `json:"linkedAccountId"`
}

type toppedUp struct {
	PaymentID pulid.ID `json:"paymentId"`
}

// TopUp buys credit through the gateway: a TOP_UP payment whose amount is
// credited to the wallet (DEPOSIT against GATEWAY_CLEARING) only once the
// gateway confirms it — by IPN for GATEWAY, by the token charge's answer
// (or ReconcileUnknown) for LINKED_ACCOUNT. Read-only members may top up
// their account (SPEC §1). Idempotent like PlaceOrder.
func (s *Service) TopUp(ctx context.Context, in TopUpInput) (*TopUpResult, error) {
	defer s.serving()()
	a, err := resolveActor(ctx, in.AccountID, true)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if err := in.Amount.Validate(); err != nil || !in.Amount.Equal(in.Amount.RoundVND()) ||
		in.Amount.LessThan(MinTopUp) || in.Amount.GreaterThan(MaxTopUp) {
		return nil, fault.Newf(fault.Invalid, []string{"input", "amount"},
			"a top-up is a whole number of VND from %s to %s", MinTopUp.Format(), MaxTopUp.Format())
	}
	if in.Method != payment.MethodGATEWAY && in.Method != payment.MethodLINKED_ACCOUNT {
		return nil, fault.New(fault.Invalid, "credit is bought through the gateway or a linked account", "input", "paymentMethod")
	}
	if in.Method == payment.MethodLINKED_ACCOUNT && in.LinkedAccountID == "" {
		return nil, fault.New(fault.Invalid, "choose the linked account to charge", "input", "linkedAccountId")
	}
	returnURL, err := s.returnURL(in.ReturnURL, in.Method == payment.MethodGATEWAY)
	if err != nil {
		return nil, err
	}
	req := topUpRequest{AccountID: a.accountID, Amount: in.Amount, Method: in.Method, ReturnURL: returnURL, LinkedAccountID: in.LinkedAccountID}
	now := s.now()
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, TopUpOperation, req,
		func(ctx context.Context, tx *ent.Tx) (toppedUp, error) {
			return s.topUp(ctx, tx, req, in.IdempotencyKey, now)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("top up: %w", err)
	}
	if !replayed || in.Method != payment.MethodLINKED_ACCOUNT {
		s.advance(ctx, rec.PaymentID, in.IPAddr, !replayed)
	}
	p, err := s.db.Client.Payment.Get(ctx, rec.PaymentID)
	if err != nil {
		return nil, fmt.Errorf("top up: read payment: %w", err)
	}
	res := &TopUpResult{Payment: p, Replayed: replayed}
	if p.Status == payment.StatusREQUIRES_ACTION {
		res.RedirectURL = p.RedirectURL
	}
	return res, nil
}

// topUp is TopUp's transaction.
func (s *Service) topUp(ctx context.Context, tx *ent.Tx, in topUpRequest, key string, now time.Time) (toppedUp, error) {
	acc, err := checkAccount(ctx, tx, in.AccountID)
	if err != nil {
		return toppedUp{}, err
	}
	var link *ent.LinkedAccount
	if in.Method == payment.MethodLINKED_ACCOUNT {
		if link, err = s.linkedAccount(ctx, tx, acc.ID, in.LinkedAccountID); err != nil {
			return toppedUp{}, err
		}
	}
	pc := tx.Payment.Create().
		SetID(pulid.New("pay")).
		SetAccountID(acc.ID).
		SetPurpose(payment.PurposeTOP_UP).
		SetMethod(in.Method).
		SetStatus(payment.StatusPENDING).
		SetAmount(in.Amount).
		SetIdempotencyKey(key).
		SetCreatedAt(now).
		SetUpdatedAt(now)
	if in.ReturnURL != "" {
		pc.SetReturnURL(in.ReturnURL)
	}
	p, err := pc.Save(ctx)
	if err != nil {
		return toppedUp{}, fmt.Errorf("create payment: %w", err)
	}
	if err := s.markCreated(ctx, tx, p, now); err != nil {
		return toppedUp{}, err
	}
	if link == nil {
		err = s.startAttempt(ctx, tx, p, in.Amount, "", now)
	} else if err = s.startAttempt(ctx, tx, p, in.Amount, link.ID, now); err == nil {
		_, _, err = s.markProcessing(ctx, tx, p, now)
	}
	if err != nil {
		return toppedUp{}, err
	}
	return toppedUp{PaymentID: p.ID}, nil
}

// StartLinkInput asks to link a payment account.
type StartLinkInput struct {
	// AccountID: empty for customers (their own); required for operators.
	AccountID pulid.ID
	// ReturnURL is where the gateway sends the browser back.
	ReturnURL string
	IPAddr    string
}

// StartLink returns the gateway page where the customer links a payment
// account; the result arrives through ApplyLinkCallback. Nothing is
// stored until then. Customers only (and operators for them).
func (s *Service) StartLink(ctx context.Context, in StartLinkInput) (string, error) {
	a, err := resolveActor(ctx, in.AccountID, false)
	if err != nil {
		return "", err
	}
	returnURL, err := s.returnURL(in.ReturnURL, true)
	if err != nil {
		return "", err
	}
	err = store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		_, err := checkAccount(ctx, tx, a.accountID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("start link: %w", err)
	}
	res, err := s.gw.StartLink(ctx, gateway.LinkRequest{
		TxnRef: txnRef(pulid.New("lnk")), UserID: string(a.accountID), ReturnURL: returnURL,
		IPAddr: in.IPAddr, CreatedAt: s.now(),
	})
	if err != nil {
		return "", fmt.Errorf("start link: %w", err)
	}
	return res.RedirectURL, nil
}

// ApplyLinkCallback stores the linked payment account of a verified link
// callback (for gateway.LinkIPNHandler): only the token and its masked
// label, never card data. An unknown account is IPNNotFound; a refused
// link is recorded as nothing (IPNConfirmed); the same token again is
// IPNAlreadyConfirmed.
func (s *Service) ApplyLinkCallback(ctx context.Context, res gateway.LinkResult) gateway.IPNOutcome {
	ctx = auth.SystemContext(ctx)
	outcome := gateway.IPNConfirmed
	now := s.now()
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		id := pulid.ID(res.UserID)
		q := tx.Account.Query().Where(entaccount.ID(id))
		if s.db.IsPostgres() {
			// One link callback per account at a time: the duplicate
			// check below must see the other's insert.
			q.ForUpdate()
		}
		if _, err := q.Only(ctx); ent.IsNotFound(err) {
			outcome = gateway.IPNNotFound
			return nil
		} else if err != nil {
			return err
		}
		if !res.Success || res.Token == "" {
			return nil
		}
		dup, err := tx.LinkedAccount.Query().
			Where(linkedaccount.AccountID(id), linkedaccount.Token(res.Token)).
			Exist(ctx)
		if err != nil {
			return err
		}
		if dup {
			outcome = gateway.IPNAlreadyConfirmed
			return nil
		}
		return tx.LinkedAccount.Create().
			SetAccountID(id).
			SetGateway(s.gw.Name()).
			SetToken(res.Token).
			SetLabel(res.Label).
			SetActive(true).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			Exec(ctx)
	})
	if err != nil {
		s.logger.ErrorContext(ctx, "checkout: link callback not applied", "txn_ref", res.TxnRef, "error", err)
		return gateway.IPNError
	}
	return outcome
}
