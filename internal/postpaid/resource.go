package postpaid

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/resource"
	"billing/ent/usageinterval"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/fault"
	"billing/internal/idempotency"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// Operation names in idempotency records.
const (
	CreateOperation = "postpaid.create"
	ResizeOperation = "postpaid.resize"
	DeleteOperation = "postpaid.delete"
)

// MaxNameLength bounds a resource's display name, in characters.
const MaxNameLength = 100

// CreateInput creates a postpaid resource.
type CreateInput struct {
	// AccountID: empty for customers (their own account); required for
	// operators and the process.
	AccountID pulid.ID
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	// Plan is the plan's id or code.
	Plan string
	// Name is the display name (empty: plan code and the end of the id).
	Name string
	// Quantities per component code; missing ones get their default.
	Quantities map[string]int64
	// DiscountPercent is a negotiated discount on the usage (10 means 10%),
	// from 0 to 100, with at most 4 decimals; operators only.
	DiscountPercent money.Amount
}

// Validate checks the input; faults name the GraphQL input fields.
func (in CreateInput) Validate() error {
	name := strings.TrimSpace(in.Name)
	switch {
	case strings.TrimSpace(in.Plan) == "":
		return fault.New(fault.Invalid, "choose a plan", "input", "plan")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength:
		return fault.Newf(fault.Invalid, []string{"input", "name"}, "the name must be text of at most %d characters", MaxNameLength)
	case in.DiscountPercent.Validate() != nil || in.DiscountPercent.IsNegative() || in.DiscountPercent.GreaterThan(money.VND(100)):
		return fault.New(fault.Invalid, "the discount is a percentage from 0 to 100", "input", "discountPercent")
	}
	return nil
}

type createRequest struct {
	AccountID       pulid.ID         `json:"accountId"`
	Plan            string           `json:"plan"`
	Name            string           `json:"name"`
	Quantities      map[string]int64 `json:"quantities"`
	DiscountPercent money.Amount     `json:"discountPercent"`
}

type changed struct {
	ResourceID pulid.ID `json:"resourceId"`
	Changed    bool     `json:"changed"`
}

// Result is a postpaid resource after a change.
type Result struct {
	Resource *ent.Resource
	// Changed is false when a resize asked for the configuration the
	// resource already had (nothing was recorded).
	Changed bool
	// Replayed is set when the idempotency key had been used for this
	// same request: nothing was done again.
	Replayed bool
}

// CreateResource creates a postpaid resource without payment, in one
// transaction: the account (locked) must be POSTPAID and ACTIVE, have no
// invoice overdue past the suspension threshold (fault.InvalidState), and
// stay within its credit limit (fault.CreditLimitExceeded, see
// CheckCredit); the resource is created ACTIVE (state.Activate, with its
// event) with the plan's POSTPAID rates as its snapshot, and its first
// usage interval opens at the current minute. Billing starts then: the
// product service learns of the resource from its event.
func (s *Service) CreateResource(ctx context.Context, in CreateInput) (*Result, error) {
	a, err := resolveActor(ctx, in.AccountID)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if !in.DiscountPercent.IsZero() && !a.viewer.IsAdmin() && !a.viewer.IsSystem() {
		return nil, fault.New(fault.Forbidden, "only operators grant discounts", "input", "discountPercent")
	}
	req := createRequest{
		AccountID: a.accountID, Plan: strings.TrimSpace(in.Plan), Name: strings.TrimSpace(in.Name),
		Quantities: in.Quantities, DiscountPercent: in.DiscountPercent,
	}
	now := s.now()
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, CreateOperation, req,
		func(ctx context.Context, tx *ent.Tx) (changed, error) {
			return s.create(ctx, tx, req, now)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("create postpaid resource: %w", err)
	}
	return s.result(ctx, rec, replayed)
}

func (s *Service) result(ctx context.Context, rec changed, replayed bool) (*Result, error) {
	r, err := s.db.Client.Resource.Get(ctx, rec.ResourceID)
	if err != nil {
		return nil, fmt.Errorf("read resource %s: %w", rec.ResourceID, err)
	}
	return &Result{Resource: r, Changed: rec.Changed, Replayed: replayed}, nil
}

// create is CreateResource's transaction.
func (s *Service) create(ctx context.Context, tx *ent.Tx, in createRequest, now time.Time) (changed, error) {
	acc, err := s.lockAccount(ctx, tx, in.AccountID)
	if err != nil {
		return changed{}, err
	}
	switch {
	case acc.Type != entaccount.TypePOSTPAID:
		return changed{}, fault.New(fault.InvalidState,
			"the account is prepaid: buy resources through the checkout", "input", "accountId")
	case acc.Status != entaccount.StatusACTIVE:
		return changed{}, fault.Newf(fault.InvalidState, []string{"input", "accountId"}, "the account is %s", acc.Status)
	}
	if err := s.refuseOverdue(ctx, tx, acc.ID, now); err != nil {
		return changed{}, err
	}
	p, comps, err := postpaidConfig(ctx, tx, in.Plan, in.Quantities)
	if err != nil {
		return changed{}, err
	}
	if err := s.checkCredit(ctx, tx, acc, MonthlyCharge(comps, in.DiscountPercent), "", now); err != nil {
		return changed{}, err
	}
	id := pulid.New("res")
	name := in.Name
	if name == "" {
		tail := strings.ToLower(string(id))
		name = p.Code + "-" + tail[len(tail)-6:]
	}
	r, err := tx.Resource.Create().
		SetID(id).
		SetAccountID(acc.ID).
		SetProductID(p.ProductID).
		SetPlanID(p.ID).
		SetName(name).
		SetBillingMode(resource.BillingModePOSTPAID).
		SetState(resource.StatePENDING).
		SetComponents(comps).
		SetPeriodPrice(catalog.PeriodPrice(comps)).
		SetPeriodStart(now).
		SetAutoRenew(false).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return changed{}, fmt.Errorf("insert resource: %w", err)
	}
	if err := s.openInterval(ctx, tx, r, comps, in.DiscountPercent, now); err != nil {
		return changed{}, err
	}
	if _, err := s.machine.Apply(ctx, tx, state.Activate, r, now, state.Change{Reason: "created postpaid"}); err != nil {
		return changed{}, err
	}
	return changed{ResourceID: r.ID, Changed: true}, nil
}

// postpaidConfig loads a plan that is sold and prices the quantities at
// its POSTPAID rates, which must be VAT-exclusive (SPEC §2).
func postpaidConfig(ctx context.Context, tx *ent.Tx, plan string, q map[string]int64) (*ent.Plan, []pricing.Component, error) {
	p, err := catalog.ActivePlan(ctx, tx.Client(), plan)
	if err != nil {
		return nil, nil, inputField(err)
	}
	comps, err := catalog.PriceComponents(p, catalog.Postpaid, q)
	if err != nil {
		return nil, nil, inputField(err)
	}
	for _, c := range comps {
		if c.VATIncluded {
			return nil, nil, fmt.Errorf("plan %s: the POSTPAID price of %s includes VAT; postpaid rates must not", p.Code, c.Code)
		}
	}
	return p, comps, nil
}

// inputField puts a catalog fault's field under "input".
func inputField(err error) error {
	f, ok := fault.As(err)
	if !ok || (len(f.Field) > 0 && f.Field[0] == "input") {
		return err
	}
	return &fault.Error{Code: f.Code, Field: append([]string{"input"}, f.Field...), Message: f.Message}
}

// openInterval starts a usage interval of r at the current minute.
func (s *Service) openInterval(ctx context.Context, tx *ent.Tx, r *ent.Resource, comps []pricing.Component,
	discount money.Amount, now time.Time) error {
	err := tx.UsageInterval.Create().
		SetAccountID(r.AccountID).
		SetResourceID(r.ID).
		SetStart(minute(now)).
		SetComponents(comps).
		SetDiscountPercent(discount).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("open usage interval of %s: %w", r.ID, err)
	}
	return nil
}

// closeInterval ends r's open usage interval at the current minute and
// returns it as it was.
func (s *Service) closeInterval(ctx context.Context, tx *ent.Tx, r *ent.Resource, now time.Time) (*ent.UsageInterval, error) {
	open, err := tx.UsageInterval.Query().
		Where(usageinterval.ResourceID(r.ID), usageinterval.EndIsNil()).
		Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("open usage interval of %s: %w", r.ID, err)
	}
	n, err := tx.UsageInterval.Update().
		Where(usageinterval.ID(open.ID), usageinterval.EndIsNil()).
		SetEnd(minute(now)).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("close usage interval of %s: %w", r.ID, err)
	}
	if n != 1 {
		return nil, fmt.Errorf("close usage interval of %s: closed meanwhile", r.ID)
	}
	return open, nil
}

// ResizeInput changes a postpaid resource's configuration.
type ResizeInput struct {
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	ResourceID     pulid.ID
	// Plan is another plan of the same product (empty: the current plan).
	Plan string
	// Quantities per component code; missing ones get their default.
	Quantities map[string]int64
}

type resizeRequest struct {
	ResourceID pulid.ID         `json:"resourceId"`
	Plan       string           `json:"plan"`
	Quantities map[string]int64 `json:"quantities"`
}

// Resize changes a postpaid resource's configuration (ACTIVE or STOPPED)
// without payment, in one transaction: the open usage interval ends at the
// current minute and the next one opens with the new configuration and
// the plan's current POSTPAID rates (the discount carries over). A
// configuration that costs more per month must fit the credit limit like
// a new resource (fault.CreditLimitExceeded). Asking for the configuration
// the resource already has records nothing (Changed false). A resource
// suspended for non-payment cannot be resized until the overdue invoices
// are paid (fault.InvalidState).
func (s *Service) Resize(ctx context.Context, in ResizeInput) (*Result, error) {
	a, err := resourceActor(ctx)
	if err != nil {
		return nil, err
	}
	if err := idempotency.ValidateKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if in.ResourceID == "" {
		return nil, fault.New(fault.Invalid, "choose a resource", "input", "resourceId")
	}
	req := resizeRequest{ResourceID: in.ResourceID, Plan: strings.TrimSpace(in.Plan), Quantities: in.Quantities}
	now := s.now()
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, ResizeOperation, req,
		func(ctx context.Context, tx *ent.Tx) (changed, error) {
			return s.resize(ctx, tx, req, now)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("resize %s: %w", in.ResourceID, err)
	}
	return s.result(ctx, rec, replayed)
}

// resourceActor decides who may change a resource named by id: its
// account's customers (the tenant filter hides others), operators and the
// process. The account is the resource's.
func resourceActor(ctx context.Context) (actor, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return actor{}, fault.New(fault.Unauthenticated, "authentication required")
	}
	if v.IsAdmin() || v.IsSystem() {
		return actor{viewer: v}, nil
	}
	return resolveActor(ctx, "")
}

// resize is Resize's transaction. Lock order: account, resource.
func (s *Service) resize(ctx context.Context, tx *ent.Tx, in resizeRequest, now time.Time) (changed, error) {
	r, err := s.postpaidResource(ctx, tx, in.ResourceID)
	if err != nil {
		return changed{}, err
	}
	acc, err := s.lockAccount(ctx, tx, r.AccountID)
	if err != nil {
		return changed{}, err
	}
	if r, err = s.machine.Lock(ctx, tx, r.ID); err != nil {
		return changed{}, err
	}
	if err := refuseNonPayment(r, "resize"); err != nil {
		return changed{}, err
	}
	if err := state.Check(state.Resize, r); err != nil {
		return changed{}, err
	}
	ref := in.Plan
	if ref == "" {
		ref = string(r.PlanID)
	}
	p, comps, err := postpaidConfig(ctx, tx, ref, in.Quantities)
	if err != nil {
		return changed{}, err
	}
	if p.ProductID != r.ProductID {
		return changed{}, fault.New(fault.Invalid, "a resource can only be resized within its product", "input", "plan")
	}
	open, err := tx.UsageInterval.Query().Where(usageinterval.ResourceID(r.ID), usageinterval.EndIsNil()).Only(ctx)
	if err != nil {
		return changed{}, fmt.Errorf("open usage interval of %s: %w", r.ID, err)
	}
	if p.ID == r.PlanID && sameConfig(open.Components, comps) {
		return changed{ResourceID: r.ID, Changed: false}, nil
	}
	next := MonthlyCharge(comps, open.DiscountPercent)
	if next.GreaterThan(MonthlyCharge(open.Components, open.DiscountPercent)) {
		if err := s.checkCredit(ctx, tx, acc, next, r.ID, now); err != nil {
			return changed{}, err
		}
	}
	if _, err := s.closeInterval(ctx, tx, r, now); err != nil {
		return changed{}, err
	}
	if err := s.openInterval(ctx, tx, r, comps, open.DiscountPercent, now); err != nil {
		return changed{}, err
	}
	_, err = s.machine.Apply(ctx, tx, state.Resize, r, now, state.Change{
		Set: func(u *ent.ResourceUpdate) {
			u.SetPlanID(p.ID).SetComponents(comps).SetPeriodPrice(catalog.PeriodPrice(comps))
		},
		Reason: "resized",
	})
	if err != nil {
		return changed{}, err
	}
	return changed{ResourceID: r.ID, Changed: true}, nil
}

// sameConfig reports whether two snapshots are the same configuration at
// the same rates.
func sameConfig(a, b []pricing.Component) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Code != b[i].Code || a[i].Quantity != b[i].Quantity || !a[i].UnitPrice.Equal(b[i].UnitPrice) ||
			!a[i].VATRate.Equal(b[i].VATRate) || a[i].VATIncluded != b[i].VATIncluded {
			return false
		}
	}
	return true
}

// postpaidResource reads a resource through the tenant filter (another
// account's is NOT_FOUND) and refuses a prepaid one.
func (s *Service) postpaidResource(ctx context.Context, tx *ent.Tx, id pulid.ID) (*ent.Resource, error) {
	r, err := tx.Resource.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "resource not found", "input", "resourceId")
	}
	if err != nil {
		return nil, fmt.Errorf("read resource %s: %w", id, err)
	}
	if err := PostpaidOnly(r); err != nil {
		return nil, err
	}
	return r, nil
}

// PostpaidOnly refuses a prepaid resource for a postpaid action
// (fault.InvalidState): prepaid resources are resized and deleted through
// the checkout and the lifecycle service.
func PostpaidOnly(r *ent.Resource) error {
	if r.BillingMode != resource.BillingModePOSTPAID {
		return fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
			"%s is prepaid: change it through the checkout", r.Name)
	}
	return nil
}

// PrepaidOnly refuses a postpaid resource for a prepaid-only action —
// renew, recover, auto-renew (fault.InvalidState): a postpaid resource
// has no period to pay ahead, it is invoiced monthly for its usage. The
// checkout and the lifecycle service refuse these actions the same way.
func PrepaidOnly(r *ent.Resource, verb string) error {
	if r.BillingMode == resource.BillingModePOSTPAID {
		return fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
			"%s is billed postpaid: there is nothing to %s", r.Name, verb)
	}
	return nil
}

// refuseNonPayment refuses a change of a resource suspended for
// non-payment: the overdue invoices must be paid first.
func refuseNonPayment(r *ent.Resource, verb string) error {
	if r.State == resource.StateSUSPENDED && r.SuspendReason != nil && *r.SuspendReason == resource.SuspendReasonNON_PAYMENT {
		return fault.Newf(fault.InvalidState, []string{"input", "resourceId"},
			"cannot %s %s: it is suspended for non-payment; pay the overdue invoices first", verb, r.Name)
	}
	return nil
}

// DeleteInput deletes a postpaid resource.
type DeleteInput struct {
	// IdempotencyKey makes the call safe to retry (required).
	IdempotencyKey string
	ResourceID     pulid.ID
}

type deleteRequest struct {
	ResourceID pulid.ID `json:"resourceId"`
}

// Delete deletes a postpaid resource (ACTIVE, STOPPED or SUSPENDED) in
// one transaction: its open usage interval ends at the current minute and
// the resource is DELETED at once (state.Delete; postpaid resources have
// no trash, as they cannot be recovered). Nothing is refunded or charged
// now: the month-end invoice bills the usage up to the deletion.
func (s *Service) Delete(ctx context.Context, in DeleteInput) (*Result, error) {
	a, err := resourceActor(ctx)
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
	rec, replayed, err := idempotency.Do(ctx, s.db, a.scope(), in.IdempotencyKey, DeleteOperation, deleteRequest{in.ResourceID},
		func(ctx context.Context, tx *ent.Tx) (changed, error) {
			return s.delete(ctx, tx, in.ResourceID, now)
		}, idempotency.At(now))
	if err != nil {
		return nil, fmt.Errorf("delete %s: %w", in.ResourceID, err)
	}
	return s.result(ctx, rec, replayed)
}

// delete is Delete's transaction.
func (s *Service) delete(ctx context.Context, tx *ent.Tx, id pulid.ID, now time.Time) (changed, error) {
	r, err := s.machine.Lock(ctx, tx, id)
	if err != nil {
		return changed{}, err
	}
	if err := PostpaidOnly(r); err != nil {
		return changed{}, err
	}
	if err := state.Check(state.Delete, r); err != nil {
		return changed{}, err
	}
	if _, err := s.closeInterval(ctx, tx, r, now); err != nil {
		return changed{}, err
	}
	_, err = s.machine.Apply(ctx, tx, state.Delete, r, now, state.Change{
		Set:    func(u *ent.ResourceUpdate) { u.SetTrashedAt(now).ClearPurgeAt() },
		Reason: "deleted",
	})
	if err != nil {
		return changed{}, err
	}
	return changed{ResourceID: r.ID, Changed: true}, nil
}
