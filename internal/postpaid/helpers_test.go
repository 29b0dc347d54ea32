package postpaid_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/ent/ledgertransaction"
	"billing/ent/outboxevent"
	"billing/ent/price"
	"billing/ent/resource"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/invoicing"
	"billing/internal/ledger"
	"billing/internal/lifecycle/state"
	"billing/internal/money"
	"billing/internal/notify"
	"billing/internal/postpaid"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// hcm is the default billing time zone (UTC+7, no daylight saving).
var hcm = mustZone("Asia/Ho_Chi_Minh")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// local is a wall-clock time in the billing zone.
func local(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, hcm)
}

func vnd(v int64) money.Amount { return money.VND(v) }

// bundle is a fresh database with the postpaid service wired on it and a
// small catalog of POSTPAID rates (VAT-exclusive, 10%):
//
//	srv        flavor 300,000 / 30 days (1 server)
//	srv-big    flavor 600,000
//	srv-multi  flavor 181,000 + root disk 3,500 per GB (20–100, step 10) + public IP 55,000 (0–4)
//	prepaid    flavor 100,000, sold PREPAID only
type bundle struct {
	db       *store.DB
	clock    *clockwork.FakeClock
	ledger   *ledger.Service
	notify   *notify.Service
	invoices *invoicing.Service
	svc      *postpaid.Service
	sys      context.Context
	admin    context.Context
}

func setup(t *testing.T, start time.Time, opts ...func(*postpaid.Config)) *bundle {
	t.Helper()
	db := testdb.New(t)
	clock := clockwork.NewFakeClockAt(start)
	outbox := events.NewOutbox(db.IsPostgres(), nil)
	b := &bundle{
		db: db, clock: clock,
		ledger:   ledger.New(db, outbox, clock),
		notify:   notify.New(notify.Config{DB: db, Outbox: outbox, Clock: clock}),
		invoices: invoicing.New(db, clock, nil),
		sys:      auth.SystemContext(context.Background()),
		admin:    auth.WithViewer(context.Background(), auth.Viewer{Subject: "op-1", Role: auth.RoleAdmin}),
	}
	cfg := postpaid.Config{DB: db, Ledger: b.ledger, Notify: b.notify, Invoices: b.invoices, Outbox: outbox, Clock: clock}
	for _, o := range opts {
		o(&cfg)
	}
	b.svc = postpaid.New(cfg)
	b.catalog(t)
	return b
}

func (b *bundle) catalog(t *testing.T) {
	t.Helper()
	ctx := b.sys
	p, err := b.db.Client.Product.Create().SetCode("vserver").SetName("vServer").SetAllowedPeriods([]int{1, 3}).Save(ctx)
	require.NoError(t, err)
	type comp struct {
		code, name, unit string
		min, max, def    int64
		step             int64
		price            int64
		mode             price.BillingMode
	}
	plan := func(code string, comps ...comp) {
		pl, err := b.db.Client.Plan.Create().SetProductID(p.ID).SetCode(code).SetName(code).Save(ctx)
		require.NoError(t, err)
		for _, c := range comps {
			pc, err := b.db.Client.PlanComponent.Create().SetPlanID(pl.ID).SetCode(c.code).SetName(c.name).
				SetUnit(c.unit).SetMinQuantity(c.min).SetMaxQuantity(c.max).SetDefaultQuantity(c.def).SetStep(c.step).Save(ctx)
			require.NoError(t, err)
			mode := c.mode
			if mode == "" {
				mode = price.BillingModePOSTPAID
			}
			_, err = b.db.Client.Price.Create().SetComponentID(pc.ID).SetBillingMode(mode).
				SetUnitPrice(vnd(c.price)).SetVatRate(vnd(10)).SetVatIncluded(mode == price.BillingModePREPAID).Save(ctx)
			require.NoError(t, err)
		}
	}
	flavor := func(price int64) comp {
		return comp{code: "flavor", name: "Server", unit: "server", min: 1, max: 1, def: 1, step: 1, price: price}
	}
	plan("srv", flavor(300_000))
	plan("srv-big", flavor(600_000))
	plan("srv-multi", flavor(181_000),
		comp{code: "root_disk_gb", name: "Root disk", unit: "GB", min: 20, max: 100, def: 20, step: 10, price: 3_500},
		comp{code: "public_ip", name: "Public IPv4", unit: "IP", min: 0, max: 4, def: 1, step: 1, price: 55_000})
	prepaidOnly := flavor(100_000)
	prepaidOnly.mode = price.BillingModePREPAID
	plan("prepaid", prepaidOnly)
}

// account opens an account; postpaid ones get the credit limit through
// Convert.
func (b *bundle) account(t *testing.T, postpaidLimit int64) pulid.ID {
	t.Helper()
	acc, err := account.New(b.db, b.clock).Create(b.sys, account.CreateInput{
		Name: "Acme", OwnerSubject: "owner-" + string(pulid.New("u")),
	})
	require.NoError(t, err)
	if postpaidLimit >= 0 {
		limit := vnd(postpaidLimit)
		_, err := b.svc.Convert(b.admin, postpaid.ConvertInput{
			AccountID: acc.ID, Type: entaccount.TypePOSTPAID, Reason: "contract signed", CreditLimit: &limit,
		})
		require.NoError(t, err)
	}
	return acc.ID
}

func customer(acc pulid.ID) context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: "owner", Role: auth.RoleCustomer, AccountID: string(acc)})
}

// at moves the fake clock to t (forward or backward: each test owns its clock).
func (b *bundle) at(t time.Time) {
	b.clock.Advance(t.Sub(b.clock.Now()))
}

// create creates a postpaid resource of plan for the customer, now.
func (b *bundle) create(t *testing.T, acc pulid.ID, plan string, q ...map[string]int64) *ent.Resource {
	t.Helper()
	in := postpaid.CreateInput{IdempotencyKey: key(), Plan: plan}
	if len(q) > 0 {
		in.Quantities = q[0]
	}
	res, err := b.svc.CreateResource(customer(acc), in)
	require.NoError(t, err)
	require.Equal(t, resource.StateACTIVE, res.Resource.State)
	require.Equal(t, resource.BillingModePOSTPAID, res.Resource.BillingMode)
	return res.Resource
}

func (b *bundle) resize(t *testing.T, acc, id pulid.ID, plan string, q ...map[string]int64) *postpaid.Result {
	t.Helper()
	in := postpaid.ResizeInput{IdempotencyKey: key(), ResourceID: id, Plan: plan}
	if len(q) > 0 {
		in.Quantities = q[0]
	}
	res, err := b.svc.Resize(customer(acc), in)
	require.NoError(t, err)
	return res
}

func (b *bundle) delete(t *testing.T, acc, id pulid.ID) {
	t.Helper()
	res, err := b.svc.Delete(customer(acc), postpaid.DeleteInput{IdempotencyKey: key(), ResourceID: id})
	require.NoError(t, err)
	require.Equal(t, resource.StateDELETED, res.Resource.State)
}

func (b *bundle) fund(t *testing.T, acc pulid.ID, amount int64) {
	t.Helper()
	require.NoError(t, store.WithTx(b.sys, b.db.Client, func(tx *ent.Tx) error {
		_, err := b.ledger.Credit(b.sys, tx, ledger.Movement{AccountID: acc, Amount: vnd(amount), Kind: ledgertransaction.KindADJUSTMENT})
		return err
	}))
}

func (b *bundle) available(t *testing.T, acc pulid.ID) string {
	t.Helper()
	w, err := b.ledger.Wallet(b.sys, acc)
	require.NoError(t, err)
	require.NoError(t, b.ledger.Verify(b.sys, acc))
	return w.Balance.Sub(w.Held).String()
}

func (b *bundle) resource(t *testing.T, id pulid.ID) *ent.Resource {
	t.Helper()
	r, err := b.db.Client.Resource.Get(b.sys, id)
	require.NoError(t, err)
	return r
}

// monthly returns the resource's MONTHLY invoices with their lines, by period.
func (b *bundle) monthly(t *testing.T, resID pulid.ID) []*ent.Invoice {
	t.Helper()
	invs, err := b.db.Client.Invoice.Query().
		Where(invoice.ResourceID(resID), invoice.ActionEQ(invoice.ActionMONTHLY)).
		WithLines(func(q *ent.InvoiceLineQuery) { q.Order(ent.Asc(invoiceline.FieldPosition)) }).
		Order(ent.Asc(invoice.FieldPeriodStart)).All(b.sys)
	require.NoError(t, err)
	return invs
}

func (b *bundle) invoice(t *testing.T, id pulid.ID) *ent.Invoice {
	t.Helper()
	inv, err := b.db.Client.Invoice.Get(b.sys, id)
	require.NoError(t, err)
	return inv
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

// money renders an invoice's amounts: subtotal/vat/total/paid status.
func amounts(inv *ent.Invoice) string {
	return inv.Subtotal.String() + "/" + inv.Vat.String() + "/" + inv.Total.String() + " paid " +
		inv.AmountPaid.String() + " " + string(inv.Status)
}

// line renders an invoice line: description, unit × qty, minutes, amount.
func line(l *ent.InvoiceLine) string {
	return l.Description + " " + l.UnitPrice.String() + "×" + itoa(l.Quantity) + " " + itoa(l.DurationMinutes) + "min = " + l.Amount.String()
}

func itoa(v int64) string { return money.VND(v).String() }

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
