package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent/invoice"
	"billing/ent/ledgertransaction"
	"billing/ent/order"
	"billing/ent/orderitem"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/fault"
	"billing/internal/gateway"
	"billing/internal/lifecycle"
	"billing/internal/pulid"
)

// TestResizeReference is SPEC §5's example: s-general-1x1 at 181,000 per
// 30 days with exactly 50 days left, resized to s-general-2x4 at 520,000:
// unused old value 301,667, new value 866,667, charge 565,000, end date
// unchanged; the RESIZE invoice has both lines and supersedes the CREATE
// invoice.
func TestResizeReference(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 2_000_000)
	r := b.buy(t, acc, "s-general-1x1", 3) // 90 days
	end := *r.PeriodEnd
	create := b.invoices(t, r.ID, invoice.ActionCREATE)[0]
	b.clock.Advance(40 * day) // exactly 50 days (72,000 minutes) left
	now := b.clock.Now()

	res, err := b.svc.Resize(customer(acc), lifecycle.ResizeInput{
		IdempotencyKey: "resize-1", ResourceID: r.ID, PlanRef: "s-general-2x4", Method: payment.MethodCREDIT,
	})
	require.NoError(t, err)
	require.Equal(t, "301667", res.OldValue.String())
	require.Equal(t, "866667", res.NewValue.String())
	require.Equal(t, "565000", res.Difference.String())
	require.Equal(t, "0", res.Refunded.String())
	require.NotNil(t, res.Order)
	require.Equal(t, payment.StatusSUCCEEDED, res.Order.Payment.Status)
	require.Equal(t, "565000", res.Order.Payment.Amount.String())
	require.Equal(t, order.StatusCOMPLETED, res.Order.Order.Status)

	// The resource: new plan and snapshot, same end.
	cur := res.Resource
	require.Equal(t, resource.StateACTIVE, cur.State)
	same(t, end, *cur.PeriodEnd)
	same(t, now, *cur.PeriodStart)
	require.Equal(t, "520000", cur.PeriodPrice.String())
	require.Equal(t, "866667", cur.PeriodPaid.String())
	require.Equal(t, "s-general-2x4", cur.Components[0].Name)

	// The invoice: both lines, total 565,000.
	require.NotNil(t, res.Invoice)
	inv := b.invoiceWithLines(t, res.Invoice.ID)
	require.Equal(t, invoice.ActionRESIZE, inv.Action)
	require.Equal(t, invoice.StatusPAID, inv.Status)
	require.Equal(t, "565000", inv.Total.String())
	require.Equal(t, "565000", inv.AmountPaid.String())
	require.Equal(t, "51364", inv.Vat.String()) // 565,000 × 10 / 110
	require.Equal(t, "513636", inv.Subtotal.String())
	same(t, now, inv.PeriodStart)
	same(t, end, inv.PeriodEnd)
	require.Equal(t, res.Order.Order.ID, inv.OrderID)
	require.Len(t, inv.Edges.Lines, 2)
	old, nw := inv.Edges.Lines[0], inv.Edges.Lines[1]
	require.Equal(t, "-301667", old.Amount.String())
	require.Equal(t, "181000", old.UnitPrice.String())
	require.Equal(t, int64(72_000), old.DurationMinutes)
	require.Equal(t, "866667", nw.Amount.String())
	require.Equal(t, "520000", nw.UnitPrice.String())
	require.Equal(t, int64(72_000), nw.DurationMinutes)

	// The CREATE invoice records that it was superseded.
	create, err = b.db.Client.Invoice.Get(b.sys, create.ID)
	require.NoError(t, err)
	require.Equal(t, inv.ID, create.SupersededByID)

	require.Equal(t, "892000", b.balance(t, acc)) // 2,000,000 − 543,000 − 565,000
	require.Equal(t, []string{"Activate:PENDING→ACTIVE", "Resize:ACTIVE→ACTIVE"}, b.resourceEvents(t, r.ID))
}

// TestResizeDown: a negative difference is refunded to credit at once,
// with the RESIZE invoice (a credit note), without any order or payment.
func TestResizeDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_560_000)
	r := b.buy(t, acc, "s-general-2x4", 3) // 1,560,000
	b.clock.Advance(40 * day)              // 50 days left
	require.Equal(t, "0", b.balance(t, acc))

	res, err := b.svc.Resize(customer(acc), lifecycle.ResizeInput{
		IdempotencyKey: "down", ResourceID: r.ID, PlanRef: "s-general-1x1",
	})
	require.NoError(t, err)
	require.Nil(t, res.Order)
	require.Equal(t, "866667", res.OldValue.String())
	require.Equal(t, "301667", res.NewValue.String())
	require.Equal(t, "-565000", res.Difference.String())
	require.Equal(t, "565000", res.Refunded.String())
	require.Equal(t, "565000", b.balance(t, acc))
	require.Equal(t, []string{"565000"}, b.refunds(t, acc))

	inv := b.invoiceWithLines(t, res.Invoice.ID)
	require.Equal(t, "-565000", inv.Total.String())
	require.Equal(t, "-51364", inv.Vat.String())
	require.Len(t, inv.Edges.Lines, 2)
	require.Equal(t, "-866667", inv.Edges.Lines[0].Amount.String())
	require.Equal(t, "301667", inv.Edges.Lines[1].Amount.String())
	require.Empty(t, inv.OrderID)
	cur := b.resource(t, r.ID)
	require.Equal(t, "181000", cur.PeriodPrice.String())
	require.Equal(t, "301667", cur.PeriodPaid.String())
	same(t, t0.Add(90*day), *cur.PeriodEnd)

	// A replay refunds nothing more.
	again, err := b.svc.Resize(customer(acc), lifecycle.ResizeInput{
		IdempotencyKey: "down", ResourceID: r.ID, PlanRef: "s-general-1x1",
	})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, inv.ID, again.Invoice.ID)
	require.Equal(t, "565000", b.balance(t, acc))
	require.Equal(t, []string{"565000"}, b.refunds(t, acc))

	// Deleting right after refunds exactly what the new configuration is
	// worth for the remaining time.
	del, err := b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "del", ResourceID: r.ID})
	require.NoError(t, err)
	require.Equal(t, "301667", del.Refunded.String())
}

// TestResizeDownWithCoupon: a refund never exceeds what was actually paid
// for the remaining time; the rest shows as a third line.
func TestResizeDownWithCoupon(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fixedCoupon(t, "BIG", 500_000)
	b.fund(t, acc, 20_000)
	r := b.buy(t, acc, "s-general-2x4", 1, "BIG") // paid 20,000 for 30 days
	require.Equal(t, "20000", r.PeriodPaid.String())
	b.clock.Advance(15 * day) // 21,600 minutes left: 10,000 of what was paid is unused

	res, err := b.svc.Resize(customer(acc), lifecycle.ResizeInput{IdempotencyKey: "down", ResourceID: r.ID, PlanRef: "s-general-1x1"})
	require.NoError(t, err)
	require.Equal(t, "-169500", res.Difference.String()) // 90,500 − 260,000
	require.Equal(t, "10000", res.Refunded.String())
	inv := b.invoiceWithLines(t, res.Invoice.ID)
	require.Equal(t, "-10000", inv.Total.String())
	require.Len(t, inv.Edges.Lines, 3)
	require.Equal(t, "159500", inv.Edges.Lines[2].Amount.String())
	require.Equal(t, "10000", b.balance(t, acc))
	require.Equal(t, "0", b.resource(t, r.ID).PeriodPaid.String())
}

// TestRenewSeveral: three resources renewed in one CREDIT order: one
// payment, one RENEW invoice per resource, each new period starting at
// its own end.
func TestRenewSeveral(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 10_000_000)
	r1 := b.buy(t, acc, "s-general-1x1", 1)
	b.clock.Advance(time.Hour)
	r2 := b.buy(t, acc, "s-general-2x4", 3)
	r3 := b.buy(t, acc, "object", 1)
	b.clock.Advance(5 * day)

	res, err := b.svc.Renew(customer(acc), lifecycle.RenewInput{
		IdempotencyKey: "renew-all", ResourceIDs: []pulid.ID{r1.ID, r2.ID, r3.ID}, Months: 3, Method: payment.MethodCREDIT,
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, res.Payment.Status)
	require.Equal(t, order.StatusCOMPLETED, res.Order.Status)
	want := 3 * (181_000 + 520_000 + 110_000)
	require.Equal(t, vnd(int64(want)).String(), res.Payment.Amount.String())
	require.Len(t, res.Payment.InvoiceIds, 3)
	require.Equal(t, vnd(10_000_000-181_000-1_560_000-110_000-int64(want)).String(), b.balance(t, acc))

	pays, err := b.db.Client.Payment.Query().Where(payment.OrderID(res.Order.ID)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, pays)
	purchases, err := b.db.Client.LedgerTransaction.Query().
		Where(ledgertransaction.AccountID(acc), ledgertransaction.KindEQ(ledgertransaction.KindPURCHASE)).Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 4, purchases) // three purchases, one renewal

	for _, r := range []struct {
		id    pulid.ID
		end   time.Time
		total string
	}{
		{r1.ID, *r1.PeriodEnd, "543000"}, {r2.ID, *r2.PeriodEnd, "1560000"}, {r3.ID, *r3.PeriodEnd, "330000"},
	} {
		invs := b.invoices(t, r.id, invoice.ActionRENEW)
		require.Len(t, invs, 1)
		require.Equal(t, r.total, invs[0].Total.String())
		require.Equal(t, res.Order.ID, invs[0].OrderID)
		same(t, r.end, invs[0].PeriodStart)
		same(t, r.end.Add(3*month), invs[0].PeriodEnd)
		cur := b.resource(t, r.id)
		same(t, r.end.Add(3*month), *cur.PeriodEnd)
		require.Equal(t, resource.StateACTIVE, cur.State)
	}
	require.Equal(t, []string{"PENDING", "SUCCEEDED", "SUCCEEDED(true)", "SUCCEEDED(true)", "SUCCEEDED(true)!"},
		b.paymentEvents(t, res.Payment.ID))
	items, err := b.db.Client.OrderItem.Query().Where(orderitem.OrderID(res.Order.ID)).All(b.sys)
	require.NoError(t, err)
	for _, it := range items {
		require.Equal(t, orderitem.ActionRENEW, it.Action)
		require.Equal(t, orderitem.StatusSUCCEEDED, it.Status)
	}

	// The same key again: the same order, nothing charged twice.
	again, err := b.svc.Renew(customer(acc), lifecycle.RenewInput{
		IdempotencyKey: "renew-all", ResourceIDs: []pulid.ID{r1.ID, r2.ID, r3.ID}, Months: 3, Method: payment.MethodCREDIT,
	})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, res.Order.ID, again.Order.ID)
	require.Len(t, b.invoices(t, r1.ID, invoice.ActionRENEW), 1)
	// …and the same key for another request is refused.
	_, err = b.svc.Renew(customer(acc), lifecycle.RenewInput{
		IdempotencyKey: "renew-all", ResourceIDs: []pulid.ID{r1.ID}, Months: 1, Method: payment.MethodCREDIT,
	})
	requireFault(t, err, fault.IdempotencyKeyReused, "input", "idempotencyKey")
}

// TestRenewFromGrace: a renewal bought 10 days after the end (in grace)
// for 1 month: the lapsed days are paid, new end = old end + 30 days, and
// the resource is ACTIVE again.
func TestRenewFromGrace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	end := *r.PeriodEnd
	b.clock.Advance(month + 10*day)
	n, err := b.svc.ExpireDue(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, resource.StateGRACE, b.resource(t, r.ID).State)

	res, err := b.svc.Renew(customer(acc), lifecycle.RenewInput{
		IdempotencyKey: "r", ResourceIDs: []pulid.ID{r.ID}, Months: 1, Method: payment.MethodCREDIT,
	})
	require.NoError(t, err)
	require.Equal(t, "181000", res.Payment.Amount.String())
	cur := b.resource(t, r.ID)
	require.Equal(t, resource.StateACTIVE, cur.State)
	same(t, end.Add(month), *cur.PeriodEnd)
	inv := b.invoices(t, r.ID, invoice.ActionRENEW)[0]
	same(t, end, inv.PeriodStart)
	same(t, end.Add(month), inv.PeriodEnd)
	require.Equal(t, "638000", b.balance(t, acc))
	require.Equal(t, []string{"Activate:PENDING→ACTIVE", "Expire:ACTIVE→GRACE", "Renewed:GRACE→ACTIVE"}, b.resourceEvents(t, r.ID))
}

// TestRenewFromSuspended: a suspended resource renewed for 3 months runs
// again, its suspension reason cleared.
func TestRenewFromSuspended(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	end := *r.PeriodEnd
	b.clock.Advance(month + 20*day)
	_, err := b.svc.ExpireDue(b.sys, b.clock.Now())
	require.NoError(t, err)
	n, err := b.svc.SuspendDue(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, resource.StateSUSPENDED, b.resource(t, r.ID).State)

	_, err = b.svc.Renew(customer(acc), lifecycle.RenewInput{
		IdempotencyKey: "r", ResourceIDs: []pulid.ID{r.ID}, Months: 3, Method: payment.MethodCREDIT,
	})
	require.NoError(t, err)
	cur := b.resource(t, r.ID)
	require.Equal(t, resource.StateACTIVE, cur.State)
	require.Nil(t, cur.SuspendReason)
	same(t, end.Add(3*month), *cur.PeriodEnd)
	require.Equal(t, "276000", b.balance(t, acc)) // 1,000,000 − 181,000 − 543,000
}

// TestRenewThroughGateway: nothing happens to the resource until the
// gateway confirms; a failed payment changes nothing; a second renewal
// while one is open is refused; a success applies the renewal.
func TestRenewThroughGateway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 181_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	end := *r.PeriodEnd
	renew := func(k string) (*checkout.OrderResult, error) {
		return b.svc.Renew(customer(acc), lifecycle.RenewInput{
			IdempotencyKey: k, ResourceIDs: []pulid.ID{r.ID}, Months: 1, Method: payment.MethodGATEWAY,
			ReturnURL: "https://app.test/back",
		})
	}
	callback := func(res *checkout.OrderResult, ok bool, no string) {
		att, err := b.db.Client.GatewayAttempt.Query().All(b.sys)
		require.NoError(t, err)
		var ref string
		for _, a := range att {
			if a.PaymentID == res.Payment.ID {
				ref = a.TxnRef
			}
		}
		code := "51"
		if ok {
			code = "00"
		}
		out := b.checkout.ApplyGatewayCallback(b.sys, gateway.Callback{
			TxnRef: ref, Amount: res.Payment.Amount, Currency: "VND", TransactionNo: no,
			ResponseCode: code, TransactionStatus: code, Success: ok,
		})
		require.Equal(t, gateway.IPNConfirmed, out)
	}

	first, err := renew("g1")
	require.NoError(t, err)
	require.Equal(t, payment.StatusREQUIRES_ACTION, first.Payment.Status)
	require.NotEmpty(t, first.RedirectURL)
	same(t, end, *b.resource(t, r.ID).PeriodEnd)

	_, err = renew("g2")
	requireFault(t, err, fault.Conflict, "input", "resourceIds", "0")

	callback(first, false, "0")
	cur := b.resource(t, r.ID)
	same(t, end, *cur.PeriodEnd)
	require.Equal(t, resource.StateACTIVE, cur.State)
	require.Empty(t, b.invoices(t, r.ID, invoice.ActionRENEW))
	o, err := b.db.Client.Order.Get(b.sys, first.Order.ID)
	require.NoError(t, err)
	require.Equal(t, order.StatusFAILED, o.Status)

	second, err := renew("g3")
	require.NoError(t, err)
	callback(second, true, "1001")
	cur = b.resource(t, r.ID)
	same(t, end.Add(month), *cur.PeriodEnd)
	require.Len(t, b.invoices(t, r.ID, invoice.ActionRENEW), 1)
	p, err := b.db.Client.Payment.Get(b.sys, second.Payment.ID)
	require.NoError(t, err)
	require.Equal(t, payment.StatusSUCCEEDED, p.Status)
	require.Len(t, p.InvoiceIds, 1)
}

// TestPaidActionNoLongerApplies: a renewal paid after the resource was
// released is refunded to credit; the resource stays released.
func TestPaidActionNoLongerApplies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 181_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	res, err := b.svc.Renew(customer(acc), lifecycle.RenewInput{
		IdempotencyKey: "g", ResourceIDs: []pulid.ID{r.ID}, Months: 1, Method: payment.MethodGATEWAY,
		ReturnURL: "https://app.test/back",
	})
	require.NoError(t, err)
	b.setState(t, r.ID, resource.StateRELEASED)
	att, err := b.db.Client.GatewayAttempt.Query().Only(b.sys)
	require.NoError(t, err)
	out := b.checkout.ApplyGatewayCallback(b.sys, gateway.Callback{
		TxnRef: att.TxnRef, Amount: vnd(181_000), Currency: "VND", TransactionNo: "77", ResponseCode: "00", Success: true,
	})
	require.Equal(t, gateway.IPNConfirmed, out)
	p, err := b.db.Client.Payment.Get(b.sys, res.Payment.ID)
	require.NoError(t, err)
	require.Equal(t, payment.StatusREFUNDED, p.Status)
	require.Equal(t, "181000", b.balance(t, acc))
	require.Equal(t, []string{"181000"}, b.refunds(t, acc))
	o, err := b.db.Client.Order.Get(b.sys, res.Order.ID)
	require.NoError(t, err)
	require.Equal(t, order.StatusFAILED, o.Status)
	require.Equal(t, resource.StateRELEASED, b.resource(t, r.ID).State)
	require.Equal(t, []string{"PENDING", "REQUIRES_ACTION", "SUCCEEDED", "REFUNDED(false)!"}, b.paymentEvents(t, res.Payment.ID))
}

// TestDeleteRefund: the unused part of what was actually paid goes back
// to credit — price × m / 43,200 without a coupon, net paid × m / period
// minutes with one — and the resource goes to the trash for 7 days.
func TestDeleteRefund(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, coupon string
		paid         int64
		want         string
	}{
		// 10 days = 14,400 of 43,200 minutes left.
		{"no coupon", "", 181_000, "60333"},    // 181,000 × 14,400 / 43,200 = 60,333.33
		{"coupon", "OFF20K", 161_000, "53667"}, // 161,000 / 3 = 53,666.67
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			acc := b.account(t)
			b.fixedCoupon(t, "OFF20K", 20_000)
			b.fund(t, acc, tc.paid)
			var r = b.buy(t, acc, "s-general-1x1", 1, tc.coupon)
			require.Equal(t, vnd(tc.paid).String(), r.PeriodPaid.String())
			b.clock.Advance(20 * day)
			now := b.clock.Now()

			res, err := b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "d", ResourceID: r.ID})
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Refunded.String())
			require.Equal(t, resource.StateTRASHED, res.Resource.State)
			same(t, now, *res.Resource.TrashedAt)
			same(t, now.Add(7*day), *res.Resource.PurgeAt)
			require.Equal(t, tc.want, b.balance(t, acc))
			require.Equal(t, []string{tc.want}, b.refunds(t, acc))

			again, err := b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "d", ResourceID: r.ID})
			require.NoError(t, err)
			require.True(t, again.Replayed)
			require.Equal(t, tc.want, again.Refunded.String())
			require.Equal(t, []string{tc.want}, b.refunds(t, acc))

			_, err = b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "d2", ResourceID: r.ID})
			requireFault(t, err, fault.InvalidState, "input", "resourceId")
		})
	}
}

// TestDeleteWithoutTrash: 0 trash days deletes at once; a product that is
// not refundable refunds nothing; an expired resource has nothing left to
// refund.
func TestDeleteWithoutTrash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 313_000)
	storage := b.buy(t, acc, "object", 1)
	monitor := b.buy(t, acc, "monitor", 1)
	server := b.buy(t, acc, "s-general-1x1", 1)
	b.clock.Advance(15 * day)

	res, err := b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "s", ResourceID: storage.ID})
	require.NoError(t, err)
	require.Equal(t, resource.StateDELETED, res.Resource.State)
	require.Nil(t, res.Resource.PurgeAt)
	require.Equal(t, "55000", res.Refunded.String())

	res, err = b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "m", ResourceID: monitor.ID})
	require.NoError(t, err)
	require.Equal(t, resource.StateDELETED, res.Resource.State)
	require.Equal(t, "0", res.Refunded.String())

	b.clock.Advance(20 * day) // the server expired 5 days ago
	_, err = b.svc.ExpireDue(b.sys, b.clock.Now())
	require.NoError(t, err)
	res, err = b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "v", ResourceID: server.ID})
	require.NoError(t, err)
	require.Equal(t, resource.StateTRASHED, res.Resource.State)
	require.Equal(t, "0", res.Refunded.String())
	require.Equal(t, "55000", b.balance(t, acc))
	require.Equal(t, []string{"Activate:PENDING→ACTIVE", "Delete:ACTIVE→DELETED"}, b.resourceEvents(t, storage.ID))
}

// TestRecover: within the trash window a deleted resource is bought back
// like a new purchase for a period starting now; after the window it is
// refused.
func TestRecover(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	r := b.buy(t, acc, "s-general-1x1", 1)
	r2 := b.buy(t, acc, "s-general-1x1", 1)
	b.clock.Advance(30*day - 10*time.Minute)
	for _, id := range []pulid.ID{r.ID, r2.ID} {
		_, err := b.svc.Delete(customer(acc), lifecycle.DeleteInput{IdempotencyKey: "d" + string(id), ResourceID: id})
		require.NoError(t, err)
	}
	b.clock.Advance(3 * day)
	now := b.clock.Now()

	res, err := b.svc.Recover(customer(acc), lifecycle.RecoverInput{
		IdempotencyKey: "rec", ResourceID: r.ID, Months: 3, Method: payment.MethodCREDIT,
	})
	require.NoError(t, err)
	require.Equal(t, "543000", res.Payment.Amount.String())
	cur := b.resource(t, r.ID)
	require.Equal(t, resource.StateACTIVE, cur.State)
	same(t, now, *cur.PeriodStart)
	same(t, now.Add(3*month), *cur.PeriodEnd)
	require.Nil(t, cur.PurgeAt)
	require.Nil(t, cur.TrashedAt)
	require.Equal(t, "543000", cur.PeriodPaid.String())
	invs := b.invoices(t, r.ID, invoice.ActionRECOVER)
	require.Len(t, invs, 1)
	require.Equal(t, "543000", invs[0].Total.String())
	same(t, now, invs[0].PeriodStart)

	_, err = b.svc.Recover(customer(acc), lifecycle.RecoverInput{
		IdempotencyKey: "rec-bad", ResourceID: r2.ID, Months: 2, Method: payment.MethodCREDIT,
	})
	requireFault(t, err, fault.Invalid, "input", "months")

	b.clock.Advance(4 * day) // the trash window (7 days) of r2 is over
	_, err = b.svc.Recover(customer(acc), lifecycle.RecoverInput{
		IdempotencyKey: "rec2", ResourceID: r2.ID, Months: 1, Method: payment.MethodCREDIT,
	})
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	require.Contains(t, err.Error(), "its time in the trash ended")
	require.Equal(t, resource.StateTRASHED, b.resource(t, r2.ID).State)
}

// TestIllegalTransitions: every refused action is a typed fault with a
// clear message, and changes nothing.
func TestIllegalTransitions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc, other := b.account(t), b.account(t)
	b.fund(t, acc, 10_000_000)
	b.fund(t, other, 181_000)
	ctx := customer(acc)

	released := b.buy(t, acc, "s-general-1x1", 1)
	b.setState(t, released.ID, resource.StateRELEASED)
	suspended := b.buy(t, acc, "s-general-1x1", 1)
	b.setState(t, suspended.ID, resource.StateSUSPENDED)
	grace := b.buy(t, acc, "s-general-1x1", 1)
	b.setState(t, grace.ID, resource.StateGRACE)
	active := b.buy(t, acc, "s-general-1x1", 1)
	pendingOrder, err := b.checkout.PlaceOrder(ctx, checkout.PlaceOrderInput{
		IdempotencyKey: "pending", Method: payment.MethodGATEWAY, ReturnURL: "https://app.test/back",
		Items: []checkout.ItemInput{{PlanRef: "s-general-1x1", Count: 1, Months: 1}},
	})
	require.NoError(t, err)
	items, err := b.db.Client.OrderItem.Query().Where(orderitem.OrderID(pendingOrder.Order.ID)).All(b.sys)
	require.NoError(t, err)
	pending := items[0].ResourceID
	require.Equal(t, resource.StatePENDING, b.resource(t, pending).State)

	renew := func(id pulid.ID) error {
		_, err := b.svc.Renew(ctx, lifecycle.RenewInput{IdempotencyKey: key(), ResourceIDs: []pulid.ID{id}, Months: 1, Method: payment.MethodCREDIT})
		return err
	}
	resize := func(c context.Context, id pulid.ID) error {
		_, err := b.svc.Resize(c, lifecycle.ResizeInput{IdempotencyKey: key(), ResourceID: id, PlanRef: "s-general-2x4", Method: payment.MethodCREDIT})
		return err
	}

	err = renew(released.ID)
	requireFault(t, err, fault.InvalidState, "input", "resourceIds", "0")
	require.Contains(t, err.Error(), "cannot renew")
	require.Contains(t, err.Error(), "was released")

	err = resize(ctx, suspended.ID)
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	require.Contains(t, err.Error(), "is suspended; renew it first")
	requireFault(t, resize(ctx, grace.ID), fault.InvalidState, "input", "resourceId")

	requireFault(t, renew(pending), fault.InvalidState, "input", "resourceIds", "0")
	requireFault(t, resize(ctx, pending), fault.InvalidState, "input", "resourceId")
	_, err = b.svc.Delete(ctx, lifecycle.DeleteInput{IdempotencyKey: key(), ResourceID: pending})
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	require.Contains(t, err.Error(), "still being created")
	_, err = b.svc.Stop(ctx, pending)
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	_, err = b.svc.SetAutoRenew(ctx, pending, false, 0)
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	_, err = b.svc.Stop(ctx, grace.ID)
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	_, err = b.svc.Recover(ctx, lifecycle.RecoverInput{IdempotencyKey: key(), ResourceID: active.ID, Months: 1, Method: payment.MethodCREDIT})
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	_, err = b.svc.Renew(ctx, lifecycle.RenewInput{IdempotencyKey: key(), ResourceIDs: []pulid.ID{active.ID}, Months: 2, Method: payment.MethodCREDIT})
	requireFault(t, err, fault.Invalid, "input", "months")

	// Another account's resource does not exist for this customer.
	octx := customer(other)
	_, err = b.svc.Renew(octx, lifecycle.RenewInput{IdempotencyKey: key(), ResourceIDs: []pulid.ID{active.ID}, Months: 1, Method: payment.MethodCREDIT})
	requireFault(t, err, fault.NotFound, "input", "resourceIds", "0")
	_, err = b.svc.Renew(ctx, lifecycle.RenewInput{IdempotencyKey: key(), ResourceIDs: []pulid.ID{active.ID, grace.ID, b.buy(t, other, "s-general-1x1", 1).ID}, Months: 1, Method: payment.MethodCREDIT})
	requireFault(t, err, fault.NotFound, "input", "resourceIds", "2")
	requireFault(t, resize(octx, active.ID), fault.NotFound, "input", "resourceId")
	_, err = b.svc.Delete(octx, lifecycle.DeleteInput{IdempotencyKey: key(), ResourceID: active.ID})
	requireFault(t, err, fault.NotFound, "input", "resourceId")
	_, err = b.svc.Stop(octx, active.ID)
	requireFault(t, err, fault.NotFound)
	_, err = b.svc.SetAutoRenew(octx, active.ID, false, 0)
	requireFault(t, err, fault.NotFound)
	_, err = b.svc.Recover(octx, lifecycle.RecoverInput{IdempotencyKey: key(), ResourceID: active.ID, Months: 1, Method: payment.MethodCREDIT})
	requireFault(t, err, fault.NotFound, "input", "resourceId")

	// Read-only members change nothing.
	_, err = b.svc.Stop(readOnly(acc), active.ID)
	requireFault(t, err, fault.Forbidden)
	_, err = b.svc.Delete(readOnly(acc), lifecycle.DeleteInput{IdempotencyKey: key(), ResourceID: active.ID})
	requireFault(t, err, fault.Forbidden)
	requireFault(t, resize(readOnly(acc), active.ID), fault.Forbidden)

	require.Equal(t, resource.StateACTIVE, b.resource(t, active.ID).State)
	same(t, *active.PeriodEnd, *b.resource(t, active.ID).PeriodEnd)
}

// TestStopStartAndSettings: stop and start have no billing effect and are
// idempotent; auto-renew settings follow the product's rules.
func TestStopStartAndSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 1_000_000)
	ctx := customer(acc)
	r := b.buy(t, acc, "s-general-1x1", 1)
	storage := b.buy(t, acc, "object", 1)
	balance := b.balance(t, acc)

	got, err := b.svc.Stop(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, resource.StateSTOPPED, got.State)
	got, err = b.svc.Stop(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, resource.StateSTOPPED, got.State)
	got, err = b.svc.Start(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, resource.StateACTIVE, got.State)
	same(t, *r.PeriodEnd, *got.PeriodEnd)
	require.Equal(t, balance, b.balance(t, acc))
	require.Equal(t, []string{"Activate:PENDING→ACTIVE", "Stop:ACTIVE→STOPPED", "Start:STOPPED→ACTIVE"}, b.resourceEvents(t, r.ID))

	require.True(t, r.AutoRenew)
	got, err = b.svc.SetAutoRenew(ctx, r.ID, false, 0)
	require.NoError(t, err)
	require.False(t, got.AutoRenew)
	require.Equal(t, 1, got.AutoRenewMonths)
	got, err = b.svc.SetAutoRenew(ctx, r.ID, true, 6)
	require.NoError(t, err)
	require.True(t, got.AutoRenew)
	require.Equal(t, 6, got.AutoRenewMonths)
	_, err = b.svc.SetAutoRenew(ctx, r.ID, true, 2)
	requireFault(t, err, fault.Invalid, "input", "months")

	_, err = b.svc.SetAutoRenew(ctx, storage.ID, false, 0)
	requireFault(t, err, fault.Invalid, "input", "enabled")
	got, err = b.svc.SetAutoRenew(ctx, storage.ID, true, 3)
	require.NoError(t, err)
	require.Equal(t, 3, got.AutoRenewMonths)
}

// TestResizeThroughGateway: a resize paid through the gateway minutes
// later takes effect from the time it was priced, so the invoice says
// exactly what was paid for.
func TestResizeThroughGateway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t)
	b.fund(t, acc, 543_000)
	r := b.buy(t, acc, "s-general-1x1", 3)
	b.clock.Advance(40 * day)
	priced := b.clock.Now()
	res, err := b.svc.Resize(customer(acc), lifecycle.ResizeInput{
		IdempotencyKey: "up", ResourceID: r.ID, PlanRef: "s-general-2x4", Method: payment.MethodGATEWAY,
		ReturnURL: "https://app.test/back",
	})
	require.NoError(t, err)
	require.Equal(t, payment.StatusREQUIRES_ACTION, res.Order.Payment.Status)
	require.Nil(t, res.Invoice)
	require.Equal(t, "181000", b.resource(t, r.ID).PeriodPrice.String())

	// Another resize while this one is open is refused.
	_, err = b.svc.Resize(customer(acc), lifecycle.ResizeInput{
		IdempotencyKey: "up2", ResourceID: r.ID, PlanRef: "s-general-2x4", Method: payment.MethodCREDIT,
	})
	requireFault(t, err, fault.Conflict, "input", "resourceId")

	b.clock.Advance(7 * time.Minute)
	att, err := b.db.Client.GatewayAttempt.Query().Only(b.sys)
	require.NoError(t, err)
	require.Equal(t, "565000", att.Amount.String())
	out := b.checkout.ApplyGatewayCallback(b.sys, gateway.Callback{
		TxnRef: att.TxnRef, Amount: att.Amount, Currency: "VND", TransactionNo: "9", ResponseCode: "00", Success: true,
	})
	require.Equal(t, gateway.IPNConfirmed, out)
	cur := b.resource(t, r.ID)
	require.Equal(t, "520000", cur.PeriodPrice.String())
	same(t, priced, *cur.PeriodStart)
	invs := b.invoices(t, r.ID, invoice.ActionRESIZE)
	require.Len(t, invs, 1)
	require.Equal(t, "565000", invs[0].Total.String())
	same(t, priced, invs[0].PeriodStart)

	again, err := b.svc.Resize(customer(acc), lifecycle.ResizeInput{
		IdempotencyKey: "up", ResourceID: r.ID, PlanRef: "s-general-2x4", Method: payment.MethodGATEWAY,
		ReturnURL: "https://app.test/back",
	})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, invs[0].ID, again.Invoice.ID)
	require.Equal(t, payment.StatusSUCCEEDED, again.Order.Payment.Status)
}
