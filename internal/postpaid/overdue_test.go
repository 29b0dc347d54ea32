package postpaid_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent/invoice"
	"billing/ent/notification"
	"billing/ent/resource"
	"billing/internal/fault"
	"billing/internal/postpaid"
	"billing/internal/pricing"
	"billing/internal/pulid"
)

// TestOverdueSuspension: 15 days past due, unpaid invoices suspend the
// account's running postpaid resources for NON_PAYMENT; paying every
// overdue invoice lifts exactly those suspensions.
func TestOverdueSuspension(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	running := b.create(t, acc, "srv")
	stopped := b.create(t, acc, "srv")
	byOperator := b.create(t, acc, "srv")
	require.NoError(t, b.db.Client.Resource.UpdateOneID(stopped.ID).SetState(resource.StateSTOPPED).Exec(b.sys))
	require.NoError(t, b.db.Client.Resource.UpdateOneID(byOperator.ID).SetState(resource.StateSUSPENDED).
		SetSuspendReason(resource.SuspendReasonOPERATOR).Exec(b.sys))
	prepaid, err := b.db.Client.Resource.Create().SetAccountID(acc).SetProductID(running.ProductID).SetPlanID(running.PlanID).
		SetName("prepaid-1").SetBillingMode(resource.BillingModePREPAID).SetState(resource.StateACTIVE).
		SetComponents([]pricing.Component{}).SetPeriodPrice(vnd(0)).Save(b.sys)
	require.NoError(t, err)

	b.at(local(2026, 12, 1, 0, 0))
	_, err = b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	invs, err := b.db.Client.Invoice.Query().Where(invoice.AccountID(acc)).Order(invoice.ByCode()).All(b.sys)
	require.NoError(t, err)
	require.Len(t, invs, 3)
	same(t, local(2026, 12, 16, 0, 0), *invs[0].DueAt)

	states := func() string {
		out := ""
		for _, id := range []pulid.ID{running.ID, stopped.ID, byOperator.ID, prepaid.ID} {
			r := b.resource(t, id)
			out += string(r.State)
			if r.SuspendReason != nil {
				out += "(" + string(*r.SuspendReason) + ")"
			}
			out += " "
		}
		return out
	}

	// Due on 16 December; suspended 15 days later, not a minute before.
	res, err := b.svc.SuspendOverdue(b.sys, local(2026, 12, 30, 23, 59))
	require.NoError(t, err)
	require.Equal(t, postpaid.SuspendResult{}, res)
	b.at(local(2026, 12, 31, 0, 0))
	res, err = b.svc.SuspendOverdue(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, postpaid.SuspendResult{Accounts: 1, Resources: 2}, res)
	require.Equal(t, "SUSPENDED(NON_PAYMENT) SUSPENDED(NON_PAYMENT) SUSPENDED(OPERATOR) ACTIVE ", states())
	res, err = b.svc.SuspendOverdue(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, postpaid.SuspendResult{}, res)
	notices := func(kind string) int {
		n, err := b.db.Client.Notification.Query().Where(notification.AccountID(acc), notification.Kind(kind)).Count(b.sys)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 1, notices(postpaid.KindSuspended))

	// Nothing new while overdue; a suspended resource is not resized.
	_, err = b.svc.CreateResource(customer(acc), postpaid.CreateInput{IdempotencyKey: key(), Plan: "srv"})
	requireFault(t, err, fault.InvalidState, "input", "accountId")
	_, err = b.svc.Resize(customer(acc), postpaid.ResizeInput{IdempotencyKey: key(), ResourceID: running.ID, Plan: "srv-big"})
	requireFault(t, err, fault.InvalidState, "input", "resourceId")

	// Paying two of the three overdue invoices lifts nothing.
	b.fund(t, acc, 330_000*3)
	_, err = b.svc.PayInvoices(customer(acc), postpaid.PayInvoicesInput{IdempotencyKey: key(), InvoiceIDs: []pulid.ID{invs[0].ID, invs[1].ID}})
	require.NoError(t, err)
	require.Equal(t, "SUSPENDED(NON_PAYMENT) SUSPENDED(NON_PAYMENT) SUSPENDED(OPERATOR) ACTIVE ", states())
	// Paying the last one (here by the daily job) lifts the suspensions
	// for non-payment, and only those.
	pay, err := b.svc.AutoPay(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, pay.Invoices)
	require.Equal(t, "ACTIVE ACTIVE SUSPENDED(OPERATOR) ACTIVE ", states())
	require.Equal(t, 1, notices(postpaid.KindReinstated))
	require.Equal(t, []string{
		"Activate:PENDING→ACTIVE", "SuspendForNonPayment:STOPPED→SUSPENDED", "Reinstate:SUSPENDED→ACTIVE",
	}, b.resourceEvents(t, stopped.ID))
	require.Equal(t, []string{"Activate:PENDING→ACTIVE"}, b.resourceEvents(t, byOperator.ID))

	d, err := b.svc.Debt(b.admin, acc)
	require.NoError(t, err)
	require.Equal(t, "0 0 0", fmt.Sprintf("%d %d %s", d.UnpaidInvoices, d.SuspendedForNonPayment, d.Unpaid))
}

// TestOverdueDaysConfigurable: the threshold is a setting.
func TestOverdueDaysConfigurable(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0), func(c *postpaid.Config) { c.OverdueDays = 3; c.DueDays = 10 })
	acc := b.account(t, 10_000_000)
	r := b.create(t, acc, "srv")
	b.at(local(2026, 12, 1, 0, 0))
	_, err := b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	same(t, local(2026, 12, 11, 0, 0), *b.monthly(t, r.ID)[0].DueAt)
	res, err := b.svc.SuspendOverdue(b.sys, local(2026, 12, 14, 0, 0))
	require.NoError(t, err)
	require.Equal(t, 1, res.Resources)
	// Deleting a suspended resource ends its usage like any other.
	b.at(local(2026, 12, 14, 0, 0))
	b.delete(t, acc, r.ID)
}
