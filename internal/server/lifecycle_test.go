package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buyServer gives account A credit and buys one s-general-1x1 for a month
// with CREDIT; it returns the resource id.
func (b *bundle) buyServer(t *testing.T, key string) string {
	t.Helper()
	res, _ := b.adjust(t, b.admin, map[string]any{"idempotencyKey": "credit-" + key, "accountId": string(b.accA.ID), "amount": "5000000", "reason": "test"})
	require.Empty(t, res.AdjustCredit.UserErrors)
	r := b.gql(t, b.custA, `mutation($k: String!) { placeOrder(input: {idempotencyKey: $k, paymentMethod: CREDIT,
		items: [{plan: "s-general-1x1", months: 1}]}) { order { status items { resource { id state } } } userErrors { code message } } }`,
		map[string]any{"k": key})
	var d struct {
		PlaceOrder struct {
			Order struct {
				Status string
				Items  []struct{ Resource struct{ ID, State string } }
			}
			UserErrors []any
		}
	}
	r.mustData(t, &d)
	require.Empty(t, d.PlaceOrder.UserErrors)
	require.Equal(t, "COMPLETED", d.PlaceOrder.Order.Status)
	require.Equal(t, "ACTIVE", d.PlaceOrder.Order.Items[0].Resource.State)
	return d.PlaceOrder.Order.Items[0].Resource.ID
}

func TestLifecycleOverGraphQL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.buyServer(t, "buy-1")
	vars := map[string]any{"id": id}

	type res struct {
		ID, State, BillingStatus string
		AutoRenew                bool
		PeriodEnd                time.Time
		AutoRenewSchedule        []time.Time
	}
	get := func() res {
		r := b.gql(t, b.custA, `query($id: ID!) { node(id: $id) { ... on Resource { id state billingStatus autoRenew periodEnd autoRenewSchedule } } }`, vars)
		var d struct{ Node res }
		r.mustData(t, &d)
		return d.Node
	}
	cur := get()
	require.Equal(t, "GOOD", cur.BillingStatus)
	require.True(t, cur.AutoRenew, "new resources start with auto-renew on")
	require.Len(t, cur.AutoRenewSchedule, 4)
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	endLocal := cur.PeriodEnd.In(loc)
	for i, days := range []int{7, 4, 1, 0} {
		at := cur.AutoRenewSchedule[i].In(loc)
		require.Equal(t, 8, at.Hour())
		require.Equal(t, endLocal.AddDate(0, 0, -days).Format("2006-01-02"), at.Format("2006-01-02"))
	}

	count := func(days int) int {
		r := b.gql(t, b.custA, `query($d: Int!) { expiringResources(withinDays: $d) { totalCount } }`, map[string]any{"d": days})
		var d struct{ ExpiringResources struct{ TotalCount int } }
		r.mustData(t, &d)
		return d.ExpiringResources.TotalCount
	}
	require.Equal(t, 1, count(31))
	require.Equal(t, 0, count(29))

	// Stop, start, auto-renew off.
	for _, step := range []struct{ m, state string }{{"stopResource", "STOPPED"}, {"startResource", "ACTIVE"}} {
		r := b.gql(t, b.custA, `mutation($id: ID!) { `+step.m+`(input: {resourceId: $id}) { resource { state } userErrors { code } } }`, vars)
		require.Empty(t, r.Errors)
		require.Contains(t, string(r.Data), `"state":"`+step.state+`"`)
	}
	r := b.gql(t, b.custA, `mutation($id: ID!) { setAutoRenew(input: {resourceId: $id, enabled: false}) { resource { autoRenew autoRenewSchedule } userErrors { code } } }`, vars)
	require.JSONEq(t, `{"setAutoRenew": {"resource": {"autoRenew": false, "autoRenewSchedule": []}, "userErrors": []}}`, string(r.Data))

	// Renew one month from credit: the end moves by exactly 30 days.
	r = b.gql(t, b.custA, `mutation($id: ID!) { renewResources(input: {idempotencyKey: "renew-1", resourceIds: [$id], months: 1, paymentMethod: CREDIT}) {
		payment { status amount invoices { action total } } userErrors { code field message } } }`, vars)
	require.JSONEq(t, `{"renewResources": {"payment": {"status": "SUCCEEDED", "amount": "306000", "invoices": [{"action": "RENEW", "total": "306000"}]}, "userErrors": []}}`, string(r.Data))
	after := get()
	require.Equal(t, cur.PeriodEnd.Add(30*24*time.Hour), after.PeriodEnd)

	// Months not allowed: a typed error naming the field.
	r = b.gql(t, b.custA, `mutation($id: ID!) { renewResources(input: {idempotencyKey: "renew-2", resourceIds: [$id], months: 2, paymentMethod: CREDIT}) { userErrors { code field } } }`, vars)
	require.JSONEq(t, `{"renewResources": {"userErrors": [{"code": "INVALID_INPUT", "field": ["input", "months"]}]}}`, string(r.Data))

	// Another account cannot touch it.
	r = b.gql(t, b.custB, `mutation($id: ID!) { stopResource(input: {resourceId: $id}) { userErrors { code } } }`, vars)
	require.JSONEq(t, `{"stopResource": {"userErrors": [{"code": "NOT_FOUND"}]}}`, string(r.Data))

	// Delete: refund of the unused part, recorded as a REFUND in the credit history; then trash.
	r = b.gql(t, b.custA, `mutation($id: ID!) { deleteResource(input: {idempotencyKey: "del-1", resourceId: $id}) { resource { state purgeAt } refunded userErrors { code } } }`, vars)
	var del struct {
		DeleteResource struct {
			Resource struct {
				State   string
				PurgeAt time.Time
			}
			Refunded string
		}
	}
	r.mustData(t, &del)
	require.Equal(t, "TRASHED", del.DeleteResource.Resource.State)
	r = b.gql(t, b.custA, `{ viewer { account { creditHistory(first: 1) { edges { node { kind amount } } } } } }`, nil)
	var h struct {
		Viewer struct {
			Account struct {
				CreditHistory struct {
					Edges []struct{ Node struct{ Kind, Amount string } }
				}
			}
		}
	}
	r.mustData(t, &h)
	require.Equal(t, "REFUND", h.Viewer.Account.CreditHistory.Edges[0].Node.Kind)
	require.Equal(t, del.DeleteResource.Refunded, h.Viewer.Account.CreditHistory.Edges[0].Node.Amount)
	// Two periods of 306,000 (flavor 181,000 + 20 GB × 3,500 + one IP 55,000) were paid, nearly all of them unused.
	refund, _ := json.Number(del.DeleteResource.Refunded).Int64()
	require.Greater(t, refund, int64(611000))
	require.LessOrEqual(t, refund, int64(612000))

	// A trashed resource cannot be renewed; it can be recovered within the window.
	r = b.gql(t, b.custA, `mutation($id: ID!) { renewResources(input: {idempotencyKey: "renew-3", resourceIds: [$id], months: 1, paymentMethod: CREDIT}) { userErrors { code } } }`, vars)
	require.JSONEq(t, `{"renewResources": {"userErrors": [{"code": "INVALID_STATE"}]}}`, string(r.Data))
	r = b.gql(t, b.custA, `mutation($id: ID!) { recoverResource(input: {idempotencyKey: "rec-1", resourceId: $id, months: 1, paymentMethod: CREDIT}) {
		payment { status invoices { action } } userErrors { code message } } }`, vars)
	require.JSONEq(t, `{"recoverResource": {"payment": {"status": "SUCCEEDED", "invoices": [{"action": "RECOVER"}]}, "userErrors": []}}`, string(r.Data))
	require.Equal(t, "ACTIVE", get().State)
}
