package coupon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/auditlog"
	entcoupon "billing/ent/coupon"
	"billing/internal/auth"
	"billing/internal/coupon"
	"billing/internal/fault"
	"billing/internal/money"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.seedCatalog(t)
	from, until := t0.Add(-time.Hour), t0.Add(30*24*time.Hour)
	tests := []struct {
		name  string
		in    coupon.CreateInput
		check func(t *testing.T, c *ent.Coupon)
	}{
		{"fixed with defaults", coupon.CreateInput{Code: "  welcome20k ", Kind: "FIXED", Amount: vnd(20_000)},
			func(t *testing.T, c *ent.Coupon) {
				require.Equal(t, "WELCOME20K", c.Code)
				require.Equal(t, entcoupon.KindFIXED, c.Kind)
				require.Equal(t, "20000", c.Amount.String())
				require.True(t, c.Percent.IsZero())
				require.Nil(t, c.Cap)
				require.Empty(t, c.ProductCodes)
				require.Nil(t, c.ValidFrom)
				require.Nil(t, c.ValidUntil)
				require.Nil(t, c.MaxRedemptions)
				require.Equal(t, 1, c.PerAccountLimit)
				require.False(t, c.FirstOrderOnly)
				require.Zero(t, c.RedeemedCount)
				require.True(t, c.Active)
				require.Equal(t, "cpn", c.ID.Prefix())
				require.True(t, t0.Equal(c.CreatedAt))
			}},
		{"percent with everything", coupon.CreateInput{
			Code: "Spring_25-X", Description: " Spring sale ", Kind: "PERCENT", Percent: money.MustParse("12.5"),
			Cap: ptr(vnd(100_000)), ProductCodes: []string{"VServer", " vstorage", "vserver"},
			ValidFrom: &from, ValidUntil: &until, MinOrderAmount: vnd(500_000), MaxRedemptions: ptr(100),
			PerAccountLimit: 3, FirstOrderOnly: true,
		}, func(t *testing.T, c *ent.Coupon) {
			require.Equal(t, "SPRING_25-X", c.Code)
			require.Equal(t, "Spring sale", c.Description)
			require.Equal(t, "12.5", c.Percent.String())
			require.Equal(t, "100000", c.Cap.String())
			require.Equal(t, []string{"vserver", "vstorage"}, c.ProductCodes)
			require.True(t, from.Equal(*c.ValidFrom))
			require.True(t, until.Equal(*c.ValidUntil))
			require.Equal(t, "500000", c.MinOrderAmount.String())
			require.Equal(t, 100, *c.MaxRedemptions)
			require.Equal(t, 3, c.PerAccountLimit)
			require.True(t, c.FirstOrderOnly)
		}},
		{"100 percent", coupon.CreateInput{Code: "FREE", Kind: "PERCENT", Percent: vnd(100)},
			func(t *testing.T, c *ent.Coupon) { require.Equal(t, "100", c.Percent.String()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := b.svc.Create(b.admin, tt.in)
			require.NoError(t, err)
			tt.check(t, c)
			stored := b.reload(t, c.ID)
			tt.check(t, stored)

			logs, err := b.db.Client.AuditLog.Query().Where(auditlog.TargetID(string(c.ID))).All(b.sys)
			require.NoError(t, err)
			require.Len(t, logs, 1)
			require.Equal(t, "coupon.create", logs[0].Action)
			require.Equal(t, "ops", logs[0].Actor)
			require.Equal(t, "admin", logs[0].ActorRole)
			require.Equal(t, "coupon", logs[0].TargetType)
			require.Equal(t, "req-1", logs[0].RequestID)
			require.Equal(t, c.Code, logs[0].Details["code"])
			require.Equal(t, c.Amount.String(), logs[0].Details["amount"])
		})
	}
	// The system viewer (seeding) may create coupons too.
	_, err := b.svc.Create(b.sys, fixed("SEEDED", 1_000))
	require.NoError(t, err)
}

func TestCreateRejected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.seedCatalog(t)
	b.create(t, fixed("TAKEN", 1_000))
	valid := fixed("NEW1", 1_000)
	with := func(f func(*coupon.CreateInput)) coupon.CreateInput {
		in := valid
		f(&in)
		return in
	}
	customer := auth.WithViewer(context.Background(), auth.Viewer{Subject: "u", Role: auth.RoleCustomer, AccountID: "acc_x"})
	tests := []struct {
		name     string
		ctx      context.Context
		in       coupon.CreateInput
		code     fault.Code
		field    string
		validate bool // Validate alone rejects it too
	}{
		{"no viewer", context.Background(), valid, fault.Unauthenticated, "", false},
		{"customer", customer, valid, fault.Forbidden, "", false},
		{"code too short", b.admin, with(func(in *coupon.CreateInput) { in.Code = "AB" }), fault.Invalid, "code", true},
		{"code too long", b.admin, with(func(in *coupon.CreateInput) { in.Code = strings.Repeat("A", 33) }), fault.Invalid, "code", true},
		{"code with a space", b.admin, with(func(in *coupon.CreateInput) { in.Code = "NEW YEAR" }), fault.Invalid, "code", true},
		{"code not ASCII", b.admin, with(func(in *coupon.CreateInput) { in.Code = "TẾT2027" }), fault.Invalid, "code", true},
		{"unknown kind", b.admin, with(func(in *coupon.CreateInput) { in.Kind = "FREE" }), fault.Invalid, "kind", true},
		{"fixed without amount", b.admin, with(func(in *coupon.CreateInput) { in.Amount = money.Zero }), fault.Invalid, "amount", true},
		{"fixed negative", b.admin, with(func(in *coupon.CreateInput) { in.Amount = vnd(-1) }), fault.Invalid, "amount", true},
		{"fixed fractional", b.admin, with(func(in *coupon.CreateInput) { in.Amount = money.MustParse("0.5") }), fault.Invalid, "amount", true},
		{"fixed beyond money.Max", b.admin, with(func(in *coupon.CreateInput) { in.Amount = money.Max.Add(vnd(1)) }), fault.Invalid, "amount", true},
		{"fixed with a percentage", b.admin, with(func(in *coupon.CreateInput) { in.Percent = vnd(10) }), fault.Invalid, "percent", true},
		{"fixed with a cap", b.admin, with(func(in *coupon.CreateInput) { in.Cap = ptr(vnd(10)) }), fault.Invalid, "cap", true},
		{"percent zero", b.admin, coupon.CreateInput{Code: "PCT0", Kind: "PERCENT"}, fault.Invalid, "percent", true},
		{"percent above 100", b.admin, coupon.CreateInput{Code: "PCT101", Kind: "PERCENT", Percent: money.MustParse("100.01")}, fault.Invalid, "percent", true},
		{"percent negative", b.admin, coupon.CreateInput{Code: "PCTNEG", Kind: "PERCENT", Percent: vnd(-5)}, fault.Invalid, "percent", true},
		{"percent with an amount", b.admin, coupon.CreateInput{Code: "PCTAMT", Kind: "PERCENT", Percent: vnd(5), Amount: vnd(5)}, fault.Invalid, "amount", true},
		{"cap zero", b.admin, coupon.CreateInput{Code: "PCTCAP", Kind: "PERCENT", Percent: vnd(5), Cap: ptr(money.Zero)}, fault.Invalid, "cap", true},
		{"cap fractional", b.admin, coupon.CreateInput{Code: "PCTCAP", Kind: "PERCENT", Percent: vnd(5), Cap: ptr(money.MustParse("1.5"))}, fault.Invalid, "cap", true},
		{"window reversed", b.admin, with(func(in *coupon.CreateInput) { in.ValidFrom, in.ValidUntil = ptr(t0), ptr(t0.Add(-time.Second)) }), fault.Invalid, "validUntil", true},
		{"window empty", b.admin, with(func(in *coupon.CreateInput) { in.ValidFrom, in.ValidUntil = ptr(t0), ptr(t0) }), fault.Invalid, "validUntil", true},
		{"per-account limit negative", b.admin, with(func(in *coupon.CreateInput) { in.PerAccountLimit = -1 }), fault.Invalid, "perAccountLimit", true},
		{"max redemptions 0", b.admin, with(func(in *coupon.CreateInput) { in.MaxRedemptions = ptr(0) }), fault.Invalid, "maxRedemptions", true},
		{"min order negative", b.admin, with(func(in *coupon.CreateInput) { in.MinOrderAmount = vnd(-1) }), fault.Invalid, "minOrderAmount", true},
		{"min order fractional", b.admin, with(func(in *coupon.CreateInput) { in.MinOrderAmount = money.MustParse("0.1") }), fault.Invalid, "minOrderAmount", true},
		{"bad product code", b.admin, with(func(in *coupon.CreateInput) { in.ProductCodes = []string{"v server"} }), fault.Invalid, "productCodes", true},
		{"description too long", b.admin, with(func(in *coupon.CreateInput) { in.Description = strings.Repeat("đ", 501) }), fault.Invalid, "description", true},
		{"unknown product", b.admin, with(func(in *coupon.CreateInput) { in.ProductCodes = []string{"vserver", "vgpu"} }), fault.Invalid, "productCodes", false},
		{"duplicate code", b.admin, with(func(in *coupon.CreateInput) { in.Code = " taken " }), fault.Conflict, "code", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.svc.Create(tt.ctx, tt.in)
			require.Equal(t, tt.code, fault.CodeOf(err), "%v", err)
			if tt.field != "" {
				f, _ := fault.As(err)
				require.Equal(t, []string{"input", tt.field}, f.Field, "%v", err)
			}
			if tt.validate {
				require.Error(t, tt.in.Validate())
			} else if tt.code == fault.Invalid || tt.code == fault.Conflict {
				require.NoError(t, tt.in.Validate(), "only the database can tell")
			}
		})
	}
	n, err := b.db.Client.Coupon.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n, "nothing but the first coupon was written")
	logs, err := b.db.Client.AuditLog.Query().Where(auditlog.Action("coupon.create")).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, logs)
	require.NoError(t, valid.Validate())
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.seedCatalog(t)
	acc := b.account(t, "acme")
	c := b.create(t, coupon.CreateInput{Code: "SALE", Kind: "PERCENT", Percent: vnd(10), Cap: ptr(vnd(50_000)),
		ValidUntil: ptr(t0.Add(time.Hour)), MaxRedemptions: ptr(5)})

	// Partial: only what is given changes.
	got, err := b.svc.Update(b.admin, c.ID, coupon.UpdateInput{
		Description: ptr(" Year-end sale "), ProductCodes: &[]string{"VSTORAGE"},
		ClearValidUntil: true, ValidFrom: ptr(t0.Add(-time.Hour)), PerAccountLimit: ptr(2),
		MinOrderAmount: ptr(vnd(100_000)), FirstOrderOnly: ptr(true), Reason: "campaign extended",
	})
	require.NoError(t, err)
	require.Equal(t, "Year-end sale", got.Description)
	require.Equal(t, []string{"vstorage"}, got.ProductCodes)
	require.Nil(t, got.ValidUntil)
	require.True(t, t0.Add(-time.Hour).Equal(*got.ValidFrom))
	require.Equal(t, 2, got.PerAccountLimit)
	require.Equal(t, "100000", got.MinOrderAmount.String())
	require.True(t, got.FirstOrderOnly)
	require.Equal(t, "10", got.Percent.String())
	require.Equal(t, "50000", got.Cap.String())
	require.Equal(t, 5, *got.MaxRedemptions)
	require.Equal(t, got.Description, b.reload(t, c.ID).Description)

	logs, err := b.db.Client.AuditLog.Query().Where(auditlog.Action("coupon.update")).All(b.sys)
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Equal(t, "campaign extended", logs[0].Reason)
	changes := logs[0].Details["changes"].(map[string]any)
	require.ElementsMatch(t, []string{"description", "productCodes", "validFrom", "validUntil", "perAccountLimit",
		"minOrderAmount", "firstOrderOnly"}, keys(changes))
	require.Equal(t, map[string]any{"from": "", "to": "Year-end sale"}, changes["description"])

	// A no-op update writes nothing.
	before := b.reload(t, c.ID)
	_, err = b.svc.Update(b.admin, c.ID, coupon.UpdateInput{Description: ptr("Year-end sale")})
	require.NoError(t, err)
	require.True(t, before.UpdatedAt.Equal(b.reload(t, c.ID).UpdatedAt))
	n, err := b.db.Client.AuditLog.Query().Where(auditlog.Action("coupon.update")).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Before any redemption the discount may change, the kind too.
	got, err = b.svc.Update(b.admin, c.ID, coupon.UpdateInput{Kind: ptr(entcoupon.KindFIXED), Amount: ptr(vnd(30_000))})
	require.NoError(t, err)
	require.Equal(t, entcoupon.KindFIXED, got.Kind)
	require.Equal(t, "30000", got.Amount.String())
	require.True(t, got.Percent.IsZero(), "the old kind's settings are dropped")
	require.Nil(t, got.Cap)

	// Once redeemed, it may not; other settings still may.
	require.NoError(t, b.reserve(c.ID, acc, b.order(t, acc, "PENDING"), 30_000))
	_, err = b.svc.Update(b.admin, c.ID, coupon.UpdateInput{Amount: ptr(vnd(40_000))})
	require.Equal(t, fault.InvalidState, fault.CodeOf(err), "%v", err)
	f, _ := fault.As(err)
	require.Equal(t, []string{"input", "amount"}, f.Field)
	_, err = b.svc.Update(b.admin, c.ID, coupon.UpdateInput{Kind: ptr(entcoupon.KindPERCENT), Percent: ptr(vnd(5))})
	require.Equal(t, fault.InvalidState, fault.CodeOf(err), "%v", err)
	_, err = b.svc.Update(b.admin, c.ID, coupon.UpdateInput{MaxRedemptions: ptr(10)})
	require.NoError(t, err)

	// Limits below what is already redeemed are refused.
	_, err = b.svc.Update(b.admin, c.ID, coupon.UpdateInput{MaxRedemptions: ptr(1)})
	require.NoError(t, err, "equal to the redeemed count is fine")
	b2 := b.create(t, fixed("TWO", 1_000))
	acc2 := b.account(t, "other")
	require.NoError(t, b.reserve(b2.ID, acc, b.order(t, acc, "PENDING"), 1_000))
	require.NoError(t, b.reserve(b2.ID, acc2, b.order(t, acc2, "PENDING"), 1_000))
	_, err = b.svc.Update(b.admin, b2.ID, coupon.UpdateInput{MaxRedemptions: ptr(1)})
	require.Equal(t, fault.Invalid, fault.CodeOf(err), "%v", err)

	tests := []struct {
		name  string
		in    coupon.UpdateInput
		code  fault.Code
		field string
	}{
		{"set and clear", coupon.UpdateInput{ValidUntil: ptr(t0), ClearValidUntil: true}, fault.Invalid, "validUntil"},
		{"bad kind", coupon.UpdateInput{Kind: ptr(entcoupon.Kind("X"))}, fault.Invalid, "kind"},
		{"per-account 0", coupon.UpdateInput{PerAccountLimit: ptr(0)}, fault.Invalid, "perAccountLimit"},
		{"window reversed against the stored start", coupon.UpdateInput{ValidUntil: ptr(t0.Add(-2 * time.Hour))}, fault.Invalid, "validUntil"},
		{"cap on a FIXED coupon", coupon.UpdateInput{Cap: ptr(vnd(1))}, fault.Invalid, "cap"},
		{"unknown product", coupon.UpdateInput{ProductCodes: &[]string{"vgpu"}}, fault.Invalid, "productCodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.svc.Update(b.admin, c.ID, tt.in)
			require.Equal(t, tt.code, fault.CodeOf(err), "%v", err)
			f, _ := fault.As(err)
			require.Equal(t, []string{"input", tt.field}, f.Field)
		})
	}
	_, err = b.svc.Update(b.admin, "cpn_01JDX3Q6V7N2M8K4P5R6S7T8V9", coupon.UpdateInput{Description: ptr("x")})
	require.Equal(t, fault.NotFound, fault.CodeOf(err))
	_, err = b.svc.Update(auth.WithViewer(context.Background(), auth.Viewer{Subject: "svc", Role: auth.RoleService}), c.ID, coupon.UpdateInput{})
	require.Equal(t, fault.Forbidden, fault.CodeOf(err))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDeactivate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "acme")
	c := b.create(t, fixed("BYE", 1_000))
	ord := b.order(t, acc, "PENDING")
	require.NoError(t, b.reserve(c.ID, acc, ord, 1_000))

	_, err := b.svc.Deactivate(b.admin, c.ID, "  ")
	require.Equal(t, fault.Invalid, fault.CodeOf(err))
	_, err = b.svc.Deactivate(b.admin, "cpn_01JDX3Q6V7N2M8K4P5R6S7T8V9", "gone")
	require.Equal(t, fault.NotFound, fault.CodeOf(err))

	got, err := b.svc.Deactivate(b.admin, c.ID, "leaked on a forum")
	require.NoError(t, err)
	require.False(t, got.Active)
	again, err := b.svc.Deactivate(b.admin, c.ID, "twice")
	require.NoError(t, err)
	require.False(t, again.Active)

	logs, err := b.db.Client.AuditLog.Query().Where(auditlog.Action("coupon.deactivate")).All(b.sys)
	require.NoError(t, err)
	require.Len(t, logs, 1, "deactivating twice logs once")
	require.Equal(t, "leaked on a forum", logs[0].Reason)
	require.Equal(t, string(c.ID), logs[0].TargetID)

	// New uses are refused; the reservation already made is still honoured.
	late := b.account(t, "late")
	err = b.inTx(b.sys, func(tx *ent.Tx) error {
		_, _, err := b.svc.Check(b.sys, tx, "bye", late)
		return err
	})
	require.Equal(t, fault.CouponInvalid, fault.CodeOf(err))
	require.NoError(t, b.inTx(b.sys, func(tx *ent.Tx) error { return b.svc.Consume(b.sys, tx, ord) }))
}

func TestUsage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	accs := b.accounts(t, 4)
	c := b.create(t, fixed("USED", 1_000))
	orders := make([]string, len(accs))
	for i, a := range accs {
		o := b.order(t, a, "PENDING")
		orders[i] = string(o)
		require.NoError(t, b.reserve(c.ID, a, o, 1_000))
	}
	require.NoError(t, b.inTx(b.sys, func(tx *ent.Tx) error {
		if err := b.svc.Consume(b.sys, tx, "ord_x"); err != nil { // no coupon: nothing to do
			return err
		}
		if err := b.svc.Consume(b.sys, tx, pulidOf(orders[0])); err != nil {
			return err
		}
		return b.svc.Release(b.sys, tx, pulidOf(orders[1]))
	}))
	u, err := b.svc.Usage(b.admin, c.ID)
	require.NoError(t, err)
	require.Equal(t, coupon.Usage{Reserved: 2, Consumed: 1, Released: 1}, u)

	empty := b.create(t, fixed("EMPTY", 1))
	u, err = b.svc.Usage(b.admin, empty.ID)
	require.NoError(t, err)
	require.Equal(t, coupon.Usage{}, u)

	_, err = b.svc.Usage(b.admin, "cpn_01JDX3Q6V7N2M8K4P5R6S7T8V9")
	require.Equal(t, fault.NotFound, fault.CodeOf(err))
	_, err = b.svc.Usage(auth.WithViewer(context.Background(), auth.Viewer{Subject: "u", Role: auth.RoleCustomer, AccountID: string(accs[0])}), c.ID)
	require.Equal(t, fault.Forbidden, fault.CodeOf(err))
}
