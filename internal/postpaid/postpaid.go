package postpaid

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

// Defaults of Config.
const (
	// DefaultDueDays is how long after issue a MONTHLY invoice is due.
	DefaultDueDays = 15
	// DefaultOverdueDays is how long past its due date an unpaid invoice
	// may stay before the account's postpaid resources are suspended.
	DefaultOverdueDays = 15
	// DefaultBatch is how many resources one month-end transaction invoices.
	DefaultBatch = 2000
	// maxSQLiteBatch keeps a batch's id list under SQLite's 32,766 bound
	// parameters.
	maxSQLiteBatch = 10_000
)

// Config wires the postpaid service.
type Config struct {
	DB       *store.DB
	Ledger   *ledger.Service
	Notify   *notify.Service
	Invoices *invoicing.Service
	Outbox   *events.Outbox
	Clock    clockwork.Clock
	// DueDays: a MONTHLY invoice is due this many days after issue
	// (0: DefaultDueDays).
	DueDays int
	// OverdueDays: this many days past due, an unpaid invoice suspends the
	// account's postpaid resources (0: DefaultOverdueDays; negative: 0,
	// suspend as soon as an invoice is due).
	OverdueDays int
	// Batch bounds the resources invoiced per month-end transaction
	// (0: DefaultBatch).
	Batch  int
	Logger *slog.Logger
}

// Service runs postpaid billing (SPEC §7): account conversion and credit
// limits, postpaid resources and their usage intervals, month-end
// invoices, automatic and manual invoice payment, and suspension for
// non-payment. The billing time zone is the invoicing service's.
type Service struct {
	db          *store.DB
	ledger      *ledger.Service
	notify      *notify.Service
	invoices    *invoicing.Service
	outbox      *events.Outbox
	machine     *state.Machine
	clock       clockwork.Clock
	loc         *time.Location
	dueDays     int
	overdueDays int
	batch       int
	logger      *slog.Logger
}

// New returns the postpaid service. It panics when a dependency is
// missing: that is a wiring error.
func New(cfg Config) *Service {
	if cfg.DB == nil || cfg.Ledger == nil || cfg.Notify == nil || cfg.Invoices == nil || cfg.Outbox == nil || cfg.Clock == nil {
		panic("postpaid.New: DB, Ledger, Notify, Invoices, Outbox and Clock are required")
	}
	s := &Service{
		db: cfg.DB, ledger: cfg.Ledger, notify: cfg.Notify, invoices: cfg.Invoices, outbox: cfg.Outbox,
		machine: state.New(cfg.Outbox, cfg.DB.IsPostgres()), clock: cfg.Clock, loc: cfg.Invoices.Location(),
		dueDays: cfg.DueDays, overdueDays: cfg.OverdueDays, batch: cfg.Batch, logger: cfg.Logger,
	}
	if s.dueDays <= 0 {
		s.dueDays = DefaultDueDays
	}
	switch {
	case s.overdueDays == 0:
		s.overdueDays = DefaultOverdueDays
	case s.overdueDays < 0:
		s.overdueDays = 0
	}
	if s.batch <= 0 {
		s.batch = DefaultBatch
	}
	if !cfg.DB.IsPostgres() && s.batch > maxSQLiteBatch {
		s.batch = maxSQLiteBatch // one bound parameter per resource id
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Location is the billing time zone: postpaid months are its calendar months.
func (s *Service) Location() *time.Location { return s.loc }

// day is a calendar-free day: due and overdue periods count 24-hour days.
const day = 24 * time.Hour

// now is the one reading of the clock per transaction, in UTC and
// microseconds (what PostgreSQL stores).
func (s *Service) now() time.Time { return norm(s.clock.Now()) }

func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// overdueCutoff is the due date at or before which an unpaid invoice is
// overdue enough, at now, to suspend its account's postpaid resources.
func (s *Service) overdueCutoff(now time.Time) time.Time {
	return now.Add(-time.Duration(s.overdueDays) * day)
}

// The transitions postpaid billing adds to the resource state machine
// (package lifecycle/state has no transition from ACTIVE or STOPPED to
// SUSPENDED, nor one that lifts a suspension without a renewal). They are
// applied by the same state.Machine: a conditional UPDATE and a
// state.Event in the same transaction.
var (
	// SuspendForNonPayment stops a running postpaid resource whose account
	// has invoices overdue (suspend_reason NON_PAYMENT).
	SuspendForNonPayment = state.Transition{
		Name: "SuspendForNonPayment", Verb: "suspend",
		From: []resource.State{resource.StateACTIVE, resource.StateSTOPPED}, To: resource.StateSUSPENDED,
	}
	// Reinstate lifts a suspension for non-payment once the overdue
	// invoices are paid; the resource runs again (ACTIVE).
	Reinstate = state.Transition{
		Name: "Reinstate", Verb: "reinstate",
		From: []resource.State{resource.StateSUSPENDED}, To: resource.StateACTIVE,
	}
)

// actor is who acts and for which account.
type actor struct {
	viewer    auth.Viewer
	accountID pulid.ID
}

// scope is the idempotency scope of the actor's keys: the account for
// customers, "admin:<subject>" for operators, "system" for the process.
func (a actor) scope() string {
	switch {
	case a.viewer.IsAdmin():
		return "admin:" + a.viewer.Subject
	case a.viewer.IsSystem():
		return "system"
	}
	return string(a.accountID)
}

// resolveActor decides who may change an account's postpaid resources and
// invoices: customers their own account (accountID empty or theirs),
// operators and the process any account they name. Read-only members and
// product services may not (fault.Forbidden).
func resolveActor(ctx context.Context, accountID pulid.ID) (actor, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return actor{}, fault.New(fault.Unauthenticated, "authentication required")
	}
	switch {
	case v.Role == auth.RoleCustomer:
		if v.AccountID == "" {
			return actor{}, fault.New(fault.Forbidden, "the token belongs to no account")
		}
		if accountID != "" && string(accountID) != v.AccountID {
			return actor{}, fault.New(fault.NotFound, "account not found", "input", "accountId")
		}
		return actor{viewer: v, accountID: pulid.ID(v.AccountID)}, nil
	case v.Role == auth.RoleViewer:
		return actor{}, fault.New(fault.Forbidden, "read-only members cannot do this")
	case v.IsAdmin(), v.IsSystem():
		if accountID == "" {
			return actor{}, fault.New(fault.Invalid, "choose the account", "input", "accountId")
		}
		return actor{viewer: v, accountID: accountID}, nil
	}
	return actor{}, fault.New(fault.Forbidden, "this caller cannot do this")
}

// reader resolves the account a read is about: members (customers and
// read-only viewers) read their own account, operators and the process
// the one they name.
func reader(ctx context.Context, accountID pulid.ID) (pulid.ID, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return "", fault.New(fault.Unauthenticated, "authentication required")
	}
	switch {
	case v.IsCustomerScoped():
		if accountID != "" && string(accountID) != v.AccountID {
			return "", fault.New(fault.NotFound, "account not found", "accountId")
		}
		return pulid.ID(v.AccountID), nil
	case v.IsAdmin(), v.IsSystem():
		if accountID == "" {
			return "", fault.New(fault.Invalid, "choose the account", "accountId")
		}
		return accountID, nil
	}
	return "", fault.New(fault.Forbidden, "this caller cannot read accounts")
}

// canRead refuses callers that read no account data: product services.
func canRead(ctx context.Context) error {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return fault.New(fault.Unauthenticated, "authentication required")
	}
	if !v.IsCustomerScoped() && !v.IsAdmin() && !v.IsSystem() {
		return fault.New(fault.Forbidden, "this caller cannot read accounts")
	}
	return nil
}

// jobContext runs a job as the process: callers without a viewer (the
// scheduler) and operators re-running a job are accepted, anyone else is
// refused.
func jobContext(ctx context.Context) (context.Context, error) {
	if v, ok := auth.FromContext(ctx); ok && !v.IsAdmin() && !v.IsSystem() {
		return nil, fault.New(fault.Forbidden, "only operators run billing jobs")
	}
	return auth.SystemContext(ctx), nil
}

// lockAccount reads the account inside tx with its row locked until the
// transaction ends on PostgreSQL (SQLite serializes writers). Every
// postpaid transaction that decides on an account's debt — creating or
// enlarging a resource, paying invoices, suspending or reinstating —
// takes this lock first, so they queue per account.
func (s *Service) lockAccount(ctx context.Context, tx *ent.Tx, id pulid.ID) (*ent.Account, error) {
	q := tx.Account.Query().Where(entaccount.ID(id))
	if s.db.IsPostgres() {
		q.ForUpdate()
	}
	acc, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "account not found", "input", "accountId")
	}
	if err != nil {
		return nil, fmt.Errorf("lock account %s: %w", id, err)
	}
	return acc, nil
}
