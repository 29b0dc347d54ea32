package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCouponAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	create := `mutation($in: CreateCouponInput!) { createCoupon(input: $in) {
		coupon { id code kind amount percent cap productCodes maxRedemptions perAccountLimit active usage { reserved consumed released } }
		userErrors { code field message } } }`
	r := b.gql(t, b.admin, create, map[string]any{"in": map[string]any{
		"code": "welcome20k", "kind": "FIXED", "amount": "20000", "productCodes": []string{"vserver"}, "maxRedemptions": 100,
	}})
	var d struct {
		CreateCoupon struct {
			Coupon *struct {
				ID, Code, Kind, Amount, Percent string
				Cap                             *string
				ProductCodes                    []string
				MaxRedemptions, PerAccountLimit int
				Active                          bool
				Usage                           struct{ Reserved, Consumed, Released int }
			}
			UserErrors []struct{ Code string }
		}
	}
	r.mustData(t, &d)
	require.Empty(t, d.CreateCoupon.UserErrors)
	c := d.CreateCoupon.Coupon
	require.Equal(t, "WELCOME20K", c.Code)
	require.Equal(t, "FIXED", c.Kind)
	require.Equal(t, "20000", c.Amount)
	require.Equal(t, []string{"vserver"}, c.ProductCodes)
	require.Equal(t, 100, c.MaxRedemptions)
	require.Equal(t, 1, c.PerAccountLimit)
	require.True(t, c.Active)

	// Duplicate code, bad percent: typed user errors.
	for _, in := range []map[string]any{
		{"code": "WELCOME20K", "kind": "FIXED", "amount": "1000"},
		{"code": "PCT", "kind": "PERCENT", "percent": "150"},
		{"code": "NEG", "kind": "FIXED", "amount": "-5"},
	} {
		r = b.gql(t, b.admin, create, map[string]any{"in": in})
		d.CreateCoupon.UserErrors = nil
		r.mustData(t, &d)
		require.Len(t, d.CreateCoupon.UserErrors, 1, "%v", in)
	}

	// Customers can neither create nor list coupons.
	r = b.gql(t, b.custA, create, map[string]any{"in": map[string]any{"code": "MINE", "kind": "FIXED", "amount": "1000"}})
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())

	r = b.gql(t, b.admin, `mutation($id: ID!) { deactivateCoupon(input: {id: $id, reason: "campaign over"}) { coupon { active } userErrors { code } } }`, map[string]any{"id": c.ID})
	require.Empty(t, r.Errors)
	require.JSONEq(t, `{"deactivateCoupon": {"coupon": {"active": false}, "userErrors": []}}`, string(r.Data))

	r = b.gql(t, b.admin, `{ coupons { totalCount edges { node { code active } } } }`, nil)
	require.JSONEq(t, `{"coupons": {"totalCount": 1, "edges": [{"node": {"code": "WELCOME20K", "active": false}}]}}`, string(r.Data))
}
