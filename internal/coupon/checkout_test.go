package coupon_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	entcoupon "billing/ent/coupon"
	"billing/ent/couponredemption"
	"billing/ent/order"
	"billing/internal/auth"
	"billing/internal/coupon"
	"billing/internal/fault"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// check runs Check in its own transaction.
func (b *bundle) check(ctx context.Context, code string, accountID pulid.ID) (*ent.Coupon, pricing.CouponTerms, error) {
	var (
		c     *ent.Coupon
		terms pricing.CouponTerms
	)
	err := b.inTx(ctx, func(tx *ent.Tx) error {
		var err error
		c, terms, err = b.svc.Check(ctx, tx, code, accountID)
		return err
	})
	return c, terms, err
}

func TestCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.seedCatalog(t)
	accs := b.accounts(t, 3)
	fresh, veteran, other := accs[0], accs[1], accs[2]
	b.order(t, fresh, order.StatusPENDING) // unpaid orders do not count
	b.order(t, fresh, order.StatusFAILED)
	b.order(t, fresh, order.StatusEXPIRED)
	b.order(t, veteran, order.StatusCOMPLETED)

	b.create(t, fixed("OPEN", 20_000))
	b.create(t, coupon.CreateInput{Code: "SOON", Kind: "FIXED", Amount: vnd(1), ValidFrom: ptr(t0.Add(time.Minute))})
	b.create(t, coupon.CreateInput{Code: "STARTS-NOW", Kind: "FIXED", Amount: vnd(1), ValidFrom: ptr(t0)})
	b.create(t, coupon.CreateInput{Code: "OVER", Kind: "FIXED", Amount: vnd(1), ValidUntil: ptr(t0)})
	b.create(t, coupon.CreateInput{Code: "LAST-SECOND", Kind: "FIXED", Amount: vnd(1), ValidUntil: ptr(t0.Add(time.Second))})
	off := b.create(t, fixed("OFF", 1))
	_, err := b.svc.Deactivate(b.admin, off.ID, "test")
	require.NoError(t, err)
	gone := b.create(t, coupon.CreateInput{Code: "GONE", Kind: "FIXED", Amount: vnd(1), MaxRedemptions: ptr(1)})
	require.NoError(t, b.reserve(gone.ID, other, b.order(t, other, order.StatusPENDING), 1))
	once := b.create(t, fixed("ONCE", 1))
	require.NoError(t, b.reserve(once.ID, fresh, b.order(t, fresh, order.StatusPENDING), 1))
	twice := b.create(t, coupon.CreateInput{Code: "TWICE", Kind: "FIXED", Amount: vnd(1), PerAccountLimit: 2})
	require.NoError(t, b.reserve(twice.ID, fresh, b.order(t, fresh, order.StatusPENDING), 1))
	require.NoError(t, b.reserve(twice.ID, fresh, b.order(t, fresh, order.StatusPENDING), 1))
	again := b.create(t, fixed("AGAIN", 1)) // used, but released: usable again
	released := b.order(t, fresh, order.StatusPENDING)
	require.NoError(t, b.reserve(again.ID, fresh, released, 1))
	require.NoError(t, b.inTx(b.sys, func(tx *ent.Tx) error { return b.svc.Release(b.sys, tx, released) }))
	b.create(t, coupon.CreateInput{Code: "FIRST", Kind: "PERCENT", Percent: vnd(50), Cap: ptr(vnd(100_000)),
		FirstOrderOnly: true, ProductCodes: []string{"vserver"}, MinOrderAmount: vnd(200_000)})

	tests := []struct {
		name    string
		code    string
		account pulid.ID
		reason  pricing.CouponReason // "" means accepted
		message string
	}{
		{"accepted, any case", " open ", fresh, "", ""},
		{"unknown", "NOPE", fresh, pricing.CouponUnknown, "coupon NOPE does not exist"},
		{"empty", "  ", fresh, pricing.CouponUnknown, "coupon  does not exist"},
		{"inactive", "OFF", fresh, pricing.CouponInactive, "coupon OFF is no longer active"},
		{"not yet valid", "SOON", fresh, pricing.CouponNotYetValid, "coupon SOON is not valid before 2026-11-27 09:31 UTC"},
		{"valid from its start", "STARTS-NOW", fresh, "", ""},
		{"expired at its end", "OVER", fresh, pricing.CouponExpired, "coupon OVER expired at 2026-11-27 09:30 UTC"},
		{"valid until its end", "LAST-SECOND", fresh, "", ""},
		{"exhausted", "GONE", fresh, pricing.CouponExhausted, "coupon GONE has been fully redeemed"},
		{"already used", "ONCE", fresh, pricing.CouponAlreadyUsed, "coupon ONCE has already been used by this account"},
		{"used by another account only", "ONCE", other, "", ""},
		{"limit 2 reached", "TWICE", fresh, pricing.CouponAlreadyUsed, "coupon TWICE has already been used 2 times by this account, its limit"},
		{"released redemptions do not count", "AGAIN", fresh, "", ""},
		{"first order: unpaid orders only", "FIRST", fresh, "", ""},
		{"not the first order", "FIRST", veteran, pricing.CouponNotFirstOrder, "coupon FIRST is only for an account's first order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, terms, err := b.check(b.sys, tt.code, tt.account)
			if tt.reason == "" {
				require.NoError(t, err)
				require.Equal(t, c.Code, terms.Code)
				return
			}
			require.Nil(t, c)
			f, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, fault.CouponInvalid, f.Code)
			require.Equal(t, []string{"input", "couponCode"}, f.Field)
			require.Equal(t, tt.message, f.Message)
			reason, ok := pricing.CouponReasonOf(err)
			require.True(t, ok)
			require.Equal(t, tt.reason, reason)
		})
	}

	// The terms are what pricing needs.
	c, terms, err := b.check(b.sys, "first", fresh)
	require.NoError(t, err)
	require.Equal(t, "FIRST", terms.Code)
	require.Equal(t, pricing.CouponPercent, terms.Kind)
	require.Equal(t, "0", terms.Amount.String())
	require.Equal(t, "50", terms.Percent.String())
	require.Equal(t, "100000", terms.Cap.String())
	require.Equal(t, []string{"vserver"}, terms.ProductCodes)
	require.Equal(t, "200000", terms.MinOrderAmount.String())
	require.Equal(t, coupon.Terms(c), terms)

	// A customer checks its own account through the tenancy filter.
	customer := auth.WithViewer(context.Background(), auth.Viewer{Subject: "owner-acct01", Role: auth.RoleCustomer, AccountID: string(veteran)})
	_, _, err = b.check(customer, "FIRST", veteran)
	reason, _ := pricing.CouponReasonOf(err)
	require.Equal(t, pricing.CouponNotFirstOrder, reason)

	// Time moves: the coupon that was not yet valid becomes valid.
	b.clock.Advance(time.Minute)
	_, _, err = b.check(b.sys, "SOON", fresh)
	require.NoError(t, err)
}

// TestCheckoutSPECExample runs the SPEC example through the coupon service
// and pricing, as the checkout will: Check, QuoteOrder, Reserve.
func TestCheckoutSPECExample(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme")
	b.create(t, fixed("GIAM20K", 20_000))
	ord := b.order(t, acc, order.StatusPENDING)
	var q pricing.Quote
	require.NoError(t, b.inTx(b.sys, func(tx *ent.Tx) error {
		c, terms, err := b.svc.Check(b.sys, tx, "giam20k", acc)
		if err != nil {
			return err
		}
		item := pricing.QuoteItem{Key: "0", ProductCode: "vserver", PlanCode: "img", Count: 1, Months: 2,
			Components: []pricing.Component{
				{Code: "image", Quantity: 1, UnitPrice: vnd(90_000), VATRate: vnd(10), VATIncluded: true},
				{Code: "root_disk_gb", Quantity: 1, UnitPrice: vnd(35_000), VATRate: vnd(10), VATIncluded: true},
			}}
		if q, err = pricing.QuoteOrder([]pricing.QuoteItem{item}, &terms); err != nil {
			return err
		}
		return b.svc.Reserve(b.sys, tx, c.ID, acc, ord, q.Discount)
	}))
	require.Equal(t, "180000", q.Resources[0].Lines[0].Amount.String())
	require.Equal(t, "70000", q.Resources[0].Lines[1].Amount.String())
	require.Equal(t, "230000", q.Total.String())
	r, err := b.db.Client.CouponRedemption.Query().Where(couponredemption.OrderID(ord)).Only(b.sys)
	require.NoError(t, err)
	require.Equal(t, "20000", r.Amount.String())
	require.Equal(t, acc, r.AccountID)
	require.Equal(t, couponredemption.StatusRESERVED, r.Status)
}

func TestReserveConsumeRelease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	accs := b.accounts(t, 3)
	c := b.create(t, coupon.CreateInput{Code: "TWO", Kind: "FIXED", Amount: vnd(5_000), MaxRedemptions: ptr(2)})
	o1, o2, o3 := b.order(t, accs[0], "PENDING"), b.order(t, accs[1], "PENDING"), b.order(t, accs[2], "PENDING")
	state := func(t *testing.T, redeemed int, want coupon.Usage) {
		t.Helper()
		require.Equal(t, redeemed, b.reload(t, c.ID).RedeemedCount)
		u, err := b.svc.Usage(b.admin, c.ID)
		require.NoError(t, err)
		require.Equal(t, want, u)
	}
	in := func(fn func(tx *ent.Tx) error) error { return b.inTx(b.sys, fn) }

	require.NoError(t, b.reserve(c.ID, accs[0], o1, 5_000))
	require.NoError(t, b.reserve(c.ID, accs[1], o2, 5_000))
	state(t, 2, coupon.Usage{Reserved: 2})
	reason, _ := pricing.CouponReasonOf(b.reserve(c.ID, accs[2], o3, 5_000))
	require.Equal(t, pricing.CouponExhausted, reason)
	state(t, 2, coupon.Usage{Reserved: 2})

	// Paid: consumed, still counted; consuming again changes nothing.
	require.NoError(t, in(func(tx *ent.Tx) error { return b.svc.Consume(b.sys, tx, o1) }))
	require.NoError(t, in(func(tx *ent.Tx) error { return b.svc.Consume(b.sys, tx, o1) }))
	state(t, 2, coupon.Usage{Reserved: 1, Consumed: 1})

	// Payment expired: released, the slot is free again; twice is once.
	require.NoError(t, in(func(tx *ent.Tx) error { return b.svc.Release(b.sys, tx, o2) }))
	require.NoError(t, in(func(tx *ent.Tx) error { return b.svc.Release(b.sys, tx, o2) }))
	state(t, 1, coupon.Usage{Consumed: 1, Released: 1})
	require.NoError(t, b.reserve(c.ID, accs[2], o3, 5_000))
	state(t, 2, coupon.Usage{Reserved: 1, Consumed: 1, Released: 1})

	// Wrong-way transitions are refused and change nothing.
	err := in(func(tx *ent.Tx) error { return b.svc.Release(b.sys, tx, o1) })
	require.Equal(t, fault.InvalidState, fault.CodeOf(err), "%v", err)
	err = in(func(tx *ent.Tx) error { return b.svc.Consume(b.sys, tx, o2) })
	require.Equal(t, fault.InvalidState, fault.CodeOf(err), "%v", err)
	state(t, 2, coupon.Usage{Reserved: 1, Consumed: 1, Released: 1})

	// Orders without a coupon: nothing to do.
	none := b.order(t, accs[0], "PENDING")
	require.NoError(t, in(func(tx *ent.Tx) error { return b.svc.Consume(b.sys, tx, none) }))
	require.NoError(t, in(func(tx *ent.Tx) error { return b.svc.Release(b.sys, tx, none) }))
	state(t, 2, coupon.Usage{Reserved: 1, Consumed: 1, Released: 1})

	// A released order cannot reserve again (one redemption row per order).
	err = b.reserve(c.ID, accs[1], o2, 5_000)
	require.Equal(t, fault.Conflict, fault.CodeOf(err), "%v", err)

	// The rows carry the order, account and amount.
	r, err := b.db.Client.CouponRedemption.Query().Where(couponredemption.OrderID(o3)).Only(b.sys)
	require.NoError(t, err)
	require.Equal(t, c.ID, r.CouponID)
	require.Equal(t, accs[2], r.AccountID)
	require.Equal(t, "5000", r.Amount.String())
	require.True(t, t0.Equal(r.CreatedAt))
}

// TestReserveRefusals checks every refusal of Reserve, and that a refusal
// writes nothing and leaves the caller's transaction usable.
func TestReserveRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	accs := b.accounts(t, 2)
	a, z := accs[0], accs[1]
	full := b.create(t, coupon.CreateInput{Code: "FULL", Kind: "FIXED", Amount: vnd(1), MaxRedemptions: ptr(1)})
	require.NoError(t, b.reserve(full.ID, z, b.order(t, z, "PENDING"), 1))
	used := b.create(t, fixed("USED", 1))
	require.NoError(t, b.reserve(used.ID, a, b.order(t, a, "PENDING"), 1))
	off := b.create(t, fixed("OFF", 1))
	_, err := b.svc.Deactivate(b.admin, off.ID, "test")
	require.NoError(t, err)
	late := b.create(t, coupon.CreateInput{Code: "LATE", Kind: "FIXED", Amount: vnd(1), ValidUntil: ptr(t0)})
	early := b.create(t, coupon.CreateInput{Code: "EARLY", Kind: "FIXED", Amount: vnd(1), ValidFrom: ptr(t0.Add(time.Hour))})
	open := b.create(t, fixed("OPEN", 1))
	taken := b.order(t, a, "PENDING")
	require.NoError(t, b.reserve(open.ID, a, taken, 1))

	tests := []struct {
		name     string
		couponID pulid.ID
		orderID  pulid.ID
		amount   int64
		reason   pricing.CouponReason
		code     fault.Code
	}{
		{"exhausted", full.ID, "", 1, pricing.CouponExhausted, fault.CouponInvalid},
		{"already used", used.ID, "", 1, pricing.CouponAlreadyUsed, fault.CouponInvalid},
		{"inactive", off.ID, "", 1, pricing.CouponInactive, fault.CouponInvalid},
		{"expired", late.ID, "", 1, pricing.CouponExpired, fault.CouponInvalid},
		{"not yet valid", early.ID, "", 1, pricing.CouponNotYetValid, fault.CouponInvalid},
		{"unknown", "cpn_01JDX3Q6V7N2M8K4P5R6S7T8V9", "", 1, pricing.CouponUnknown, fault.CouponInvalid},
		{"order already has a coupon", used.ID, taken, 1, "", fault.Conflict},
		{"negative amount", open.ID, "", -1, "", fault.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ord := tt.orderID
			if ord == "" {
				ord = b.order(t, a, "PENDING")
			}
			var before []*ent.Coupon
			before, err := b.db.Client.Coupon.Query().Order(ent.Asc(entcoupon.FieldCode)).All(b.sys)
			require.NoError(t, err)
			err = b.inTx(b.sys, func(tx *ent.Tx) error {
				rerr := b.svc.Reserve(b.sys, tx, tt.couponID, a, ord, vnd(tt.amount))
				require.Error(t, rerr)
				require.Equal(t, tt.code, fault.CodeOf(rerr), "%v", rerr)
				if tt.reason != "" {
					reason, _ := pricing.CouponReasonOf(rerr)
					require.Equal(t, tt.reason, reason)
				}
				// The transaction is still usable: the checkout goes on
				// (e.g. without the coupon) and commits.
				return tx.Order.UpdateOneID(ord).SetCouponCode("").Exec(b.sys)
			})
			require.NoError(t, err)
			after, err := b.db.Client.Coupon.Query().Order(ent.Asc(entcoupon.FieldCode)).All(b.sys)
			require.NoError(t, err)
			for i := range before {
				require.Equal(t, before[i].RedeemedCount, after[i].RedeemedCount, before[i].Code)
			}
		})
	}
	n, err := b.db.Client.CouponRedemption.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 3, n)
}
