package checkout_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/provision"
	"billing/internal/pulid"
)

// lossy is a provisioner that loses the requests it is given while lose
// is set (a process that stopped after the payment committed, or a
// product service that dropped the request), and hands them to the
// simulator afterwards.
type lossy struct {
	mu   sync.Mutex
	lose bool
	got  []pulid.ID
	sim  *provision.Simulator
}

func (l *lossy) Provision(ctx context.Context, req provision.Request, report provision.ReportFunc) error {
	l.mu.Lock()
	l.got = append(l.got, req.ResourceID)
	lose := l.lose
	l.mu.Unlock()
	if lose {
		return nil
	}
	return l.sim.Provision(ctx, req, report)
}

func (l *lossy) handed() []pulid.ID {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]pulid.ID(nil), l.got...)
}

// TestResumeProvisioning: resources paid for but never reported are handed
// over again once they have waited long enough, provisioned once and
// invoiced once; the money moves once.
func TestResumeProvisioning(t *testing.T) {
	t.Parallel()
	prov := &lossy{lose: true}
	b := setup(t, func(c *checkout.Config) { c.Provisioner = prov })
	prov.sim = b.sim
	plan := b.serverPlan(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)

	res, err := b.place(customer(acc), "resume-1", payment.MethodCREDIT, "", item(plan, 2, 1))
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Len(t, prov.handed(), 2, "handed over once after the commit")
	balance, held := b.wallet(t, acc)
	require.Equal(t, "750000", balance) // 2 × 125,000
	require.Equal(t, "0", held)

	waiting := func() []*ent.OrderItem {
		t.Helper()
		its, err := b.db.Client.OrderItem.Query().Where(orderitem.OrderID(res.Order.ID)).All(b.sys)
		require.NoError(t, err)
		return its
	}
	for _, it := range waiting() {
		require.Equal(t, orderitem.StatusPROVISIONING, it.Status)
	}

	// Not yet: they have not waited ten minutes.
	b.clock.Advance(9 * time.Minute)
	n, err := b.svc.ResumeProvisioning(context.Background(), 10*time.Minute)
	require.NoError(t, err)
	require.Zero(t, n)

	// Lost again: handed over, still waiting; not again before ten more minutes.
	b.clock.Advance(time.Minute)
	n, err = b.svc.ResumeProvisioning(context.Background(), 10*time.Minute)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Len(t, prov.handed(), 4)
	b.clock.Advance(5 * time.Minute)
	n, err = b.svc.ResumeProvisioning(context.Background(), 10*time.Minute)
	require.NoError(t, err)
	require.Zero(t, n)

	// The product service answers this time.
	prov.mu.Lock()
	prov.lose = false
	prov.mu.Unlock()
	b.clock.Advance(5 * time.Minute)
	n, err = b.svc.ResumeProvisioning(context.Background(), 10*time.Minute)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	b.sim.Wait()
	for _, it := range waiting() {
		require.Equal(t, orderitem.StatusSUCCEEDED, it.Status)
		r, err := b.db.Client.Resource.Get(b.sys, it.ResourceID)
		require.NoError(t, err)
		require.Equal(t, resource.StateACTIVE, r.State)
	}
	invs, err := b.db.Client.Invoice.Query().Where(invoice.OrderID(res.Order.ID)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, invs, 2)
	for _, inv := range invs {
		require.Equal(t, invoice.StatusPAID, inv.Status)
		require.Equal(t, "125000", inv.Total.String())
	}

	// Nothing waits any more; the money moved once.
	b.clock.Advance(time.Hour)
	n, err = b.svc.ResumeProvisioning(context.Background(), 10*time.Minute)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, prov.handed(), 6)
	balance, held = b.wallet(t, acc)
	require.Equal(t, "750000", balance)
	require.Equal(t, "0", held)
	b.verify(t, acc)
}
