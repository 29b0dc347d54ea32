package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/ent"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgertransaction"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/checkout"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

// Config wires the lifecycle service.
type Config struct {
	DB       *store.DB
	Checkout *checkout.Service
	Ledger   *ledger.Service
	Outbox   *events.Outbox
	Clock    clockwork.Clock
	Logger   *slog.Logger
	// Notify tells customers about expiry, suspension, release, purge,
	// auto-renew results and upcoming deadlines; nil sends no notices
	// (the state changes happen all the same).
	Notify *notify.Service
	// Location is the billing time zone of the 08:00 auto-renew attempts
	// and reminders, and of the dates in notices; nil means
	// invoicing.DefaultLocation.
	Location *time.Location
}

// Service runs the life of prepaid resources: the customer's actions
// (renew, resize, delete, recover, stop, start, auto-renew settings) and
// the scheduler's sweeps (expiry, suspension, release, purge, automatic
// renewal). Actions that cost money go through the checkout.
type Service struct {
	db       *store.DB
	checkout *checkout.Service
	ledger   *ledger.Service
	machine  *state.Machine
	outbox   *events.Outbox
	notify   *notify.Service
	loc      *time.Location
	clock    clockwork.Clock
	logger   *slog.Logger
	pace     pacing
}

// New returns the lifecycle service. It panics when a dependency is
// missing: that is a wiring error.
func New(cfg Config) *Service {
	if cfg.DB == nil || cfg.Checkout == nil || cfg.Ledger == nil || cfg.Outbox == nil || cfg.Clock == nil {
		panic("lifecycle.New: DB, Checkout, Ledger, Outbox and Clock are required")
	}
	s := &Service{
		db: cfg.DB, checkout: cfg.Checkout, ledger: cfg.Ledger,
		machine: state.New(cfg.Outbox, cfg.DB.IsPostgres()), outbox: cfg.Outbox, notify: cfg.Notify,
		loc: cfg.Location, clock: cfg.Clock, logger: cfg.Logger, pace: defaultPacing(cfg.Checkout.Busy),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.loc == nil {
		loc, err := time.LoadLocation(invoicing.DefaultLocation)
		if err != nil {
			// time/tzdata is embedded: this cannot fail at run time.
			panic(fmt.Sprintf("lifecycle.New: load %s: %v", invoicing.DefaultLocation, err))
		}
		s.loc = loc
	}
	return s
}

// now is the one reading of the clock per transaction, in UTC and
// microseconds (what PostgreSQL stores).
func (s *Service) now() time.Time { return norm(s.clock.Now()) }

func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// scope decides who may act on resources and returns the idempotency
// scope of their keys: the account for customers, "admin:<subject>" for
// operators, "system" for the process. Read-only members and product
// services may not act. Which account a resource belongs to is the
// resource's business: customers only ever see their own (the tenant
// filter turns another account's resource into NOT_FOUND).
func scope(ctx context.Context) (string, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return "", fault.New(fault.Unauthenticated, "authentication required")
	}
	switch {
	case v.Role == auth.RoleCustomer:
		if v.AccountID == "" {
			return "", fault.New(fault.Forbidden, "the token belongs to no account")
		}
		return v.AccountID, nil
	case v.Role == auth.RoleViewer:
		return "", fault.New(fault.Forbidden, "read-only members cannot do this")
	case v.IsAdmin():
		return "admin:" + v.Subject, nil
	case v.IsSystem():
		return "system", nil
	}
	return "", fault.New(fault.Forbidden, "this caller cannot do this")
}

// RenewInput renews resources of one account in one order.
type RenewInput struct {
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	// ResourceIDs are the resources to renew (one RENEW invoice each).
	ResourceIDs []pulid.ID
	// Months is one of each product's allowed periods.
	Months int
	// Method, ReturnURL, LinkedAccountID and IPAddr pay the order as in
	// checkout.PlaceOrderInput.
	Method          payment.Method
	ReturnURL       string
	LinkedAccountID pulid.ID
	IPAddr          string
}

// Renew renews the resources for Months more months each, in one order
// with one payment (checkout.PlaceActionOrder): each new period starts at
// the resource's current end, also from GRACE and SUSPENDED (the lapsed
// days are paid, and paying makes the resource ACTIVE again); amount =
// price snapshot × Months; new end = old end + Months × 30 days. Faults
// name ["input","resourceIds",i], ["input","months"] and the payment
// fields.
func (s *Service) Renew(ctx context.Context, in RenewInput) (*checkout.OrderResult, error) {
	if len(in.ResourceIDs) == 0 {
		return nil, fault.New(fault.Invalid, "choose at least one resource", "input", "resourceIds")
	}
	items := make([]checkout.ActionItem, len(in.ResourceIDs))
	for i, id := range in.ResourceIDs {
		items[i] = checkout.ActionItem{Action: orderitem.ActionRENEW, ResourceID: id, Months: in.Months}
	}
	res, err := s.checkout.PlaceActionOrder(ctx, checkout.ActionOrderInput{
		IdempotencyKey: in.IdempotencyKey, Items: items, Method: in.Method,
		ReturnURL: in.ReturnURL, LinkedAccountID: in.LinkedAccountID, IPAddr: in.IPAddr,
	})
	return res, refield(err, func(i string, rest []string) []string {
		if len(rest) > 0 && rest[0] == "months" {
			return []string{"input", "months"}
		}
		if i == "" {
			return []string{"input", "resourceIds"}
		}
		return []string{"input", "resourceIds", i}
	})
}

// RecoverInput takes a resource out of the trash.
type RecoverInput struct {
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	ResourceID     pulid.ID
	// Months is the new period, one of the product's allowed periods.
	Months int
	// Method, ReturnURL, LinkedAccountID and IPAddr pay the order.
	Method          payment.Method
	ReturnURL       string
	LinkedAccountID pulid.ID
	IPAddr          string
}

// Recover takes a resource out of the trash within its trash window,
// priced and invoiced like a new purchase (the plan's current price for
// its quantities, a RECOVER invoice) for Months months starting when the
// payment succeeds. After the window it is a fault.InvalidState. Faults
// name ["input","resourceId"], ["input","months"] and the payment fields.
func (s *Service) Recover(ctx context.Context, in RecoverInput) (*checkout.OrderResult, error) {
	res, err := s.checkout.PlaceActionOrder(ctx, checkout.ActionOrderInput{
		IdempotencyKey: in.IdempotencyKey,
		Items:          []checkout.ActionItem{{Action: orderitem.ActionRECOVER, ResourceID: in.ResourceID, Months: in.Months}},
		Method:         in.Method, ReturnURL: in.ReturnURL, LinkedAccountID: in.LinkedAccountID, IPAddr: in.IPAddr,
	})
	return res, refield(err, func(_ string, rest []string) []string {
		if len(rest) > 0 && rest[0] == "months" {
			return []string{"input", "months"}
		}
		return []string{"input", "resourceId"}
	})
}

// ResizeInput is checkout.ResizeInput.
type ResizeInput = checkout.ResizeInput

// Resize changes a resource's configuration for the rest of its period
// (checkout.Resize): a positive difference is paid through the checkout,
// a negative one refunded to credit at once.
func (s *Service) Resize(ctx context.Context, in ResizeInput) (*checkout.ResizeResult, error) {
	return s.checkout.Resize(ctx, in)
}

// refield renames the checkout's item fields ["input","items",i,…] for
// the lifecycle inputs; to gets the item index ("" for the whole list)
// and the rest of the path.
func refield(err error, to func(i string, rest []string) []string) error {
	f, ok := fault.As(err)
	if !ok || len(f.Field) < 2 || f.Field[0] != "input" || f.Field[1] != "items" {
		return err
	}
	i, rest := "", []string(nil)
	if len(f.Field) > 2 {
		i, rest = f.Field[2], f.Field[3:]
	}
	return &fault.Error{Code: f.Code, Field: to(i, rest), Message: f.Message}
}

// DeleteOperation names Delete in idempotency records.
const DeleteOperation = "lifecycle.delete"

// DeleteInput deletes a resource.
type DeleteInput struct {
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	ResourceID     pulid.ID
}

// DeleteResult is what Delete did.
type DeleteResult struct {
	// Resource is the resource as it is now (TRASHED or DELETED).
	Resource *ent.Resource
	// Refunded is what went back to credit.
	Refunded money.Amount
	// Replayed is set when the key had been used for this same request.
	Replayed bool
}

type deleteRequest struct {
	ResourceID pulid.ID `json:"resourceId"`
}

type deleted struct {
	ResourceID pulid.ID     `json:"resourceId"`
	Refunded   money.Amount `json:"refunded"`
}

// Delete deletes a prepaid resource (ACTIVE, STOPPED, GRACE or SUSPENDED)
// in one transaction: a refundable product refunds the unused part of what
// was actually paid for the current period to credit
// (checkout.UnusedPaid: period_paid × remaining minutes / period minutes,
// rounded once; REFUND against REFUNDS), and the resource goes to the
// trash for the product's trash days (TRASHED, purge_at = now + days), or
// with 0 trash days straight to DELETED.
func (s *Service) Delete(ctx context.Context, in DeleteInput) (*DeleteResult, error) {
	sc, err := scope(ctx)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if in.ResourceID == "" {
		return nil, fault.New(fault.Invalid, "choose a resource", "input", "resourceId")
	}
	now := s.now()
	rec, replayed, err := idempotency.Do(ctx, s.db, sc, in.IdempotencyKey, DeleteOperation, deleteRequest{in.ResourceID},
		func(ctx context.Context, tx *ent.Tx) (deleted, error) {
			return s.delete(ctx, tx, in.ResourceID, now)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("delete %s: %w", in.ResourceID, err)
	}
	r, err := s.db.Client.Resource.Get(ctx, rec.ResourceID)
	if err != nil {
		return nil, fmt.Errorf("delete %s: read resource: %w", in.ResourceID, err)
	}
	return &DeleteResult{Resource: r, Refunded: rec.Refunded, Replayed: replayed}, nil
}

// delete is Delete's transaction.
func (s *Service) delete(ctx context.Context, tx *ent.Tx, id pulid.ID, now time.Time) (deleted, error) {
	r, err := s.machine.Lock(ctx, tx, id)
	if err != nil {
		return deleted{}, err
	}
	if r.BillingMode != resource.BillingModePREPAID {
		return deleted{}, fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
			"%s is billed postpaid: delete it through its usage billing", r.Name)
	}
	if err := state.Check(state.Trash, r); err != nil {
		return deleted{}, err
	}
	prod, err := tx.Product.Get(ctx, r.ProductID)
	if err != nil {
		return deleted{}, fmt.Errorf("read product of %s: %w", r.ID, err)
	}
	refund := money.Zero
	if prod.Refundable {
		refund = checkout.UnusedPaid(r, now)
	}
	t, change := state.Trash, func(u *ent.ResourceUpdate) {
		u.SetTrashedAt(now).SetPurgeAt(now.Add(time.Duration(prod.TrashDays) * day))
	}
	if prod.TrashDays == 0 {
		t, change = state.Delete, func(u *ent.ResourceUpdate) { u.SetTrashedAt(now).ClearPurgeAt() }
	}
	cur, err := s.machine.Apply(ctx, tx, t, r, now, state.Change{
		Set: func(u *ent.ResourceUpdate) {
			change(u)
			u.SetPeriodPaid(r.PeriodPaid.Sub(refund))
		},
		Reason: "deleted",
	})
	if err != nil {
		return deleted{}, err
	}
	if refund.IsPositive() {
		_, err := s.ledger.Credit(ctx, tx, ledger.Movement{
			AccountID: cur.AccountID, Amount: refund, Kind: ledgertransaction.KindREFUND,
			Counter: ledgeraccount.KindREFUNDS,
			Memo:    ledger.Memo{Description: "Refund: unused time of " + cur.Name, Reference: string(cur.ID), At: now},
		})
		if err != nil {
			return deleted{}, fmt.Errorf("refund %s: %w", cur.ID, err)
		}
	}
	return deleted{ResourceID: cur.ID, Refunded: refund}, nil
}

// day is a calendar-free day: lifecycle periods count 24-hour days.
const day = 24 * time.Hour

// Stop stops an ACTIVE resource (STOPPED). It has no billing effect: the
// period runs on. Stopping a STOPPED resource changes nothing.
func (s *Service) Stop(ctx context.Context, resourceID pulid.ID) (*ent.Resource, error) {
	return s.toggle(ctx, resourceID, state.Stop)
}

// Start starts a STOPPED resource again (ACTIVE), with no billing effect.
// Starting an ACTIVE resource changes nothing.
func (s *Service) Start(ctx context.Context, resourceID pulid.ID) (*ent.Resource, error) {
	return s.toggle(ctx, resourceID, state.Start)
}

func (s *Service) toggle(ctx context.Context, id pulid.ID, t state.Transition) (*ent.Resource, error) {
	if _, err := scope(ctx); err != nil {
		return nil, err
	}
	now := s.now()
	var out *ent.Resource
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		r, err := s.machine.Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.State == t.To {
			out = r // already there: stop and start are naturally idempotent
			return nil
		}
		out, err = s.machine.Apply(ctx, tx, t, r, now, state.Change{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", t.Verb, id, err)
	}
	return out, nil
}

// SetAutoRenew turns a prepaid resource's automatic renewal on or off and
// sets its period (months; 0 keeps the current one), which must be one of
// the product's allowed periods. Turning it off is refused
// (fault.Invalid on ["input","enabled"]) for products whose
// auto_renew_optional is false. Only live resources (ACTIVE, STOPPED,
// GRACE, SUSPENDED) have settings to change.
func (s *Service) SetAutoRenew(ctx context.Context, resourceID pulid.ID, on bool, months int) (*ent.Resource, error) {
	if _, err := scope(ctx); err != nil {
		return nil, err
	}
	if months < 0 {
		return nil, fault.New(fault.Invalid, "the period must be at least one month", "input", "months")
	}
	now := s.now()
	var out *ent.Resource
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		r, err := s.machine.Lock(ctx, tx, resourceID)
		if err != nil {
			return err
		}
		if r.BillingMode != resource.BillingModePREPAID {
			return fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
				"%s is billed postpaid: it is never renewed", r.Name)
		}
		if err := state.Check(state.Configure, r); err != nil {
			return err
		}
		prod, err := tx.Product.Get(ctx, r.ProductID)
		if err != nil {
			return fmt.Errorf("read product of %s: %w", r.ID, err)
		}
		if !on && !prod.AutoRenewOptional {
			return fault.Newf(fault.Invalid, []string{"input", "enabled"},
				"automatic renewal cannot be turned off for %s", prod.Name)
		}
		if months == 0 {
			months = r.AutoRenewMonths
		} else if err := catalog.AllowedPeriod(prod, months); err != nil {
			if f, ok := fault.As(err); ok {
				return fault.New(f.Code, f.Message, "input", "months")
			}
			return err
		}
		out, err = s.machine.Apply(ctx, tx, state.Configure, r, now, state.Change{
			Set: func(u *ent.ResourceUpdate) { u.SetAutoRenew(on).SetAutoRenewMonths(months) },
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("auto-renew settings of %s: %w", resourceID, err)
	}
	return out, nil
}

// AutoRenew renews a resource whose period ends at periodEnd from credit
// only, at most once per resource and period end (checkout.AutoRenew).
func (s *Service) AutoRenew(ctx context.Context, resourceID pulid.ID, periodEnd time.Time) (bool, error) {
	return s.checkout.AutoRenew(ctx, resourceID, periodEnd)
}
