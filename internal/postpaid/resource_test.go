package postpaid_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	entaccount "billing/ent/account"
	"billing/ent/auditlog"
	"billing/ent/resource"
	"billing/ent/usageinterval"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/postpaid"
)

// TestConvert: operators convert accounts with a reason (audit-logged);
// the type decides how new resources are billed, existing ones keep
// their billing mode until they end.
func TestConvert(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, -1) // prepaid
	_, err := b.svc.CreateResource(customer(acc), postpaid.CreateInput{IdempotencyKey: key(), Plan: "srv"})
	requireFault(t, err, fault.InvalidState, "input", "accountId")

	_, err = b.svc.Convert(customer(acc), postpaid.ConvertInput{AccountID: acc, Type: entaccount.TypePOSTPAID, Reason: "x"})
	requireFault(t, err, fault.Forbidden)
	_, err = b.svc.Convert(b.admin, postpaid.ConvertInput{AccountID: acc, Type: entaccount.TypePOSTPAID})
	requireFault(t, err, fault.Invalid, "input", "reason")
	_, err = b.svc.Convert(b.admin, postpaid.ConvertInput{AccountID: acc, Type: entaccount.TypePREPAID, Reason: "x"})
	requireFault(t, err, fault.InvalidState, "input", "type")
	limit := money.MustParse("0.5")
	_, err = b.svc.Convert(b.admin, postpaid.ConvertInput{AccountID: acc, Type: entaccount.TypePOSTPAID, Reason: "x", CreditLimit: &limit})
	requireFault(t, err, fault.Invalid, "input", "creditLimit")

	a, err := b.svc.Convert(b.admin, postpaid.ConvertInput{AccountID: acc, Type: entaccount.TypePOSTPAID, Reason: "  contract 42  "})
	require.NoError(t, err)
	require.Equal(t, entaccount.TypePOSTPAID, a.Type)
	a, err = b.svc.SetCreditLimit(b.admin, postpaid.SetCreditLimitInput{AccountID: acc, Limit: vnd(1_000_000), Reason: "approved"})
	require.NoError(t, err)
	require.Equal(t, "1000000", a.CreditLimit.String())
	_, err = b.svc.SetCreditLimit(customer(acc), postpaid.SetCreditLimitInput{AccountID: acc, Limit: vnd(9)})
	requireFault(t, err, fault.Forbidden)

	logs, err := b.db.Client.AuditLog.Query().Where(auditlog.AccountID(acc)).Order(auditlog.ByCreatedAt(), auditlog.ByID()).All(b.sys)
	require.NoError(t, err)
	var got []string
	for _, l := range logs {
		got = append(got, l.Action+" by "+l.Actor+": "+l.Reason)
	}
	require.Equal(t, []string{"account.create by system: ", "account.convert by op-1: contract 42", "account.credit_limit by op-1: approved"}, got)
	require.Equal(t, map[string]any{"from": "PREPAID", "to": "POSTPAID"}, logs[1].Details)
	require.Equal(t, map[string]any{"previous": "0", "limit": "1000000", "type": "POSTPAID"}, logs[2].Details)

	r := b.create(t, acc, "srv")

	// Back to prepaid: the postpaid resource stays postpaid and is still
	// invoiced monthly; new postpaid resources are refused.
	b.at(local(2026, 11, 16, 0, 0))
	_, err = b.svc.Convert(b.admin, postpaid.ConvertInput{AccountID: acc, Type: entaccount.TypePREPAID, Reason: "back"})
	require.NoError(t, err)
	_, err = b.svc.CreateResource(customer(acc), postpaid.CreateInput{IdempotencyKey: key(), Plan: "srv"})
	requireFault(t, err, fault.InvalidState, "input", "accountId")
	require.Equal(t, resource.BillingModePOSTPAID, b.resource(t, r.ID).BillingMode)
	require.True(t, b.resize(t, acc, r.ID, "srv-big").Changed)
	b.at(local(2026, 12, 1, 0, 0))
	res, err := b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, res.Invoices)
	// 15 days at 300,000 + 15 days at 600,000.
	require.Equal(t, "450000/45000/495000 paid 0 UNPAID", amounts(b.monthly(t, r.ID)[0]))
	b.delete(t, acc, r.ID)
}

// TestCreditLimit: unpaid invoices + usage this month + the next 30 days
// of the running resources + a month of the new configuration must not
// exceed the credit limit. A month of srv is 330,000 VAT included.
func TestCreditLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 900_000)
	refused := func(plan string) {
		t.Helper()
		_, err := b.svc.CreateResource(customer(acc), postpaid.CreateInput{IdempotencyKey: key(), Plan: plan})
		requireFault(t, err, fault.CreditLimitExceeded, "input")
	}
	r1 := b.create(t, acc, "srv") // 0 + 330,000
	r2 := b.create(t, acc, "srv") // 330,000 + 330,000
	refused("srv")                // 660,000 + 330,000 > 900,000

	// Half a month later: 2 × 165,000 used, r2 deleted (its usage stays).
	b.at(local(2026, 11, 16, 0, 0))
	b.delete(t, acc, r2.ID)
	d, err := b.svc.Debt(customer(acc), "")
	require.NoError(t, err)
	require.Equal(t, "330000 used, 330000 committed, 240000 headroom", debt(d))
	refused("srv") // 330,000 + 330,000 + 330,000
	_, err = b.svc.SetCreditLimit(b.admin, postpaid.SetCreditLimitInput{AccountID: acc, Limit: vnd(990_000)})
	require.NoError(t, err)
	r3 := b.create(t, acc, "srv") // exactly the limit: allowed

	// Month-end: 330,000 + 165,000 + 165,000 unpaid, 2 × 330,000 committed.
	b.at(local(2026, 12, 1, 0, 0))
	_, err = b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	_, err = b.svc.Resize(customer(acc), postpaid.ResizeInput{IdempotencyKey: key(), ResourceID: r1.ID, Plan: "srv-big"})
	requireFault(t, err, fault.CreditLimitExceeded, "input") // 660,000 + 330,000 + 660,000
	_, err = b.svc.SetCreditLimit(b.admin, postpaid.SetCreditLimitInput{AccountID: acc, Limit: vnd(1_650_000)})
	require.NoError(t, err)
	require.True(t, b.resize(t, acc, r1.ID, "srv-big").Changed)
	// A smaller configuration is never refused.
	_, err = b.svc.SetCreditLimit(b.admin, postpaid.SetCreditLimitInput{AccountID: acc, Limit: vnd(0)})
	require.NoError(t, err)
	b.at(local(2026, 12, 11, 0, 0))
	require.True(t, b.resize(t, acc, r1.ID, "srv").Changed)
	require.NoError(t, b.db.Client.Account.UpdateOneID(acc).SetCreditLimit(vnd(1_650_000)).Exec(b.sys))

	d, err = b.svc.Debt(customer(acc), "")
	require.NoError(t, err)
	require.Equal(t, "660000", d.Unpaid.String())
	require.Equal(t, 3, d.UnpaidInvoices)
	require.Equal(t, "0", d.Overdue.String())
	require.Nil(t, d.OldestDueAt)
	// 10 days of srv-big (220,000) and of srv (110,000) used; 2 × srv ahead.
	require.Equal(t, "330000 used, 660000 committed, 0 headroom", debt(d))

	charges, err := b.svc.RunningCharges(customer(acc), "")
	require.NoError(t, err)
	require.Len(t, charges, 2)
	byID := map[string]postpaid.ResourceCharge{}
	for _, c := range charges {
		byID[string(c.Resource.ID)] = c
		same(t, local(2026, 12, 1, 0, 0), c.From)
		same(t, local(2026, 12, 11, 0, 0), c.Until)
	}
	c1 := byID[string(r1.ID)]
	require.Equal(t, "200000/20000/220000", c1.Subtotal.String()+"/"+c1.VAT.String()+"/"+c1.Total.String())
	// The srv configuration starts this minute: no line yet.
	require.Len(t, c1.Lines, 1)
	require.Equal(t, int64(14_400), c1.Lines[0].Minutes)
	require.Equal(t, "200000", c1.Lines[0].Amount.String())
	c3 := byID[string(r3.ID)]
	require.Equal(t, "110000", c3.Total.String())

	_, err = b.svc.RunningCharges(customer(b.account(t, 0)), acc)
	requireFault(t, err, fault.NotFound)
	_, err = b.svc.RunningCharges(b.admin, acc)
	require.NoError(t, err)
}

func debt(d *postpaid.DebtSummary) string {
	return d.Running.String() + " used, " + d.Committed.String() + " committed, " + d.Headroom.String() + " headroom"
}

// TestResizeAndDeleteRefusals covers who and what may be changed.
func TestResizeAndDeleteRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	r := b.create(t, acc, "srv-multi", map[string]int64{"root_disk_gb": 40})
	require.Equal(t, int64(40), r.Components[1].Quantity)
	require.Equal(t, "376000", r.PeriodPrice.String()) // 181,000 + 140,000 + 55,000

	_, err := b.svc.CreateResource(customer(acc), postpaid.CreateInput{IdempotencyKey: key(), Plan: "prepaid"})
	requireFault(t, err, fault.Invalid, "input", "billingMode")
	_, err = b.svc.CreateResource(customer(acc), postpaid.CreateInput{IdempotencyKey: key(), Plan: "srv-multi",
		Quantities: map[string]int64{"root_disk_gb": 25}})
	requireFault(t, err, fault.Invalid, "input", "quantities", "root_disk_gb")

	other := b.account(t, 10_000_000)
	_, err = b.svc.Resize(customer(other), postpaid.ResizeInput{IdempotencyKey: key(), ResourceID: r.ID, Plan: "srv"})
	requireFault(t, err, fault.NotFound, "input", "resourceId")
	_, err = b.svc.Delete(customer(other), postpaid.DeleteInput{IdempotencyKey: key(), ResourceID: r.ID})
	requireFault(t, err, fault.NotFound, "input", "resourceId")

	// Stop has no billing effect; a stopped resource can be resized.
	require.NoError(t, b.db.Client.Resource.UpdateOneID(r.ID).SetState(resource.StateSTOPPED).Exec(b.sys))
	b.at(local(2026, 11, 2, 0, 0))
	res := b.resize(t, acc, r.ID, "", map[string]int64{"root_disk_gb": 60, "public_ip": 0})
	require.True(t, res.Changed)
	require.Equal(t, resource.StateSTOPPED, res.Resource.State)
	ivs, err := b.db.Client.UsageInterval.Query().Where(usageinterval.ResourceID(r.ID)).
		Order(usageinterval.ByStart()).All(b.sys)
	require.NoError(t, err)
	require.Len(t, ivs, 2)
	same(t, local(2026, 11, 2, 0, 0), *ivs[0].End)
	same(t, local(2026, 11, 2, 0, 0), ivs[1].Start)
	require.Nil(t, ivs[1].End)
	require.Equal(t, int64(60), ivs[1].Components[1].Quantity)

	// Suspended for non-payment: pay first. Suspended by an operator: no
	// resize either (the state machine refuses).
	reason := resource.SuspendReasonNON_PAYMENT
	require.NoError(t, b.db.Client.Resource.UpdateOneID(r.ID).SetState(resource.StateSUSPENDED).SetSuspendReason(reason).Exec(b.sys))
	_, err = b.svc.Resize(customer(acc), postpaid.ResizeInput{IdempotencyKey: key(), ResourceID: r.ID, Plan: "srv"})
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	// …but it can be deleted, which ends its usage.
	b.at(local(2026, 11, 3, 0, 0))
	b.delete(t, acc, r.ID)
	_, err = b.svc.Delete(customer(acc), postpaid.DeleteInput{IdempotencyKey: key(), ResourceID: r.ID})
	requireFault(t, err, fault.InvalidState, "input", "resourceId")
	open, err := b.db.Client.UsageInterval.Query().Where(usageinterval.ResourceID(r.ID), usageinterval.EndIsNil()).Count(b.sys)
	require.NoError(t, err)
	require.Zero(t, open)

	// Prepaid-only actions are refused for postpaid resources, and
	// postpaid actions for prepaid ones.
	requireFault(t, postpaid.PrepaidOnly(r, "renew"), fault.InvalidState, "input", "resourceId")
	prepaid := *r
	prepaid.BillingMode = resource.BillingModePREPAID
	require.NoError(t, postpaid.PrepaidOnly(&prepaid, "renew"))
	requireFault(t, postpaid.PostpaidOnly(&prepaid), fault.InvalidState, "input", "resourceId")
}

// TestCreateIdempotent: a retried creation returns the same resource.
func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	in := postpaid.CreateInput{IdempotencyKey: key(), Plan: "srv", Name: "web-1"}
	first, err := b.svc.CreateResource(customer(acc), in)
	require.NoError(t, err)
	b.at(local(2026, 11, 1, 0, 5))
	again, err := b.svc.CreateResource(customer(acc), in)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, first.Resource.ID, again.Resource.ID)
	n, err := b.db.Client.Resource.Query().Count(b.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"Activate:PENDING→ACTIVE"}, b.resourceEvents(t, first.Resource.ID))
}
