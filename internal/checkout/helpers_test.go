package checkout_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	entcoupon "billing/ent/coupon"
	"billing/ent/gatewayattempt"
	"billing/ent/ledgertransaction"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/outboxevent"
	"billing/ent/payment"
	"billing/ent/price"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/checkout"
	"billing/internal/coupon"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/gateway"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/provision"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

func vnd(v int64) money.Amount { return money.VND(v) }

// ---------------------------------------------------------------------------
// A fake gateway: the payment gateway is outside the process, so tests
// fake it (STYLE rule 6). Callbacks are signed with HMAC-SHA256 over the
// sorted parameters, so a forged or altered callback fails VerifyCallback.

const fakeSecret = "test-secret"

type fakeGateway struct {
	mu       sync.Mutex
	started  map[string]gateway.StartRequest // by txn ref
	charges  map[string]int                  // token charges sent, by txn ref
	outcome  map[string]string               // token → "ok" | "decline" | "timeout"
	settled  map[string]gateway.QueryResult  // what Query answers, by txn ref
	startErr error
	queryErr error
	seq      int
}

func newFakeGateway() *fakeGateway {
	return &fakeGateway{
		started: map[string]gateway.StartRequest{},
		charges: map[string]int{},
		outcome: map[string]string{},
		settled: map[string]gateway.QueryResult{},
	}
}

func (g *fakeGateway) Name() string { return "fake" }

func (g *fakeGateway) StartPayment(_ context.Context, req gateway.StartRequest) (gateway.StartResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.startErr != nil {
		return gateway.StartResult{}, g.startErr
	}
	g.started[req.TxnRef] = req
	return gateway.StartResult{RedirectURL: "https://gw.test/pay?ref=" + req.TxnRef}, nil
}

func sign(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "vnp_sig" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s&", k, q.Get(k))
	}
	m := hmac.New(sha256.New, []byte(fakeSecret))
	m.Write([]byte(b.String()))
	return hex.EncodeToString(m.Sum(nil))
}

// callback is the signed IPN query the gateway sends for txnRef.
func (g *fakeGateway) callback(txnRef string, amount money.Amount, code, transactionNo string) url.Values {
	q := url.Values{
		"vnp_ref": {txnRef}, "vnp_amount": {amount.String()}, "vnp_code": {code}, "vnp_no": {transactionNo}, "vnp_currency": {"VND"},
	}
	q.Set("vnp_sig", sign(q))
	return q
}

func (g *fakeGateway) VerifyCallback(q url.Values) (gateway.Callback, error) {
	if !hmac.Equal([]byte(sign(q)), []byte(q.Get("vnp_sig"))) {
		return gateway.Callback{}, fmt.Errorf("fake: %w", gateway.ErrInvalidSignature)
	}
	amount, err := money.Parse(q.Get("vnp_amount"))
	if err != nil {
		return gateway.Callback{}, err
	}
	code := q.Get("vnp_code")
	return gateway.Callback{
		TxnRef: q.Get("vnp_ref"), Amount: amount, Currency: q.Get("vnp_currency"), TransactionNo: q.Get("vnp_no"),
		ResponseCode: code, TransactionStatus: code, BankCode: "NCB", Success: code == "00",
	}, nil
}

func (g *fakeGateway) ChargeToken(_ context.Context, req gateway.TokenCharge) (gateway.ChargeResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.charges[req.TxnRef]++
	g.seq++
	no := fmt.Sprint(900000 + g.seq)
	switch g.outcome[req.Token] {
	case "ok":
		g.settled[req.TxnRef] = gateway.QueryResult{Status: gateway.StatusSucceeded, Amount: req.Amount, TransactionNo: no, ResponseCode: "00"}
		return gateway.ChargeResult{Status: gateway.StatusSucceeded, TransactionNo: no, ResponseCode: "00"}, nil
	case "timeout":
		// Charged at the gateway, but the answer never came back.
		g.settled[req.TxnRef] = gateway.QueryResult{Status: gateway.StatusSucceeded, Amount: req.Amount, TransactionNo: no, ResponseCode: "00"}
		return gateway.ChargeResult{Status: gateway.StatusUnknown}, nil
	default:
		g.settled[req.TxnRef] = gateway.QueryResult{Status: gateway.StatusFailed, Amount: req.Amount, ResponseCode: "00", TransactionStatus: "02"}
		return gateway.ChargeResult{Status: gateway.StatusFailed, ResponseCode: "51"}, nil
	}
}

func (g *fakeGateway) StartLink(_ context.Context, req gateway.LinkRequest) (gateway.StartResult, error) {
	return gateway.StartResult{RedirectURL: "https://gw.test/link?user=" + req.UserID}, nil
}

func (g *fakeGateway) VerifyLinkCallback(url.Values) (gateway.LinkResult, error) {
	return gateway.LinkResult{}, errors.New("fake: not used")
}

func (g *fakeGateway) Query(_ context.Context, req gateway.QueryRequest) (gateway.QueryResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.queryErr != nil {
		return gateway.QueryResult{}, g.queryErr
	}
	if r, ok := g.settled[req.TxnRef]; ok {
		return r, nil
	}
	if _, ok := g.started[req.TxnRef]; ok {
		return gateway.QueryResult{Status: gateway.StatusPending}, nil
	}
	return gateway.QueryResult{Status: gateway.StatusNotFound}, nil
}

// paidWithoutIPN makes the gateway report txnRef paid to Query.
func (g *fakeGateway) paidWithoutIPN(txnRef string, amount money.Amount) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.settled[txnRef] = gateway.QueryResult{Status: gateway.StatusSucceeded, Amount: amount, TransactionNo: "777" + txnRef[:4], ResponseCode: "00"}
}

func (g *fakeGateway) chargeCount(txnRef string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.charges[txnRef]
}

// ---------------------------------------------------------------------------

// bundle is a fresh database with the whole checkout wired on it.
type bundle struct {
	db       *store.DB
	clock    *clockwork.FakeClock
	ledger   *ledger.Service
	coupons  *coupon.Service
	invoices *invoicing.Service
	gw       *fakeGateway
	sim      *provision.Simulator
	svc      *checkout.Service
	sys      context.Context
}

type option func(*checkout.Config)

func setup(t *testing.T, opts ...option) *bundle {
	t.Helper()
	db := testdb.New(t)
	clock := clockwork.NewFakeClockAt(t0)
	outbox := events.NewOutbox(db.IsPostgres(), nil)
	b := &bundle{
		db:       db,
		clock:    clock,
		ledger:   ledger.New(db, outbox, clock),
		coupons:  coupon.New(db, clock),
		invoices: invoicing.New(db, clock, nil),
		gw:       newFakeGateway(),
		sim:      provision.NewSimulator(provision.SimulatorConfig{Clock: clock}),
		sys:      auth.SystemContext(context.Background()),
	}
	cfg := checkout.Config{
		DB: db, Ledger: b.ledger, Outbox: outbox, Coupons: b.coupons, Gateway: b.gw,
		Provisioner: b.sim, Invoices: b.invoices, Clock: clock,
		PublicURL: "https://billing.test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	b.svc = checkout.New(cfg)
	return b
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

// fund credits the account's wallet (an operator adjustment).
func (b *bundle) fund(t *testing.T, acc pulid.ID, amount int64) {
	t.Helper()
	require.NoError(t, store.WithTx(b.sys, b.db.Client, func(tx *ent.Tx) error {
		_, err := b.ledger.Credit(b.sys, tx, ledger.Movement{
			AccountID: acc, Amount: vnd(amount), Kind: ledgertransaction.KindADJUSTMENT,
		})
		return err
	}))
}

func (b *bundle) wallet(t *testing.T, acc pulid.ID) (balance, held string) {
	t.Helper()
	w, err := b.ledger.Wallet(b.sys, acc)
	require.NoError(t, err)
	return w.Balance.String(), w.Held.String()
}

func (b *bundle) verify(t *testing.T, acc pulid.ID) {
	t.Helper()
	require.NoError(t, b.ledger.Verify(b.sys, acc))
}

// component is one priced component of a test plan.
type component struct {
	code, name string
	price      int64
}

// plan creates product "vserver" (periods 1, 2, 3, 6, 12) if needed and a
// plan of the given components, each sold one unit at a time (prepaid,
// VAT 10% included), and returns the plan code.
func (b *bundle) plan(t *testing.T, code string, comps ...component) string {
	t.Helper()
	ctx := b.sys
	prod, err := b.db.Client.Product.Query().Only(ctx)
	if ent.IsNotFound(err) {
		prod, err = b.db.Client.Product.Create().SetCode("vserver").SetName("vServer").
			SetAllowedPeriods([]int{1, 2, 3, 6, 12}).Save(ctx)
	}
	require.NoError(t, err)
	pl, err := b.db.Client.Plan.Create().SetProductID(prod.ID).SetCode(code).SetName(code).Save(ctx)
	require.NoError(t, err)
	for _, c := range comps {
		pc, err := b.db.Client.PlanComponent.Create().SetPlanID(pl.ID).SetCode(c.code).SetName(c.name).
			SetUnit("unit").SetMinQuantity(1).SetMaxQuantity(1).SetDefaultQuantity(1).Save(ctx)
		require.NoError(t, err)
		_, err = b.db.Client.Price.Create().SetComponentID(pc.ID).SetBillingMode(price.BillingModePREPAID).
			SetUnitPrice(vnd(c.price)).SetVatRate(vnd(10)).SetVatIncluded(true).Save(ctx)
		require.NoError(t, err)
	}
	return code
}

// serverPlan is the reference server: image 90,000 and root disk 35,000
// VND per 30 days.
func (b *bundle) serverPlan(t *testing.T) string {
	return b.plan(t, "srv", component{"image", "Server image", 90_000}, component{"root_disk", "Root disk", 35_000})
}

// fixedCoupon creates a FIXED coupon; max 0 means unlimited.
func (b *bundle) fixedCoupon(t *testing.T, code string, amount int64, max int) *ent.Coupon {
	t.Helper()
	c := b.db.Client.Coupon.Create().SetCode(code).SetKind(entcoupon.KindFIXED).SetAmount(vnd(amount))
	if max > 0 {
		c.SetMaxRedemptions(max)
	}
	cp, err := c.Save(b.sys)
	require.NoError(t, err)
	return cp
}

func (b *bundle) place(ctx context.Context, key string, method payment.Method, coupon string, items ...checkout.ItemInput) (*checkout.OrderResult, error) {
	return b.svc.PlaceOrder(ctx, checkout.PlaceOrderInput{
		IdempotencyKey: key, Items: items, CouponCode: coupon, Method: method,
		ReturnURL: "https://app.test/done",
	})
}

func item(plan string, count, months int) checkout.ItemInput {
	return checkout.ItemInput{PlanRef: plan, Count: count, Months: months}
}

// attempt returns the payment's one gateway attempt.
func (b *bundle) attempt(t *testing.T, paymentID pulid.ID) *ent.GatewayAttempt {
	t.Helper()
	a, err := b.db.Client.GatewayAttempt.Query().Where(gatewayattempt.PaymentID(paymentID)).Only(b.sys)
	require.NoError(t, err)
	return a
}

func (b *bundle) payment(t *testing.T, id pulid.ID) *ent.Payment {
	t.Helper()
	p, err := b.db.Client.Payment.Get(b.sys, id)
	require.NoError(t, err)
	return p
}

func (b *bundle) order(t *testing.T, id pulid.ID) *ent.Order {
	t.Helper()
	o, err := b.db.Client.Order.Query().Where(order.ID(id)).WithItems(func(q *ent.OrderItemQuery) {
		q.Order(ent.Asc(orderitem.FieldID))
	}).Only(b.sys)
	require.NoError(t, err)
	return o
}

// events returns the payment's events in outbox order.
func (b *bundle) events(t *testing.T, paymentID pulid.ID) []checkout.PaymentEvent {
	t.Helper()
	rows, err := b.db.Client.OutboxEvent.Query().
		Where(outboxevent.Topic(events.TopicPayment), outboxevent.SubjectID(string(paymentID))).
		Order(ent.Asc(outboxevent.FieldID)).All(b.sys)
	require.NoError(t, err)
	out := make([]checkout.PaymentEvent, len(rows))
	for i, r := range rows {
		require.NoError(t, events.Event{Payload: r.Payload}.Decode(&out[i]))
	}
	return out
}

func statuses(evs []checkout.PaymentEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Status)
		if e.Provisioned != nil {
			out[i] += fmt.Sprintf("(%v)", *e.Provisioned)
		}
		if e.Final {
			out[i] += "!"
		}
	}
	return out
}

func requireFault(t *testing.T, err error, code fault.Code, field ...string) {
	t.Helper()
	require.Error(t, err)
	f, ok := fault.As(err)
	require.True(t, ok, "not a fault: %v", err)
	require.Equal(t, code, f.Code, f.Message)
	if field != nil {
		require.Equal(t, field, f.Field)
	}
}

// mustVerify decodes a signed callback as the IPN handler would.
func mustVerify(t *testing.T, g *fakeGateway, q url.Values) gateway.Callback {
	t.Helper()
	cb, err := g.VerifyCallback(q)
	require.NoError(t, err)
	return cb
}
