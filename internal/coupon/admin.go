package coupon

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"billing/ent"
	entcoupon "billing/ent/coupon"
	"billing/ent/couponredemption"
	"billing/ent/product"
	"billing/internal/audit"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
)

// Input limits.
const (
	MaxDescriptionLength = 500
	MaxProductCodes      = 50
)

// productCodePattern is the shape of a catalog product code ("vserver").
var productCodePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CreateInput defines a new coupon.
type CreateInput struct {
	// Code is what customers type; stored upper-case, [A-Z0-9_-]{3,32}.
	Code string
	// Description is for operators and the customer's order summary.
	Description string
	// Kind is FIXED (Amount off) or PERCENT (Percent off, up to Cap).
	Kind entcoupon.Kind
	// Amount is the whole-VND discount of a FIXED coupon; zero for PERCENT.
	Amount money.Amount
	// Percent is the discount of a PERCENT coupon, 0 < p ≤ 100; zero for FIXED.
	Percent money.Amount
	// Cap is the largest whole-VND discount of a PERCENT coupon (optional);
	// a FIXED coupon has none.
	Cap *money.Amount
	// ProductCodes limits the coupon to these catalog products; empty
	// means every product.
	ProductCodes []string
	// ValidFrom and ValidUntil bound the validity window [from, until);
	// either may be nil (open).
	ValidFrom, ValidUntil *time.Time
	// MinOrderAmount is the smallest order subtotal, whole VND (0: none).
	MinOrderAmount money.Amount
	// MaxRedemptions caps the coupon's redemptions over all accounts
	// (reserved + consumed); nil means unlimited.
	MaxRedemptions *int
	// PerAccountLimit caps one account's redemptions; 0 means 1.
	PerAccountLimit int
	// FirstOrderOnly limits the coupon to accounts without a paid order.
	FirstOrderOnly bool
}

// settings is a coupon's whole configuration: what Create sets and what
// Update merges into, validated as one.
type settings struct {
	Description     string
	Kind            entcoupon.Kind
	Amount, Percent money.Amount
	Cap             *money.Amount
	ProductCodes    []string
	ValidFrom       *time.Time
	ValidUntil      *time.Time
	MinOrderAmount  money.Amount
	MaxRedemptions  *int
	PerAccountLimit int
	FirstOrderOnly  bool
}

func (in CreateInput) normalized() (string, settings) {
	st := settings{
		Description:     strings.TrimSpace(in.Description),
		Kind:            in.Kind,
		Amount:          in.Amount,
		Percent:         in.Percent,
		Cap:             in.Cap,
		ProductCodes:    normalizeProducts(in.ProductCodes),
		ValidFrom:       normalizeTime(in.ValidFrom),
		ValidUntil:      normalizeTime(in.ValidUntil),
		MinOrderAmount:  in.MinOrderAmount,
		MaxRedemptions:  in.MaxRedemptions,
		PerAccountLimit: in.PerAccountLimit,
		FirstOrderOnly:  in.FirstOrderOnly,
	}
	if st.PerAccountLimit == 0 {
		st.PerAccountLimit = 1
	}
	return NormalizeCode(in.Code), st
}

// Validate checks the input (after normalizing); faults name the GraphQL
// input fields.
func (in CreateInput) Validate() error {
	code, st := in.normalized()
	if !codePattern.MatchString(code) {
		return fault.New(fault.Invalid, "a code is 3 to 32 letters, digits, '-' or '_'", "input", "code")
	}
	if err := checkFields(st.fields()); err != nil {
		return err
	}
	return st.validate()
}

// fields lists every field of st for checkFields.
func (st settings) fields() fieldValues {
	return fieldValues{
		Description: &st.Description, Amount: &st.Amount, Percent: &st.Percent, Cap: st.Cap,
		ProductCodes: &st.ProductCodes, MinOrderAmount: &st.MinOrderAmount,
		MaxRedemptions: st.MaxRedemptions, PerAccountLimit: &st.PerAccountLimit,
	}
}

// fieldValues are the fields whose values can be checked one by one; nil
// means "not given".
type fieldValues struct {
	Description     *string
	Amount, Percent *money.Amount
	Cap             *money.Amount
	ProductCodes    *[]string
	MinOrderAmount  *money.Amount
	MaxRedemptions  *int
	PerAccountLimit *int
}

// checkFields checks each given value on its own.
func checkFields(f fieldValues) error {
	if f.Description != nil && utf8.RuneCountInString(*f.Description) > MaxDescriptionLength {
		return fault.Newf(fault.Invalid, []string{"input", "description"},
			"the description is longer than %d characters", MaxDescriptionLength)
	}
	if f.Amount != nil && !f.Amount.IsZero() && !positiveVND(*f.Amount) {
		return fault.New(fault.Invalid, "the amount must be a positive whole number of VND", "input", "amount")
	}
	if f.Percent != nil && !f.Percent.IsZero() &&
		(f.Percent.IsNegative() || f.Percent.GreaterThan(money.VND(100)) || f.Percent.Validate() != nil) {
		return fault.New(fault.Invalid, "the percentage must be more than 0 and at most 100", "input", "percent")
	}
	if f.Cap != nil && !positiveVND(*f.Cap) {
		return fault.New(fault.Invalid, "the cap must be a positive whole number of VND", "input", "cap")
	}
	if f.MinOrderAmount != nil && !f.MinOrderAmount.IsZero() && !positiveVND(*f.MinOrderAmount) {
		return fault.New(fault.Invalid, "the minimum order must be a whole number of VND, 0 or more", "input", "minOrderAmount")
	}
	if f.MaxRedemptions != nil && *f.MaxRedemptions < 1 {
		return fault.New(fault.Invalid, "the total redemption limit must be at least 1 (leave it empty for no limit)", "input", "maxRedemptions")
	}
	if f.PerAccountLimit != nil && *f.PerAccountLimit < 1 {
		return fault.New(fault.Invalid, "the per-account limit must be at least 1", "input", "perAccountLimit")
	}
	if f.ProductCodes != nil {
		if len(*f.ProductCodes) > MaxProductCodes {
			return fault.Newf(fault.Invalid, []string{"input", "productCodes"}, "at most %d products", MaxProductCodes)
		}
		for _, p := range *f.ProductCodes {
			if !productCodePattern.MatchString(p) {
				return fault.Newf(fault.Invalid, []string{"input", "productCodes"}, "%q is not a product code", p)
			}
		}
	}
	return nil
}

// validate checks the rules that tie fields together.
func (st settings) validate() error {
	switch st.Kind {
	case entcoupon.KindFIXED:
		switch {
		case !positiveVND(st.Amount):
			return fault.New(fault.Invalid, "a FIXED coupon needs a positive whole amount of VND", "input", "amount")
		case !st.Percent.IsZero():
			return fault.New(fault.Invalid, "a FIXED coupon has no percentage", "input", "percent")
		case st.Cap != nil:
			return fault.New(fault.Invalid, "only a PERCENT coupon has a cap", "input", "cap")
		}
	case entcoupon.KindPERCENT:
		switch {
		case !st.Percent.IsPositive():
			return fault.New(fault.Invalid, "a PERCENT coupon needs a percentage more than 0 and at most 100", "input", "percent")
		case !st.Amount.IsZero():
			return fault.New(fault.Invalid, "a PERCENT coupon has no fixed amount (use the cap to limit it)", "input", "amount")
		}
	default:
		return fault.New(fault.Invalid, "the kind must be FIXED or PERCENT", "input", "kind")
	}
	if st.ValidFrom != nil && st.ValidUntil != nil && !st.ValidFrom.Before(*st.ValidUntil) {
		return fault.New(fault.Invalid, "the end of the validity window must come after its start", "input", "validUntil")
	}
	return nil
}

// positiveVND reports a > 0, whole VND and within money.Max.
func positiveVND(a money.Amount) bool {
	return a.IsPositive() && a.Decimal().IsInteger() && a.Validate() == nil
}

// normalizeProducts trims, lower-cases and de-duplicates product codes,
// keeping their order; an empty list stays empty.
func normalizeProducts(codes []string) []string {
	out := []string{}
	for _, c := range codes {
		c = strings.ToLower(strings.TrimSpace(c))
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func normalizeTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

// Create adds a coupon. Only operators may; the change is audit-logged.
// A code already in use is a fault.Conflict; an unknown product code in
// the scope is a fault.Invalid (a typo would make the coupon useless).
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.Coupon, error) {
	if err := requireOperator(ctx); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	code, st := in.normalized()
	now := s.now()
	var c *ent.Coupon
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		taken, err := tx.Coupon.Query().Where(entcoupon.Code(code)).Exist(ctx)
		if err != nil {
			return fmt.Errorf("look up code: %w", err)
		}
		if taken {
			return duplicate(code)
		}
		if err := checkProducts(ctx, tx, st.ProductCodes); err != nil {
			return err
		}
		c, err = tx.Coupon.Create().
			SetCode(code).
			SetDescription(st.Description).
			SetKind(st.Kind).
			SetAmount(st.Amount).
			SetPercent(st.Percent).
			SetNillableCap(st.Cap).
			SetProductCodes(st.ProductCodes).
			SetNillableValidFrom(st.ValidFrom).
			SetNillableValidUntil(st.ValidUntil).
			SetMinOrderAmount(st.MinOrderAmount).
			SetNillableMaxRedemptions(st.MaxRedemptions).
			SetPerAccountLimit(st.PerAccountLimit).
			SetFirstOrderOnly(st.FirstOrderOnly).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			Save(ctx)
		if ent.IsConstraintError(err) {
			// Lost a race with another Create of the same code.
			return duplicate(code)
		}
		if err != nil {
			return fmt.Errorf("insert coupon: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Action:     "coupon.create",
			TargetType: "coupon",
			TargetID:   string(c.ID),
			Details:    st.details(code),
			At:         now,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("create coupon %s: %w", code, err)
	}
	return c.Unwrap(), nil
}

func duplicate(code string) error {
	return fault.Newf(fault.Conflict, []string{"input", "code"}, "a coupon with code %s already exists", code)
}

// checkProducts makes sure every code of a scope is a catalog product.
func checkProducts(ctx context.Context, tx *ent.Tx, codes []string) error {
	if len(codes) == 0 {
		return nil
	}
	found, err := tx.Product.Query().Where(product.CodeIn(codes...)).Select(product.FieldCode).Strings(ctx)
	if err != nil {
		return fmt.Errorf("look up products: %w", err)
	}
	for _, c := range codes {
		if !slices.Contains(found, c) {
			return fault.Newf(fault.Invalid, []string{"input", "productCodes"}, "there is no product %q", c)
		}
	}
	return nil
}

// details renders st for the audit log (amounts as strings).
func (st settings) details(code string) map[string]any {
	d := map[string]any{
		"code":            code,
		"description":     st.Description,
		"kind":            string(st.Kind),
		"amount":          st.Amount.String(),
		"percent":         st.Percent.String(),
		"cap":             optAmount(st.Cap),
		"productCodes":    st.ProductCodes,
		"validFrom":       optTime(st.ValidFrom),
		"validUntil":      optTime(st.ValidUntil),
		"minOrderAmount":  st.MinOrderAmount.String(),
		"maxRedemptions":  optInt(st.MaxRedemptions),
		"perAccountLimit": st.PerAccountLimit,
		"firstOrderOnly":  st.FirstOrderOnly,
	}
	return d
}

func optAmount(a *money.Amount) any {
	if a == nil {
		return nil
	}
	return a.String()
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func optInt(v *int) any {
	if v == nil {
		return nil
	}
	return *v
}

// UpdateInput changes some settings of a coupon; nil fields are left
// alone, the Clear flags remove an optional setting. The code and the
// redemption count never change.
//
// The discount itself (Kind, Amount, Percent, Cap) may change only while
// the coupon has no RESERVED or CONSUMED redemption: customers who used it
// got the advertised terms, and the coupon's history must keep meaning one
// thing. Deactivate it and create a new code instead. Changing the kind
// drops the settings of the old kind (a FIXED amount, a PERCENT
// percentage and cap). Everything else (description, window, limits,
// minimum, scope, first-order flag) may change at any time and applies to
// reservations made afterwards; reservations already made keep their
// discount.
type UpdateInput struct {
	Description     *string
	Kind            *entcoupon.Kind
	Amount          *money.Amount
	Percent         *money.Amount
	Cap             *money.Amount
	ClearCap        bool
	ProductCodes    *[]string // an empty list means every product
	ValidFrom       *time.Time
	ClearValidFrom  bool
	ValidUntil      *time.Time
	ClearValidUntil bool
	MinOrderAmount  *money.Amount
	MaxRedemptions  *int
	// ClearMaxRedemptions removes the total limit.
	ClearMaxRedemptions bool
	PerAccountLimit     *int
	FirstOrderOnly      *bool
	// Reason is recorded in the audit log (optional).
	Reason string
}

// Validate checks each given value on its own; the combination is checked
// against the coupon by Update.
func (in UpdateInput) Validate() error {
	for _, c := range []struct {
		set   bool
		clear bool
		field string
	}{
		{in.Cap != nil, in.ClearCap, "cap"},
		{in.ValidFrom != nil, in.ClearValidFrom, "validFrom"},
		{in.ValidUntil != nil, in.ClearValidUntil, "validUntil"},
		{in.MaxRedemptions != nil, in.ClearMaxRedemptions, "maxRedemptions"},
	} {
		if c.set && c.clear {
			return fault.Newf(fault.Invalid, []string{"input", c.field}, "set %s or clear it, not both", c.field)
		}
	}
	if in.Kind != nil && entcoupon.KindValidator(*in.Kind) != nil {
		return fault.New(fault.Invalid, "the kind must be FIXED or PERCENT", "input", "kind")
	}
	f := fieldValues{
		Amount: in.Amount, Percent: in.Percent, Cap: in.Cap,
		MinOrderAmount: in.MinOrderAmount, MaxRedemptions: in.MaxRedemptions, PerAccountLimit: in.PerAccountLimit,
	}
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		f.Description = &d
	}
	if in.ProductCodes != nil {
		p := normalizeProducts(*in.ProductCodes)
		f.ProductCodes = &p
	}
	return checkFields(f)
}

// settingsOf returns the configuration of c.
func settingsOf(c *ent.Coupon) settings {
	return settings{
		Description: c.Description, Kind: c.Kind, Amount: c.Amount, Percent: c.Percent, Cap: c.Cap,
		ProductCodes: normalizeProducts(c.ProductCodes), ValidFrom: normalizeTime(c.ValidFrom),
		ValidUntil: normalizeTime(c.ValidUntil), MinOrderAmount: c.MinOrderAmount,
		MaxRedemptions: c.MaxRedemptions, PerAccountLimit: c.PerAccountLimit, FirstOrderOnly: c.FirstOrderOnly,
	}
}

// apply returns st changed by in.
func (st settings) apply(in UpdateInput) settings {
	if in.Description != nil {
		st.Description = strings.TrimSpace(*in.Description)
	}
	if in.Kind != nil && *in.Kind != st.Kind {
		st.Kind = *in.Kind
		st.Amount, st.Percent, st.Cap = money.Zero, money.Zero, nil
	}
	if in.Amount != nil {
		st.Amount = *in.Amount
	}
	if in.Percent != nil {
		st.Percent = *in.Percent
	}
	switch {
	case in.Cap != nil:
		st.Cap = in.Cap
	case in.ClearCap:
		st.Cap = nil
	}
	if in.ProductCodes != nil {
		st.ProductCodes = normalizeProducts(*in.ProductCodes)
	}
	switch {
	case in.ValidFrom != nil:
		st.ValidFrom = normalizeTime(in.ValidFrom)
	case in.ClearValidFrom:
		st.ValidFrom = nil
	}
	switch {
	case in.ValidUntil != nil:
		st.ValidUntil = normalizeTime(in.ValidUntil)
	case in.ClearValidUntil:
		st.ValidUntil = nil
	}
	if in.MinOrderAmount != nil {
		st.MinOrderAmount = *in.MinOrderAmount
	}
	switch {
	case in.MaxRedemptions != nil:
		st.MaxRedemptions = in.MaxRedemptions
	case in.ClearMaxRedemptions:
		st.MaxRedemptions = nil
	}
	if in.PerAccountLimit != nil {
		st.PerAccountLimit = *in.PerAccountLimit
	}
	if in.FirstOrderOnly != nil {
		st.FirstOrderOnly = *in.FirstOrderOnly
	}
	return st
}

// Update changes a coupon (see UpdateInput for what may change when).
// Only operators may; the changed fields are audit-logged with their old
// and new values.
func (s *Service) Update(ctx context.Context, id pulid.ID, in UpdateInput) (*ent.Coupon, error) {
	if err := requireOperator(ctx); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	var c *ent.Coupon
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		cur, err := lockCoupon(ctx, tx, id, now)
		if err != nil {
			return err
		}
		before := settingsOf(cur)
		after := before.apply(in)
		if err := after.validate(); err != nil {
			return err
		}
		changes := diff(before.details(cur.Code), after.details(cur.Code))
		if len(changes) == 0 {
			c = cur
			return errNoChange // roll back the lock's updated_at: nothing changed
		}
		if discountChanged(before, after) {
			n, err := tx.CouponRedemption.Query().
				Where(couponredemption.CouponID(id), couponredemption.StatusNEQ(couponredemption.StatusRELEASED)).
				Count(ctx)
			if err != nil {
				return fmt.Errorf("count redemptions: %w", err)
			}
			if n > 0 {
				return fault.Newf(fault.InvalidState, []string{"input", discountField(before, after)},
					"coupon %s has been redeemed %d times: its discount can no longer change (deactivate it and create a new code)", cur.Code, n)
			}
		}
		if after.MaxRedemptions != nil && *after.MaxRedemptions < cur.RedeemedCount {
			return fault.Newf(fault.Invalid, []string{"input", "maxRedemptions"},
				"coupon %s already has %d redemptions: the limit cannot be lower (deactivate it to stop further use)", cur.Code, cur.RedeemedCount)
		}
		if !slices.Equal(before.ProductCodes, after.ProductCodes) {
			if err := checkProducts(ctx, tx, after.ProductCodes); err != nil {
				return err
			}
		}
		u := tx.Coupon.UpdateOneID(id).
			SetDescription(after.Description).
			SetKind(after.Kind).
			SetAmount(after.Amount).
			SetPercent(after.Percent).
			SetProductCodes(after.ProductCodes).
			SetMinOrderAmount(after.MinOrderAmount).
			SetPerAccountLimit(after.PerAccountLimit).
			SetFirstOrderOnly(after.FirstOrderOnly).
			SetUpdatedAt(now)
		if after.Cap != nil {
			u.SetCap(*after.Cap)
		} else {
			u.ClearCap()
		}
		if after.ValidFrom != nil {
			u.SetValidFrom(*after.ValidFrom)
		} else {
			u.ClearValidFrom()
		}
		if after.ValidUntil != nil {
			u.SetValidUntil(*after.ValidUntil)
		} else {
			u.ClearValidUntil()
		}
		if after.MaxRedemptions != nil {
			u.SetMaxRedemptions(*after.MaxRedemptions)
		} else {
			u.ClearMaxRedemptions()
		}
		if c, err = u.Save(ctx); err != nil {
			return fmt.Errorf("update coupon: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Action:     "coupon.update",
			TargetType: "coupon",
			TargetID:   string(id),
			Reason:     strings.TrimSpace(in.Reason),
			Details:    map[string]any{"code": cur.Code, "changes": changes},
			At:         now,
		})
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("update coupon %s: %w", id, err)
	}
	return c.Unwrap(), nil
}

// errNoChange rolls back an Update that changes nothing.
var errNoChange = errors.New("no change")

// lockCoupon loads coupon id for a change. Its first statement writes the
// row (updated_at), which on PostgreSQL holds the row lock until commit:
// a concurrent Reserve, which starts by updating the same row, waits, so
// what Update counts of the redemptions stays true until it commits.
func lockCoupon(ctx context.Context, tx *ent.Tx, id pulid.ID, now time.Time) (*ent.Coupon, error) {
	c, err := tx.Coupon.UpdateOneID(id).SetUpdatedAt(now).Save(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "coupon not found", "input", "id")
	}
	if err != nil {
		return nil, fmt.Errorf("lock coupon: %w", err)
	}
	return c, nil
}

func discountChanged(a, b settings) bool { return discountField(a, b) != "" }

// discountField names the first discount setting that differs, or "".
func discountField(a, b settings) string {
	switch {
	case a.Kind != b.Kind:
		return "kind"
	case !a.Amount.Equal(b.Amount):
		return "amount"
	case !a.Percent.Equal(b.Percent):
		return "percent"
	case (a.Cap == nil) != (b.Cap == nil) || (a.Cap != nil && !a.Cap.Equal(*b.Cap)):
		return "cap"
	}
	return ""
}

// diff returns {field: {"from": old, "to": new}} for the fields that differ.
func diff(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, b := range before {
		a := after[k]
		if fmt.Sprint(a) != fmt.Sprint(b) {
			out[k] = map[string]any{"from": b, "to": a}
		}
	}
	return out
}

// Deactivate stops a coupon for good: Check and Reserve refuse it from now
// on. Reservations already made keep their discount and may still be
// consumed or released. reason is required and audit-logged. Deactivating
// an inactive coupon changes nothing and logs nothing.
func (s *Service) Deactivate(ctx context.Context, id pulid.ID, reason string) (*ent.Coupon, error) {
	if err := requireOperator(ctx); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, fault.New(fault.Invalid, "a reason is required", "input", "reason")
	}
	now := s.now()
	var c *ent.Coupon
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		cur, err := tx.Coupon.Get(ctx, id)
		if ent.IsNotFound(err) {
			return fault.New(fault.NotFound, "coupon not found", "input", "id")
		}
		if err != nil {
			return fmt.Errorf("read coupon: %w", err)
		}
		n, err := tx.Coupon.Update().
			Where(entcoupon.ID(id), entcoupon.Active(true)).
			SetActive(false).
			SetUpdatedAt(now).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("deactivate: %w", err)
		}
		if n == 0 {
			c = cur
			return nil
		}
		if c, err = tx.Coupon.Get(ctx, id); err != nil {
			return fmt.Errorf("read coupon: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Action:     "coupon.deactivate",
			TargetType: "coupon",
			TargetID:   string(id),
			Reason:     reason,
			Details:    map[string]any{"code": c.Code, "redeemedCount": c.RedeemedCount},
			At:         now,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("deactivate coupon %s: %w", id, err)
	}
	return c.Unwrap(), nil
}

// Usage counts a coupon's redemptions by status.
type Usage struct {
	Reserved int
	Consumed int
	Released int
}

// Usage reports how a coupon has been used. Only operators may ask.
func (s *Service) Usage(ctx context.Context, couponID pulid.ID) (Usage, error) {
	if err := requireOperator(ctx); err != nil {
		return Usage{}, err
	}
	exists, err := s.db.Client.Coupon.Query().Where(entcoupon.ID(couponID)).Exist(ctx)
	if err != nil {
		return Usage{}, fmt.Errorf("coupon usage %s: %w", couponID, err)
	}
	if !exists {
		return Usage{}, fault.New(fault.NotFound, "coupon not found", "couponId")
	}
	var rows []struct {
		Status couponredemption.Status `json:"status"`
		Count  int                     `json:"count"`
	}
	err = s.db.Client.CouponRedemption.Query().
		Where(couponredemption.CouponID(couponID)).
		GroupBy(couponredemption.FieldStatus).
		Aggregate(ent.Count()).
		Scan(ctx, &rows)
	if err != nil {
		return Usage{}, fmt.Errorf("coupon usage %s: %w", couponID, err)
	}
	var u Usage
	for _, r := range rows {
		switch r.Status {
		case couponredemption.StatusRESERVED:
			u.Reserved = r.Count
		case couponredemption.StatusCONSUMED:
			u.Consumed = r.Count
		case couponredemption.StatusRELEASED:
			u.Released = r.Count
		}
	}
	return u, nil
}
