package checkout_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/ledgerentry"
	"billing/ent/orderitem"
	"billing/ent/outboxevent"
	"billing/ent/payment"
	"billing/ent/resource"
	"billing/internal/checkout"
	"billing/internal/lifecycle/state"
	"billing/internal/provision"
	"billing/internal/pulid"
)

// TestCreditMatchesStepByStep: a CREDIT order is written in its final
// states at once (order PAID, items PROVISIONING, payment SUCCEEDED),
// while TOP_UP_AND_PAY covered by credit takes the step-by-step path
// (PENDING rows, debit, then updates). Both must leave the same rows,
// ledger entries and events behind — here with a coupon and a resource
// that fails to provision, so refunds and the order's end are covered.
//
// With every resource provisioned, the CREDIT order is even written as
// provisioned at once (order COMPLETED, resources ACTIVE, items
// SUCCEEDED) when the provisioner answers inline: that must leave the
// same rows and events too, resource events included.
func TestCreditMatchesStepByStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fail     bool
		order    string
		statuses []string
	}{
		{"one resource fails", true, "PARTIALLY_FAILED", []string{"PENDING", "SUCCEEDED", "SUCCEEDED(true)", "PARTIALLY_REFUNDED(false)!"}},
		{"all provisioned", false, "COMPLETED", []string{"PENDING", "SUCCEEDED", "SUCCEEDED(true)", "SUCCEEDED(true)!"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creditMatchesStepByStep(t, tc.fail, tc.order, tc.statuses)
		})
	}
}

func creditMatchesStepByStep(t *testing.T, fail bool, wantOrder string, wantStatuses []string) {
	b := setup(t)
	plan := b.serverPlan(t)
	b.fixedCoupon(t, "SAVE20K", 20_000, 0)
	if fail {
		b.sim.FailWhen(func(r provision.Request) bool { return r.Position == 1 })
	}

	type outcome struct {
		res      *checkout.OrderResult
		items    []*ent.OrderItem
		states   []resource.State
		periods  []string
		entries  []*ent.LedgerEntry
		events   []*ent.OutboxEvent
		payments []checkout.PaymentEvent
		balance  string
	}
	place := func(method payment.Method) outcome {
		acc := b.account(t)
		b.fund(t, acc, 1_000_000)
		res, err := b.place(customer(acc), "k-"+string(method), method, "SAVE20K", item(plan, 2, 2))
		require.NoError(t, err)
		o := outcome{res: res, payments: b.events(t, res.Payment.ID)}
		o.items, err = b.db.Client.OrderItem.Query().Where(orderitem.OrderID(res.Order.ID)).
			Order(ent.Asc(orderitem.FieldID)).All(b.sys)
		require.NoError(t, err)
		for _, it := range o.items {
			r, err := b.db.Client.Resource.Get(b.sys, it.ResourceID)
			require.NoError(t, err)
			o.states = append(o.states, r.State)
			period := fmt.Sprint(r.PeriodMonths, " ", r.PeriodPaid, " ", r.ExternalRef != "", " ", r.UpdatedAt.UTC())
			if r.PeriodStart != nil && r.PeriodEnd != nil {
				period += fmt.Sprint(" ", r.PeriodStart.UTC(), " ", r.PeriodEnd.UTC())
			}
			o.periods = append(o.periods, period)
		}
		o.entries, err = b.db.Client.LedgerEntry.Query().Where(ledgerentry.AccountID(acc)).
			Order(ent.Asc(ledgerentry.FieldCreatedAt), ent.Asc(ledgerentry.FieldID)).All(b.sys)
		require.NoError(t, err)
		o.events, err = b.db.Client.OutboxEvent.Query().Where(outboxevent.AccountID(string(acc))).
			Order(ent.Asc(outboxevent.FieldID)).All(b.sys)
		require.NoError(t, err)
		o.balance, _ = b.wallet(t, acc)
		b.verify(t, acc)
		return o
	}
	credit, steps := place(payment.MethodCREDIT), place(payment.MethodTOP_UP_AND_PAY)

	c, s := credit.res, steps.res
	require.Equal(t, wantOrder, string(c.Order.Status))
	require.Equal(t, s.Order.Status, c.Order.Status)
	for _, f := range []func(*checkout.OrderResult) any{
		func(r *checkout.OrderResult) any {
			return r.Order.Subtotal.String() + " " + r.Order.Discount.String() + " " + r.Order.Total.String()
		},
		func(r *checkout.OrderResult) any { return r.Order.CouponCode },
		func(r *checkout.OrderResult) any { return r.Order.CreatedAt.UTC() },
		func(r *checkout.OrderResult) any { return r.Order.UpdatedAt.UTC() },
		func(r *checkout.OrderResult) any { return r.Payment.Status },
		func(r *checkout.OrderResult) any { return r.Payment.Amount.String() },
		func(r *checkout.OrderResult) any { return r.Payment.CreditAmount.String() },
		func(r *checkout.OrderResult) any { return r.Payment.GatewayAmount.String() },
		func(r *checkout.OrderResult) any { return r.Payment.RefundedAmount.String() },
		func(r *checkout.OrderResult) any { return r.Payment.HoldID },
		func(r *checkout.OrderResult) any { return r.Payment.ExpiresAt },
		func(r *checkout.OrderResult) any {
			return r.Payment.RedirectURL + "|" + r.Payment.ReturnURL + "|" + r.Payment.FailureReason
		},
		func(r *checkout.OrderResult) any { return len(r.Payment.InvoiceIds) },
		func(r *checkout.OrderResult) any { return r.Payment.CreatedAt.UTC() },
	} {
		require.Equal(t, f(s), f(c))
	}

	require.Len(t, credit.items, 2)
	require.Len(t, steps.items, 2)
	for i := range credit.items {
		ci, si := credit.items[i], steps.items[i]
		require.Equal(t, si.Status, ci.Status)
		require.Equal(t, si.FailureReason, ci.FailureReason)
		require.Equal(t, si.Total.String(), ci.Total.String())
		require.Equal(t, si.Discount.String(), ci.Discount.String())
		require.True(t, si.UpdatedAt.Equal(ci.UpdatedAt))
	}
	require.Equal(t, steps.states, credit.states)
	require.Equal(t, steps.periods, credit.periods)
	require.Equal(t, steps.balance, credit.balance)

	require.Len(t, credit.entries, len(steps.entries))
	for i := range credit.entries {
		ce, se := credit.entries[i], steps.entries[i]
		require.Equal(t, se.Kind, ce.Kind)
		require.Equal(t, se.Amount.String(), ce.Amount.String())
		require.Equal(t, se.BalanceAfter.String(), ce.BalanceAfter.String())
		require.Equal(t, se.Description, ce.Description)
	}

	// The same events in the same order; payment events equal but for ids.
	topics := func(evs []*ent.OutboxEvent) (out []string) {
		for _, e := range evs {
			out = append(out, e.Topic)
		}
		return out
	}
	require.Equal(t, topics(steps.events), topics(credit.events))
	require.Equal(t, wantStatuses, statuses(credit.payments))
	// Resource events: the same transitions with the same payloads but
	// for ids and times (compared as instants).
	resourceEvents := func(evs []*ent.OutboxEvent) (out []state.Event) {
		for _, e := range evs {
			if e.Topic != state.TopicResource {
				continue
			}
			var ev state.Event
			require.NoError(t, json.Unmarshal(e.Payload, &ev))
			ev.ResourceID, ev.AccountID = "", ""
			if ev.PeriodEnd != nil {
				end := ev.PeriodEnd.UTC()
				ev.PeriodEnd = &end
			}
			out = append(out, ev)
		}
		return out
	}
	require.NotEmpty(t, resourceEvents(credit.events))
	require.Equal(t, resourceEvents(steps.events), resourceEvents(credit.events))
	invoices := func(o outcome) (out []string) {
		for _, id := range o.res.Payment.InvoiceIds {
			inv, err := b.db.Client.Invoice.Get(b.sys, pulid.ID(id))
			require.NoError(t, err)
			out = append(out, fmt.Sprint(inv.Action, inv.Status, inv.Total, inv.Discount, inv.PeriodStart.UTC(), inv.PeriodEnd.UTC()))
		}
		return out
	}
	require.Equal(t, invoices(steps), invoices(credit))
	require.Len(t, credit.payments, len(steps.payments))
	for i := range credit.payments {
		ce, se := credit.payments[i], steps.payments[i]
		ce.PaymentID, ce.OrderID, ce.ResourceID = "", "", pulid.ID(boolString(ce.ResourceID != ""))
		se.PaymentID, se.OrderID, se.ResourceID = "", "", pulid.ID(boolString(se.ResourceID != ""))
		require.Equal(t, se, ce)
	}
}

func boolString(b bool) string {
	if b {
		return "set"
	}
	return ""
}
