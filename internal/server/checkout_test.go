package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent/linkedaccount"
	"billing/internal/app"
	"billing/internal/auth"
	"billing/internal/gateway/sandbox"
	"billing/internal/gateway/vnpay"
	"billing/internal/provision"
	"billing/internal/pulid"
)

// End-to-end prepaid checkout over GraphQL (SPEC §4), on the engine the
// suite runs against. Amounts come from the seeded catalog (prepaid, VAT
// 10% included, per 30 days): s-general-1x1 flavor 181,000, root disk
// 3,500 per GB, public IP 55,000; s-general-2x4 flavor 520,000.
//
// The order most tests buy: s-general-1x1 with a 20 GB disk and one IP,
// for 3 months, one line per component, each rounded once:
//
//	flavor        181,000 × 1  × 3 = 543,000
//	root_disk_gb    3,500 × 20 × 3 = 210,000
//	public_ip      55,000 × 1  × 3 = 165,000
//	resource                         918,000  VAT inside: round(918,000 × 10/110) = 83,455
//	two resources                  1,836,000
const (
	perServer3m = "918000"
	twoServers  = "1836000"
)

// serverItem is the checkout item above, count resources.
func serverItem(count int) map[string]any {
	return map[string]any{
		"plan": "s-general-1x1", "count": count, "months": 3,
		"quantities": []map[string]any{{"code": "root_disk_gb", "quantity": 20}, {"code": "public_ip", "quantity": 1}},
	}
}

// millionItem costs exactly 1,000,000 VND: s-general-2x4 for one month with
// a 90 GB disk and three IPs: 520,000 + 90 × 3,500 (315,000) + 3 × 55,000
// (165,000) = 1,000,000.
func millionItem() map[string]any {
	return map[string]any{
		"plan": "s-general-2x4", "count": 1, "months": 1,
		"quantities": []map[string]any{{"code": "root_disk_gb", "quantity": 90}, {"code": "public_ip", "quantity": 3}},
	}
}

type userError struct {
	Code    string
	Field   []string
	Message string
}

type resourceView struct {
	ID, Name, State         string
	PeriodStart, PeriodEnd  *time.Time
	PeriodMonths            int
	PeriodPaid, PeriodPrice string
	ExternalRef             *string
}

type itemView struct {
	ID, Status, Amount, Discount, Total string
	FailureReason                       *string
	Resource                            *resourceView
}

type orderView struct {
	ID, Status, Subtotal, Discount, Total string
	CouponCode                            *string
	Items                                 []itemView
}

type invoiceLineView struct {
	Position                                    int
	Description, UnitPrice, Amount, CouponShare string
	Quantity, DurationMinutes                   int
}

type invoiceView struct {
	ID, Code, Status, Action, Subtotal, Vat, Discount, Total, AmountPaid string
	ResourceID, OrderID                                                  *string
	PeriodStart, PeriodEnd                                               time.Time
	Lines                                                                []invoiceLineView
}

type paymentView struct {
	ID, Status, Method, Purpose                         string
	Amount, CreditAmount, GatewayAmount, RefundedAmount string
	RedirectURL, FailureReason, OrderID, HoldID         *string
	Invoices                                            []invoiceView
}

const (
	resourceFields = `id name state periodStart periodEnd periodMonths periodPaid periodPrice externalRef`
	orderFields    = `id status subtotal discount total couponCode
		items { id status amount discount total failureReason resource { ` + resourceFields + ` } }`
	invoiceFields = `id code status action subtotal vat discount total amountPaid resourceID orderID periodStart periodEnd
		lines { position description unitPrice quantity durationMinutes couponShare amount }`
	paymentFields = `id status method purpose amount creditAmount gatewayAmount refundedAmount redirectURL failureReason orderID holdID
		invoices { ` + invoiceFields + ` }`
)

const placeOrderMutation = `mutation Place($in: PlaceOrderInput!) { placeOrder(input: $in) {
	order { ` + orderFields + ` }
	payment { ` + paymentFields + ` }
	redirectUrl replayed
	userErrors { code field message } } }`

type placeOrderResult struct {
	Order       *orderView
	Payment     *paymentView
	RedirectURL *string
	Replayed    bool
	UserErrors  []userError
}

// placeOrder places an order as token; the input gets an idempotency key
// of its own unless it names one.
func (i *instance) placeOrder(t *testing.T, token string, in map[string]any) placeOrderResult {
	t.Helper()
	if _, ok := in["idempotencyKey"]; !ok {
		in["idempotencyKey"] = "order-" + string(pulid.New("key"))
	}
	r := i.gql(t, token, placeOrderMutation, map[string]any{"in": in})
	var d struct{ PlaceOrder placeOrderResult }
	r.mustData(t, &d)
	return d.PlaceOrder
}

// placed places an order that must be accepted.
func (i *instance) placed(t *testing.T, token string, in map[string]any) placeOrderResult {
	t.Helper()
	res := i.placeOrder(t, token, in)
	require.Empty(t, res.UserErrors)
	require.NotNil(t, res.Order)
	require.NotNil(t, res.Payment)
	return res
}

// fund gives the account credit through adjustCredit.
func (b *bundle) fund(t *testing.T, accountID pulid.ID, amount string) {
	t.Helper()
	res, r := b.adjust(t, b.admin, map[string]any{
		"idempotencyKey": "fund-" + string(pulid.New("key")), "accountId": string(accountID), "amount": amount, "reason": "test credit"})
	require.Empty(t, r.Errors)
	require.Empty(t, res.AdjustCredit.UserErrors)
}

type walletView struct{ Balance, Held, Available string }

// wallet is the caller's wallet as the caller sees it.
func (i *instance) wallet(t *testing.T, token string) walletView {
	t.Helper()
	var d struct {
		Viewer struct{ Account struct{ Wallet walletView } }
	}
	i.gql(t, token, `{ viewer { account { wallet { balance held available } } } }`, nil).mustData(t, &d)
	return d.Viewer.Account.Wallet
}

type entryView struct {
	Kind, LedgerKind, Amount string
	BalanceAfter, HeldAfter  *string
	Reference                *string
}

// creditHistory is the caller's credit history, newest first.
func (i *instance) creditHistory(t *testing.T, token string) []entryView {
	t.Helper()
	var d struct {
		Viewer struct {
			Account struct {
				CreditHistory struct {
					TotalCount int
					Edges      []struct{ Node entryView }
				}
			}
		}
	}
	i.gql(t, token, `{ viewer { account { creditHistory(first: 100) { totalCount
		edges { node { kind ledgerKind amount balanceAfter heldAfter reference } } } } } }`, nil).mustData(t, &d)
	h := d.Viewer.Account.CreditHistory
	require.Len(t, h.Edges, h.TotalCount)
	out := make([]entryView, len(h.Edges))
	for k, e := range h.Edges {
		out[k] = e.Node
	}
	return out
}

// str reads an optional string: ent's optional (non-nillable) fields
// come back as "" rather than null when unset.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// entriesOf returns the entries of one kind.
func entriesOf(h []entryView, kind string) []entryView {
	var out []entryView
	for _, e := range h {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// payment reads a payment through node(id) as token.
func (i *instance) payment(t *testing.T, token string, id string) paymentView {
	t.Helper()
	var d struct{ Node paymentView }
	i.gql(t, token, `query($id: ID!) { node(id: $id) { ... on Payment { `+paymentFields+` } } }`,
		map[string]any{"id": id}).mustData(t, &d)
	return d.Node
}

// order reads an order through node(id) as token.
func (i *instance) order(t *testing.T, token string, id string) orderView {
	t.Helper()
	var d struct{ Node orderView }
	i.gql(t, token, `query($id: ID!) { node(id: $id) { ... on Order { `+orderFields+` } } }`,
		map[string]any{"id": id}).mustData(t, &d)
	return d.Node
}

// counts returns the totalCount of the caller's orders, payments,
// invoices and resources.
func (i *instance) counts(t *testing.T, token string) map[string]int {
	t.Helper()
	var d map[string]struct{ TotalCount int }
	i.gql(t, token, `{ orders { totalCount } payments { totalCount } invoices { totalCount } resources { totalCount } }`, nil).mustData(t, &d)
	out := map[string]int{}
	for k, v := range d {
		out[k] = v.TotalCount
	}
	return out
}

// openPage is the customer's browser opening a gateway page: it must
// answer 200. It returns the page.
func openPage(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

// redirectQuery checks that a gateway redirect points at the instance's
// sandbox and returns its query.
func (i *instance) redirectQuery(t *testing.T, redirect *string, page string) url.Values {
	t.Helper()
	require.NotNil(t, redirect)
	require.True(t, strings.HasPrefix(*redirect, i.srv.URL+"/sandbox/"+page), *redirect)
	u, err := url.Parse(*redirect)
	require.NoError(t, err)
	return u.Query()
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 20*time.Millisecond, msg)
}

// awaitPayment waits until the payment (read as token) has the status.
func (i *instance) awaitPayment(t *testing.T, token, id, status string) paymentView {
	t.Helper()
	var p paymentView
	eventually(t, func() bool {
		p = i.payment(t, token, id)
		return p.Status == status
	}, "payment "+id+" never became "+status)
	return p
}

// awaitOrder waits until the order (read as token) has the status.
func (i *instance) awaitOrder(t *testing.T, token, id, status string) orderView {
	t.Helper()
	var o orderView
	eventually(t, func() bool {
		o = i.order(t, token, id)
		return o.Status == status
	}, "order "+id+" never became "+status)
	return o
}

// ipn sends a gateway callback to the instance's IPN endpoint as the
// gateway would (GET with the signed query) and returns its RspCode.
func (i *instance) ipn(t *testing.T, query string) string {
	t.Helper()
	resp, err := http.Get(i.srv.URL + "/gateway/vnpay/ipn?" + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct{ RspCode, Message string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.RspCode
}

// successIPN is the query of a successful payment IPN for txnRef and a
// wire amount (VND × 100), signed with secret.
func successIPN(secret, txnRef, wireAmount string) string {
	p := url.Values{
		"vnp_TmnCode": {"BILLSBX1"}, "vnp_TxnRef": {txnRef}, "vnp_Amount": {wireAmount},
		"vnp_ResponseCode": {"00"}, "vnp_TransactionStatus": {"00"}, "vnp_TransactionNo": {"99999999"},
		"vnp_BankCode": {"NCB"}, "vnp_CardType": {"ATM"}, "vnp_OrderInfo": {"forged"},
		"vnp_PayDate": {vnpay.FormatTime(time.Now(), vnpay.GMT7)},
	}
	return vnpay.SignedQuery(secret, p, vnpay.HashField)
}

func TestCheckoutQuote(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const quoteQuery = `query Q($in: QuoteInput!) { quote(input: $in) {
		quote { subtotal discount total vat couponCode
			resources { item index productCode planCode months amount couponShare total vat preTax
				lines { code description unitPrice quantity months durationMinutes amount } } }
		userErrors { code field message } } }`
	type line struct {
		Code, Description, UnitPrice, Amount string
		Quantity, Months, DurationMinutes    int
	}
	type resourceQuote struct {
		Item, Index                             int
		ProductCode, PlanCode                   string
		Months                                  int
		Amount, CouponShare, Total, Vat, PreTax string
		Lines                                   []line
	}
	type quoteResult struct {
		Quote *struct {
			Subtotal, Discount, Total, Vat string
			CouponCode                     *string
			Resources                      []resourceQuote
		}
		UserErrors []userError
	}
	quote := func(t *testing.T, token string, in map[string]any) quoteResult {
		t.Helper()
		var d struct{ Quote quoteResult }
		b.gql(t, token, quoteQuery, map[string]any{"in": in}).mustData(t, &d)
		return d.Quote
	}
	lines := []line{
		{Code: "flavor", Description: "s-general-1x1 (1 vCPU, 1 GB RAM)", UnitPrice: "181000", Quantity: 1, Months: 3, DurationMinutes: 129600, Amount: "543000"},
		{Code: "root_disk_gb", Description: "Root disk SSD", UnitPrice: "3500", Quantity: 20, Months: 3, DurationMinutes: 129600, Amount: "210000"},
		{Code: "public_ip", Description: "Public IPv4", UnitPrice: "55000", Quantity: 1, Months: 3, DurationMinutes: 129600, Amount: "165000"},
	}
	resource := func(index int, share, total, vat, preTax string) resourceQuote {
		return resourceQuote{Item: 0, Index: index, ProductCode: "vserver", PlanCode: "s-general-1x1", Months: 3,
			Amount: perServer3m, CouponShare: share, Total: total, Vat: vat, PreTax: preTax, Lines: lines}
	}

	t.Run("no coupon", func(t *testing.T) {
		// Read-only members may quote too.
		for _, token := range []string{b.custA, b.vwA} {
			q := quote(t, token, map[string]any{"items": []any{serverItem(2)}})
			require.Empty(t, q.UserErrors)
			require.Equal(t, twoServers, q.Quote.Subtotal)
			require.Equal(t, "0", q.Quote.Discount)
			require.Equal(t, twoServers, q.Quote.Total)
			require.Equal(t, "166910", q.Quote.Vat, "2 × 83,455")
			require.Nil(t, q.Quote.CouponCode)
			require.Equal(t, []resourceQuote{
				resource(0, "0", perServer3m, "83455", "834545"),
				resource(1, "0", perServer3m, "83455", "834545"),
			}, q.Quote.Resources)
		}
	})

	// Coupons are created by the operator through createCoupon.
	create := func(t *testing.T, in map[string]any) {
		t.Helper()
		var d struct {
			CreateCoupon struct{ UserErrors []userError }
		}
		b.gql(t, b.admin, `mutation($in: CreateCouponInput!) { createCoupon(input: $in) { userErrors { code field message } } }`,
			map[string]any{"in": in}).mustData(t, &d)
		require.Empty(t, d.CreateCoupon.UserErrors)
	}
	now := time.Now().UTC()
	create(t, map[string]any{"code": "SPLIT100001", "kind": "FIXED", "amount": "100001", "productCodes": []string{"vserver"}})
	create(t, map[string]any{"code": "OLD50K", "kind": "FIXED", "amount": "50000",
		"validFrom": now.Add(-48 * time.Hour).Format(time.RFC3339), "validUntil": now.Add(-24 * time.Hour).Format(time.RFC3339)})
	create(t, map[string]any{"code": "BIGSPENDER", "kind": "FIXED", "amount": "50000", "minOrderAmount": "5000000"})

	t.Run("fixed coupon split", func(t *testing.T) {
		// 100,001 over two equal resources: 50,000.5 each; the odd dong
		// goes to the earlier resource (largest remainder, ties first).
		//   resource 0: 918,000 − 50,001 = 867,999, VAT round(867,999/11) = 78,909
		//   resource 1: 918,000 − 50,000 = 868,000, VAT round(868,000/11) = 78,909
		q := quote(t, b.custA, map[string]any{"items": []any{serverItem(2)}, "couponCode": " split100001 "})
		require.Empty(t, q.UserErrors)
		require.Equal(t, twoServers, q.Quote.Subtotal)
		require.Equal(t, "100001", q.Quote.Discount)
		require.Equal(t, "1735999", q.Quote.Total)
		require.Equal(t, "157818", q.Quote.Vat)
		require.Equal(t, "SPLIT100001", *q.Quote.CouponCode)
		require.Equal(t, []resourceQuote{
			resource(0, "50001", "867999", "78909", "789090"),
			resource(1, "50000", "868000", "78909", "789091"),
		}, q.Quote.Resources)
	})

	t.Run("errors", func(t *testing.T) {
		withQuantities := func(q ...map[string]any) map[string]any {
			it := serverItem(1)
			it["quantities"] = q
			return it
		}
		item0 := func(field ...string) []string { return append([]string{"input", "items", "0"}, field...) }
		cases := []struct {
			name    string
			in      map[string]any
			code    string
			field   []string
			message string
		}{
			{"unknown plan", map[string]any{"items": []any{map[string]any{"plan": "s-general-99x99", "months": 1}}},
				"NOT_FOUND", item0("plan"), ""},
			{"months not allowed", map[string]any{"items": []any{map[string]any{"plan": "s-general-1x1", "months": 2}}},
				"INVALID_INPUT", item0("months"), ""},
			{"disk below range", map[string]any{"items": []any{withQuantities(map[string]any{"code": "root_disk_gb", "quantity": 10})}},
				"INVALID_INPUT", item0("quantities", "root_disk_gb"), ""},
			{"disk above range", map[string]any{"items": []any{withQuantities(map[string]any{"code": "root_disk_gb", "quantity": 2010})}},
				"INVALID_INPUT", item0("quantities", "root_disk_gb"), ""},
			{"disk off step", map[string]any{"items": []any{withQuantities(map[string]any{"code": "root_disk_gb", "quantity": 25})}},
				"INVALID_INPUT", item0("quantities", "root_disk_gb"), ""},
			{"too many IPs", map[string]any{"items": []any{withQuantities(map[string]any{"code": "public_ip", "quantity": 5})}},
				"INVALID_INPUT", item0("quantities", "public_ip"), ""},
			{"unknown component", map[string]any{"items": []any{withQuantities(map[string]any{"code": "gpu", "quantity": 1})}},
				"INVALID_INPUT", item0("quantities", "gpu"), ""},
			{"count zero", map[string]any{"items": []any{map[string]any{"plan": "s-general-1x1", "months": 1, "count": 0}}},
				"INVALID_INPUT", item0("count"), ""},
			{"unknown coupon", map[string]any{"items": []any{serverItem(1)}, "couponCode": "NOPE"},
				"COUPON_INVALID", []string{"input", "couponCode"}, "does not exist"},
			{"expired coupon", map[string]any{"items": []any{serverItem(1)}, "couponCode": "OLD50K"},
				"COUPON_INVALID", []string{"input", "couponCode"}, "expired"},
			{"below minimum", map[string]any{"items": []any{serverItem(2)}, "couponCode": "BIGSPENDER"},
				"COUPON_INVALID", []string{"input", "couponCode"}, "at least"},
		}
		for _, c := range cases {
			q := quote(t, b.custA, c.in)
			require.Nil(t, q.Quote, c.name)
			require.Len(t, q.UserErrors, 1, c.name)
			require.Equal(t, c.code, q.UserErrors[0].Code, c.name)
			require.Equal(t, c.field, q.UserErrors[0].Field, c.name)
			require.Contains(t, q.UserErrors[0].Message, c.message, c.name)
		}
	})

	// Quoting reserves nothing.
	var d struct {
		Coupons struct {
			Edges []struct {
				Node struct {
					Code  string
					Usage struct{ Reserved, Consumed, Released int }
				}
			}
		}
	}
	b.gql(t, b.admin, `{ coupons(where: {code: "SPLIT100001"}) { edges { node { code usage { reserved consumed released } } } } }`, nil).mustData(t, &d)
	require.Len(t, d.Coupons.Edges, 1)
	require.Equal(t, struct{ Reserved, Consumed, Released int }{}, d.Coupons.Edges[0].Node.Usage)
	require.Equal(t, map[string]int{"orders": 0, "payments": 0, "invoices": 0, "resources": 0}, b.counts(t, b.custA))
}

func TestCheckoutCredit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fund(t, pulid.ID(b.accA.ID), "2000000")
	in := func(key string, count int) map[string]any {
		return map[string]any{"idempotencyKey": key, "items": []any{serverItem(count)}, "paymentMethod": "CREDIT"}
	}
	before := time.Now()
	res := b.placed(t, b.custA, in("buy-1", 2))
	after := time.Now()
	require.False(t, res.Replayed)
	require.Nil(t, res.RedirectURL)

	// The payment: all from credit, paid at once.
	p := res.Payment
	require.Equal(t, "SUCCEEDED", p.Status)
	require.Equal(t, "CREDIT", p.Method)
	require.Equal(t, "ORDER", p.Purpose)
	require.Equal(t, []string{twoServers, twoServers, "0", "0"}, []string{p.Amount, p.CreditAmount, p.GatewayAmount, p.RefundedAmount})
	require.Empty(t, str(p.RedirectURL))

	// The order: completed, one item and one ACTIVE resource per server,
	// each for exactly 3 × 30 days from provisioning.
	o := res.Order
	require.Equal(t, "COMPLETED", o.Status)
	require.Equal(t, []string{twoServers, "0", twoServers}, []string{o.Subtotal, o.Discount, o.Total})
	require.Len(t, o.Items, 2)
	resources := map[string]resourceView{}
	for _, it := range o.Items {
		require.Equal(t, []string{"SUCCEEDED", perServer3m, "0", perServer3m}, []string{it.Status, it.Amount, it.Discount, it.Total})
		r := it.Resource
		require.NotNil(t, r)
		require.Equal(t, "ACTIVE", r.State)
		require.Equal(t, 3, r.PeriodMonths)
		require.Equal(t, perServer3m, r.PeriodPaid)
		require.Equal(t, "306000", r.PeriodPrice, "181,000 + 20 × 3,500 + 55,000 per 30 days")
		require.True(t, strings.HasPrefix(r.Name, "s-general-1x1-"), r.Name)
		require.NotNil(t, r.ExternalRef)
		require.WithinRange(t, *r.PeriodStart, before.Add(-time.Second), after.Add(time.Second))
		require.Equal(t, 90*24*time.Hour, r.PeriodEnd.Sub(*r.PeriodStart))
		resources[r.ID] = *r
	}
	require.Len(t, resources, 2)

	// One PAID CREATE invoice per resource, consecutive codes of this
	// month, each exactly its quote: three lines, VAT inside the total.
	require.Len(t, p.Invoices, 2)
	month := p.Invoices[0].Code[:len("INV-200601")]
	require.Regexp(t, `^INV-\d{6}$`, month)
	for k, inv := range p.Invoices {
		require.Equal(t, fmt.Sprintf("%s-%06d", month, k+1), inv.Code)
		require.Equal(t, []string{"PAID", "CREATE"}, []string{inv.Status, inv.Action})
		require.Equal(t, []string{"834545", "83455", "0", perServer3m, perServer3m},
			[]string{inv.Subtotal, inv.Vat, inv.Discount, inv.Total, inv.AmountPaid})
		require.Equal(t, o.ID, *inv.OrderID)
		r, ok := resources[*inv.ResourceID]
		require.True(t, ok, "invoice of an unknown resource")
		require.True(t, r.PeriodStart.Equal(inv.PeriodStart))
		require.True(t, r.PeriodEnd.Equal(inv.PeriodEnd))
		delete(resources, *inv.ResourceID)
		require.Equal(t, []invoiceLineView{
			{Position: 1, Description: "s-general-1x1 (1 vCPU, 1 GB RAM)", UnitPrice: "181000", Quantity: 1, DurationMinutes: 129600, CouponShare: "0", Amount: "543000"},
			{Position: 2, Description: "Root disk SSD", UnitPrice: "3500", Quantity: 20, DurationMinutes: 129600, CouponShare: "0", Amount: "210000"},
			{Position: 3, Description: "Public IPv4", UnitPrice: "55000", Quantity: 1, DurationMinutes: 129600, CouponShare: "0", Amount: "165000"},
		}, inv.Lines)
	}
	require.Empty(t, resources, "every resource has its invoice")

	// The wallet is debited exactly once, by the order total.
	require.Equal(t, walletView{"164000", "0", "164000"}, b.wallet(t, b.custA))
	h := b.creditHistory(t, b.custA)
	require.Len(t, h, 2)
	require.Equal(t, "PURCHASE", h[0].Kind)
	require.Equal(t, "-"+twoServers, h[0].Amount)
	require.Equal(t, "164000", *h[0].BalanceAfter)
	require.Equal(t, p.ID, *h[0].Reference)
	require.Equal(t, "ADJUSTMENT", h[1].Kind)

	// The payments connection shows the payment with its invoices.
	var pays struct {
		Payments struct {
			TotalCount int
			Edges      []struct{ Node paymentView }
		}
	}
	b.gql(t, b.custA, `{ payments { totalCount edges { node { `+paymentFields+` } } } }`, nil).mustData(t, &pays)
	require.Equal(t, 1, pays.Payments.TotalCount)
	require.Equal(t, *p, pays.Payments.Edges[0].Node)

	// Invoices filtered by status and action, and one invoice's detail.
	var invs struct {
		Invoices struct {
			TotalCount int
			Edges      []struct{ Node invoiceView }
		}
	}
	b.gql(t, b.custA, `{ invoices(where: {status: PAID, action: CREATE}, orderBy: [{field: ISSUED_AT}]) { totalCount edges { node { `+invoiceFields+` } } } }`, nil).mustData(t, &invs)
	require.Equal(t, 2, invs.Invoices.TotalCount)
	for k, e := range invs.Invoices.Edges {
		require.Equal(t, p.Invoices[k], e.Node)
	}
	for _, q := range []string{`{ invoices(where: {status: UNPAID}) { totalCount } }`, `{ invoices(where: {action: RENEW}) { totalCount } }`} {
		require.JSONEq(t, `{"invoices": {"totalCount": 0}}`, string(b.gql(t, b.custA, q, nil).Data), q)
	}
	var detail struct{ Node invoiceView }
	b.gql(t, b.custA, `query($id: ID!) { node(id: $id) { ... on Invoice { `+invoiceFields+` } } }`,
		map[string]any{"id": p.Invoices[1].ID}).mustData(t, &detail)
	require.Equal(t, p.Invoices[1], detail.Node)

	// A replay of the key answers the same order, charges nothing again.
	replay := b.placed(t, b.custA, in("buy-1", 2))
	require.True(t, replay.Replayed)
	require.Equal(t, o.ID, replay.Order.ID)
	require.Equal(t, p.ID, replay.Payment.ID)
	require.Equal(t, "SUCCEEDED", replay.Payment.Status)
	require.Equal(t, walletView{"164000", "0", "164000"}, b.wallet(t, b.custA))

	// The same key with another request is refused.
	reuse := b.placeOrder(t, b.custA, in("buy-1", 1))
	require.Nil(t, reuse.Order)
	require.Len(t, reuse.UserErrors, 1)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", reuse.UserErrors[0].Code)
	require.Equal(t, []string{"input", "idempotencyKey"}, reuse.UserErrors[0].Field)

	// Not enough credit: a typed error, and nothing is written.
	poor := b.placeOrder(t, b.custA, in("buy-2", 1))
	require.Nil(t, poor.Order)
	require.Nil(t, poor.Payment)
	require.Len(t, poor.UserErrors, 1)
	require.Equal(t, "INSUFFICIENT_CREDIT", poor.UserErrors[0].Code)
	require.Equal(t, []string{"input", "paymentMethod"}, poor.UserErrors[0].Field)
	require.Equal(t, map[string]int{"orders": 1, "payments": 1, "invoices": 2, "resources": 2}, b.counts(t, b.custA))
	require.Equal(t, walletView{"164000", "0", "164000"}, b.wallet(t, b.custA))
	require.Len(t, b.creditHistory(t, b.custA), 2)
	// The key was not used up by the refusal: with credit it goes through.
	b.fund(t, pulid.ID(b.accA.ID), "754000")
	retry := b.placed(t, b.custA, in("buy-2", 1))
	require.False(t, retry.Replayed)
	require.Equal(t, "SUCCEEDED", retry.Payment.Status)
	require.Equal(t, walletView{"0", "0", "0"}, b.wallet(t, b.custA))
	require.Equal(t, fmt.Sprintf("%s-%06d", month, 3), retry.Payment.Invoices[0].Code)
}

func TestCheckoutGateway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.placed(t, b.custA, map[string]any{
		"items": []any{serverItem(1)}, "paymentMethod": "GATEWAY", "returnUrl": "https://app.example/checkout/done"})
	p := *res.Payment
	require.Equal(t, "REQUIRES_ACTION", p.Status)
	require.Equal(t, []string{perServer3m, "0", perServer3m}, []string{p.Amount, p.CreditAmount, p.GatewayAmount})
	require.Equal(t, "PENDING", res.Order.Status)
	require.Equal(t, "PENDING", res.Order.Items[0].Resource.State)
	require.Equal(t, *res.RedirectURL, *p.RedirectURL)
	q := b.redirectQuery(t, res.RedirectURL, "paymentv2/vpcpay.html")
	ref := q.Get("vnp_TxnRef")
	require.NotEmpty(t, ref)
	require.Equal(t, "91800000", q.Get("vnp_Amount"), "918,000 VND × 100")
	require.Equal(t, "https://app.example/checkout/done", q.Get("vnp_ReturnUrl"))

	// The customer's browser opens the page: it shows the amount.
	page := openPage(t, *res.RedirectURL)
	require.Contains(t, page, "918,000")
	require.Contains(t, page, ref)
	txn, ok := b.app.Sandbox.Transaction(ref)
	require.True(t, ok)
	require.Equal(t, "01", txn.TransactionStatus, "pending at the gateway")

	// Forged IPNs are refused and change nothing.
	_, secret := app.SandboxCredentials(testSecret)
	require.Equal(t, "04", b.ipn(t, successIPN(secret, ref, "100")), "signed, wrong amount")
	require.Equal(t, "97", b.ipn(t, successIPN("not-the-secret", ref, "91800000")), "bad signature")
	tampered := strings.Replace(successIPN(secret, ref, "91800000"), "vnp_Amount=91800000", "vnp_Amount=100", 1)
	require.Equal(t, "97", b.ipn(t, tampered), "amount altered after signing")
	require.Equal(t, "01", b.ipn(t, successIPN(secret, "NOSUCHREF123", "91800000")), "unknown reference")
	require.Equal(t, "97", b.ipn(t, "vnp_TxnRef="+ref+"&vnp_ResponseCode=00"), "unsigned")
	require.Equal(t, "REQUIRES_ACTION", b.payment(t, b.custA, p.ID).Status)
	require.Equal(t, "PENDING", b.order(t, b.custA, res.Order.ID).Status)
	require.Equal(t, map[string]int{"orders": 1, "payments": 1, "invoices": 0, "resources": 1}, b.counts(t, b.custA))

	// The customer approves; the sandbox's IPN pays the order and the
	// resource is provisioned.
	require.NoError(t, b.app.Sandbox.Approve(ref))
	// The payment succeeds first; provisioning follows in its own
	// transactions, after which the order is complete.
	b.awaitPayment(t, b.custA, p.ID, "SUCCEEDED")
	o := b.awaitOrder(t, b.custA, res.Order.ID, "COMPLETED")
	p = b.payment(t, b.custA, p.ID)
	require.Equal(t, "SUCCEEDED", p.Status)
	require.Empty(t, str(p.RedirectURL))
	require.Len(t, p.Invoices, 1)
	require.Equal(t, []string{"PAID", perServer3m, perServer3m}, []string{p.Invoices[0].Status, p.Invoices[0].Total, p.Invoices[0].AmountPaid})
	require.Equal(t, "ACTIVE", o.Items[0].Resource.State)
	require.Equal(t, 90*24*time.Hour, o.Items[0].Resource.PeriodEnd.Sub(*o.Items[0].Resource.PeriodStart))
	eventually(t, func() bool {
		txn, _ := b.app.Sandbox.Transaction(ref)
		return txn.IPNDelivered
	}, "IPN never acknowledged")
	txn, _ = b.app.Sandbox.Transaction(ref)
	require.Equal(t, "00", txn.IPNLastCode)
	// Gateway money never touches the wallet.
	require.Equal(t, walletView{"0", "0", "0"}, b.wallet(t, b.custA))
	require.Empty(t, b.creditHistory(t, b.custA))
	// A replayed IPN is acknowledged as already confirmed and changes nothing.
	require.NoError(t, b.app.Sandbox.ResendIPN(ref))
	eventually(t, func() bool {
		txn, _ := b.app.Sandbox.Transaction(ref)
		return txn.IPNLastCode == "02"
	}, "resent IPN not answered 02")
	require.Equal(t, p, b.payment(t, b.custA, p.ID))
}

func TestCheckoutGatewayNotPaid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		decide        func(sb *sandbox.Sandbox, ref string) error
		status, order string
		reason        string
	}{
		// The buyer's cancel on the gateway page is VNPAY code 24.
		{"declined", (*sandbox.Sandbox).Decline, "CANCELED", "CANCELED", "canceled"},
		{"insufficient funds", func(sb *sandbox.Sandbox, ref string) error { return sb.PayWithCard(ref, sandbox.CardInsufficientFund) },
			"FAILED", "FAILED", "code 51"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := b.placed(t, b.custA, map[string]any{"items": []any{serverItem(1)}, "paymentMethod": "GATEWAY"})
			require.Equal(t, "REQUIRES_ACTION", res.Payment.Status)
			// Without a return URL the gateway sends the browser to ours.
			q := b.redirectQuery(t, res.RedirectURL, "paymentv2/vpcpay.html")
			require.Equal(t, b.srv.URL+"/payments/return", q.Get("vnp_ReturnUrl"))
			openPage(t, *res.RedirectURL)
			require.NoError(t, c.decide(b.app.Sandbox, q.Get("vnp_TxnRef")))
			p := b.awaitPayment(t, b.custA, res.Payment.ID, c.status)
			require.Contains(t, *p.FailureReason, c.reason)
			require.Empty(t, p.Invoices)
			o := b.order(t, b.custA, res.Order.ID)
			require.Equal(t, c.order, o.Status)
			require.Equal(t, "FAILED", o.Items[0].Status)
			require.Equal(t, "FAILED", o.Items[0].Resource.State, "never provisioned")
			require.Nil(t, o.Items[0].Resource.PeriodStart)
			require.Equal(t, map[string]int{"orders": 1, "payments": 1, "invoices": 0, "resources": 1}, b.counts(t, b.custA))
			require.Equal(t, walletView{"0", "0", "0"}, b.wallet(t, b.custA))
		})
	}
}

func TestCheckoutTopUpAndPay(t *testing.T) {
	t.Parallel()
	for _, approve := range []bool{true, false} {
		t.Run(map[bool]string{true: "approved", false: "declined"}[approve], func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fund(t, pulid.ID(b.accA.ID), "300000")
			res := b.placed(t, b.custA, map[string]any{"items": []any{millionItem()}, "paymentMethod": "TOP_UP_AND_PAY"})
			p := *res.Payment
			require.Equal(t, "1000000", res.Order.Total)
			require.Equal(t, "REQUIRES_ACTION", p.Status)
			require.Equal(t, []string{"1000000", "300000", "700000"}, []string{p.Amount, p.CreditAmount, p.GatewayAmount})
			require.NotEmpty(t, str(p.HoldID))
			// All available credit is held; the rest goes through the gateway.
			require.Equal(t, walletView{"300000", "300000", "0"}, b.wallet(t, b.custA))
			hold := entriesOf(b.creditHistory(t, b.custA), "HOLD")
			require.Len(t, hold, 2, "available → held")
			q := b.redirectQuery(t, res.RedirectURL, "paymentv2/vpcpay.html")
			require.Equal(t, "70000000", q.Get("vnp_Amount"), "700,000 VND × 100")
			require.Contains(t, openPage(t, *res.RedirectURL), "700,000")

			ref := q.Get("vnp_TxnRef")
			if approve {
				require.NoError(t, b.app.Sandbox.Approve(ref))
				b.awaitPayment(t, b.custA, p.ID, "SUCCEEDED")
				b.awaitOrder(t, b.custA, res.Order.ID, "COMPLETED")
				p = b.payment(t, b.custA, p.ID)
				require.Len(t, p.Invoices, 1)
				require.Equal(t, "1000000", p.Invoices[0].Total)
				// The hold is captured: the credit is spent.
				require.Equal(t, walletView{"0", "0", "0"}, b.wallet(t, b.custA))
				h := b.creditHistory(t, b.custA)
				require.Len(t, entriesOf(h, "CAPTURE"), 1)
				require.Equal(t, "-300000", entriesOf(h, "CAPTURE")[0].Amount)
				require.Equal(t, "0", *entriesOf(h, "CAPTURE")[0].BalanceAfter)
				require.Empty(t, entriesOf(h, "RELEASE"))
				return
			}
			require.NoError(t, b.app.Sandbox.Decline(ref))
			p = b.awaitPayment(t, b.custA, p.ID, "CANCELED")
			require.Equal(t, "CANCELED", b.order(t, b.custA, res.Order.ID).Status)
			require.Empty(t, p.Invoices)
			// The hold is released: the credit is available again.
			require.Equal(t, walletView{"300000", "0", "300000"}, b.wallet(t, b.custA))
			h := b.creditHistory(t, b.custA)
			require.Len(t, entriesOf(h, "RELEASE"), 2, "held → available")
			require.Empty(t, entriesOf(h, "CAPTURE"))
		})
	}
}

// linkAccount links a card to account A through startLinkAccount (as
// customer A) and the sandbox's link page, and returns the new linked
// account's id.
func (b *bundle) linkAccount(t *testing.T, card string) string {
	token := b.custA
	t.Helper()
	ctx := auth.SystemContext(context.Background())
	before := b.db.Client.LinkedAccount.Query().Where(linkedaccount.AccountID(b.accA.ID)).CountX(ctx)
	var d struct {
		StartLinkAccount struct {
			RedirectURL *string
			UserErrors  []userError
		}
	}
	b.gql(t, token, `mutation($in: StartLinkAccountInput!) { startLinkAccount(input: $in) { redirectUrl userErrors { code field message } } }`,
		map[string]any{"in": map[string]any{"returnUrl": "https://app.example/linked"}}).mustData(t, &d)
	require.Empty(t, d.StartLinkAccount.UserErrors)
	q := b.redirectQuery(t, d.StartLinkAccount.RedirectURL, "tokenUI/create-token.html")
	require.Equal(t, string(b.accA.ID), q.Get("vnp_app_user_id"))
	openPage(t, *d.StartLinkAccount.RedirectURL)
	require.NoError(t, b.app.Sandbox.LinkWithCard(q.Get("vnp_txn_ref"), card))
	// The link arrives by the link IPN. The API has no list of linked
	// accounts, so the test finds the new one in the database.
	var id pulid.ID
	eventually(t, func() bool {
		ls := b.db.Client.LinkedAccount.Query().Where(linkedaccount.AccountID(b.accA.ID)).
			Order(linkedaccount.ByCreatedAt(), linkedaccount.ByID()).AllX(ctx)
		if len(ls) == before+1 {
			id = ls[len(ls)-1].ID
			return true
		}
		return false
	}, "linked account never stored")
	// The customer sees it, masked, by id.
	var n struct {
		Node struct {
			Label, Gateway string
			Active         bool
		}
	}
	b.gql(t, token, `query($id: ID!) { node(id: $id) { ... on LinkedAccount { label gateway active } } }`,
		map[string]any{"id": string(id)}).mustData(t, &n)
	require.Equal(t, "sandbox", n.Node.Gateway)
	require.True(t, n.Node.Active)
	require.Contains(t, n.Node.Label, "******")
	require.NotContains(t, n.Node.Label, card)
	return string(id)
}

func TestCheckoutLinkedAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := b.linkAccount(t, sandbox.CardSuccess)

	// Paid with the token, no redirect, provisioned before the answer.
	res := b.placed(t, b.custA, map[string]any{"items": []any{serverItem(1)}, "paymentMethod": "LINKED_ACCOUNT", "linkedAccountId": good})
	require.Nil(t, res.RedirectURL)
	p := res.Payment
	require.Equal(t, "SUCCEEDED", p.Status)
	require.Equal(t, []string{perServer3m, "0", perServer3m}, []string{p.Amount, p.CreditAmount, p.GatewayAmount})
	require.Equal(t, "COMPLETED", res.Order.Status)
	require.Equal(t, "ACTIVE", res.Order.Items[0].Resource.State)
	require.Len(t, p.Invoices, 1)
	charges := 0
	for _, txn := range b.app.Sandbox.Transactions() {
		if txn.Kind == sandbox.KindTokenPay {
			charges++
			require.Equal(t, "00", txn.ResponseCode)
		}
	}
	require.Equal(t, 1, charges)

	// A card without funds: the charge fails, nothing is provisioned.
	poor := b.linkAccount(t, sandbox.CardInsufficientFund)
	res = b.placed(t, b.custA, map[string]any{"items": []any{serverItem(1)}, "paymentMethod": "LINKED_ACCOUNT", "linkedAccountId": poor})
	require.Nil(t, res.RedirectURL)
	require.Equal(t, "FAILED", res.Payment.Status)
	require.Contains(t, *res.Payment.FailureReason, "51")
	require.Equal(t, "FAILED", res.Order.Status)
	require.Equal(t, "FAILED", res.Order.Items[0].Resource.State)
	require.Empty(t, res.Payment.Invoices)
	require.Equal(t, map[string]int{"orders": 2, "payments": 2, "invoices": 1, "resources": 2}, b.counts(t, b.custA))
	require.Equal(t, walletView{"0", "0", "0"}, b.wallet(t, b.custA))

	// Another account's linked account cannot be charged.
	other := b.placeOrder(t, b.custB, map[string]any{"items": []any{serverItem(1)}, "paymentMethod": "LINKED_ACCOUNT", "linkedAccountId": good})
	require.Len(t, other.UserErrors, 1)
	require.Equal(t, "NOT_FOUND", other.UserErrors[0].Code)
	require.Equal(t, []string{"input", "linkedAccountId"}, other.UserErrors[0].Field)
}

func TestCheckoutTopUpGateway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t.Run("read-only member", func(t *testing.T) {
		// SPEC §1 would let read-only members top up, but issue #2 (newer)
		// says a viewer cannot run any mutation: refused, nothing written.
		r := b.gql(t, b.vwA, `mutation { topUp(input: {idempotencyKey: "vw", amount: "100000", paymentMethod: GATEWAY}) { replayed } }`, nil)
		require.Equal(t, []string{"FORBIDDEN"}, r.codes())
	})
	var d struct {
		TopUp struct {
			Payment     *paymentView
			RedirectURL *string
			Replayed    bool
			UserErrors  []userError
		}
	}
	b.gql(t, b.custA, `mutation($in: TopUpInput!) { topUp(input: $in) { payment { `+paymentFields+` } redirectUrl replayed userErrors { code field message } } }`,
		map[string]any{"in": map[string]any{"idempotencyKey": "top-1", "amount": "500000", "paymentMethod": "GATEWAY"}}).mustData(t, &d)
	require.Empty(t, d.TopUp.UserErrors)
	p := d.TopUp.Payment
	require.Equal(t, []string{"REQUIRES_ACTION", "TOP_UP", "GATEWAY", "500000"}, []string{p.Status, p.Purpose, p.Method, p.Amount})
	require.Empty(t, str(p.OrderID))
	q := b.redirectQuery(t, d.TopUp.RedirectURL, "paymentv2/vpcpay.html")
	require.Equal(t, "50000000", q.Get("vnp_Amount"))
	require.Contains(t, openPage(t, *d.TopUp.RedirectURL), "500,000")
	// Nothing is credited before the gateway confirms.
	require.Equal(t, walletView{"0", "0", "0"}, b.wallet(t, b.custA))
	require.Empty(t, b.creditHistory(t, b.custA))

	require.NoError(t, b.app.Sandbox.Approve(q.Get("vnp_TxnRef")))
	b.awaitPayment(t, b.custA, p.ID, "SUCCEEDED")
	require.Equal(t, walletView{"500000", "0", "500000"}, b.wallet(t, b.custA))
	h := b.creditHistory(t, b.custA)
	require.Len(t, h, 1)
	require.Equal(t, []string{"DEPOSIT", "500000", "500000", p.ID}, []string{h[0].Kind, h[0].Amount, *h[0].BalanceAfter, *h[0].Reference})
	require.Equal(t, map[string]int{"orders": 0, "payments": 1, "invoices": 0, "resources": 0}, b.counts(t, b.custA))
}

func TestCheckoutProvisioningFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fund(t, pulid.ID(b.accA.ID), "2000000")
	var c struct {
		CreateCoupon struct{ UserErrors []userError }
	}
	b.gql(t, b.admin, `mutation { createCoupon(input: {code: "SPLIT100001", kind: FIXED, amount: "100001"}) { userErrors { code field message } } }`, nil).mustData(t, &c)
	require.Empty(t, c.CreateCoupon.UserErrors)
	// The second resource of the order fails to provision.
	b.app.Simulator.FailWhen(func(r provision.Request) bool { return r.Position == 1 })

	// Total 1,836,000 − 100,001 = 1,735,999; resource 0 pays 867,999,
	// resource 1 pays 868,000 (see TestCheckoutQuote).
	res := b.placed(t, b.custA, map[string]any{"items": []any{serverItem(2)}, "couponCode": "SPLIT100001", "paymentMethod": "CREDIT"})
	o, p := res.Order, res.Payment
	require.Equal(t, "PARTIALLY_FAILED", o.Status)
	require.Equal(t, []string{twoServers, "100001", "1735999"}, []string{o.Subtotal, o.Discount, o.Total})
	require.Equal(t, "PARTIALLY_REFUNDED", p.Status)
	require.Equal(t, []string{"1735999", "1735999", "868000"}, []string{p.Amount, p.CreditAmount, p.RefundedAmount})
	require.Len(t, o.Items, 2)
	ok, failed := o.Items[0], o.Items[1]
	require.Equal(t, []string{"SUCCEEDED", "50001", "867999", "ACTIVE"}, []string{ok.Status, ok.Discount, ok.Total, ok.Resource.State})
	require.Equal(t, []string{"FAILED", "50000", "868000", "FAILED"}, []string{failed.Status, failed.Discount, failed.Total, failed.Resource.State})
	require.Equal(t, "simulated provisioning failure", *failed.FailureReason)
	require.Nil(t, failed.Resource.PeriodStart)

	// One invoice, for the resource that exists, carrying its coupon share.
	require.Len(t, p.Invoices, 1)
	inv := p.Invoices[0]
	require.Equal(t, ok.Resource.ID, *inv.ResourceID)
	require.Equal(t, []string{"PAID", "50001", "867999", "78909", "789090"}, []string{inv.Status, inv.Discount, inv.Total, inv.Vat, inv.Subtotal})
	require.Equal(t, map[string]int{"orders": 1, "payments": 1, "invoices": 1, "resources": 2}, b.counts(t, b.custA))

	// The failed resource's exact total is back on credit:
	// 2,000,000 − 1,735,999 + 868,000 = 1,132,001.
	require.Equal(t, walletView{"1132001", "0", "1132001"}, b.wallet(t, b.custA))
	h := b.creditHistory(t, b.custA)
	refunds := entriesOf(h, "REFUND")
	require.Len(t, refunds, 1)
	require.Equal(t, []string{"868000", "1132001", failed.Resource.ID}, []string{refunds[0].Amount, *refunds[0].BalanceAfter, *refunds[0].Reference})
	require.Equal(t, "-1735999", entriesOf(h, "PURCHASE")[0].Amount)
}

func TestReportProvisioning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fund(t, pulid.ID(b.accA.ID), perServer3m)
	res := b.placed(t, b.custA, map[string]any{"items": []any{serverItem(1)}, "paymentMethod": "CREDIT"})
	r := res.Order.Items[0].Resource
	require.Equal(t, "ACTIVE", r.State, "the simulator already reported")
	service := b.token(t, auth.Viewer{Subject: "vserver", Role: auth.RoleService})

	const report = `mutation($in: ReportProvisioningInput!) { reportProvisioning(input: $in) {
		resource { id state externalRef } userErrors { code field message } } }`
	type result struct {
		ReportProvisioning struct {
			Resource *struct {
				ID, State   string
				ExternalRef *string
			}
			UserErrors []userError
		}
	}
	send := func(token string, in map[string]any) (result, gqlResponse) {
		gr := b.gql(t, token, report, map[string]any{"in": in})
		var out result
		if len(gr.Errors) == 0 {
			require.NoError(t, json.Unmarshal(gr.Data, &out))
		}
		return out, gr
	}

	// Customers and read-only members may not report.
	for _, token := range []string{b.custA, b.vwA, b.custB} {
		_, gr := send(token, map[string]any{"resourceId": r.ID, "succeeded": false, "reason": "sabotage"})
		require.Equal(t, []string{"FORBIDDEN"}, gr.codes())
	}
	// An unknown resource is a typed error, for services and operators.
	for _, token := range []string{service, b.admin} {
		out, gr := send(token, map[string]any{"resourceId": "res_01JDX3Q6V7N2M8K4P5R6S7T8V9", "succeeded": true})
		require.Empty(t, gr.Errors)
		require.Nil(t, out.ReportProvisioning.Resource)
		require.Len(t, out.ReportProvisioning.UserErrors, 1)
		require.Equal(t, "NOT_FOUND", out.ReportProvisioning.UserErrors[0].Code)
		require.Equal(t, []string{"input", "resourceId"}, out.ReportProvisioning.UserErrors[0].Field)
	}
	// The same result again changes nothing; the opposite one is refused.
	out, gr := send(service, map[string]any{"resourceId": r.ID, "succeeded": true, "externalRef": "other-ref"})
	require.Empty(t, gr.Errors)
	require.Empty(t, out.ReportProvisioning.UserErrors)
	require.Equal(t, "ACTIVE", out.ReportProvisioning.Resource.State)
	require.Equal(t, *r.ExternalRef, *out.ReportProvisioning.Resource.ExternalRef)
	out, gr = send(service, map[string]any{"resourceId": r.ID, "succeeded": false, "reason": "too late"})
	require.Empty(t, gr.Errors)
	require.Len(t, out.ReportProvisioning.UserErrors, 1)
	require.Equal(t, "INVALID_STATE", out.ReportProvisioning.UserErrors[0].Code)
	// Bad input is caught before any lookup.
	out, gr = send(service, map[string]any{"resourceId": r.ID, "succeeded": false, "reason": strings.Repeat("x", 501)})
	require.Empty(t, gr.Errors)
	require.Equal(t, "INVALID_INPUT", out.ReportProvisioning.UserErrors[0].Code)
	require.Equal(t, []string{"input", "reason"}, out.ReportProvisioning.UserErrors[0].Field)

	require.Equal(t, walletView{"0", "0", "0"}, b.wallet(t, b.custA))
	require.Equal(t, "COMPLETED", b.order(t, b.custA, res.Order.ID).Status)
}

func TestCheckoutTenancy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fund(t, pulid.ID(b.accA.ID), perServer3m)
	paid := b.placed(t, b.custA, map[string]any{"items": []any{serverItem(1)}, "paymentMethod": "CREDIT"})
	open := b.placed(t, b.custA, map[string]any{"items": []any{serverItem(1)}, "paymentMethod": "GATEWAY"})
	require.Equal(t, map[string]int{"orders": 2, "payments": 2, "invoices": 1, "resources": 2}, b.counts(t, b.custA))

	// B sees none of it, by connection, filter or id.
	require.Equal(t, map[string]int{"orders": 0, "payments": 0, "invoices": 0, "resources": 0}, b.counts(t, b.custB))
	for _, q := range []string{
		`{ orders(where: {id: "%s"}) { totalCount } }`,
		`{ payments(where: {id: "%s"}) { totalCount } }`,
		`{ invoices(where: {id: "%s"}) { totalCount } }`,
	} {
		id := map[byte]string{'o': paid.Order.ID, 'p': paid.Payment.ID, 'i': paid.Payment.Invoices[0].ID}[q[2]]
		r := b.gql(t, b.custB, fmt.Sprintf(q, id), nil)
		require.Empty(t, r.Errors, q)
		require.Contains(t, string(r.Data), `"totalCount":0`, q)
	}
	for _, id := range []string{paid.Order.ID, paid.Payment.ID, paid.Payment.Invoices[0].ID, open.Payment.ID, *paid.Payment.Invoices[0].ResourceID} {
		r := b.gql(t, b.custB, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
		require.Equal(t, []string{"NOT_FOUND"}, r.codes(), id)
	}
	// Nor can B follow A's payment live.
	ws := b.dialWS(t, b.custB)
	ws.subscribe("1", `subscription($id: ID!) { paymentChanged(id: $id) { status redirectUrl } }`, map[string]any{"id": open.Payment.ID})
	msg := ws.read()
	require.Equal(t, "next", msg["type"], "%v", msg)
	payload := msg["payload"].(map[string]any)
	require.Nil(t, payload["data"])
	require.Contains(t, fmt.Sprint(payload["errors"]), "NOT_FOUND")
	require.NotContains(t, fmt.Sprint(payload), "sandbox")
	require.Equal(t, "complete", ws.read()["type"])
	// A's own read-only member sees them.
	require.Equal(t, map[string]int{"orders": 2, "payments": 2, "invoices": 1, "resources": 2}, b.counts(t, b.vwA))
}

// TestEmptyOptionalFieldsAreNull: what an order, payment, item and
// invoice do not have comes back null, not "" (graph.EmptyAsNull): no
// coupon, no hold, no redirect, no failure, no external reference, not
// superseded; what they have is unchanged.
func TestEmptyOptionalFieldsAreNull(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fund(t, pulid.ID(b.accA.ID), "2000000")
	r := b.gql(t, b.custA, `mutation Place($in: PlaceOrderInput!) { placeOrder(input: $in) {
		order { couponCode items { failureReason resource { externalRef } } }
		payment { method redirectURL failureReason holdID invoices { code supersededByID } }
		redirectUrl } }`,
		map[string]any{"in": map[string]any{"idempotencyKey": "nulls", "items": []any{serverItem(1)}, "paymentMethod": "CREDIT"}})
	var got map[string]any
	r.mustData(t, &got)
	// The values that exist, read back to compare the rest whole.
	place := got["placeOrder"].(map[string]any)
	item := place["order"].(map[string]any)["items"].([]any)[0].(map[string]any)
	ref := item["resource"].(map[string]any)["externalRef"]
	require.IsType(t, "", ref, "the provisioned resource has its external reference")
	require.NotEmpty(t, ref)
	code := place["payment"].(map[string]any)["invoices"].([]any)[0].(map[string]any)["code"]
	require.IsType(t, "", code)
	require.Regexp(t, `^INV-\d{6}-\d{6}$`, code)

	want := map[string]any{"placeOrder": map[string]any{
		"order": map[string]any{"couponCode": nil, "items": []any{
			map[string]any{"failureReason": nil, "resource": map[string]any{"externalRef": ref}},
		}},
		"payment": map[string]any{"method": "CREDIT", "redirectURL": nil, "failureReason": nil, "holdID": nil,
			"invoices": []any{map[string]any{"code": code, "supersededByID": nil}}},
		"redirectUrl": nil,
	}}
	require.Equal(t, want, got)
}
