package graph

import (
	"context"

	"billing/ent"
	"billing/ent/account"
	"billing/ent/auditlog"
	"billing/ent/coupon"
	"billing/ent/couponredemption"
	"billing/ent/gatewayattempt"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/ent/ledgerentry"
	"billing/ent/linkedaccount"
	"billing/ent/notification"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/plan"
	"billing/ent/plancomponent"
	"billing/ent/price"
	"billing/ent/product"
	"billing/ent/resource"
	"billing/ent/wallet"
	"billing/internal/fault"
	"billing/internal/pulid"
)

func init() {
	for p, t := range map[string]string{
		"acc": account.Table, "wal": wallet.Table, "len": ledgerentry.Table, "res": resource.Table,
		"ord": order.Table, "oit": orderitem.Table, "pay": payment.Table, "gwa": gatewayattempt.Table,
		"inv": invoice.Table, "inl": invoiceline.Table, "ntf": notification.Table, "prd": product.Table,
		"pln": plan.Table, "cmp": plancomponent.Table, "prc": price.Table, "lnk": linkedaccount.Table,
		"crd": couponredemption.Table, "cpn": coupon.Table, "aud": auditlog.Table,
	} {
		nodeTables[p] = t
	}
}

func nodeType(_ context.Context, id pulid.ID) (string, error) {
	t, ok := nodeTables[id.Prefix()]
	if !ok {
		return "", fault.New(fault.NotFound, "not found")
	}
	return t, nil
}

// node looks up one object by id. Unknown, malformed, foreign and
// forbidden ids all answer the same NOT_FOUND, so an id reveals nothing.
func (r *Resolver) node(ctx context.Context, id pulid.ID) (ent.Noder, error) {
	v, err := reader(ctx)
	if err != nil {
		return nil, err
	}
	if !nodeAllowed(v, id) {
		return nil, fault.New(fault.NotFound, "not found", "id")
	}
	n, err := r.DB.Client.Noder(ctx, id, ent.WithNodeType(nodeType))
	if ent.IsNotFound(err) {
		return nil, fault.New(fault.NotFound, "not found", "id")
	}
	return n, err
}
