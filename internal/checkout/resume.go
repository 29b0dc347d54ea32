package checkout

import (
	"context"
	"fmt"
	"slices"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/resource"
	"billing/internal/auth"
	"billing/internal/provision"
	"billing/internal/pulid"
)

// DefaultProvisionRetryAfter is how long a paid resource may wait for its
// provisioning result before ResumeProvisioning hands it over again.
const DefaultProvisionRetryAfter = 10 * time.Minute

// resumeBatch bounds the resources one ResumeProvisioning run hands over.
const resumeBatch = 500

// ResumeProvisioning hands to the provisioner again the paid resources
// that have waited for their provisioning result for olderThan or more
// (0: DefaultProvisionRetryAfter): PENDING resources whose CREATE item is
// PROVISIONING, i.e. the payment committed but no result was recorded —
// the process stopped between the commit and the hand-over, the
// hand-over failed, or the product service lost the request. Each is
// claimed by moving its updated_at to now (the order's updated_at, its
// payment's success, must be older than olderThan too) (a conditional update, so two
// runs never claim the same resource), then handed over with the request
// of its first hand-over; it is handed over again every olderThan until a
// result arrives. A result is recorded once (ReportProvisioning): a second
// answer for a resource already decided changes nothing. It returns how
// many resources it handed over.
func (s *Service) ResumeProvisioning(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan <= 0 {
		olderThan = DefaultProvisionRetryAfter
	}
	ctx = auth.SystemContext(context.WithoutCancel(ctx))
	now := s.now()
	cutoff := now.Add(-olderThan)
	// Waiting: the CREATE item is PROVISIONING, and its order was paid
	// (its last change) before the cutoff as well.
	waiting := func(sel *entsql.Selector) {
		it, o := entsql.Table(orderitem.Table), entsql.Table(order.Table)
		sub := entsql.Select(it.C(orderitem.FieldResourceID)).From(it).
			Join(o).On(it.C(orderitem.FieldOrderID), o.C(order.FieldID)).
			Where(entsql.And(
				entsql.EQ(it.C(orderitem.FieldAction), string(orderitem.ActionCREATE)),
				entsql.EQ(it.C(orderitem.FieldStatus), string(orderitem.StatusPROVISIONING)),
				entsql.LTE(o.C(order.FieldUpdatedAt), cutoff),
			))
		sel.Where(entsql.In(sel.C(resource.FieldID), sub))
	}
	ids, err := s.db.Client.Resource.Query().
		Where(resource.StateEQ(resource.StatePENDING), resource.UpdatedAtLTE(cutoff), waiting).
		Order(resource.ByUpdatedAt(), resource.ByID()).
		Limit(resumeBatch).
		IDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	var claimed []pulid.ID
	for _, id := range ids {
		n, err := s.db.Client.Resource.Update().
			Where(resource.ID(id), resource.StateEQ(resource.StatePENDING), resource.UpdatedAtLTE(cutoff)).
			SetUpdatedAt(now).
			Save(ctx)
		if err != nil {
			return len(claimed), fmt.Errorf("claim resource %s for provisioning: %w", id, err)
		}
		if n == 1 {
			claimed = append(claimed, id)
		}
	}
	items, err := s.db.Client.OrderItem.Query().
		Where(orderitem.ResourceIDIn(claimed...), orderitem.ActionEQ(orderitem.ActionCREATE)).
		All(ctx)
	if err != nil {
		return 0, fmt.Errorf("orders of resources waiting for provisioning: %w", err)
	}
	var orders []pulid.ID
	for _, it := range items {
		if !slices.Contains(orders, it.OrderID) {
			orders = append(orders, it.OrderID)
		}
	}
	slices.Sort(orders)
	handed := 0
	for _, o := range orders {
		reqs, err := s.provisionRequests(ctx, o)
		if err != nil {
			return handed, fmt.Errorf("provisioning requests of order %s: %w", o, err)
		}
		reqs = slices.DeleteFunc(reqs, func(r provision.Request) bool { return !slices.Contains(claimed, r.ResourceID) })
		s.logger.WarnContext(ctx, "checkout: handing paid resources to the provisioner again",
			"order", o, "resources", len(reqs), "waited_at_least", olderThan)
		s.provision(ctx, reqs)
		handed += len(reqs)
	}
	return handed, nil
}
