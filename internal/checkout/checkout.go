package checkout

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/payment"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/coupon"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/gateway"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/postpaid"
	"billing/internal/provision"
	"billing/internal/pulid"
	"billing/internal/store"
)

// Defaults of Config.
const (
	// DefaultPaymentExpiry is how long a gateway payment may wait for the
	// customer before ExpireAbandoned ends it.
	DefaultPaymentExpiry = 15 * time.Minute
	// DefaultReconcileAfter is how long a token charge may stay in flight
	// (no answer recorded) before ReconcileUnknown asks the gateway.
	DefaultReconcileAfter = 5 * time.Minute
	// DefaultReturnPath is appended to Config.PublicURL to make the return
	// URL of a gateway payment placed without one.
	DefaultReturnPath = "/payments/return"
)

// Limits of an order.
const (
	// MaxItems is the largest number of items in one order.
	MaxItems = 20
	// MaxResources is the largest number of resources one order creates.
	MaxResources = 100
	// MaxURLLength bounds return URLs.
	MaxURLLength = 1000
	// MaxReasonLength bounds a provisioning failure reason, in bytes.
	MaxReasonLength = 500
	// MaxExternalRefLength bounds a product service's resource id.
	MaxExternalRefLength = 200
)

// Config wires the checkout.
type Config struct {
	DB          *store.DB
	Ledger      *ledger.Service
	Outbox      *events.Outbox
	Coupons     *coupon.Service
	Gateway     gateway.Gateway
	Provisioner provision.Provisioner
	Invoices    *invoicing.Service
	Clock       clockwork.Clock
	// Location is the billing time zone (nil: the invoicing service's).
	Location *time.Location
	// PaymentExpiry is how long a gateway payment waits for the customer
	// (0: DefaultPaymentExpiry).
	PaymentExpiry time.Duration
	// ReconcileAfter is how old an unanswered token charge must be before
	// ReconcileUnknown queries it (0: DefaultReconcileAfter). Charges whose
	// answer timed out (UNKNOWN) are queried at once.
	ReconcileAfter time.Duration
	// PublicURL is the service's external base URL; return URLs default
	// to PublicURL + DefaultReturnPath.
	PublicURL string
	// Postpaid applies invoice payments (PayInvoices) to their invoices;
	// nil refuses them.
	Postpaid *postpaid.Service
	Logger   *slog.Logger
}

// Service is the prepaid checkout: quotes, orders, payments by credit and
// gateway, gateway callbacks, provisioning results, refunds of failed
// resources, expiry of abandoned payments and credit top-ups.
type Service struct {
	db             *store.DB
	ledger         *ledger.Service
	outbox         *events.Outbox
	coupons        *coupon.Service
	gw             gateway.Gateway
	prov           provision.Provisioner
	invoices       *invoicing.Service
	machine        *state.Machine
	clock          clockwork.Clock
	loc            *time.Location
	expiry         time.Duration
	reconcileAfter time.Duration
	publicURL      string
	postpaid       *postpaid.Service
	logger         *slog.Logger
	plans          *catalog.PlanCache
	inFlight       atomic.Int64 // customers' payments being placed (Busy)
}

// New returns a checkout service. It panics when a dependency is missing:
// that is a wiring error.
func New(cfg Config) *Service {
	switch {
	case cfg.DB == nil, cfg.Ledger == nil, cfg.Outbox == nil, cfg.Coupons == nil,
		cfg.Gateway == nil, cfg.Provisioner == nil, cfg.Invoices == nil, cfg.Clock == nil:
		panic("checkout.New: DB, Ledger, Outbox, Coupons, Gateway, Provisioner, Invoices and Clock are required")
	}
	s := &Service{
		db:             cfg.DB,
		ledger:         cfg.Ledger,
		outbox:         cfg.Outbox,
		coupons:        cfg.Coupons,
		gw:             cfg.Gateway,
		prov:           cfg.Provisioner,
		invoices:       cfg.Invoices,
		machine:        state.New(cfg.Outbox, cfg.DB.IsPostgres()),
		clock:          cfg.Clock,
		loc:            cfg.Location,
		expiry:         cfg.PaymentExpiry,
		reconcileAfter: cfg.ReconcileAfter,
		publicURL:      strings.TrimRight(cfg.PublicURL, "/"),
		postpaid:       cfg.Postpaid,
		logger:         cfg.Logger,
		plans:          catalog.NewPlanCache(cfg.DB.Client, catalog.CacheTTL),
	}
	if s.loc == nil {
		s.loc = cfg.Invoices.Location()
	}
	if s.expiry <= 0 {
		s.expiry = DefaultPaymentExpiry
	}
	if s.reconcileAfter <= 0 {
		s.reconcileAfter = DefaultReconcileAfter
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// serving counts a customer's payment request in Busy until the function
// it returns is called: defer s.serving()().
func (s *Service) serving() func() {
	s.inFlight.Add(1)
	return func() { s.inFlight.Add(-1) }
}

// Busy reports whether a customer's order, action, top-up or invoice
// payment is being placed in this process right now. The scheduler's
// sweeps use it to give way to customers (see lifecycle).
func (s *Service) Busy() bool { return s.inFlight.Load() > 0 }

// now is the one reading of the clock per transaction, in UTC and
// microseconds (what PostgreSQL stores), so returned entities equal later
// reads.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// actor is who a customer-facing call acts for.
type actor struct {
	viewer    auth.Viewer
	accountID pulid.ID
}

// scope is the idempotency scope of the actor's keys: the account for its
// members, "admin:<subject>" for operators, "system" for the process.
func (a actor) scope() string {
	switch {
	case a.viewer.IsAdmin():
		return "admin:" + a.viewer.Subject
	case a.viewer.IsSystem():
		return "system"
	default:
		return string(a.accountID)
	}
}

// resolveActor decides which account a customer-facing call acts for.
// Customers act for their own account (an explicit other account does not
// exist for them); operators and the process itself must name the account;
// read-only members only where readOnlyOK (top-up, quote); product services
// never.
func resolveActor(ctx context.Context, accountID pulid.ID, readOnlyOK bool) (actor, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return actor{}, fault.New(fault.Unauthenticated, "authentication required")
	}
	switch {
	case v.Role == auth.RoleCustomer || (readOnlyOK && v.Role == auth.RoleViewer):
		own := pulid.ID(v.AccountID)
		if own == "" {
			return actor{}, fault.New(fault.Forbidden, "the token belongs to no account")
		}
		if accountID != "" && accountID != own {
			return actor{}, fault.New(fault.NotFound, "account not found", "input", "accountId")
		}
		return actor{viewer: v, accountID: own}, nil
	case v.Role == auth.RoleViewer:
		return actor{}, fault.New(fault.Forbidden, "read-only members cannot do this")
	case v.IsAdmin() || v.IsSystem():
		if accountID == "" {
			return actor{}, fault.New(fault.Invalid, "operators must name the account to act for", "input", "accountId")
		}
		return actor{viewer: v, accountID: accountID}, nil
	default:
		return actor{}, fault.New(fault.Forbidden, "this caller cannot do this")
	}
}

// checkAccount loads the account inside tx (tenant-filtered) and refuses
// one that is not ACTIVE.
func checkAccount(ctx context.Context, tx *ent.Tx, id pulid.ID) (*ent.Account, error) {
	acc, err := tx.Account.Get(ctx, id)
	if ent.IsNotFound(err) {
		acc, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read account %s: %w", id, err)
	}
	if err := checkAccountOf(acc); err != nil {
		return nil, err
	}
	return acc, nil
}

// checkAccountOf is checkAccount on an account already read (nil: not
// found).
func checkAccountOf(acc *ent.Account) error {
	if acc == nil {
		return fault.New(fault.NotFound, "account not found", "input", "accountId")
	}
	if acc.Status != entaccount.StatusACTIVE {
		return fault.Newf(fault.InvalidState, []string{"input", "accountId"}, "the account is %s", acc.Status)
	}
	return nil
}

// returnURL validates the customer's return URL or supplies the default.
func (s *Service) returnURL(raw string, needed bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if !needed {
			return "", nil
		}
		if s.publicURL == "" {
			return "", fault.New(fault.Invalid, "a return URL is required for gateway payments", "input", "returnUrl")
		}
		return s.publicURL + DefaultReturnPath, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > MaxURLLength {
		return "", fault.New(fault.Invalid, "the return URL must be an absolute http(s) URL", "input", "returnUrl")
	}
	return raw, nil
}

// lockPayment takes the payment's row lock: every transaction that changes
// a checkout after it was placed takes it first, which orders them
// (payment → coupon → wallet → invoice sequence) and makes concurrent
// callbacks, reports and expiry runs queue instead of deadlocking. On
// SQLite writers are already serialized by BEGIN IMMEDIATE.
func (s *Service) lockPayment(ctx context.Context, tx *ent.Tx, id pulid.ID) (*ent.Payment, error) {
	q := tx.Payment.Query().Where(payment.ID(id))
	if s.db.IsPostgres() {
		q.ForUpdate()
	}
	p, err := q.Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock payment %s: %w", id, err)
	}
	return p, nil
}

// withField prefixes a fault's field path (catalog and ledger faults name
// their own fields); other errors pass through.
func withField(err error, prefix ...string) error {
	f, ok := fault.As(err)
	if !ok {
		return err
	}
	field := append(append([]string(nil), prefix...), f.Field...)
	return &fault.Error{Code: f.Code, Field: field, Message: f.Message}
}
