package coupon_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/couponredemption"
	"billing/ent/order"
	"billing/internal/coupon"
	"billing/internal/fault"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// race runs n reservations at once, each in its own transaction like n
// checkouts, released together, and returns their errors.
// With check, each also runs Check first, as the checkout does: once a
// reservation has committed Check already refuses; before that it passes
// and Reserve must hold the line. Without, Reserve alone is raced.
func (b *bundle) race(t *testing.T, couponID pulid.ID, accounts, orders []pulid.ID, check bool) []error {
	t.Helper()
	errs := make([]error, len(orders))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			<-start
			errs[i] = b.inTx(b.sys, func(tx *ent.Tx) error {
				if check {
					if _, _, err := b.svc.Check(b.sys, tx, "RACE", accounts[i]); err != nil {
						return err
					}
				}
				return b.svc.Reserve(b.sys, tx, couponID, accounts[i], orders[i], vnd(20_000))
			})
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// outcome counts successes and checks that every failure is a coupon
// refusal for the expected reason.
func outcome(t *testing.T, errs []error, want pricing.CouponReason) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.Equal(t, fault.CouponInvalid, fault.CodeOf(err), "%v", err)
		reason, _ := pricing.CouponReasonOf(err)
		require.Equal(t, want, reason, "%v", err)
	}
	return ok
}

// TestReserveConcurrentTotalLimit: a coupon limited to one redemption, 20
// concurrent checkouts by 20 accounts: exactly one gets it.
func TestReserveConcurrentTotalLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 20
	accounts := b.accounts(t, n)
	orders := make([]pulid.ID, n)
	for i, a := range accounts {
		orders[i] = b.order(t, a, order.StatusPENDING)
	}
	c := b.create(t, coupon.CreateInput{Code: "RACE", Kind: "FIXED", Amount: vnd(20_000), MaxRedemptions: ptr(1)})

	errs := b.race(t, c.ID, accounts, orders, false)
	require.Equal(t, 1, outcome(t, errs, pricing.CouponExhausted))
	require.Equal(t, 1, b.reload(t, c.ID).RedeemedCount)
	rs, err := b.db.Client.CouponRedemption.Query().Where(couponredemption.CouponID(c.ID)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	require.Equal(t, couponredemption.StatusRESERVED, rs[0].Status)

	// Releasing it frees the one slot for exactly one more, this time
	// through Check and Reserve like the checkout.
	var winner pulid.ID
	for i, err := range errs {
		if err == nil {
			winner = orders[i]
		}
	}
	require.NoError(t, b.inTx(b.sys, func(tx *ent.Tx) error { return b.svc.Release(b.sys, tx, winner) }))
	more := make([]pulid.ID, n)
	for i, a := range accounts {
		more[i] = b.order(t, a, order.StatusPENDING)
	}
	require.Equal(t, 1, outcome(t, b.race(t, c.ID, accounts, more, true), pricing.CouponExhausted))
	require.Equal(t, 1, b.reload(t, c.ID).RedeemedCount)
}

// TestReserveConcurrentPerAccount: no total limit, per-account limit 1,
// 10 concurrent checkouts by one account: exactly one gets it, and the
// refused ones give their slot back.
func TestReserveConcurrentPerAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 10
	acc := b.account(t, "greedy")
	accounts := make([]pulid.ID, n)
	orders := make([]pulid.ID, n)
	for i := range orders {
		accounts[i] = acc
		orders[i] = b.order(t, acc, order.StatusPENDING)
	}
	c := b.create(t, coupon.CreateInput{Code: "RACE", Kind: "FIXED", Amount: vnd(20_000), PerAccountLimit: 1})

	require.Equal(t, 1, outcome(t, b.race(t, c.ID, accounts, orders, false), pricing.CouponAlreadyUsed))
	require.Equal(t, 1, b.reload(t, c.ID).RedeemedCount)
	n2, err := b.db.Client.CouponRedemption.Query().Where(couponredemption.CouponID(c.ID)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n2)
}

// TestReleaseConcurrent: releasing one order from several transactions at
// once gives its slot back once.
func TestReleaseConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	accs := b.accounts(t, 2)
	c := b.create(t, fixed("RACE", 1))
	o1, o2 := b.order(t, accs[0], order.StatusPENDING), b.order(t, accs[1], order.StatusPENDING)
	require.NoError(t, b.reserve(c.ID, accs[0], o1, 1))
	require.NoError(t, b.reserve(c.ID, accs[1], o2, 1))
	require.Equal(t, 2, b.reload(t, c.ID).RedeemedCount)

	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			errs[i] = b.inTx(b.sys, func(tx *ent.Tx) error { return b.svc.Release(b.sys, tx, o1) })
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, b.reload(t, c.ID).RedeemedCount)
}
