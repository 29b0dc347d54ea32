package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/invoice"
	"billing/ent/ledgertransaction"
	"billing/ent/price"
	"billing/ent/resource"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/jobs"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/postpaid"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// postpaidEnv is an app (no scheduler; jobs run by hand) on a fresh
// database with a fake clock and a POSTPAID plan "pp": one server at
// 300,000 VND per 30 days, VAT 10% on top.
type postpaidEnv struct {
	a     *App
	db    *store.DB
	clock *clockwork.FakeClock
	sys   context.Context
}

func setupPostpaid(t *testing.T, start time.Time, dueDays, overdueDays int) *postpaidEnv {
	t.Helper()
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	clock := clockwork.NewFakeClockAt(start)
	url := ""
	if db.IsPostgres() {
		url = dsn
	}
	a, err := New(context.Background(), Options{
		DB: db, DatabaseURL: url, Secret: []byte("0123456789abcdef0123456789abcdef"), Clock: clock, Location: hcm,
		Logger: slog.New(slog.DiscardHandler), PublicURL: "http://127.0.0.1:1", Sandbox: true,
		Provisioner: "simulator", InvoiceDueDays: dueDays, OverdueDays: overdueDays,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	e := &postpaidEnv{a: a, db: db, clock: clock, sys: auth.SystemContext(context.Background())}

	prod, err := db.Client.Product.Create().SetCode("vserver").SetName("vServer").SetAllowedPeriods([]int{1}).Save(e.sys)
	require.NoError(t, err)
	pl, err := db.Client.Plan.Create().SetProductID(prod.ID).SetCode("pp").SetName("pp").Save(e.sys)
	require.NoError(t, err)
	pc, err := db.Client.PlanComponent.Create().SetPlanID(pl.ID).SetCode("flavor").SetName("Server").
		SetUnit("server").SetMinQuantity(1).SetMaxQuantity(1).SetDefaultQuantity(1).SetStep(1).Save(e.sys)
	require.NoError(t, err)
	_, err = db.Client.Price.Create().SetComponentID(pc.ID).SetBillingMode(price.BillingModePOSTPAID).
		SetUnitPrice(money.VND(300_000)).SetVatRate(money.VND(10)).SetVatIncluded(false).Save(e.sys)
	require.NoError(t, err)
	return e
}

// account opens a postpaid account with one "pp" resource created now.
func (e *postpaidEnv) account(t *testing.T) (pulid.ID, pulid.ID) {
	t.Helper()
	acc, err := account.New(e.db, e.clock).Create(e.sys, account.CreateInput{
		Name: "Acme", OwnerSubject: "owner-" + string(pulid.New("u")),
	})
	require.NoError(t, err)
	limit := money.VND(10_000_000)
	admin := auth.WithViewer(context.Background(), auth.Viewer{Subject: "op", Role: auth.RoleAdmin})
	_, err = e.a.Postpaid.Convert(admin, postpaid.ConvertInput{
		AccountID: acc.ID, Type: entaccount.TypePOSTPAID, Reason: "contract", CreditLimit: &limit,
	})
	require.NoError(t, err)
	owner := auth.WithViewer(context.Background(), auth.Viewer{Subject: "owner", Role: auth.RoleCustomer, AccountID: string(acc.ID)})
	res, err := e.a.Postpaid.CreateResource(owner, postpaid.CreateInput{IdempotencyKey: "k", Plan: "pp"})
	require.NoError(t, err)
	return acc.ID, res.Resource.ID
}

// at moves the fake clock forward to hh:mm on a day in the billing zone.
func (e *postpaidEnv) at(t *testing.T, y int, m time.Month, d, hh, mm int) {
	t.Helper()
	to := time.Date(y, m, d, hh, mm, 0, 0, hcm)
	require.False(t, to.Before(e.clock.Now()))
	e.clock.Advance(to.Sub(e.clock.Now()))
}

// run runs a job as `billing jobs run` would and returns its count.
func (e *postpaidEnv) run(t *testing.T, name string) int {
	t.Helper()
	j, ok := e.a.Job(name)
	require.True(t, ok, name)
	n, err := jobs.RunOnce(context.Background(), j)
	require.NoError(t, err, name)
	return n
}

// invoice is the resource's first MONTHLY invoice (December's).
func (e *postpaidEnv) invoice(t *testing.T, resID pulid.ID) *ent.Invoice {
	t.Helper()
	inv, err := e.db.Client.Invoice.Query().Where(invoice.ResourceID(resID), invoice.ActionEQ(invoice.ActionMONTHLY)).
		Order(ent.Asc(invoice.FieldPeriodStart)).First(e.sys)
	require.NoError(t, err)
	return inv
}

func (e *postpaidEnv) resource(t *testing.T, id pulid.ID) *ent.Resource {
	t.Helper()
	r, err := e.db.Client.Resource.Get(e.sys, id)
	require.NoError(t, err)
	return r
}

func invoiceAmounts(inv *ent.Invoice) string {
	return inv.Subtotal.String() + "/" + inv.Vat.String() + "/" + inv.Total.String() + " paid " +
		inv.AmountPaid.String() + " " + string(inv.Status)
}

// TestPostpaidJobs: the month-end, auto-pay and suspension jobs on a
// fake clock in Asia/Ho_Chi_Minh. Two accounts each run one postpaid
// server (300,000 VND per 30 days) for the whole of December 2026 (31
// days); at 00:00 on 1 January each gets a MONTHLY invoice of 310,000
// pre-tax + 31,000 VAT = 341,000, due 15 days later. The account with
// credit pays it automatically at 01:00; the other is suspended once the
// invoice is 15 days overdue.
func TestPostpaidJobs(t *testing.T) {
	t.Parallel()
	e := setupPostpaid(t, time.Date(2026, 12, 1, 0, 0, 0, 0, hcm), 0, 0)
	payer, payerRes := e.account(t)
	debtor, debtorRes := e.account(t)

	// The schedules, in the billing zone.
	for name, want := range map[string]time.Time{
		"month-end-invoices": time.Date(2027, 1, 1, 0, 0, 0, 0, hcm),
		"auto-pay-invoices":  time.Date(2026, 12, 1, 1, 0, 0, 0, hcm),
		"suspend-overdue":    time.Date(2026, 12, 1, 1, 30, 0, 0, hcm),
	} {
		j, ok := e.a.Job(name)
		require.True(t, ok, name)
		require.NotEmpty(t, j.Description)
		next, err := j.Next(e.clock.Now(), hcm)
		require.NoError(t, err)
		require.True(t, want.Equal(next), "%s: next run %s, want %s", name, next, want)
	}

	e.at(t, 2027, time.January, 1, 0, 0)
	require.Equal(t, 2, e.run(t, "month-end-invoices"))
	require.Zero(t, e.run(t, "month-end-invoices"), "month-end run twice issues nothing more")
	n, err := e.db.Client.Invoice.Query().Where(invoice.ActionEQ(invoice.ActionMONTHLY)).Count(e.sys)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, res := range []pulid.ID{payerRes, debtorRes} {
		inv := e.invoice(t, res)
		require.Equal(t, "310000/31000/341000 paid 0 UNPAID", invoiceAmounts(inv))
		require.True(t, time.Date(2026, 12, 1, 0, 0, 0, 0, hcm).Equal(inv.PeriodStart))
		require.True(t, time.Date(2027, 1, 1, 0, 0, 0, 0, hcm).Equal(inv.PeriodEnd))
		require.True(t, time.Date(2027, 1, 16, 0, 0, 0, 0, hcm).Equal(*inv.DueAt), "due 15 days after issue")
	}

	// Auto-pay: the payer has enough credit, the debtor none.
	require.NoError(t, store.WithTx(e.sys, e.db.Client, func(tx *ent.Tx) error {
		_, err := e.a.Ledger.Credit(e.sys, tx, ledger.Movement{AccountID: payer, Amount: money.VND(400_000), Kind: ledgertransaction.KindADJUSTMENT})
		return err
	}))
	e.at(t, 2027, time.January, 1, 1, 0)
	require.Equal(t, 1, e.run(t, "auto-pay-invoices"))
	require.Zero(t, e.run(t, "auto-pay-invoices"))
	require.Equal(t, "310000/31000/341000 paid 341000 PAID", invoiceAmounts(e.invoice(t, payerRes)))
	require.Equal(t, "310000/31000/341000 paid 0 UNPAID", invoiceAmounts(e.invoice(t, debtorRes)))
	w, err := e.a.Ledger.Wallet(e.sys, payer)
	require.NoError(t, err)
	require.Equal(t, "59000", w.Balance.String())
	require.NoError(t, e.a.Ledger.Verify(e.sys, payer))

	// Not overdue enough yet: 30 January is 14 days past due.
	e.at(t, 2027, time.January, 30, 1, 30)
	require.Zero(t, e.run(t, "suspend-overdue"))
	require.Equal(t, resource.StateACTIVE, e.resource(t, debtorRes).State)

	// 31 January: 15 days past due, the debtor's resource is suspended, once.
	e.at(t, 2027, time.January, 31, 1, 30)
	require.Equal(t, 1, e.run(t, "suspend-overdue"))
	require.Zero(t, e.run(t, "suspend-overdue"))
	r := e.resource(t, debtorRes)
	require.Equal(t, resource.StateSUSPENDED, r.State)
	require.Equal(t, resource.SuspendReasonNON_PAYMENT, *r.SuspendReason)
	require.Equal(t, resource.StateACTIVE, e.resource(t, payerRes).State)

	// Credit arrives; the next auto-pay pays the invoice and lifts the suspension.
	require.NoError(t, store.WithTx(e.sys, e.db.Client, func(tx *ent.Tx) error {
		_, err := e.a.Ledger.Credit(e.sys, tx, ledger.Movement{AccountID: debtor, Amount: money.VND(341_000), Kind: ledgertransaction.KindADJUSTMENT})
		return err
	}))
	e.at(t, 2027, time.February, 1, 1, 0)
	require.Equal(t, 2, e.run(t, "month-end-invoices"), "January's invoices")
	require.Equal(t, 2, e.run(t, "auto-pay-invoices"), "the debtor's December invoice and the payer's January invoice")
	require.Equal(t, "310000/31000/341000 paid 341000 PAID", invoiceAmounts(e.invoice(t, debtorRes)))
	require.Equal(t, resource.StateACTIVE, e.resource(t, debtorRes).State)
}

// TestPostpaidJobsDays: Options.InvoiceDueDays and OverdueDays reach the
// postpaid service (what BILLING_INVOICE_DUE_DAYS and BILLING_OVERDUE_DAYS
// set).
func TestPostpaidJobsDays(t *testing.T) {
	t.Parallel()
	e := setupPostpaid(t, time.Date(2026, 12, 1, 0, 0, 0, 0, hcm), 10, 3)
	_, res := e.account(t)
	e.at(t, 2027, time.January, 1, 0, 0)
	require.Equal(t, 1, e.run(t, "month-end-invoices"))
	require.True(t, time.Date(2027, 1, 11, 0, 0, 0, 0, hcm).Equal(*e.invoice(t, res).DueAt))
	e.at(t, 2027, time.January, 13, 23, 59)
	require.Zero(t, e.run(t, "suspend-overdue"))
	e.at(t, 2027, time.January, 14, 0, 0)
	require.Equal(t, 1, e.run(t, "suspend-overdue"))
}
