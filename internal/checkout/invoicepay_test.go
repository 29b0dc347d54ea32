package checkout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	entaccount "billing/ent/account"
	"billing/ent/invoice"
	"billing/ent/notification"
	"billing/ent/payment"
	"billing/ent/price"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/fault"
	"billing/internal/gateway"
	"billing/internal/gateway/sandbox"
	"billing/internal/gateway/vnpay"
	"billing/internal/notify"
	"billing/internal/postpaid"
	"billing/internal/pulid"
)

// invoiceEnv is the checkout with the postpaid service wired in, so that
// invoices can be issued and paid. sb is nil with the fake gateway.
type invoiceEnv struct {
	*bundle
	pp  *postpaid.Service
	sb  *sandbox.Sandbox
	loc *time.Location
}

// withPostpaid wires a postpaid service built on the checkout's own
// dependencies into the checkout.
func withPostpaid(pp **postpaid.Service) option {
	return func(cfg *checkout.Config) {
		n := notify.New(notify.Config{DB: cfg.DB, Outbox: cfg.Outbox, Clock: cfg.Clock})
		*pp = postpaid.New(postpaid.Config{
			DB: cfg.DB, Ledger: cfg.Ledger, Notify: n, Invoices: cfg.Invoices, Outbox: cfg.Outbox, Clock: cfg.Clock,
		})
		cfg.Postpaid = *pp
	}
}

func setupInvoices(t *testing.T) *invoiceEnv {
	t.Helper()
	var pp *postpaid.Service
	b := setup(t, withPostpaid(&pp))
	return &invoiceEnv{bundle: b, pp: pp, loc: pp.Location()}
}

// setupInvoiceSandbox is setupSandbox (the real VNPAY adapter and the
// sandbox over HTTP, signed IPNs) with the postpaid service wired in.
func setupInvoiceSandbox(t *testing.T) *invoiceEnv {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var (
		pp     *postpaid.Service
		sb     *sandbox.Sandbox
		client *vnpay.Client
	)
	b := setup(t, withPostpaid(&pp), func(cfg *checkout.Config) {
		sb = sandbox.New(sandbox.Config{
			TmnCode: "SBX00001", HashSecret: "SANDBOXSECRETKEY0123456789ABCDEF",
			IPNURL: srv.URL + "/gateway/vnpay/ipn", LinkIPNURL: srv.URL + "/gateway/vnpay/link-ipn",
			Now: cfg.Clock.Now, MaxAttempts: 1,
		})
		sb.SetFaults(sandbox.Faults{IPNBeforeRedirect: true})
		client = vnpay.New(sb.ClientConfig(srv.URL + "/sandbox"))
		cfg.Gateway = client
	})
	t.Cleanup(sb.Close)
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb.Handler()))
	mux.Handle("/gateway/vnpay/ipn", gateway.IPNHandler(client, b.svc.ApplyGatewayCallback, nil))
	return &invoiceEnv{bundle: b, pp: pp, sb: sb, loc: pp.Location()}
}

// at moves the fake clock forward to wall-clock time in the billing zone.
func (e *invoiceEnv) at(t *testing.T, y int, m time.Month, d int) {
	t.Helper()
	to := time.Date(y, m, d, 0, 0, 0, 0, e.loc)
	require.False(t, to.Before(e.clock.Now()), "the clock only moves forward")
	e.clock.Advance(to.Sub(e.clock.Now()))
}

// postpaidPlan creates plan "pp": one server at the POSTPAID rate of
// 300,000 VND per 30 days, VAT 10% on top.
func (e *invoiceEnv) postpaidPlan(t *testing.T) {
	t.Helper()
	ctx := e.sys
	prod, err := e.db.Client.Product.Query().Only(ctx)
	if ent.IsNotFound(err) {
		prod, err = e.db.Client.Product.Create().SetCode("vserver").SetName("vServer").
			SetAllowedPeriods([]int{1, 2, 3, 6, 12}).Save(ctx)
	}
	require.NoError(t, err)
	pl, err := e.db.Client.Plan.Create().SetProductID(prod.ID).SetCode("pp").SetName("pp").Save(ctx)
	require.NoError(t, err)
	pc, err := e.db.Client.PlanComponent.Create().SetPlanID(pl.ID).SetCode("flavor").SetName("Server").
		SetUnit("server").SetMinQuantity(1).SetMaxQuantity(1).SetDefaultQuantity(1).SetStep(1).Save(ctx)
	require.NoError(t, err)
	_, err = e.db.Client.Price.Create().SetComponentID(pc.ID).SetBillingMode(price.BillingModePOSTPAID).
		SetUnitPrice(vnd(300_000)).SetVatRate(vnd(10)).SetVatIncluded(false).Save(ctx)
	require.NoError(t, err)
}

// postpaidAccount opens an account and makes it postpaid (limit 100M VND).
func (e *invoiceEnv) postpaidAccount(t *testing.T) pulid.ID {
	t.Helper()
	acc := e.account(t)
	limit := vnd(100_000_000)
	_, err := e.pp.Convert(admin(), postpaid.ConvertInput{
		AccountID: acc, Type: entaccount.TypePOSTPAID, Reason: "contract signed", CreditLimit: &limit,
	})
	require.NoError(t, err)
	return acc
}

// december gives each account n postpaid resources running the whole of
// December 2026 (31 days) and issues their MONTHLY invoices at 00:00 on
// 1 January 2027: each 310,000 pre-tax + 31,000 VAT = 341,000, UNPAID.
// It returns each account's invoice ids. The clock ends at 1 January.
func (e *invoiceEnv) december(t *testing.T, n int, accs ...pulid.ID) map[pulid.ID][]pulid.ID {
	t.Helper()
	e.postpaidPlan(t)
	e.at(t, 2026, time.December, 1)
	for _, acc := range accs {
		for range n {
			_, err := e.pp.CreateResource(customer(acc), postpaid.CreateInput{IdempotencyKey: string(pulid.New("k")), Plan: "pp"})
			require.NoError(t, err)
		}
	}
	e.at(t, 2027, time.January, 1)
	res, err := e.pp.RunMonthEnd(e.sys, e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, n*len(accs), res.Invoices)
	out := map[pulid.ID][]pulid.ID{}
	for _, acc := range accs {
		invs, err := e.db.Client.Invoice.Query().
			Where(invoice.AccountID(acc), invoice.ActionEQ(invoice.ActionMONTHLY)).
			Order(ent.Asc(invoice.FieldID)).All(e.sys)
		require.NoError(t, err)
		require.Len(t, invs, n)
		for _, inv := range invs {
			require.Equal(t, "310000/31000/341000 paid 0 UNPAID", amounts(inv))
			out[acc] = append(out[acc], inv.ID)
		}
	}
	return out
}

func amounts(inv *ent.Invoice) string {
	return inv.Subtotal.String() + "/" + inv.Vat.String() + "/" + inv.Total.String() + " paid " +
		inv.AmountPaid.String() + " " + string(inv.Status)
}

func (e *invoiceEnv) invoiceAmounts(t *testing.T, ids []pulid.ID) []string {
	t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		inv, err := e.db.Client.Invoice.Get(e.sys, id)
		require.NoError(t, err)
		out[i] = amounts(inv)
	}
	return out
}

// payViaSandbox places an invoice payment by a redirect method and
// returns it with the sandbox reference and the amount sent to the
// gateway (×100, as VNPAY wants it).
func (e *invoiceEnv) payViaSandbox(t *testing.T, acc pulid.ID, method payment.Method, ids []pulid.ID) (*checkout.InvoicePaymentResult, string, string) {
	t.Helper()
	res, err := e.svc.PayInvoices(customer(acc), checkout.InvoicePaymentInput{
		InvoiceIDs: ids, Method: method, IdempotencyKey: "pay-1", ReturnURL: "https://app.test/done",
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusREQUIRES_ACTION, res.Payment.Status)
	require.Equal(t, payment.PurposeINVOICE, res.Payment.Purpose)
	u, err := url.Parse(res.RedirectURL)
	require.NoError(t, err)
	e.open(t, res.RedirectURL)
	return res, u.Query().Get("vnp_TxnRef"), u.Query().Get("vnp_Amount")
}

func (e *invoiceEnv) open(t *testing.T, u string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func (e *invoiceEnv) notices(t *testing.T, acc pulid.ID, kind string) int {
	t.Helper()
	n, err := e.db.Client.Notification.Query().Where(notification.AccountID(acc), notification.Kind(kind)).Count(e.sys)
	require.NoError(t, err)
	return n
}

// TestPayInvoicesGateway: two MONTHLY invoices paid through the sandbox
// gateway are PAID after the signed IPN, once even when the IPN repeats.
func TestPayInvoicesGateway(t *testing.T) {
	t.Parallel()
	e := setupInvoiceSandbox(t)
	e.sb.SetFaults(sandbox.Faults{IPNBeforeRedirect: true, DuplicateIPN: true})
	acc := e.postpaidAccount(t)
	ids := e.december(t, 2, acc)[acc]

	res, ref, wire := e.payViaSandbox(t, acc, payment.MethodGATEWAY, ids)
	require.Equal(t, "68200000", wire, "682,000 VND × 100 through the gateway")
	require.Equal(t, "682000", res.Payment.Amount.String())
	require.Len(t, res.Invoices, 2)
	require.Equal(t, []string{"310000/31000/341000 paid 0 UNPAID", "310000/31000/341000 paid 0 UNPAID"},
		e.invoiceAmounts(t, ids), "nothing is paid before the gateway says so")
	txn, ok := e.sb.Transaction(ref)
	require.True(t, ok)
	require.Equal(t, "Thanh toan hoa don "+string(res.Payment.ID), txn.OrderInfo)

	require.NoError(t, e.sb.Approve(ref))
	paid := []string{"310000/31000/341000 paid 341000 PAID", "310000/31000/341000 paid 341000 PAID"}
	require.Equal(t, paid, e.invoiceAmounts(t, ids))
	p := e.payment(t, res.Payment.ID)
	require.Equal(t, payment.StatusSUCCEEDED, p.Status)
	require.Equal(t, "682000", p.GatewayAmount.String())
	require.Equal(t, "0", p.CreditAmount.String())
	require.Equal(t, []string{"PENDING", "REQUIRES_ACTION", "SUCCEEDED!"}, statuses(e.events(t, p.ID)))

	// The gateway sends the IPN once more: nothing changes.
	before, _ := e.sb.Transaction(ref)
	require.NoError(t, e.sb.ResendIPN(ref))
	require.Eventually(t, func() bool {
		tx, _ := e.sb.Transaction(ref)
		return tx.IPNAttempts > before.IPNAttempts
	}, 10*time.Second, 10*time.Millisecond)
	txn, _ = e.sb.Transaction(ref)
	require.Equal(t, "02", txn.IPNLastCode, "already confirmed")
	require.Equal(t, paid, e.invoiceAmounts(t, ids))
	require.Equal(t, []string{"PENDING", "REQUIRES_ACTION", "SUCCEEDED!"}, statuses(e.events(t, p.ID)))
	require.Equal(t, 1, e.notices(t, acc, postpaid.KindInvoicePaid))
	bal, held := e.wallet(t, acc)
	require.Equal(t, []string{"0", "0"}, []string{bal, held})
	e.verify(t, acc)

	// A replay returns the payment as it is now; paying again is refused.
	again, err := e.svc.PayInvoices(customer(acc), checkout.InvoicePaymentInput{
		InvoiceIDs: ids, Method: payment.MethodGATEWAY, IdempotencyKey: "pay-1", ReturnURL: "https://app.test/done",
	})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, p.ID, again.Payment.ID)
	require.Equal(t, payment.StatusSUCCEEDED, again.Payment.Status)
	_, err = e.svc.PayInvoices(customer(acc), checkout.InvoicePaymentInput{
		InvoiceIDs: ids[1:], Method: payment.MethodGATEWAY, IdempotencyKey: "pay-2",
	})
	requireFault(t, err, fault.InvalidState, "input", "invoiceIds", "0")
}

// TestPayInvoicesTopUpAndPay: available credit is held and the rest goes
// through the gateway; approval captures the hold and pays the invoices,
// a decline releases it and leaves the invoices as they were.
func TestPayInvoicesTopUpAndPay(t *testing.T) {
	t.Parallel()
	for _, approve := range []bool{true, false} {
		name := map[bool]string{true: "approved", false: "declined"}[approve]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := setupInvoiceSandbox(t)
			acc := e.postpaidAccount(t)
			ids := e.december(t, 2, acc)[acc]
			e.fund(t, acc, 100_000)

			res, ref, wire := e.payViaSandbox(t, acc, payment.MethodTOP_UP_AND_PAY, ids)
			require.Equal(t, "58200000", wire, "682,000 − 100,000 held = 582,000 VND through the gateway")
			require.Equal(t, "100000", res.Payment.CreditAmount.String())
			bal, held := e.wallet(t, acc)
			require.Equal(t, []string{"100000", "100000"}, []string{bal, held})

			p := e.payment(t, res.Payment.ID)
			if approve {
				require.NoError(t, e.sb.Approve(ref))
				p = e.payment(t, p.ID)
				require.Equal(t, payment.StatusSUCCEEDED, p.Status)
				require.Equal(t, "582000", p.GatewayAmount.String())
				require.Equal(t, []string{"310000/31000/341000 paid 341000 PAID", "310000/31000/341000 paid 341000 PAID"},
					e.invoiceAmounts(t, ids))
				bal, held = e.wallet(t, acc)
				require.Equal(t, []string{"0", "0"}, []string{bal, held}, "the hold is captured")
			} else {
				require.NoError(t, e.sb.Decline(ref))
				p = e.payment(t, p.ID)
				require.Equal(t, payment.StatusCANCELED, p.Status)
				require.Equal(t, []string{"310000/31000/341000 paid 0 UNPAID", "310000/31000/341000 paid 0 UNPAID"},
					e.invoiceAmounts(t, ids))
				bal, held = e.wallet(t, acc)
				require.Equal(t, []string{"100000", "0"}, []string{bal, held}, "the hold is released")
				require.Equal(t, 0, e.notices(t, acc, postpaid.KindInvoicePaid))
			}
			e.verify(t, acc)
		})
	}
}

// TestPayInvoicesLiftsSuspension: paying the overdue invoice through the
// gateway reinstates the resources suspended for non-payment.
func TestPayInvoicesLiftsSuspension(t *testing.T) {
	t.Parallel()
	e := setupInvoiceSandbox(t)
	acc := e.postpaidAccount(t)
	ids := e.december(t, 1, acc)[acc]
	// Due 16 January; 15 days later the account is suspended.
	e.at(t, 2027, time.January, 31)
	sus, err := e.pp.SuspendOverdue(e.sys, e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, sus.Resources)
	r, err := e.db.Client.Resource.Query().Where(resource.AccountID(acc)).Only(e.sys)
	require.NoError(t, err)
	require.Equal(t, resource.StateSUSPENDED, r.State)
	require.Equal(t, resource.SuspendReasonNON_PAYMENT, *r.SuspendReason)

	_, ref, wire := e.payViaSandbox(t, acc, payment.MethodGATEWAY, ids)
	require.Equal(t, "34100000", wire)
	require.NoError(t, e.sb.Approve(ref))
	require.Equal(t, []string{"310000/31000/341000 paid 341000 PAID"}, e.invoiceAmounts(t, ids))
	r, err = e.db.Client.Resource.Get(e.sys, r.ID)
	require.NoError(t, err)
	require.Equal(t, resource.StateACTIVE, r.State)
	require.Nil(t, r.SuspendReason)
	require.Equal(t, 1, e.notices(t, acc, postpaid.KindReinstated))
	e.verify(t, acc)
}

// TestPayInvoicesMethods: the other methods with the fake gateway —
// TOP_UP_AND_PAY that credit covers, CREDIT (handed to the postpaid
// package), a linked account whose answer is lost (reconciled, charged
// once), and an abandoned TOP_UP_AND_PAY that expires and releases its hold.
func TestPayInvoicesMethods(t *testing.T) {
	t.Parallel()
	e := setupInvoices(t)
	covered, credit, linked, abandoned := e.postpaidAccount(t), e.postpaidAccount(t), e.postpaidAccount(t), e.postpaidAccount(t)
	inv := e.december(t, 2, covered, credit, linked, abandoned)
	paid := []string{"310000/31000/341000 paid 341000 PAID", "310000/31000/341000 paid 341000 PAID"}
	unpaid := []string{"310000/31000/341000 paid 0 UNPAID", "310000/31000/341000 paid 0 UNPAID"}

	// TOP_UP_AND_PAY with enough credit: debited at once, paid at once.
	e.fund(t, covered, 1_000_000)
	res, err := e.svc.PayInvoices(customer(covered), checkout.InvoicePaymentInput{
		InvoiceIDs: inv[covered], Method: payment.MethodTOP_UP_AND_PAY, IdempotencyKey: "k",
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Equal(t, payment.MethodTOP_UP_AND_PAY, res.Payment.Method)
	require.Equal(t, "682000", res.Payment.CreditAmount.String())
	require.Equal(t, paid, e.invoiceAmounts(t, inv[covered]))
	require.Equal(t, []string{"PENDING", "SUCCEEDED!"}, statuses(e.events(t, res.Payment.ID)))
	bal, held := e.wallet(t, covered)
	require.Equal(t, []string{"318000", "0"}, []string{bal, held})
	e.verify(t, covered)

	// CREDIT goes to postpaid.PayInvoices.
	e.fund(t, credit, 682_000)
	res, err = e.svc.PayInvoices(customer(credit), checkout.InvoicePaymentInput{
		InvoiceIDs: inv[credit], Method: payment.MethodCREDIT, IdempotencyKey: "k",
	})
	require.NoError(t, err)
	require.Equal(t, payment.MethodCREDIT, res.Payment.Method)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Len(t, res.Invoices, 2)
	require.Equal(t, paid, e.invoiceAmounts(t, inv[credit]))
	bal, _ = e.wallet(t, credit)
	require.Equal(t, "0", bal)
	e.verify(t, credit)

	// LINKED_ACCOUNT: the charge's answer never comes back.
	link, err := e.db.Client.LinkedAccount.Create().SetAccountID(linked).SetGateway("fake").SetToken("tok-1").
		SetLabel("VISA ****1111").SetActive(true).Save(e.sys)
	require.NoError(t, err)
	e.gw.outcome["tok-1"] = "timeout"
	in := checkout.InvoicePaymentInput{
		InvoiceIDs: inv[linked], Method: payment.MethodLINKED_ACCOUNT, LinkedAccountID: link.ID, IdempotencyKey: "k",
	}
	res, err = e.svc.PayInvoices(customer(linked), in)
	require.NoError(t, err)
	require.Equal(t, payment.StatusPROCESSING, res.Payment.Status)
	ref := e.attempt(t, res.Payment.ID).TxnRef
	again, err := e.svc.PayInvoices(customer(linked), in)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, 1, e.gw.chargeCount(ref), "a replay never charges again")
	require.Equal(t, unpaid, e.invoiceAmounts(t, inv[linked]))
	n, err := e.svc.ReconcileUnknown(e.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, payment.StatusSUCCEEDED, e.payment(t, res.Payment.ID).Status)
	require.Equal(t, paid, e.invoiceAmounts(t, inv[linked]))
	require.Equal(t, 1, e.gw.chargeCount(ref))
	e.verify(t, linked)

	// TOP_UP_AND_PAY abandoned on the gateway page: expiry releases the hold.
	e.fund(t, abandoned, 100_000)
	res, err = e.svc.PayInvoices(customer(abandoned), checkout.InvoicePaymentInput{
		InvoiceIDs: inv[abandoned], Method: payment.MethodTOP_UP_AND_PAY, IdempotencyKey: "k",
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusREQUIRES_ACTION, res.Payment.Status)
	require.Equal(t, "https://billing.test/payments/return", res.Payment.ReturnURL)
	bal, held = e.wallet(t, abandoned)
	require.Equal(t, []string{"100000", "100000"}, []string{bal, held})
	e.clock.Advance(16 * time.Minute)
	n, err = e.svc.ExpireAbandoned(e.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, payment.StatusEXPIRED, e.payment(t, res.Payment.ID).Status)
	bal, held = e.wallet(t, abandoned)
	require.Equal(t, []string{"100000", "0"}, []string{bal, held})
	require.Equal(t, unpaid, e.invoiceAmounts(t, inv[abandoned]))
	e.verify(t, abandoned)
}

// TestPayInvoicesRefusals: unknown, foreign and paid invoices, and callers
// who may not pay, are refused with nothing written.
func TestPayInvoicesRefusals(t *testing.T) {
	t.Parallel()
	e := setupInvoices(t)
	acc, other := e.postpaidAccount(t), e.postpaidAccount(t)
	inv := e.december(t, 1, acc, other)
	mine := inv[acc][0]
	e.fund(t, acc, 341_000)
	_, err := e.svc.PayInvoices(customer(acc), checkout.InvoicePaymentInput{
		InvoiceIDs: []pulid.ID{mine}, Method: payment.MethodCREDIT, IdempotencyKey: "paid",
	})
	require.NoError(t, err)
	count := func() int {
		n, err := e.db.Client.Payment.Query().Count(e.sys)
		require.NoError(t, err)
		return n
	}
	before := count()

	tests := []struct {
		name  string
		ctx   context.Context
		in    checkout.InvoicePaymentInput
		code  fault.Code
		field []string
	}{
		{"unknown", customer(other), checkout.InvoicePaymentInput{InvoiceIDs: []pulid.ID{inv[other][0], pulid.New("inv")}},
			fault.NotFound, []string{"input", "invoiceIds", "1"}},
		{"another account's", customer(other), checkout.InvoicePaymentInput{InvoiceIDs: []pulid.ID{mine}},
			fault.NotFound, []string{"input", "invoiceIds", "0"}},
		{"already paid", customer(acc), checkout.InvoicePaymentInput{InvoiceIDs: []pulid.ID{mine}},
			fault.InvalidState, []string{"input", "invoiceIds", "0"}},
		{"none", customer(acc), checkout.InvoicePaymentInput{}, fault.Invalid, []string{"input", "invoiceIds"}},
		{"no method", customer(other), checkout.InvoicePaymentInput{InvoiceIDs: inv[other], Method: "CASH"},
			fault.Invalid, []string{"input", "paymentMethod"}},
		{"read-only member", readOnly(other), checkout.InvoicePaymentInput{InvoiceIDs: inv[other]}, fault.Forbidden, nil},
		{"another account named", customer(other), checkout.InvoicePaymentInput{AccountID: acc, InvoiceIDs: inv[other]},
			fault.NotFound, []string{"input", "accountId"}},
		{"operator without account", admin(), checkout.InvoicePaymentInput{InvoiceIDs: inv[other]},
			fault.Invalid, []string{"input", "accountId"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.IdempotencyKey = "k-" + tc.name
			if in.Method == "" {
				in.Method = payment.MethodGATEWAY
			}
			_, err := e.svc.PayInvoices(tc.ctx, in)
			requireFault(t, err, tc.code, tc.field...)
		})
	}
	require.Equal(t, before, count(), "nothing written")
	require.Equal(t, []string{"310000/31000/341000 paid 0 UNPAID"}, e.invoiceAmounts(t, inv[other]))

	// An operator pays for the account it names.
	res, err := e.svc.PayInvoices(admin(), checkout.InvoicePaymentInput{
		AccountID: other, InvoiceIDs: inv[other], Method: payment.MethodGATEWAY, IdempotencyKey: "op",
	})
	require.NoError(t, err)
	require.Equal(t, other, res.Payment.AccountID)
	require.Equal(t, payment.StatusREQUIRES_ACTION, res.Payment.Status)
}

// TestPlaceOrderRefusedOnPostpaid: a postpaid account buys no prepaid
// resources (it creates postpaid ones); the quote is still shown.
func TestPlaceOrderRefusedOnPostpaid(t *testing.T) {
	t.Parallel()
	e := setupInvoices(t)
	plan := e.serverPlan(t)
	acc := e.postpaidAccount(t)
	e.fund(t, acc, 1_000_000)
	q, err := e.svc.Quote(customer(acc), checkout.QuoteInput{Items: []checkout.ItemInput{item(plan, 1, 1)}})
	require.NoError(t, err)
	require.Equal(t, "125000", q.Total.String())
	for _, m := range []payment.Method{payment.MethodCREDIT, payment.MethodGATEWAY} {
		_, err = e.place(customer(acc), "k-"+string(m), m, "", item(plan, 1, 1))
		requireFault(t, err, fault.InvalidState, "input", "items")
	}
	n, err := e.db.Client.Order.Query().Count(e.sys)
	require.NoError(t, err)
	require.Zero(t, n)
	bal, _ := e.wallet(t, acc)
	require.Equal(t, "1000000", bal)
	// A prepaid account still buys.
	pre := e.account(t)
	e.fund(t, pre, 125_000)
	res, err := e.place(customer(pre), "k", payment.MethodCREDIT, "", item(plan, 1, 1))
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
}
