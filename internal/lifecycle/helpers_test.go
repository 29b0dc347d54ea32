package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	entcoupon "billing/ent/coupon"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/ent/outboxevent"
	"billing/ent/payment"
	"billing/ent/price"
	"billing/ent/resource"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/checkout"
	"billing/internal/coupon"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/gateway"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/provision"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

const (
	day   = 24 * time.Hour
	month = 30 * day
)

func vnd(v int64) money.Amount { return money.VND(v) }

// fakeGateway stands in for the payment gateway (outside the process):
// hosted payments only; results arrive through ApplyGatewayCallback.
type fakeGateway struct {
	mu      sync.Mutex
	started map[string]gateway.StartRequest
}

func (g *fakeGateway) Name() string { return "fake" }

func (g *fakeGateway) StartPayment(_ context.Context, req gateway.StartRequest) (gateway.StartResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.started[req.TxnRef] = req
	return gateway.StartResult{RedirectURL: "https://gw.test/pay?ref=" + req.TxnRef}, nil
}

func (g *fakeGateway) VerifyCallback(url.Values) (gateway.Callback, error) {
	return gateway.Callback{}, errors.New("fake: not used")
}

func (g *fakeGateway) ChargeToken(context.Context, gateway.TokenCharge) (gateway.ChargeResult, error) {
	return gateway.ChargeResult{Status: gateway.StatusFailed}, nil
}

func (g *fakeGateway) StartLink(context.Context, gateway.LinkRequest) (gateway.StartResult, error) {
	return gateway.StartResult{}, errors.New("fake: not used")
}

func (g *fakeGateway) VerifyLinkCallback(url.Values) (gateway.LinkResult, error) {
	return gateway.LinkResult{}, errors.New("fake: not used")
}

func (g *fakeGateway) Query(context.Context, gateway.QueryRequest) (gateway.QueryResult, error) {
	return gateway.QueryResult{Status: gateway.StatusPending}, nil
}

// bundle is a fresh database with the checkout and the lifecycle service
// wired on it, and a small catalog:
//
//	vserver  periods 1,3,6,12  refundable  grace 15 + suspension 15  trash 7  auto-renew optional
//	         s-general-1x1 181,000 · s-general-2x4 520,000 (one "flavor" component each)
//	vstorage periods 1,3       refundable  trash 0                   auto-renew mandatory
//	         object 110,000
//	vmonitor periods 1         not refundable  trash 0
//	         monitor 22,000
type bundle struct {
	db       *store.DB
	clock    *clockwork.FakeClock
	ledger   *ledger.Service
	checkout *checkout.Service
	svc      *lifecycle.Service
	gw       *fakeGateway
	sys      context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := testdb.New(t)
	clock := clockwork.NewFakeClockAt(t0)
	outbox := events.NewOutbox(db.IsPostgres(), nil)
	b := &bundle{
		db: db, clock: clock,
		ledger: ledger.New(db, outbox, clock),
		gw:     &fakeGateway{started: map[string]gateway.StartRequest{}},
		sys:    auth.SystemContext(context.Background()),
	}
	b.checkout = checkout.New(checkout.Config{
		DB: db, Ledger: b.ledger, Outbox: outbox, Coupons: coupon.New(db, clock), Gateway: b.gw,
		Provisioner: provision.NewSimulator(provision.SimulatorConfig{Clock: clock}),
		Invoices:    invoicing.New(db, clock, nil), Clock: clock, PublicURL: "https://billing.test",
	})
	b.svc = lifecycle.New(lifecycle.Config{DB: db, Checkout: b.checkout, Ledger: b.ledger, Outbox: outbox, Clock: clock})
	b.catalog(t)
	return b
}

func (b *bundle) catalog(t *testing.T) {
	t.Helper()
	ctx := b.sys
	product := func(code string, periods []int, refundable, optional bool, trash int) *ent.Product {
		p, err := b.db.Client.Product.Create().SetCode(code).SetName(code).SetAllowedPeriods(periods).
			SetRefundable(refundable).SetAutoRenewOptional(optional).SetTrashDays(trash).
			SetGraceDays(15).SetSuspensionDays(15).Save(ctx)
		require.NoError(t, err)
		return p
	}
	plan := func(p *ent.Product, code string, unitPrice int64) {
		pl, err := b.db.Client.Plan.Create().SetProductID(p.ID).SetCode(code).SetName(code).Save(ctx)
		require.NoError(t, err)
		pc, err := b.db.Client.PlanComponent.Create().SetPlanID(pl.ID).SetCode("flavor").SetName(code).
			SetUnit("unit").SetMinQuantity(1).SetMaxQuantity(4).SetDefaultQuantity(1).Save(ctx)
		require.NoError(t, err)
		_, err = b.db.Client.Price.Create().SetComponentID(pc.ID).SetBillingMode(price.BillingModePREPAID).
			SetUnitPrice(vnd(unitPrice)).SetVatRate(vnd(10)).SetVatIncluded(true).Save(ctx)
		require.NoError(t, err)
	}
	vs := product("vserver", []int{1, 3, 6, 12}, true, true, 7)
	plan(vs, "s-general-1x1", 181_000)
	plan(vs, "s-general-2x4", 520_000)
	st := product("vstorage", []int{1, 3}, true, false, 0)
	plan(st, "object", 110_000)
	mon := product("vmonitor", []int{1}, false, true, 0)
	plan(mon, "monitor", 22_000)
}

func (b *bundle) account(t *testing.T) pulid.ID {
	t.Helper()
	acc, err := account.New(b.db, b.clock).Create(b.sys, account.CreateInput{
		Name: "Acme", OwnerSubject: "owner-" + string(pulid.New("u")),
	})
	require.NoError(t, err)
	return acc.ID
}

func customer(acc pulid.ID) context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: "owner", Role: auth.RoleCustomer, AccountID: string(acc)})
}

func readOnly(acc pulid.ID) context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: "member", Role: auth.RoleViewer, AccountID: string(acc)})
}

func (b *bundle) fund(t *testing.T, acc pulid.ID, amount int64) {
	t.Helper()
	require.NoError(t, store.WithTx(b.sys, b.db.Client, func(tx *ent.Tx) error {
		_, err := b.ledger.Credit(b.sys, tx, ledger.Movement{AccountID: acc, Amount: vnd(amount), Kind: ledgertransaction.KindADJUSTMENT})
		return err
	}))
}

func (b *bundle) balance(t *testing.T, acc pulid.ID) string {
	t.Helper()
	w, err := b.ledger.Wallet(b.sys, acc)
	require.NoError(t, err)
	require.NoError(t, b.ledger.Verify(b.sys, acc))
	return w.Balance.String()
}

// buy buys one resource of plan for months, paid from credit (funded
// here), and returns it ACTIVE for [now, now + months × 30 days).
func (b *bundle) buy(t *testing.T, acc pulid.ID, plan string, months int, couponCode ...string) *ent.Resource {
	t.Helper()
	in := checkout.PlaceOrderInput{
		IdempotencyKey: "buy-" + string(pulid.New("k")), Method: payment.MethodCREDIT,
		Items: []checkout.ItemInput{{PlanRef: plan, Count: 1, Months: months}},
	}
	if len(couponCode) > 0 {
		in.CouponCode = couponCode[0]
	}
	res, err := b.checkout.PlaceOrder(customer(acc), in)
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	invs, err := b.checkout.PaymentInvoices(b.sys, res.Payment.ID)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	r := b.resource(t, invs[0].ResourceID)
	require.Equal(t, resource.StateACTIVE, r.State)
	return r
}

func (b *bundle) resource(t *testing.T, id pulid.ID) *ent.Resource {
	t.Helper()
	r, err := b.db.Client.Resource.Get(b.sys, id)
	require.NoError(t, err)
	return r
}

func (b *bundle) invoiceWithLines(t *testing.T, id pulid.ID) *ent.Invoice {
	t.Helper()
	inv, err := b.db.Client.Invoice.Query().Where(invoice.ID(id)).
		WithLines(func(q *ent.InvoiceLineQuery) { q.Order(ent.Asc(invoiceline.FieldPosition)) }).Only(b.sys)
	require.NoError(t, err)
	return inv
}

// invoices returns the resource's invoices of an action, oldest first.
func (b *bundle) invoices(t *testing.T, resID pulid.ID, action invoice.Action) []*ent.Invoice {
	t.Helper()
	invs, err := b.db.Client.Invoice.Query().Where(invoice.ResourceID(resID), invoice.ActionEQ(action)).
		Order(ent.Asc(invoice.FieldCode)).All(b.sys)
	require.NoError(t, err)
	return invs
}

// refunds returns the amounts of the account's REFUND entries, in order.
func (b *bundle) refunds(t *testing.T, acc pulid.ID) []string {
	t.Helper()
	es, err := b.db.Client.LedgerEntry.Query().
		Where(ledgerentry.AccountID(acc), ledgerentry.KindEQ(ledgerentry.KindREFUND),
			ledgerentry.LedgerKindEQ(ledgerentry.LedgerKindCUSTOMER_AVAILABLE)).
		Order(ent.Asc(ledgerentry.FieldID)).All(b.sys)
	require.NoError(t, err)
	out := []string{}
	for _, e := range es {
		out = append(out, e.Amount.String())
	}
	return out
}

// resourceEvents returns the transitions recorded for a resource, in order.
func (b *bundle) resourceEvents(t *testing.T, id pulid.ID) []string {
	t.Helper()
	rows, err := b.db.Client.OutboxEvent.Query().
		Where(outboxevent.Topic(state.TopicResource), outboxevent.SubjectID(string(id))).
		Order(ent.Asc(outboxevent.FieldID)).All(b.sys)
	require.NoError(t, err)
	out := make([]string, len(rows))
	for i, r := range rows {
		var ev state.Event
		require.NoError(t, events.Event{Payload: r.Payload}.Decode(&ev))
		out[i] = ev.Transition + ":" + string(ev.From) + "→" + string(ev.To)
	}
	return out
}

func (b *bundle) fixedCoupon(t *testing.T, code string, amount int64) {
	t.Helper()
	_, err := b.db.Client.Coupon.Create().SetCode(code).SetKind(entcoupon.KindFIXED).SetAmount(vnd(amount)).Save(b.sys)
	require.NoError(t, err)
}

// setState puts a resource in a state directly, for tests of what a
// state refuses.
func (b *bundle) setState(t *testing.T, id pulid.ID, st resource.State) {
	t.Helper()
	u := b.db.Client.Resource.UpdateOneID(id).SetState(st)
	if st == resource.StateSUSPENDED {
		u.SetSuspendReason(resource.SuspendReasonEXPIRED)
	}
	require.NoError(t, u.Exec(b.sys))
}

func requireFault(t *testing.T, err error, code fault.Code, field ...string) {
	t.Helper()
	require.Error(t, err)
	f, ok := fault.As(err)
	require.True(t, ok, "not a fault: %v", err)
	require.Equal(t, code, f.Code, f.Message)
	if field != nil {
		require.Equal(t, field, f.Field, f.Message)
	}
}

func key() string { return "k-" + string(pulid.New("k")) }

func same(t *testing.T, want, got time.Time) {
	t.Helper()
	require.True(t, want.Equal(got), "want %s, got %s", want, got)
}

// newResource is an unsaved prepaid resource whose period ends at end.
func newResource(end time.Time, st resource.State) *ent.Resource {
	return &ent.Resource{State: st, BillingMode: resource.BillingModePREPAID, PeriodEnd: &end}
}

// paymentEvents renders a payment's events: status, (applied) for an
// action's result, ! on the last one.
func (b *bundle) paymentEvents(t *testing.T, id pulid.ID) []string {
	t.Helper()
	rows, err := b.db.Client.OutboxEvent.Query().
		Where(outboxevent.Topic(events.TopicPayment), outboxevent.SubjectID(string(id))).
		Order(ent.Asc(outboxevent.FieldID)).All(b.sys)
	require.NoError(t, err)
	out := make([]string, len(rows))
	for i, r := range rows {
		var ev checkout.PaymentEvent
		require.NoError(t, events.Event{Payload: r.Payload}.Decode(&ev))
		out[i] = string(ev.Status)
		if ev.Provisioned != nil {
			out[i] += fmt.Sprintf("(%v)", *ev.Provisioned)
		}
		if ev.Final {
			out[i] += "!"
		}
	}
	return out
}
