package postpaid_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent/invoice"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/postpaid"
	"billing/internal/pulid"
)

// TestMonthEndWholeMonth: one resource at 300,000 per 30 days, VAT 10%,
// running a whole calendar month of 28, 29, 30 and 31 days.
func TestMonthEndWholeMonth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		month   time.Time
		days    int64
		amounts string
		code    string
	}{
		{"30 days (November 2026)", local(2026, 11, 1, 0, 0), 30, "300000/30000/330000 paid 0 UNPAID", "INV-202612-000001"},
		{"31 days (December 2026)", local(2026, 12, 1, 0, 0), 31, "310000/31000/341000 paid 0 UNPAID", "INV-202701-000001"},
		{"28 days (February 2027)", local(2027, 2, 1, 0, 0), 28, "280000/28000/308000 paid 0 UNPAID", "INV-202703-000001"},
		{"29 days (February 2028)", local(2028, 2, 1, 0, 0), 29, "290000/29000/319000 paid 0 UNPAID", "INV-202803-000001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.month)
			acc := b.account(t, 10_000_000)
			r := b.create(t, acc, "srv")
			next := tc.month.AddDate(0, 1, 0)
			b.at(next)
			res, err := b.svc.RunMonthEnd(b.sys, b.clock.Now())
			require.NoError(t, err)
			require.Equal(t, 1, res.Invoices)
			same(t, tc.month, res.PeriodStart)
			same(t, next, res.PeriodEnd)

			invs := b.monthly(t, r.ID)
			require.Len(t, invs, 1)
			inv := invs[0]
			require.Equal(t, tc.amounts, amounts(inv))
			require.Equal(t, res.Total.String(), inv.Total.String())
			require.Equal(t, tc.code, inv.Code)
			require.Equal(t, acc, inv.AccountID)
			require.Equal(t, r.ProductID, inv.ProductID)
			same(t, tc.month, inv.PeriodStart)
			same(t, next, inv.PeriodEnd)
			same(t, next, inv.IssuedAt)
			same(t, next.Add(15*24*time.Hour), *inv.DueAt)
			require.Nil(t, inv.PaidAt)
			require.Len(t, inv.Edges.Lines, 1)
			l := inv.Edges.Lines[0]
			require.Equal(t, fmt.Sprintf("Server 300000×1 %dmin = %d", tc.days*1440, tc.days*10_000), line(l))
			same(t, tc.month, *l.PeriodStart)
			same(t, next, *l.PeriodEnd)
			require.True(t, l.DiscountPercent.IsZero())
			require.True(t, l.CouponShare.IsZero())
		})
	}
}

// TestMonthEndTimeZoneBoundary: months are calendar months in the billing
// zone (UTC+7). A resource created at 23:30 on 30 November local time is
// invoiced 30 minutes for November; one created at 00:30 on 1 December
// local time (still 30 November in UTC) nothing for November.
func TestMonthEndTimeZoneBoundary(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 30, 23, 30))
	acc := b.account(t, 10_000_000)
	late := b.create(t, acc, "srv")
	b.at(local(2026, 12, 1, 0, 30))
	require.Equal(t, 30, b.clock.Now().UTC().Day(), "still 30 November in UTC")
	early := b.create(t, acc, "srv")

	// At 23:59 local on 30 November the month just closed is October.
	res, err := b.svc.RunMonthEnd(b.sys, local(2026, 11, 30, 23, 59))
	require.NoError(t, err)
	same(t, local(2026, 10, 1, 0, 0), res.PeriodStart)
	require.Equal(t, 0, res.Invoices)

	res, err = b.svc.RunMonthEnd(b.sys, local(2026, 12, 1, 0, 0))
	require.NoError(t, err)
	require.Equal(t, 1, res.Invoices)
	invs := b.monthly(t, late.ID)
	require.Len(t, invs, 1)
	// 300,000 × 30 / 43,200 = 208.33 → 208; VAT 20.8 → 21.
	require.Equal(t, "208/21/229 paid 0 UNPAID", amounts(invs[0]))
	require.Equal(t, "Server 300000×1 30min = 208", line(invs[0].Edges.Lines[0]))
	same(t, local(2026, 11, 30, 23, 30), *invs[0].Edges.Lines[0].PeriodStart)
	same(t, local(2026, 12, 1, 0, 0), *invs[0].Edges.Lines[0].PeriodEnd)
	require.Equal(t, "INV-202612-000001", invs[0].Code)
	require.Empty(t, b.monthly(t, early.ID))

	b.at(local(2027, 1, 1, 0, 0))
	res, err = b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 2, res.Invoices)
	invs = b.monthly(t, late.ID)
	require.Len(t, invs, 2)
	require.Equal(t, "310000/31000/341000 paid 0 UNPAID", amounts(invs[1]))
	invs = b.monthly(t, early.ID)
	require.Len(t, invs, 1)
	// 44,640 − 30 = 44,610 minutes: 309,791.67 → 309,792; VAT 30,979.2 → 30,979.
	require.Equal(t, "309792/30979/340771 paid 0 UNPAID", amounts(invs[0]))
	require.Equal(t, int64(44_610), invs[0].Edges.Lines[0].DurationMinutes)
}

// TestMonthEndIdempotent: running month-end twice, or on several
// instances at once, creates each invoice once with gapless codes.
func TestMonthEndIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 10, 8, 0), func(c *postpaid.Config) { c.Batch = 7 })
	var ids []pulid.ID
	for range 3 {
		acc := b.account(t, 100_000_000)
		for range 10 {
			ids = append(ids, b.create(t, acc, "srv").ID)
		}
	}
	now := local(2026, 12, 1, 0, 0)
	b.at(now)
	const runs = 4
	var (
		wg      sync.WaitGroup
		results [runs]postpaid.MonthEndResult
		errs    [runs]error
	)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.svc.RunMonthEnd(b.sys, now)
		}()
	}
	wg.Wait()
	created := 0
	total := money.Zero
	for i := range runs {
		require.NoError(t, errs[i])
		created += results[i].Invoices
		total = total.Add(results[i].Total)
	}
	require.Equal(t, len(ids), created)
	// 20 days and 16 hours = 29,760 minutes: 206,666.67 → 206,667 + 20,667 VAT.
	require.Equal(t, money.VND(227_334*30).String(), total.String())

	again, err := b.svc.RunMonthEnd(b.sys, now.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 0, again.Invoices)

	invs, err := b.db.Client.Invoice.Query().Where(invoice.ActionEQ(invoice.ActionMONTHLY)).All(b.sys)
	require.NoError(t, err)
	require.Len(t, invs, len(ids))
	codes := make([]string, len(invs))
	per := map[pulid.ID]int{}
	for i, inv := range invs {
		codes[i] = inv.Code
		per[inv.ResourceID]++
		require.Equal(t, "206667/20667/227334 paid 0 UNPAID", amounts(inv))
	}
	sort.Strings(codes)
	for i, c := range codes {
		require.Equal(t, fmt.Sprintf("INV-202612-%06d", i+1), c)
	}
	for _, id := range ids {
		require.Equal(t, 1, per[id], id)
	}
}

// TestMonthEndResizeAndDelete: a resize in the middle of the month gives
// two lines; a deletion ends the usage (at its minute) and the invoice
// bills it up to there; a deleted resource gets no invoice for later months.
func TestMonthEndResizeAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	resized := b.create(t, acc, "srv")
	deleted := b.create(t, acc, "srv")
	multi := b.create(t, acc, "srv-multi")

	b.at(local(2026, 11, 11, 0, 0))
	res := b.resize(t, acc, resized.ID, "srv-big")
	require.True(t, res.Changed)
	require.Equal(t, "600000", res.Resource.PeriodPrice.String())
	// The same configuration again records nothing.
	require.False(t, b.resize(t, acc, resized.ID, "srv-big").Changed)

	b.at(local(2026, 11, 16, 12, 0).Add(45 * time.Second))
	b.delete(t, acc, deleted.ID)
	require.Equal(t, []string{"Activate:PENDING→ACTIVE", "Delete:ACTIVE→DELETED"}, b.resourceEvents(t, deleted.ID))
	require.Equal(t, []string{"Activate:PENDING→ACTIVE", "Resize:ACTIVE→ACTIVE"}, b.resourceEvents(t, resized.ID))

	b.at(local(2026, 12, 1, 0, 0))
	out, err := b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 3, out.Invoices)

	invs := b.monthly(t, resized.ID)
	require.Len(t, invs, 1)
	// 10 days at 300,000 and 20 days at 600,000.
	require.Equal(t, "500000/50000/550000 paid 0 UNPAID", amounts(invs[0]))
	lines := invs[0].Edges.Lines
	require.Len(t, lines, 2)
	require.Equal(t, "Server 300000×1 14400min = 100000", line(lines[0]))
	require.Equal(t, "Server 600000×1 28800min = 400000", line(lines[1]))
	same(t, local(2026, 11, 1, 0, 0), *lines[0].PeriodStart)
	same(t, local(2026, 11, 11, 0, 0), *lines[0].PeriodEnd)
	same(t, local(2026, 11, 11, 0, 0), *lines[1].PeriodStart)
	same(t, local(2026, 12, 1, 0, 0), *lines[1].PeriodEnd)

	invs = b.monthly(t, deleted.ID)
	require.Len(t, invs, 1)
	// 15.5 days = 22,320 minutes (the 45 seconds are not a whole minute).
	require.Equal(t, "155000/15500/170500 paid 0 UNPAID", amounts(invs[0]))
	same(t, local(2026, 11, 16, 12, 0), *invs[0].Edges.Lines[0].PeriodEnd)

	invs = b.monthly(t, multi.ID)
	require.Len(t, invs, 1)
	// 181,000 + 20 × 3,500 + 55,000 = 306,000 per 30 days, one line.
	require.Equal(t, "306000/30600/336600 paid 0 UNPAID", amounts(invs[0]))
	require.Equal(t, "Server × 1 server, Root disk × 20 GB, Public IPv4 × 1 IP 306000×1 43200min = 306000", line(invs[0].Edges.Lines[0]))

	b.at(local(2027, 1, 1, 0, 0))
	out, err = b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 2, out.Invoices)
	require.Len(t, b.monthly(t, deleted.ID), 1)
	invs = b.monthly(t, resized.ID)
	require.Equal(t, "620000/62000/682000 paid 0 UNPAID", amounts(invs[1]))
}

// TestMonthEndDiscount: an operator's discount applies per line before
// rounding.
func TestMonthEndDiscount(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 1, 0, 0))
	acc := b.account(t, 10_000_000)
	res, err := b.svc.CreateResource(b.admin, postpaid.CreateInput{
		AccountID: acc, IdempotencyKey: key(), Plan: "srv", Name: "discounted", DiscountPercent: money.MustParse("12.5"),
	})
	require.NoError(t, err)
	require.Equal(t, "discounted", res.Resource.Name)
	_, err = b.svc.CreateResource(customer(acc), postpaid.CreateInput{
		IdempotencyKey: key(), Plan: "srv", DiscountPercent: money.VND(5),
	})
	requireFault(t, err, fault.Forbidden, "input", "discountPercent")

	b.at(local(2026, 12, 1, 0, 0))
	_, err = b.svc.RunMonthEnd(b.sys, b.clock.Now())
	require.NoError(t, err)
	invs := b.monthly(t, res.Resource.ID)
	require.Len(t, invs, 1)
	require.Equal(t, "262500/26250/288750 paid 0 UNPAID", amounts(invs[0]))
	require.Equal(t, "12.5", invs[0].Edges.Lines[0].DiscountPercent.String())
}

func TestInvoiceMonthRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, local(2026, 11, 20, 0, 0))
	acc := b.account(t, 10_000_000)
	_, err := b.svc.InvoiceMonth(b.sys, local(2026, 11, 1, 0, 0), b.clock.Now())
	requireFault(t, err, fault.Invalid, "month")
	_, err = b.svc.RunMonthEnd(customer(acc), b.clock.Now())
	requireFault(t, err, fault.Forbidden)
	// Operators may run it.
	_, err = b.svc.RunMonthEnd(b.admin, b.clock.Now())
	require.NoError(t, err)
}
