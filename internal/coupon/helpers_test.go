package coupon_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/order"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/coupon"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/requestid"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

func vnd(v int64) money.Amount { return money.VND(v) }

func ptr[T any](v T) *T { return &v }

// bundle is what every test starts from: a fresh database, a fake clock at
// t0, the service, and contexts for an operator and the system.
type bundle struct {
	db    *store.DB
	clock *clockwork.FakeClock
	svc   *coupon.Service
	admin context.Context
	sys   context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := testdb.New(t)
	clock := clockwork.NewFakeClockAt(t0)
	admin := requestid.With(auth.WithViewer(context.Background(), auth.Viewer{Subject: "ops", Role: auth.RoleAdmin}), "req-1")
	return &bundle{
		db:    db,
		clock: clock,
		svc:   coupon.New(db, clock),
		admin: admin,
		sys:   auth.SystemContext(context.Background()),
	}
}

// seedCatalog inserts the reference products (vserver, vstorage, vmonitor).
func (b *bundle) seedCatalog(t *testing.T) {
	t.Helper()
	_, err := catalog.Seed(b.sys, b.db.Client)
	require.NoError(t, err)
}

// account opens an account and returns its id.
func (b *bundle) account(t *testing.T, name string) pulid.ID {
	t.Helper()
	acc, err := account.New(b.db, b.clock).Create(b.sys, account.CreateInput{
		Name: name, Email: "billing@" + name + ".vn", OwnerSubject: "owner-" + name,
	})
	require.NoError(t, err)
	return acc.ID
}

// accounts opens n accounts.
func (b *bundle) accounts(t *testing.T, n int) []pulid.ID {
	t.Helper()
	out := make([]pulid.ID, n)
	for i := range out {
		out[i] = b.account(t, fmt.Sprintf("acct%02d", i))
	}
	return out
}

// order inserts a minimal order of the account with the given status.
func (b *bundle) order(t *testing.T, accountID pulid.ID, status order.Status) pulid.ID {
	t.Helper()
	o, err := b.db.Client.Order.Create().
		SetAccountID(accountID).
		SetStatus(status).
		SetSubtotal(vnd(250_000)).
		SetTotal(vnd(230_000)).
		SetCreatedAt(t0).
		SetUpdatedAt(t0).
		Save(b.sys)
	require.NoError(t, err)
	return o.ID
}

// create makes a coupon as the operator.
func (b *bundle) create(t *testing.T, in coupon.CreateInput) *ent.Coupon {
	t.Helper()
	c, err := b.svc.Create(b.admin, in)
	require.NoError(t, err)
	return c
}

// inTx runs fn in its own transaction, like one checkout request.
func (b *bundle) inTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	return store.WithTx(ctx, b.db.Client, fn)
}

// reserve reserves in its own transaction.
func (b *bundle) reserve(couponID, accountID, orderID pulid.ID, amount int64) error {
	return b.inTx(b.sys, func(tx *ent.Tx) error {
		return b.svc.Reserve(b.sys, tx, couponID, accountID, orderID, vnd(amount))
	})
}

// reload reads a coupon again.
func (b *bundle) reload(t *testing.T, id pulid.ID) *ent.Coupon {
	t.Helper()
	c, err := b.db.Client.Coupon.Get(b.sys, id)
	require.NoError(t, err)
	return c
}

// fixed is a valid FIXED coupon input.
func fixed(code string, amount int64) coupon.CreateInput {
	return coupon.CreateInput{Code: code, Kind: "FIXED", Amount: vnd(amount)}
}

func pulidOf(s string) pulid.ID { return pulid.ID(s) }
