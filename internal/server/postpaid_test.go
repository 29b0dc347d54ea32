package server_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/internal/account"
	"billing/internal/app"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/gateway/sandbox"
	"billing/internal/server"
	"billing/internal/testdb"
)

// ppStart is when the postpaid tests begin: 10:00 on 10 October 2026 in
// the billing time zone (Asia/Ho_Chi_Minh, UTC+7).
var ppStart = time.Date(2026, 10, 10, 3, 0, 0, 0, time.UTC)

// setupPostpaid is setup(t) on a fake clock (at ppStart) that the test
// moves: usage is metered by the minute, so exact amounts need exact
// instants. Tokens live a year of fake time, so moving the clock a month
// keeps them valid.
func setupPostpaid(t *testing.T) (*bundle, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(ppStart)
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hs := httptest.NewUnstartedServer(nil)
	url := ""
	if db.IsPostgres() {
		url = dsn
	}
	a, err := app.New(context.Background(), app.Options{
		DB: db, DatabaseURL: url, Secret: testSecret, Clock: clock, Logger: logger,
		PublicURL: "http://" + hs.Listener.Addr().String(), Sandbox: true, SandboxRetryInterval: 50 * time.Millisecond,
		Provisioner: "simulator", Limits: server.Limits{PingInterval: 300 * time.Millisecond},
	})
	require.NoError(t, err)
	hs.Config.Handler = a.Server.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = a.Close(context.Background())
	})
	b := &bundle{instance: &instance{db: db, srv: hs, app: a, bus: a.Bus, issuer: a.Issuer}, clock: clock, dsn: dsn}
	ctx := auth.SystemContext(context.Background())
	_, err = catalog.Seed(ctx, db.Client)
	require.NoError(t, err)
	accounts := account.New(db, clock)
	b.accA, err = accounts.Create(ctx, account.CreateInput{Name: "Alpha", Email: "a@example.com", OwnerSubject: "alice"})
	require.NoError(t, err)
	b.accB, err = accounts.Create(ctx, account.CreateInput{Name: "Beta", Email: "b@example.com", OwnerSubject: "bob"})
	require.NoError(t, err)
	token := func(v auth.Viewer) string {
		tok, err := b.issuer.Issue(v, 365*24*time.Hour)
		require.NoError(t, err)
		return tok
	}
	b.admin = token(auth.Viewer{Subject: "ops", Role: auth.RoleAdmin})
	b.custA = token(auth.Viewer{Subject: "alice", Role: auth.RoleCustomer, AccountID: string(b.accA.ID)})
	b.custB = token(auth.Viewer{Subject: "bob", Role: auth.RoleCustomer, AccountID: string(b.accB.ID)})
	b.vwA = token(auth.Viewer{Subject: "vera", Role: auth.RoleViewer, AccountID: string(b.accA.ID)})
	return b, clock
}

const ppConvertMutation = `mutation($in: ConvertAccountInput!) { convertAccount(input: $in) {
	account { id type creditLimit } userErrors { code field message } } }`

const ppCreditLimitMutation = `mutation($in: SetCreditLimitInput!) { setCreditLimit(input: $in) {
	account { id type creditLimit } userErrors { code field message } } }`

type ppAccountPayload struct {
	Account *struct {
		ID, Type, CreditLimit string
	}
	UserErrors []userError
}

const ppResourceFields = `resource { id name billingMode state planID components { code quantity unitPrice } } changed replayed userErrors { code field message }`

type ppResourcePayload struct {
	Resource *struct {
		ID, Name, BillingMode, State, PlanID string
		Components                           []struct {
			Code      string
			Quantity  int64
			UnitPrice string
		}
	}
	Changed, Replayed bool
	UserErrors        []userError
}

// ppMutate runs one postpaid resource mutation (create, resize or delete)
// as token and returns its payload and the raw response.
func (b *bundle) ppMutate(t *testing.T, token, field string, in map[string]any) (ppResourcePayload, gqlResponse) {
	t.Helper()
	typ := map[string]string{
		"createPostpaidResource": "CreatePostpaidResourceInput",
		"resizePostpaidResource": "ResizePostpaidResourceInput",
		"deletePostpaidResource": "DeleteResourceInput",
	}[field]
	r := b.gql(t, token, `mutation($in: `+typ+`!) { out: `+field+`(input: $in) { `+ppResourceFields+` } }`, map[string]any{"in": in})
	var d struct{ Out ppResourcePayload }
	if len(r.Errors) == 0 {
		r.mustData(t, &d)
	}
	return d.Out, r
}

const ppPayMutation = `mutation($in: PayInvoicesInput!) { payInvoices(input: $in) {
	payment { id status method purpose amount creditAmount gatewayAmount invoices { id } }
	invoices { id code status total amountPaid outstanding paidAt }
	redirectUrl replayed userErrors { code field message } } }`

type ppInvoiceState struct {
	ID, Code, Status, Total, AmountPaid, Outstanding string
	PaidAt                                           *time.Time
}

type ppPayPayload struct {
	Payment *struct {
		ID, Status, Method, Purpose, Amount, CreditAmount, GatewayAmount string
		Invoices                                                         []struct{ ID string }
	}
	Invoices    []ppInvoiceState
	RedirectURL *string
	Replayed    bool
	UserErrors  []userError
}

func (b *bundle) ppPay(t *testing.T, token string, in map[string]any) (ppPayPayload, gqlResponse) {
	t.Helper()
	r := b.gql(t, token, ppPayMutation, map[string]any{"in": in})
	var d struct{ PayInvoices ppPayPayload }
	if len(r.Errors) == 0 {
		r.mustData(t, &d)
	}
	return d.PayInvoices, r
}

type ppDebtView struct {
	Type, CreditLimit, Unpaid, Overdue, Running, Committed, Headroom, AvailableCredit string
	UnpaidInvoices, OverdueInvoices, SuspendedForNonPayment                           int
	OldestDueAt, NextDueAt                                                            *time.Time
}

// debt is the caller's debt summary.
func (b *bundle) ppDebt(t *testing.T, token string) ppDebtView {
	t.Helper()
	var d struct {
		Viewer struct{ Account struct{ Debt ppDebtView } }
	}
	b.gql(t, token, `{ viewer { account { debt { type creditLimit unpaid unpaidInvoices overdue overdueInvoices oldestDueAt
		nextDueAt running committed headroom availableCredit suspendedForNonPayment } } } }`, nil).mustData(t, &d)
	return d.Viewer.Account.Debt
}

type ppUsageLine struct {
	Description, UnitPrice, DiscountPercent, VatRate, Amount string
	Quantity, Minutes                                        int64
	PeriodStart, PeriodEnd                                   time.Time
}

type ppCharge struct {
	Resource                       struct{ ID, Name string }
	From, Until                    time.Time
	Lines                          []ppUsageLine
	Subtotal, Vat, Discount, Total string
}

// runningCharges is the caller's running charges.
func (b *bundle) ppRunning(t *testing.T, token string) []ppCharge {
	t.Helper()
	var d struct {
		Viewer struct {
			Account struct{ RunningCharges []ppCharge }
		}
	}
	b.gql(t, token, `{ viewer { account { runningCharges { resource { id name } from until
		lines { description unitPrice quantity minutes periodStart periodEnd discountPercent vatRate amount }
		subtotal vat discount total } } } }`, nil).mustData(t, &d)
	return d.Viewer.Account.RunningCharges
}

type ppInvoiceLine struct {
	Position                       int
	Description, UnitPrice, Amount string
	Quantity, DurationMinutes      int64
	PeriodStart, PeriodEnd         *time.Time
	DiscountPercent, CouponShare   string
}

type ppInvoice struct {
	ID, Code, Action, Status, ResourceID                              string
	Subtotal, Vat, Discount, Total, AmountPaid, Outstanding, Currency string
	PeriodStart, PeriodEnd, IssuedAt                                  time.Time
	DueAt, PaidAt                                                     *time.Time
	Lines                                                             []ppInvoiceLine
}

const ppInvoiceFields = `id code action status resourceID subtotal vat discount total amountPaid outstanding currency
	periodStart periodEnd issuedAt dueAt paidAt
	lines { position description unitPrice quantity durationMinutes periodStart periodEnd discountPercent couponShare amount }`

// invoice reads one invoice as token; the response is returned for
// refusals.
func (b *bundle) ppInvoiceOf(t *testing.T, token, id string) (*ppInvoice, gqlResponse) {
	t.Helper()
	r := b.gql(t, token, `query($id: ID!) { invoice(id: $id) { `+ppInvoiceFields+` } }`, map[string]any{"id": id})
	var d struct{ Invoice *ppInvoice }
	if len(r.Errors) == 0 {
		r.mustData(t, &d)
		sort.Slice(d.Invoice.Lines, func(i, j int) bool { return d.Invoice.Lines[i].Position < d.Invoice.Lines[j].Position })
	}
	return d.Invoice, r
}

// invoiceCount counts the caller's invoices matching where.
func (b *bundle) ppInvoiceCount(t *testing.T, token string, where map[string]any) int {
	t.Helper()
	var d struct{ Invoices struct{ TotalCount int } }
	b.gql(t, token, `query($w: InvoiceWhereInput) { invoices(where: $w) { totalCount } }`, map[string]any{"w": where}).mustData(t, &d)
	return d.Invoices.TotalCount
}

func ppAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestPostpaidOverGraphQL follows a postpaid account through a month:
// conversion and credit limit, resources created, resized and deleted
// without payment, running charges and debt, the MONTHLY invoices of the
// month end, a partial payment from credit and its replay, and overdue
// debt — every amount to the dong.
//
//	Oct 10 10:00   web-1 (s-general-1x1, 306,000/30 d) and mon-1 (monitor-basic, 5 × 22,000/30 d) created
//	Oct 12 10:00   web-1 resized to s-general-1x2 (385,000/30 d)
//	Oct 13 10:00   running charges and debt read
//	Oct 20 10:00   web-1 deleted
//	Nov  1 00:00   month end: one MONTHLY invoice each, due Nov 16 00:00 (all local, UTC+7)
func TestPostpaidOverGraphQL(t *testing.T) {
	t.Parallel()
	b, clock := setupPostpaid(t)
	accA := string(b.accA.ID)

	// The operator converts A with a credit limit, then lowers the limit.
	r := b.gql(t, b.admin, ppConvertMutation, map[string]any{"in": map[string]any{
		"accountId": accA, "type": "POSTPAID", "reason": "contract 42", "creditLimit": "1000000"}})
	var conv struct{ ConvertAccount ppAccountPayload }
	r.mustData(t, &conv)
	require.Empty(t, conv.ConvertAccount.UserErrors)
	require.Equal(t, "POSTPAID", conv.ConvertAccount.Account.Type)
	require.Equal(t, "1000000", conv.ConvertAccount.Account.CreditLimit)
	r = b.gql(t, b.admin, ppCreditLimitMutation, map[string]any{"in": map[string]any{
		"accountId": accA, "creditLimit": "800000", "reason": "risk review"}})
	var lim struct{ SetCreditLimit ppAccountPayload }
	r.mustData(t, &lim)
	require.Empty(t, lim.SetCreditLimit.UserErrors)
	require.Equal(t, "800000", lim.SetCreditLimit.Account.CreditLimit)
	// Both changes are in the audit log with their reasons.
	var audit struct {
		AuditLogs struct {
			Edges []struct {
				Node struct{ Action, Reason, TargetID, Actor string }
			}
		}
	}
	b.gql(t, b.admin, `query($id: String!) { auditLogs(where: {targetID: $id, actionIn: ["account.convert", "account.credit_limit"]}) { edges { node { action reason targetID actor } } } }`,
		map[string]any{"id": accA}).mustData(t, &audit)
	actions := map[string]string{}
	for _, e := range audit.AuditLogs.Edges {
		actions[e.Node.Action] = e.Node.Reason
		require.Equal(t, "ops", e.Node.Actor)
	}
	require.Equal(t, map[string]string{"account.convert": "contract 42", "account.credit_limit": "risk review"}, actions)
	// The customer sees the account's type and limit.
	var acc struct {
		Viewer struct {
			Account struct{ Type, CreditLimit string }
		}
	}
	b.gql(t, b.custA, `{ viewer { account { type creditLimit } } }`, nil).mustData(t, &acc)
	require.Equal(t, "POSTPAID", acc.Viewer.Account.Type)
	require.Equal(t, "800000", acc.Viewer.Account.CreditLimit)

	// Two resources without payment; a replay returns the same one.
	web, r := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "web-1", "plan": "s-general-1x1", "name": "web-1"})
	require.Empty(t, r.Errors)
	require.Empty(t, web.UserErrors)
	require.True(t, web.Changed)
	require.False(t, web.Replayed)
	require.Equal(t, "POSTPAID", web.Resource.BillingMode)
	require.Equal(t, "ACTIVE", web.Resource.State)
	require.Equal(t, "web-1", web.Resource.Name)
	webID := web.Resource.ID
	again, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "web-1", "plan": "s-general-1x1", "name": "web-1"})
	require.True(t, again.Replayed)
	require.Equal(t, webID, again.Resource.ID)
	reused, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "web-1", "plan": "s-general-1x2", "name": "web-1"})
	require.Nil(t, reused.Resource)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", reused.UserErrors[0].Code)
	mon, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "mon-1", "plan": "monitor-basic", "name": "mon-1"})
	require.Empty(t, mon.UserErrors)
	monID := mon.Resource.ID

	// 336,600 + 121,000 committed for the next 30 days (VAT included);
	// a s-general-2x4 adds 709,500: over the 800,000 limit.
	big, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "big-1", "plan": "s-general-2x4"})
	require.Nil(t, big.Resource)
	require.Len(t, big.UserErrors, 1)
	require.Equal(t, "CREDIT_LIMIT_EXCEEDED", big.UserErrors[0].Code)
	require.Equal(t, []string{"input"}, big.UserErrors[0].Field)
	require.Equal(t, ppDebtView{
		Type: "POSTPAID", CreditLimit: "800000", Unpaid: "0", Overdue: "0", Running: "0", Committed: "457600",
		Headroom: "342400", AvailableCredit: "0",
	}, b.ppDebt(t, b.custA))

	// Two days later web-1 grows to s-general-1x2; the same configuration
	// again records nothing.
	clock.Advance(48 * time.Hour)
	up, _ := b.ppMutate(t, b.custA, "resizePostpaidResource", map[string]any{"idempotencyKey": "web-1-up", "resourceId": webID, "plan": "s-general-1x2"})
	require.Empty(t, up.UserErrors)
	require.True(t, up.Changed)
	require.NotEqual(t, web.Resource.PlanID, up.Resource.PlanID)
	same, _ := b.ppMutate(t, b.custA, "resizePostpaidResource", map[string]any{"idempotencyKey": "web-1-same", "resourceId": webID, "plan": "s-general-1x2"})
	require.Empty(t, same.UserErrors)
	require.False(t, same.Changed)
	require.False(t, same.Replayed)

	// Running charges a day later: what the invoices say so far.
	clock.Advance(24 * time.Hour)
	monthStart, now := ppAt("2026-09-30T17:00:00Z"), ppAt("2026-10-13T03:00:00Z")
	charges := b.ppRunning(t, b.custA)
	require.Len(t, charges, 2)
	require.Equal(t, ppCharge{
		Resource: struct{ ID, Name string }{monID, "mon-1"}, From: monthStart, Until: now,
		Lines: []ppUsageLine{{
			Description: charges[0].Lines[0].Description, UnitPrice: "22000", Quantity: 5, Minutes: 4320,
			PeriodStart: ppStart, PeriodEnd: now, DiscountPercent: "0", VatRate: "10", Amount: "11000",
		}},
		Subtotal: "11000", Vat: "1100", Discount: "0", Total: "12100",
	}, charges[0])
	require.NotEmpty(t, charges[0].Lines[0].Description)
	resized := ppAt("2026-10-12T03:00:00Z")
	require.Equal(t, ppCharge{
		Resource: struct{ ID, Name string }{webID, "web-1"}, From: monthStart, Until: now,
		Lines: []ppUsageLine{
			// 306,000 × 2,880 / 43,200
			{Description: charges[1].Lines[0].Description, UnitPrice: "306000", Quantity: 1, Minutes: 2880,
				PeriodStart: ppStart, PeriodEnd: resized, DiscountPercent: "0", VatRate: "10", Amount: "20400"},
			// 385,000 × 1,440 / 43,200 = 12,833.33…
			{Description: charges[1].Lines[1].Description, UnitPrice: "385000", Quantity: 1, Minutes: 1440,
				PeriodStart: resized, PeriodEnd: now, DiscountPercent: "0", VatRate: "10", Amount: "12833"},
		},
		Subtotal: "33233", Vat: "3323", Discount: "0", Total: "36556",
	}, charges[1])
	// Committed: s-general-1x2 423,500 + monitor-basic 121,000.
	require.Equal(t, ppDebtView{
		Type: "POSTPAID", CreditLimit: "800000", Unpaid: "0", Overdue: "0", Running: "48656", Committed: "544500",
		Headroom: "206844", AvailableCredit: "0",
	}, b.ppDebt(t, b.custA))
	// The read-only member reads the same.
	require.Equal(t, charges, b.ppRunning(t, b.vwA))

	// web-1 is deleted on Oct 20 (and a replay changes nothing).
	clock.Advance(7 * 24 * time.Hour)
	del, _ := b.ppMutate(t, b.custA, "deletePostpaidResource", map[string]any{"idempotencyKey": "web-1-del", "resourceId": webID})
	require.Empty(t, del.UserErrors)
	require.Equal(t, "DELETED", del.Resource.State)
	del, _ = b.ppMutate(t, b.custA, "deletePostpaidResource", map[string]any{"idempotencyKey": "web-1-del", "resourceId": webID})
	require.True(t, del.Replayed)
	require.Equal(t, "DELETED", del.Resource.State)

	// Month end: 00:00 on Nov 1 local.
	clock.Advance(ppAt("2026-10-31T17:00:00Z").Sub(clock.Now()))
	monthEnd := clock.Now()
	res, err := b.app.Postpaid.RunMonthEnd(context.Background(), monthEnd)
	require.NoError(t, err)
	require.Equal(t, 2, res.Invoices)

	// The list: filters on action, status and issue date.
	require.Equal(t, 2, b.ppInvoiceCount(t, b.custA, map[string]any{"action": "MONTHLY"}))
	require.Equal(t, 2, b.ppInvoiceCount(t, b.custA, map[string]any{"action": "MONTHLY", "statusIn": []string{"UNPAID", "PARTIALLY_PAID"}, "issuedAtGTE": monthEnd}))
	require.Equal(t, 0, b.ppInvoiceCount(t, b.custA, map[string]any{"action": "MONTHLY", "issuedAtLT": monthEnd}))
	require.Equal(t, 0, b.ppInvoiceCount(t, b.custA, map[string]any{"status": "PAID"}))
	require.Equal(t, 0, b.ppInvoiceCount(t, b.custB, nil))
	var list struct {
		Viewer struct {
			Account struct {
				Invoices struct {
					TotalCount int
					Edges      []struct {
						Node struct{ ID, ResourceID, Action, Status, Total string }
					}
				}
			}
		}
	}
	b.gql(t, b.custA, `{ viewer { account { invoices(first: 10, where: {action: MONTHLY, status: UNPAID}) { totalCount edges { node { id resourceID action status total } } } } } }`, nil).mustData(t, &list)
	require.Equal(t, 2, list.Viewer.Account.Invoices.TotalCount)
	byResource := map[string]string{}
	for _, e := range list.Viewer.Account.Invoices.Edges {
		byResource[e.Node.ResourceID] = e.Node.ID
	}
	webInv, monInv := byResource[webID], byResource[monID]
	require.NotEmpty(t, webInv)
	require.NotEmpty(t, monInv)

	// The detail: one line per usage interval, with its period and minutes.
	due := ppAt("2026-11-15T17:00:00Z")
	inv, r := b.ppInvoiceOf(t, b.custA, webInv)
	require.Empty(t, r.Errors)
	require.Regexp(t, `^INV-202611-\d{6}$`, inv.Code)
	deleted := ppAt("2026-10-20T03:00:00Z")
	require.Equal(t, &ppInvoice{
		ID: webInv, Code: inv.Code, Action: "MONTHLY", Status: "UNPAID", ResourceID: webID,
		// 20,400 + 102,667 (385,000 × 11,520 / 43,200 = 102,666.67); VAT 12,306.7 → 12,307.
		Subtotal: "123067", Vat: "12307", Discount: "0", Total: "135374", AmountPaid: "0", Outstanding: "135374", Currency: "VND",
		PeriodStart: monthStart, PeriodEnd: monthEnd, IssuedAt: monthEnd, DueAt: &due,
		Lines: []ppInvoiceLine{
			{Position: inv.Lines[0].Position, Description: inv.Lines[0].Description, UnitPrice: "306000", Quantity: 1, DurationMinutes: 2880,
				PeriodStart: &ppStart, PeriodEnd: &resized, DiscountPercent: "0", CouponShare: "0", Amount: "20400"},
			{Position: inv.Lines[1].Position, Description: inv.Lines[1].Description, UnitPrice: "385000", Quantity: 1, DurationMinutes: 11520,
				PeriodStart: &resized, PeriodEnd: &deleted, DiscountPercent: "0", CouponShare: "0", Amount: "102667"},
		},
	}, inv)
	require.Less(t, inv.Lines[0].Position, inv.Lines[1].Position)
	inv, _ = b.ppInvoiceOf(t, b.vwA, monInv)
	// 110,000 × 31,080 / 43,200 = 79,138.89; VAT 7,913.9 → 7,914.
	require.Equal(t, &ppInvoice{
		ID: monInv, Code: inv.Code, Action: "MONTHLY", Status: "UNPAID", ResourceID: monID,
		Subtotal: "79139", Vat: "7914", Discount: "0", Total: "87053", AmountPaid: "0", Outstanding: "87053", Currency: "VND",
		PeriodStart: monthStart, PeriodEnd: monthEnd, IssuedAt: monthEnd, DueAt: &due,
		Lines: []ppInvoiceLine{
			{Position: inv.Lines[0].Position, Description: inv.Lines[0].Description, UnitPrice: "22000", Quantity: 5, DurationMinutes: 31080,
				PeriodStart: &ppStart, PeriodEnd: &monthEnd, DiscountPercent: "0", CouponShare: "0", Amount: "79139"},
		},
	}, inv)
	// Another account's invoice does not exist for B, by id or by node.
	_, r = b.ppInvoiceOf(t, b.custB, webInv)
	require.Equal(t, []string{"NOT_FOUND"}, r.codes())
	r = b.gql(t, b.custB, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": webInv})
	require.Equal(t, []string{"NOT_FOUND"}, r.codes())

	// Debt at the start of November: mon-1 runs on (nothing used yet this month).
	require.Equal(t, ppDebtView{
		Type: "POSTPAID", CreditLimit: "800000", Unpaid: "222427", UnpaidInvoices: 2, Overdue: "0", NextDueAt: &due,
		Running: "0", Committed: "121000", Headroom: "456573", AvailableCredit: "0",
	}, b.ppDebt(t, b.custA))

	// B cannot pay A's invoices; the member cannot pay at all.
	pay, r := b.ppPay(t, b.custB, map[string]any{"idempotencyKey": "steal", "invoiceIds": []string{webInv}, "paymentMethod": "CREDIT"})
	require.Empty(t, r.Errors)
	require.Equal(t, []userError{{Code: "NOT_FOUND", Field: []string{"input", "invoiceIds", "0"}, Message: "invoice not found"}}, pay.UserErrors)
	_, r = b.ppPay(t, b.vwA, map[string]any{"idempotencyKey": "vw", "invoiceIds": []string{webInv}, "paymentMethod": "CREDIT"})
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())
	require.Equal(t, "null", string(r.Data))

	// 150,000 of credit pays part of both: the smaller invoice in full,
	// the rest on the larger one.
	b.fund(t, b.accA.ID, "150000")
	payIn := map[string]any{"idempotencyKey": "pay-1", "invoiceIds": []string{webInv, monInv}, "paymentMethod": "CREDIT", "amount": "150000"}
	pay, r = b.ppPay(t, b.custA, payIn)
	require.Empty(t, r.Errors)
	require.Empty(t, pay.UserErrors)
	require.False(t, pay.Replayed)
	require.Nil(t, pay.RedirectURL)
	require.Equal(t, "SUCCEEDED", pay.Payment.Status)
	require.Equal(t, "CREDIT", pay.Payment.Method)
	require.Equal(t, "INVOICE", pay.Payment.Purpose)
	require.Equal(t, "150000", pay.Payment.Amount)
	require.Equal(t, "150000", pay.Payment.CreditAmount)
	require.Equal(t, "0", pay.Payment.GatewayAmount)
	require.Len(t, pay.Payment.Invoices, 2)
	wantPaid := []ppInvoiceState{
		{ID: monInv, Status: "PAID", Total: "87053", AmountPaid: "87053", Outstanding: "0", PaidAt: &monthEnd},
		{ID: webInv, Status: "PARTIALLY_PAID", Total: "135374", AmountPaid: "62947", Outstanding: "72427"},
	}
	for i := range pay.Invoices {
		pay.Invoices[i].Code = ""
	}
	require.Equal(t, wantPaid, pay.Invoices)
	require.Equal(t, walletView{Balance: "0", Held: "0", Available: "0"}, b.wallet(t, b.custA))

	// The same key again returns the same payment and charges nothing more.
	replay, r := b.ppPay(t, b.custA, payIn)
	require.Empty(t, r.Errors)
	require.True(t, replay.Replayed)
	require.Equal(t, pay.Payment.ID, replay.Payment.ID)
	for i := range replay.Invoices {
		replay.Invoices[i].Code = ""
	}
	require.Equal(t, wantPaid, replay.Invoices)
	require.Equal(t, walletView{Balance: "0", Held: "0", Available: "0"}, b.wallet(t, b.custA))
	paidEntries := entriesOf(b.creditHistory(t, b.custA), "INVOICE_PAYMENT")
	require.Len(t, paidEntries, 1)
	require.Equal(t, "-150000", paidEntries[0].Amount)
	require.Equal(t, string(pay.Payment.ID), str(paidEntries[0].Reference))
	var pays struct {
		Viewer struct {
			Account struct{ Payments struct{ TotalCount int } }
		}
	}
	b.gql(t, b.custA, `{ viewer { account { payments(where: {purpose: INVOICE}) { totalCount } } } }`, nil).mustData(t, &pays)
	require.Equal(t, 1, pays.Viewer.Account.Payments.TotalCount)
	// The same key with another request is refused.
	other, _ := b.ppPay(t, b.custA, map[string]any{"idempotencyKey": "pay-1", "invoiceIds": []string{webInv}, "paymentMethod": "CREDIT", "amount": "1"})
	require.Nil(t, other.Payment)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", other.UserErrors[0].Code)
	// No credit left for the rest.
	short, _ := b.ppPay(t, b.custA, map[string]any{"idempotencyKey": "pay-2", "invoiceIds": []string{webInv}, "paymentMethod": "CREDIT"})
	require.Equal(t, "INSUFFICIENT_CREDIT", short.UserErrors[0].Code)
	// An invoice already paid has nothing to pay.
	paidUp, _ := b.ppPay(t, b.custA, map[string]any{"idempotencyKey": "pay-3", "invoiceIds": []string{monInv}, "paymentMethod": "CREDIT"})
	require.Equal(t, "INVALID_STATE", paidUp.UserErrors[0].Code)

	require.Equal(t, ppDebtView{
		Type: "POSTPAID", CreditLimit: "800000", Unpaid: "72427", UnpaidInvoices: 1, Overdue: "0", NextDueAt: &due,
		Running: "0", Committed: "121000", Headroom: "606573", AvailableCredit: "0",
	}, b.ppDebt(t, b.custA))

	// Past the due date the rest is overdue; paying it in full clears the debt.
	clock.Advance(due.Add(7 * time.Hour).Sub(clock.Now()))
	d := b.ppDebt(t, b.custA)
	require.Equal(t, "72427", d.Overdue)
	require.Equal(t, 1, d.OverdueInvoices)
	require.Equal(t, &due, d.OldestDueAt)
	require.Nil(t, d.NextDueAt)
	// mon-1 has run 15 days and 7 hours of November: 110,000 × 22,020 / 43,200 = 56,069.44 → 56,069 + VAT 5,607.
	require.Equal(t, "61676", d.Running)
	b.fund(t, b.accA.ID, "100000")
	pay, _ = b.ppPay(t, b.custA, map[string]any{"idempotencyKey": "pay-4", "invoiceIds": []string{webInv}, "paymentMethod": "CREDIT"})
	require.Empty(t, pay.UserErrors)
	require.Equal(t, "72427", pay.Payment.Amount)
	require.Equal(t, "PAID", pay.Invoices[0].Status)
	require.Equal(t, "0", pay.Invoices[0].Outstanding)
	d = b.ppDebt(t, b.custA)
	require.Equal(t, "0", d.Unpaid)
	require.Equal(t, "27573", d.AvailableCredit)
}

// TestPostpaidRefusals shows who may do what, and the typed errors of the
// actions a postpaid resource does not have.
func TestPostpaidRefusals(t *testing.T) {
	t.Parallel()
	b, _ := setupPostpaid(t)
	accA := string(b.accA.ID)
	convert := map[string]any{"accountId": accA, "type": "POSTPAID", "reason": "contract", "creditLimit": "1000000"}

	// Only operators convert accounts and set limits.
	for _, tok := range []string{b.custA, b.custB, b.vwA} {
		r := b.gql(t, tok, ppConvertMutation, map[string]any{"in": convert})
		require.Equal(t, []string{"FORBIDDEN"}, r.codes())
		r = b.gql(t, tok, ppCreditLimitMutation, map[string]any{"in": map[string]any{"accountId": accA, "creditLimit": "1"}})
		require.Equal(t, []string{"FORBIDDEN"}, r.codes())
	}
	// Typed refusals of bad operator input.
	for _, c := range []struct {
		query string
		in    map[string]any
		want  userError
	}{
		{ppConvertMutation, map[string]any{"accountId": accA, "type": "PREPAID", "reason": "no-op"},
			userError{Code: "INVALID_STATE", Field: []string{"input", "type"}, Message: "the account is already PREPAID"}},
		{ppConvertMutation, map[string]any{"accountId": accA, "type": "POSTPAID", "reason": " "},
			userError{Code: "INVALID_INPUT", Field: []string{"input", "reason"}, Message: "a reason is required"}},
		{ppCreditLimitMutation, map[string]any{"accountId": accA, "creditLimit": "-1"},
			userError{Code: "INVALID_INPUT", Field: []string{"input", "creditLimit"}}},
		{ppCreditLimitMutation, map[string]any{"accountId": "acc_01JUNKJUNKJUNKJUNKJUNKJUNK", "creditLimit": "1"},
			userError{Code: "NOT_FOUND", Field: []string{"input", "accountId"}, Message: "account not found"}},
	} {
		r := b.gql(t, b.admin, c.query, map[string]any{"in": c.in})
		require.Empty(t, r.Errors)
		var d map[string]ppAccountPayload
		r.mustData(t, &d)
		for _, p := range d {
			require.Nil(t, p.Account)
			require.Len(t, p.UserErrors, 1)
			if c.want.Message == "" {
				p.UserErrors[0].Message = ""
			}
			require.Equal(t, c.want, p.UserErrors[0])
		}
	}

	// A prepaid account cannot create postpaid resources.
	p, _ := b.ppMutate(t, b.custB, "createPostpaidResource", map[string]any{"idempotencyKey": "b-1", "plan": "s-general-1x1"})
	require.Equal(t, "INVALID_STATE", p.UserErrors[0].Code)

	r := b.gql(t, b.admin, ppConvertMutation, map[string]any{"in": convert})
	require.Empty(t, r.Errors)
	web, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "a-1", "plan": "s-general-1x1"})
	require.Empty(t, web.UserErrors)
	id := web.Resource.ID
	require.Regexp(t, `^s-general-1x1-[0-9a-z]{6}$`, web.Resource.Name)

	// Read-only members change nothing.
	for _, c := range []struct {
		field string
		in    map[string]any
	}{
		{"createPostpaidResource", map[string]any{"idempotencyKey": "v-1", "plan": "s-general-1x1"}},
		{"resizePostpaidResource", map[string]any{"idempotencyKey": "v-2", "resourceId": id, "plan": "s-general-1x2"}},
		{"deletePostpaidResource", map[string]any{"idempotencyKey": "v-3", "resourceId": id}},
	} {
		_, r := b.ppMutate(t, b.vwA, c.field, c.in)
		require.Equal(t, []string{"FORBIDDEN"}, r.codes(), c.field)
		require.Equal(t, "null", string(r.Data))
	}
	// Customers create on their own account only; operators name the
	// account and may grant a discount.
	p, _ = b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "a-b", "plan": "s-general-1x1", "accountId": string(b.accB.ID)})
	require.Equal(t, []userError{{Code: "NOT_FOUND", Field: []string{"input", "accountId"}, Message: "account not found"}}, p.UserErrors)
	p, _ = b.ppMutate(t, b.admin, "createPostpaidResource", map[string]any{"idempotencyKey": "op-0", "plan": "monitor-basic"})
	require.Equal(t, []userError{{Code: "INVALID_INPUT", Field: []string{"input", "accountId"}, Message: "choose the account"}}, p.UserErrors)
	p, _ = b.ppMutate(t, b.admin, "createPostpaidResource", map[string]any{"idempotencyKey": "op-1", "plan": "monitor-basic", "accountId": accA, "discountPercent": "10"})
	require.Empty(t, p.UserErrors)
	require.Equal(t, "POSTPAID", p.Resource.BillingMode)
	// Customers cannot grant themselves a discount.
	_, r = b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "disc", "plan": "s-general-1x1", "discountPercent": "10"})
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())

	// Another account's resource does not exist.
	for _, c := range []struct {
		field string
		in    map[string]any
	}{
		{"resizePostpaidResource", map[string]any{"idempotencyKey": "b-2", "resourceId": id, "plan": "s-general-1x2"}},
		{"deletePostpaidResource", map[string]any{"idempotencyKey": "b-3", "resourceId": id}},
	} {
		p, r := b.ppMutate(t, b.custB, c.field, c.in)
		require.Empty(t, r.Errors)
		require.Nil(t, p.Resource)
		require.Equal(t, []userError{{Code: "NOT_FOUND", Field: []string{"input", "resourceId"}, Message: "resource not found"}}, p.UserErrors, c.field)
	}
	// A plan of another product is refused on resize.
	p, _ = b.ppMutate(t, b.custA, "resizePostpaidResource", map[string]any{"idempotencyKey": "a-2", "resourceId": id, "plan": "monitor-basic"})
	require.Equal(t, []userError{{Code: "INVALID_INPUT", Field: []string{"input", "plan"}, Message: "a resource can only be resized within its product"}}, p.UserErrors)

	// The prepaid actions refuse a postpaid resource with a typed error.
	vars := map[string]any{"id": id}
	for _, c := range []struct {
		name, query string
		field       []string
	}{
		{"renewResources", `mutation($id: ID!) { out: renewResources(input: {idempotencyKey: "r-1", resourceIds: [$id], months: 1, paymentMethod: CREDIT}) { userErrors { code field message } } }`, []string{"input", "resourceIds", "0"}},
		{"setAutoRenew on", `mutation($id: ID!) { out: setAutoRenew(input: {resourceId: $id, enabled: true}) { userErrors { code field message } } }`, []string{"input", "resourceId"}},
		{"setAutoRenew off", `mutation($id: ID!) { out: setAutoRenew(input: {resourceId: $id, enabled: false}) { userErrors { code field message } } }`, []string{"input", "resourceId"}},
		{"recoverResource", `mutation($id: ID!) { out: recoverResource(input: {idempotencyKey: "r-2", resourceId: $id, months: 1, paymentMethod: CREDIT}) { userErrors { code field message } } }`, []string{"input", "resourceId"}},
		{"resizeResource", `mutation($id: ID!) { out: resizeResource(input: {idempotencyKey: "r-3", resourceId: $id, plan: "s-general-1x2", paymentMethod: CREDIT}) { userErrors { code field message } } }`, []string{"input", "resourceId"}},
		{"deleteResource", `mutation($id: ID!) { out: deleteResource(input: {idempotencyKey: "r-4", resourceId: $id}) { userErrors { code field message } } }`, []string{"input", "resourceId"}},
	} {
		r := b.gql(t, b.custA, c.query, vars)
		require.Empty(t, r.Errors, c.name)
		var d struct {
			Out struct{ UserErrors []userError }
		}
		r.mustData(t, &d)
		require.Len(t, d.Out.UserErrors, 1, c.name)
		require.Equal(t, "INVALID_STATE", d.Out.UserErrors[0].Code, c.name)
		require.Equal(t, c.field, d.Out.UserErrors[0].Field, c.name)
		require.Contains(t, d.Out.UserErrors[0].Message, "is billed postpaid", c.name)
	}
	// Nothing changed.
	var node struct {
		Node struct {
			State     string
			AutoRenew bool
		}
	}
	b.gql(t, b.custA, `query($id: ID!) { node(id: $id) { ... on Resource { state autoRenew } } }`, vars).mustData(t, &node)
	require.Equal(t, "ACTIVE", node.Node.State)
	require.False(t, node.Node.AutoRenew)

	// Prepaid accounts owe nothing; operators read any account's debt.
	require.Equal(t, ppDebtView{Type: "PREPAID", CreditLimit: "0", Unpaid: "0", Overdue: "0", Running: "0", Committed: "0", Headroom: "0", AvailableCredit: "0"},
		b.ppDebt(t, b.custB))
	var adm struct {
		Node struct{ Debt struct{ Committed string } }
	}
	b.gql(t, b.admin, `query($id: ID!) { node(id: $id) { ... on Account { debt { committed } } } }`, map[string]any{"id": accA}).mustData(t, &adm)
	// s-general-1x1 336,600 + monitor-basic at 10% off (99,000 + VAT 9,900).
	require.Equal(t, "445500", adm.Node.Debt.Committed)

	// Malformed ids and ids of other types are not invoices.
	for _, bad := range []string{"garbage", id, "inv_01JUNKJUNKJUNKJUNKJUNKJUNK"} {
		_, r := b.ppInvoiceOf(t, b.custA, bad)
		require.Equal(t, []string{"NOT_FOUND"}, r.codes(), bad)
	}

	// Partial amounts are for credit only.
	pay, _ := b.ppPay(t, b.custA, map[string]any{"idempotencyKey": "g-1", "invoiceIds": []string{"inv_01JUNKJUNKJUNKJUNKJUNKJUNK"}, "paymentMethod": "GATEWAY", "amount": "1"})
	require.Equal(t, []userError{{Code: "INVALID_INPUT", Field: []string{"input", "amount"}, Message: "a partial amount can only be paid from credit"}}, pay.UserErrors)
	require.NotNil(t, pay.Invoices)
	require.Empty(t, pay.Invoices)
}

// TestPostpaidInvoiceGateway pays a MONTHLY invoice through the sandbox
// gateway: the payment waits for the customer (redirect), the invoice
// changes only when the gateway confirms, and TOP_UP_AND_PAY holds the
// credit first.
func TestPostpaidInvoiceGateway(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		method, credit, gatewayAmount, wire string
	}{
		// mon-1 (monitor-basic, 5 hosts) ran Oct 10 10:00 → Nov 1 00:00 local: 79,139 + VAT 7,914 = 87,053.
		{"GATEWAY", "0", "87053", "8705300"},
		{"TOP_UP_AND_PAY", "50000", "37053", "3705300"},
	} {
		t.Run(c.method, func(t *testing.T) {
			t.Parallel()
			b, clock := setupPostpaid(t)
			r := b.gql(t, b.admin, ppConvertMutation, map[string]any{"in": map[string]any{
				"accountId": string(b.accA.ID), "type": "POSTPAID", "reason": "contract", "creditLimit": "500000"}})
			require.Empty(t, r.Errors)
			mon, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "mon-1", "plan": "monitor-basic", "name": "mon-1"})
			require.Empty(t, mon.UserErrors)
			clock.Advance(ppAt("2026-10-31T17:00:00Z").Sub(clock.Now()))
			_, err := b.app.Postpaid.RunMonthEnd(context.Background(), clock.Now())
			require.NoError(t, err)
			var list struct {
				Invoices struct {
					Edges []struct{ Node struct{ ID, Total string } }
				}
			}
			b.gql(t, b.custA, `{ invoices(where: {action: MONTHLY}) { edges { node { id total } } } }`, nil).mustData(t, &list)
			require.Len(t, list.Invoices.Edges, 1)
			inv := list.Invoices.Edges[0].Node
			require.Equal(t, "87053", inv.Total)
			if c.credit != "0" {
				b.fund(t, b.accA.ID, c.credit)
			}

			in := map[string]any{"idempotencyKey": "gw-1", "invoiceIds": []string{inv.ID}, "paymentMethod": c.method,
				"returnUrl": "https://app.example/invoices/done"}
			pay, r := b.ppPay(t, b.custA, in)
			require.Empty(t, r.Errors)
			require.Empty(t, pay.UserErrors)
			require.Equal(t, "REQUIRES_ACTION", pay.Payment.Status)
			require.Equal(t, "INVOICE", pay.Payment.Purpose)
			require.Equal(t, []string{"87053", c.credit, c.gatewayAmount}, []string{pay.Payment.Amount, pay.Payment.CreditAmount, pay.Payment.GatewayAmount})
			require.Equal(t, []ppInvoiceState{{ID: inv.ID, Status: "UNPAID", Total: "87053", AmountPaid: "0", Outstanding: "87053"}},
				[]ppInvoiceState{{ID: pay.Invoices[0].ID, Status: pay.Invoices[0].Status, Total: pay.Invoices[0].Total,
					AmountPaid: pay.Invoices[0].AmountPaid, Outstanding: pay.Invoices[0].Outstanding}})
			q := b.redirectQuery(t, pay.RedirectURL, "paymentv2/vpcpay.html")
			require.Equal(t, c.wire, q.Get("vnp_Amount"))
			require.Equal(t, "https://app.example/invoices/done", q.Get("vnp_ReturnUrl"))
			// A replay returns the same payment and redirect.
			again, _ := b.ppPay(t, b.custA, in)
			require.True(t, again.Replayed)
			require.Equal(t, pay.Payment.ID, again.Payment.ID)
			require.Equal(t, *pay.RedirectURL, *again.RedirectURL)
			if c.credit != "0" {
				require.Equal(t, walletView{Balance: c.credit, Held: c.credit, Available: "0"}, b.wallet(t, b.custA))
			}

			// The customer watches the payment live, opens the gateway page
			// and approves.
			ws := b.dialWS(t, b.custA)
			ws.subscribe("1", paymentSub, map[string]any{"id": pay.Payment.ID})
			first := nextPayment(t, ws, "1", pay.Payment.ID)
			require.Equal(t, "REQUIRES_ACTION", first.Status)
			require.Equal(t, *pay.RedirectURL, str(first.RedirectURL))
			openPage(t, *pay.RedirectURL)
			require.NoError(t, b.app.Sandbox.Approve(q.Get("vnp_TxnRef")))
			last := nextAfterRedirect(t, ws, "1", pay.Payment.ID)
			require.Equal(t, paymentStep{Status: "SUCCEEDED", Final: true}, last)
			requireComplete(t, ws, "1")
			got, _ := b.ppInvoiceOf(t, b.custA, inv.ID)
			require.Equal(t, "PAID", got.Status)
			require.Equal(t, "87053", got.AmountPaid)
			require.Equal(t, "0", got.Outstanding)
			require.Equal(t, walletView{Balance: "0", Held: "0", Available: "0"}, b.wallet(t, b.custA))
			require.Equal(t, "0", b.ppDebt(t, b.custA).Unpaid)
		})
	}
	t.Run("LINKED_ACCOUNT", func(t *testing.T) {
		t.Parallel()
		b, clock := setupPostpaid(t)
		r := b.gql(t, b.admin, ppConvertMutation, map[string]any{"in": map[string]any{
			"accountId": string(b.accA.ID), "type": "POSTPAID", "reason": "contract", "creditLimit": "500000"}})
		require.Empty(t, r.Errors)
		mon, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "mon-1", "plan": "monitor-basic"})
		require.Empty(t, mon.UserErrors)
		clock.Advance(ppAt("2026-10-31T17:00:00Z").Sub(clock.Now()))
		_, err := b.app.Postpaid.RunMonthEnd(context.Background(), clock.Now())
		require.NoError(t, err)
		var list struct {
			Invoices struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		b.gql(t, b.custA, `{ invoices(where: {action: MONTHLY}) { edges { node { id } } } }`, nil).mustData(t, &list)
		require.Len(t, list.Invoices.Edges, 1)
		inv := list.Invoices.Edges[0].Node.ID
		card := b.linkAccount(t, sandbox.CardSuccess)
		// Charged without a redirect: the invoice is paid in the answer.
		pay, r := b.ppPay(t, b.custA, map[string]any{"idempotencyKey": "la-1", "invoiceIds": []string{inv},
			"paymentMethod": "LINKED_ACCOUNT", "linkedAccountId": card})
		require.Empty(t, r.Errors)
		require.Empty(t, pay.UserErrors)
		require.Nil(t, pay.RedirectURL)
		require.Equal(t, []string{"SUCCEEDED", "LINKED_ACCOUNT", "87053", "0", "87053"},
			[]string{pay.Payment.Status, pay.Payment.Method, pay.Payment.Amount, pay.Payment.CreditAmount, pay.Payment.GatewayAmount})
		require.Len(t, pay.Invoices, 1)
		require.Equal(t, []string{inv, "PAID", "87053", "0"},
			[]string{pay.Invoices[0].ID, pay.Invoices[0].Status, pay.Invoices[0].AmountPaid, pay.Invoices[0].Outstanding})
	})
}

// TestPostpaidStopStart: stopping and starting a postpaid resource has no
// billing effect — the usage interval runs on, one line for the whole
// time, stopped or not.
func TestPostpaidStopStart(t *testing.T) {
	t.Parallel()
	b, clock := setupPostpaid(t)
	r := b.gql(t, b.admin, ppConvertMutation, map[string]any{"in": map[string]any{
		"accountId": string(b.accA.ID), "type": "POSTPAID", "reason": "contract", "creditLimit": "1000000"}})
	require.Empty(t, r.Errors)
	web, _ := b.ppMutate(t, b.custA, "createPostpaidResource", map[string]any{"idempotencyKey": "ss-1", "plan": "s-general-1x1", "name": "web"})
	require.NotNil(t, web.Resource)
	require.Empty(t, web.UserErrors)
	vars := map[string]any{"id": web.Resource.ID}
	for _, step := range []struct{ m, state string }{{"stopResource", "STOPPED"}, {"startResource", "ACTIVE"}} {
		clock.Advance(time.Hour)
		r := b.gql(t, b.custA, `mutation($id: ID!) { `+step.m+`(input: {resourceId: $id}) { resource { state } userErrors { code } } }`, vars)
		require.Empty(t, r.Errors)
		require.Contains(t, string(r.Data), `"state":"`+step.state+`"`)
	}
	clock.Advance(time.Hour)
	charges := b.ppRunning(t, b.custA)
	require.Len(t, charges, 1)
	require.Len(t, charges[0].Lines, 1, "one usage interval across stop and start")
	require.Equal(t, int64(180), charges[0].Lines[0].Minutes)
	require.True(t, charges[0].Lines[0].PeriodStart.Equal(ppStart), "%s", charges[0].Lines[0].PeriodStart)
}
