package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/ent/wallet"
	"billing/internal/auth"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
)

// Service moves money between ledger accounts and keeps wallets in step.
type Service struct {
	db     *store.DB
	outbox *events.Outbox
	clock  clockwork.Clock
	// accountIDs remembers ledger account ids by code (see ensureAccounts).
	accountIDs sync.Map
}

// New returns a ledger service. Every wallet change is appended to outbox in
// the transaction that makes it; clock provides "now" when a movement does
// not carry its own time.
func New(db *store.DB, outbox *events.Outbox, clock clockwork.Clock) *Service {
	if db == nil || outbox == nil || clock == nil {
		panic("ledger.New: db, outbox and clock are required")
	}
	return &Service{db: db, outbox: outbox, clock: clock}
}

// Memo describes a movement in the credit history.
type Memo struct {
	// Description is shown to the customer; a default per kind is used when empty.
	Description string
	// Reference is the id of what the movement belongs to (payment, order,
	// invoice…). Hold, Capture and Release default it to the hold id.
	Reference string
	// At is when the movement happens. Callers that write other rows in the
	// same transaction pass their one "now"; zero means the service clock.
	At time.Time
}

// Movement is a credit or debit of a customer's available credit against a
// system ledger account.
type Movement struct {
	// AccountID is the customer account whose wallet changes.
	AccountID pulid.ID
	// Amount is positive, whole VND and at most money.Max.
	Amount money.Amount
	// Kind labels the transaction; it must suit the direction (see the
	// package documentation) and chooses the default counter account.
	Kind ledgertransaction.Kind
	// Counter overrides the counter account; it must be a system kind.
	Counter ledgeraccount.Kind
	// SkipWallet leaves Posting.Wallet nil: callers that do not use the
	// wallet entity save the statement that reads it back.
	SkipWallet bool
	// NoEntities (which implies SkipWallet) is for callers that use none
	// of the Posting's entities: on PostgreSQL the wallet update, the
	// transaction and its entries are then written by one statement, and
	// the Posting carries no entities (Transaction, Entries and Wallet nil).
	NoEntities bool
	Memo
}

// Posting is the outcome of one movement. Its entities belong to the
// caller's transaction; call Unwrap on them after commit before querying
// their edges.
type Posting struct {
	// Transaction is the ledger transaction written.
	Transaction *ent.LedgerTransaction
	// Entries are its entries: the customer's first, then the counter's.
	Entries []*ent.LedgerEntry
	// Wallet is the wallet as the movement left it (nil when the
	// movement asked for Movement.SkipWallet).
	Wallet *ent.Wallet
	// Hold is the hold created or resolved (Hold, Capture, Release only).
	Hold *ent.Hold
}

// WalletChanged is the payload of the events.TopicWallet event appended
// after every wallet change. Amounts are decimal strings.
type WalletChanged struct {
	AccountID pulid.ID     `json:"accountId"`
	Balance   money.Amount `json:"balance"`
	Held      money.Amount `json:"held"`
	Available money.Amount `json:"available"`
	Version   int64        `json:"version"`
}

// creditCounters and debitCounters say which kinds each direction accepts
// and which system account is their default counterpart.
var (
	creditCounters = map[ledgertransaction.Kind]ledgeraccount.Kind{
		ledgertransaction.KindDEPOSIT:    ledgeraccount.KindGATEWAY_CLEARING,
		ledgertransaction.KindREFUND:     ledgeraccount.KindREFUNDS,
		ledgertransaction.KindADJUSTMENT: ledgeraccount.KindADJUSTMENTS,
	}
	debitCounters = map[ledgertransaction.Kind]ledgeraccount.Kind{
		ledgertransaction.KindPURCHASE:        ledgeraccount.KindREVENUE,
		ledgertransaction.KindINVOICE_PAYMENT: ledgeraccount.KindREVENUE,
		ledgertransaction.KindADJUSTMENT:      ledgeraccount.KindADJUSTMENTS,
	}
	// captureCounter receives captured holds: a hold is captured to pay.
	captureCounter = ledgeraccount.KindREVENUE
)

// defaultDescriptions fill Memo.Description when the caller leaves it empty.
var defaultDescriptions = map[ledgertransaction.Kind]string{
	ledgertransaction.KindDEPOSIT:         "Credit top-up",
	ledgertransaction.KindPURCHASE:        "Purchase",
	ledgertransaction.KindREFUND:          "Refund",
	ledgertransaction.KindHOLD:            "Credit held for payment",
	ledgertransaction.KindRELEASE:         "Held credit released",
	ledgertransaction.KindCAPTURE:         "Held credit captured for payment",
	ledgertransaction.KindADJUSTMENT:      "Credit adjustment",
	ledgertransaction.KindINVOICE_PAYMENT: "Invoice payment",
}

// SystemKinds are the ledger account kinds that belong to no customer.
var SystemKinds = []ledgeraccount.Kind{
	ledgeraccount.KindGATEWAY_CLEARING,
	ledgeraccount.KindREVENUE,
	ledgeraccount.KindREFUNDS,
	ledgeraccount.KindDISCOUNTS,
	ledgeraccount.KindADJUSTMENTS,
}

func isSystemKind(k ledgeraccount.Kind) bool {
	for _, s := range SystemKinds {
		if s == k {
			return true
		}
	}
	return false
}

// ValidateAmount checks that a movement amount is positive, whole VND and
// at most money.Max. field is the input path reported in the fault.
func ValidateAmount(a money.Amount, field ...string) error {
	if len(field) == 0 {
		field = []string{"amount"}
	}
	if err := a.Validate(); err != nil {
		return fault.New(fault.Invalid, "amount must be a whole number of VND no larger than "+money.Max.String(), field...)
	}
	if !a.Equal(a.RoundVND()) {
		return fault.New(fault.Invalid, "amount must be a whole number of VND", field...)
	}
	if !a.IsPositive() {
		return fault.New(fault.Invalid, "amount must be positive", field...)
	}
	return nil
}

// Validate checks the account and amount of a movement before anything is
// written (fault.Invalid).
func (m Movement) Validate() error {
	if m.AccountID == "" {
		return fault.New(fault.Invalid, "account id is required", "accountId")
	}
	return ValidateAmount(m.Amount)
}

// counter validates m and returns its counter account from the direction's
// table (creditCounters or debitCounters). A kind that does not suit the
// direction is a programming error and stays internal, not a fault.
func (m Movement) counter(counters map[ledgertransaction.Kind]ledgeraccount.Kind, direction string) (ledgeraccount.Kind, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	counter, ok := counters[m.Kind]
	if !ok {
		return "", fmt.Errorf("ledger: %s of kind %q is not allowed", direction, m.Kind)
	}
	if m.Counter != "" {
		if !isSystemKind(m.Counter) {
			return "", fmt.Errorf("ledger: counter account %q is not a system account", m.Counter)
		}
		counter = m.Counter
	}
	return counter, nil
}

// now returns the movement time: the memo's, else the clock's, in UTC and
// truncated to the microsecond PostgreSQL stores, so that the entities a
// movement returns equal what a later read finds.
func (s *Service) now(at time.Time) time.Time {
	if at.IsZero() {
		at = s.clock.Now()
	}
	return at.UTC().Truncate(time.Microsecond)
}

// actor returns the viewer who moves the money. A movement without a viewer
// is refused, like every tenant-scoped query.
func actor(ctx context.Context) (auth.Viewer, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Viewer{}, errors.New("ledger: no viewer in context")
	}
	return v, nil
}

// checkTenant is the safety net for customer-scoped viewers: they can only
// move money on their own account, and another account does not exist for
// them.
func checkTenant(v auth.Viewer, accountID pulid.ID) error {
	if v.IsCustomerScoped() && v.AccountID != string(accountID) {
		return fault.New(fault.NotFound, "account not found", "accountId")
	}
	return nil
}

// Wallet returns the account's wallet, filtered by the viewer's tenancy.
func (s *Service) Wallet(ctx context.Context, accountID pulid.ID) (*ent.Wallet, error) {
	w, err := s.db.Client.Wallet.Query().Where(wallet.AccountID(accountID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "wallet not found", "accountId")
	}
	if err != nil {
		return nil, fmt.Errorf("get wallet of %s: %w", accountID, err)
	}
	return w, nil
}
