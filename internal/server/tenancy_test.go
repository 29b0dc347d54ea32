package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/ent/wallet"
	"billing/internal/auth"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// owned is one of each kind of tenant row for an account.
type owned struct {
	resource, order, item, payment, invoice, line, notification, wallet, entry pulid.ID
}

func (o owned) ids() map[string]pulid.ID {
	return map[string]pulid.ID{
		"resource": o.resource, "order": o.order, "orderItem": o.item, "payment": o.payment, "invoice": o.invoice,
		"invoiceLine": o.line, "notification": o.notification, "wallet": o.wallet, "ledgerEntry": o.entry,
	}
}

func (b *bundle) fixtures(t *testing.T, acc *ent.Account, tag string) owned {
	t.Helper()
	ctx := auth.SystemContext(context.Background())
	c := b.db.Client
	plan, err := c.Plan.Query().First(ctx)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	end := now.Add(30 * 24 * time.Hour)
	comps := []pricing.Component{{Code: "flavor", Name: "Flavor", Unit: "server", Quantity: 1, UnitPrice: money.VND(181000), VATRate: money.VND(10), VATIncluded: true}}
	res := c.Resource.Create().SetAccountID(acc.ID).SetProductID(plan.ProductID).SetPlanID(plan.ID).SetName("srv-" + tag).
		SetBillingMode(resource.BillingModePREPAID).SetState(resource.StateACTIVE).SetComponents(comps).
		SetPeriodPrice(money.VND(181000)).SetPeriodMonths(1).SetPeriodStart(now).SetPeriodEnd(end).SaveX(ctx)
	ord := c.Order.Create().SetAccountID(acc.ID).SetStatus(order.StatusCOMPLETED).SetSubtotal(money.VND(181000)).SetTotal(money.VND(181000)).SaveX(ctx)
	item := c.OrderItem.Create().SetAccountID(acc.ID).SetOrderID(ord.ID).SetAction(orderitem.ActionCREATE).SetPlanID(plan.ID).
		SetResourceID(res.ID).SetComponents(comps).SetAmount(money.VND(181000)).SetTotal(money.VND(181000)).SetStatus(orderitem.StatusSUCCEEDED).SaveX(ctx)
	pay := c.Payment.Create().SetAccountID(acc.ID).SetOrderID(ord.ID).SetPurpose(payment.PurposeORDER).SetMethod(payment.MethodCREDIT).
		SetStatus(payment.StatusSUCCEEDED).SetAmount(money.VND(181000)).SetCreditAmount(money.VND(181000)).SaveX(ctx)
	inv := c.Invoice.Create().SetAccountID(acc.ID).SetCode("INV-TEST-" + tag).SetResourceID(res.ID).SetOrderID(ord.ID).
		SetAction(invoice.ActionCREATE).SetStatus(invoice.StatusPAID).SetPeriodStart(now).SetPeriodEnd(end).
		SetSubtotal(money.VND(164545)).SetVat(money.VND(16455)).SetTotal(money.VND(181000)).SetAmountPaid(money.VND(181000)).
		SetIssuedAt(now).SaveX(ctx)
	line := c.InvoiceLine.Create().SetAccountID(acc.ID).SetInvoiceID(inv.ID).SetPosition(1).SetDescription("s-general-1x1").
		SetUnitPrice(money.VND(181000)).SetQuantity(1).SetDurationMinutes(43200).SetAmount(money.VND(181000)).SaveX(ctx)
	ntf := c.Notification.Create().SetAccountID(acc.ID).SetKind("test").SetTitle("hello " + tag).SetBody("body").SetDedupeKey("test:" + tag).SaveX(ctx)
	w := c.Wallet.Query().Where(wallet.AccountID(acc.ID)).OnlyX(ctx)
	res2, r := b.adjust(t, b.admin, map[string]any{"idempotencyKey": "fx-" + tag, "accountId": string(acc.ID), "amount": "1000", "reason": "fixture"})
	require.Empty(t, r.Errors)
	require.Empty(t, res2.AdjustCredit.UserErrors)
	entries := c.LedgerEntry.Query().AllX(ctx)
	var entry pulid.ID
	for _, e := range entries {
		if e.AccountID == acc.ID {
			entry = e.ID
		}
	}
	require.NotEmpty(t, entry)
	return owned{res.ID, ord.ID, item.ID, pay.ID, inv.ID, line.ID, ntf.ID, w.ID, entry}
}

func TestTenancy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mine := b.fixtures(t, b.accA, "a")
	theirs := b.fixtures(t, b.accB, "b")

	// Connections show only the caller's rows.
	r := b.gql(t, b.custA, `{
		accounts { totalCount edges { node { id } } }
		resources { totalCount edges { node { id } } }
		orders { totalCount edges { node { id items { id } payments { id } } } }
		payments { totalCount edges { node { id } } }
		invoices { totalCount edges { node { id lines { id } } } }
		notifications { totalCount edges { node { id } } }
		viewer { account { wallet { id } creditHistory { totalCount edges { node { id } } } } }
	}`, nil)
	var d map[string]json.RawMessage
	r.mustData(t, &d)
	for _, field := range []string{"accounts", "resources", "orders", "payments", "invoices", "notifications"} {
		var conn struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
		require.NoError(t, json.Unmarshal(d[field], &conn))
		require.Equal(t, 1, conn.TotalCount, field)
		require.Len(t, conn.Edges, 1, field)
	}
	require.NotContains(t, string(r.Data), string(b.accB.ID))
	for _, id := range theirs.ids() {
		require.NotContains(t, string(r.Data), string(id))
	}
	for name, id := range mine.ids() {
		if name == "ledgerEntry" || name == "orderItem" || name == "invoiceLine" {
			continue
		}
		require.Contains(t, string(r.Data), string(id), name)
	}

	// Filters cannot reach foreign rows either.
	for _, q := range []string{
		`{ resources(where: {id: "%s"}) { totalCount } }`,
		`{ invoices(where: {id: "%s"}) { totalCount } }`,
		`{ orders(where: {id: "%s"}) { totalCount } }`,
		`{ payments(where: {id: "%s"}) { totalCount } }`,
		`{ accounts(where: {id: "%s"}) { totalCount } }`,
	} {
		id := map[byte]pulid.ID{'r': theirs.resource, 'i': theirs.invoice, 'o': theirs.order, 'p': theirs.payment, 'a': pulid.ID(b.accB.ID)}[q[2]]
		r := b.gql(t, b.custA, fmt.Sprintf(q, id), nil)
		require.Empty(t, r.Errors, q)
		require.Contains(t, string(r.Data), `"totalCount":0`, q)
	}

	// node(id) and nodes(ids): foreign ids are NOT_FOUND, own ids resolve.
	foreign := theirs.ids()
	foreign["account"] = pulid.ID(b.accB.ID)
	for name, id := range foreign {
		r := b.gql(t, b.custA, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": string(id)})
		require.Equal(t, []string{"NOT_FOUND"}, r.codes(), name)
		require.JSONEq(t, `{"node": null}`, string(r.Data), name)
		// The admin sees it.
		r = b.gql(t, b.admin, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": string(id)})
		require.Empty(t, r.Errors, name)
		require.Contains(t, string(r.Data), string(id), name)
	}
	for name, id := range mine.ids() {
		r := b.gql(t, b.custA, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": string(id)})
		require.Empty(t, r.Errors, name)
		require.Contains(t, string(r.Data), string(id), name)
	}
	r = b.gql(t, b.custA, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
		map[string]any{"ids": []string{string(mine.invoice), string(theirs.invoice), string(theirs.wallet)}})
	require.Equal(t, []string{"NOT_FOUND", "NOT_FOUND"}, r.codes())
	require.JSONEq(t, fmt.Sprintf(`{"nodes": [{"id": %q}, null, null]}`, mine.invoice), string(r.Data))

	// Operator-only tables stay out of reach, even by id.
	r = b.gql(t, b.custA, `{ coupons { totalCount } }`, nil)
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())

	// Subscriptions: another account's wallet is not found.
	ws := b.dialWS(t, b.custA)
	ws.subscribe("1", `subscription($id: ID) { walletChanged(accountId: $id) { id balance } }`, map[string]any{"id": string(b.accB.ID)})
	msg := ws.read()
	require.Equal(t, "next", msg["type"], "%v", msg)
	payload := msg["payload"].(map[string]any)
	require.Nil(t, payload["data"])
	require.Contains(t, fmt.Sprint(payload["errors"]), "NOT_FOUND")
	require.Equal(t, "complete", ws.read()["type"])
}
