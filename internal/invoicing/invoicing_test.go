package invoicing_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/ent/resource"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/invoicing"
	"billing/internal/money"
	"billing/internal/pricing"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

type bundle struct {
	db       *store.DB
	clock    *clockwork.FakeClock
	invoices *invoicing.Service
	ctx      context.Context
	acc      pulid.ID
	product  *ent.Product
	plan     *ent.Plan
	quote    pricing.ResourceQuote
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := testdb.New(t)
	clock := clockwork.NewFakeClockAt(t0)
	ctx := auth.SystemContext(context.Background())
	acc, err := account.New(db, clock).Create(ctx, account.CreateInput{Name: "Acme", OwnerSubject: "owner-1"})
	require.NoError(t, err)
	prod, err := db.Client.Product.Create().SetCode("vserver").SetName("vServer").SetAllowedPeriods([]int{1, 2}).Save(ctx)
	require.NoError(t, err)
	pl, err := db.Client.Plan.Create().SetProductID(prod.ID).SetCode("srv").SetName("Server").Save(ctx)
	require.NoError(t, err)
	return &bundle{
		db: db, clock: clock, ctx: ctx, acc: acc.ID, product: prod, plan: pl,
		invoices: invoicing.New(db, clock, nil),
		quote:    serverQuote(t),
	}
}

func (b *bundle) resource(t *testing.T) pulid.ID {
	t.Helper()
	r, err := b.db.Client.Resource.Create().
		SetAccountID(b.acc).SetProductID(b.product.ID).SetPlanID(b.plan.ID).
		SetName("srv-1").SetBillingMode(resource.BillingModePREPAID).
		SetComponents([]pricing.Component{}).SetPeriodPrice(money.Zero).
		Save(b.ctx)
	require.NoError(t, err)
	return r.ID
}

// serverQuote is the reference server: image 90,000 and root disk 35,000
// per 30 days, two months, with a 20,000 coupon share.
func serverQuote(t *testing.T) pricing.ResourceQuote {
	t.Helper()
	vat := money.VND(10)
	q, err := pricing.QuoteOrder([]pricing.QuoteItem{{
		Key: "0", ProductCode: "vserver", PlanCode: "srv", Count: 1, Months: 2,
		Components: []pricing.Component{
			{Code: "image", Name: "Server image", Unit: "server", Quantity: 1, UnitPrice: money.VND(90_000), VATRate: vat, VATIncluded: true},
			{Code: "root_disk", Name: "Root disk", Unit: "disk", Quantity: 1, UnitPrice: money.VND(35_000), VATRate: vat, VATIncluded: true},
		},
	}}, &pricing.CouponTerms{Code: "SAVE20K", Kind: pricing.CouponFixed, Amount: money.VND(20_000)})
	require.NoError(t, err)
	return q.Resources[0]
}

// create is safe to call from any goroutine.
func (b *bundle) create(_ *testing.T, tx *ent.Tx, resourceID pulid.ID, at time.Time) (*ent.Invoice, error) {
	return b.invoices.CreatePrepaid(b.ctx, tx, invoicing.PrepaidInput{
		AccountID: b.acc, ResourceID: resourceID, ProductID: b.product.ID,
		Action: invoice.ActionCREATE, Quote: b.quote,
		PeriodStart: at, PeriodEnd: at.Add(60 * 24 * time.Hour), IssuedAt: at,
	})
}

func TestCreatePrepaid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.resource(t)
	var inv *ent.Invoice
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		var err error
		inv, err = b.create(t, tx, res, t0)
		return err
	}))
	got, err := b.db.Client.Invoice.Query().Where(invoice.ID(inv.ID)).
		WithLines(func(q *ent.InvoiceLineQuery) { q.Order(ent.Asc(invoiceline.FieldPosition)) }).Only(b.ctx)
	require.NoError(t, err)
	require.Equal(t, "INV-202611-000001", got.Code)
	require.Equal(t, invoice.StatusPAID, got.Status)
	require.Equal(t, invoice.ActionCREATE, got.Action)
	// 250,000 of lines − 20,000 coupon = 230,000, VAT 10% inclusive:
	// round(230,000 × 10 / 110) = 20,909.
	require.Equal(t, "230000", got.Total.String())
	require.Equal(t, "230000", got.AmountPaid.String())
	require.Equal(t, "20000", got.Discount.String())
	require.Equal(t, "20909", got.Vat.String())
	require.Equal(t, "209091", got.Subtotal.String())
	require.True(t, got.IssuedAt.Equal(t0))
	require.NotNil(t, got.PaidAt)
	require.True(t, got.PeriodEnd.Equal(t0.Add(60*24*time.Hour)))
	require.Len(t, got.Edges.Lines, 2)
	type line struct {
		desc                string
		unit, share, amount string
		qty, minutes        int64
	}
	var lines []line
	for _, l := range got.Edges.Lines {
		lines = append(lines, line{l.Description, l.UnitPrice.String(), l.CouponShare.String(), l.Amount.String(), l.Quantity, l.DurationMinutes})
	}
	require.Equal(t, []line{
		// 20,000 split 180:70 → 14,400 and 5,600.
		{"Server image", "90000", "14400", "180000", 1, 86400},
		{"Root disk", "35000", "5600", "70000", 1, 86400},
	}, lines)
}

func TestNextCodeMonthInBillingZone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	utc := invoicing.New(b.db, b.clock, time.UTC)
	tests := []struct {
		name string
		svc  *invoicing.Service
		at   time.Time
		want string
	}{
		{"november in Hanoi", b.invoices, time.Date(2026, 11, 30, 16, 59, 59, 0, time.UTC), "INV-202611-000001"},
		{"already december in Hanoi", b.invoices, time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC), "INV-202612-000001"},
		{"second of december", b.invoices, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), "INV-202612-000002"},
		{"utc zone shares the month rows", utc, time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC), "INV-202611-000002"},
	}
	for _, tc := range tests { // sequential: the numbers depend on order
		var code string
		require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
			var err error
			code, err = tc.svc.NextCode(b.ctx, tx, tc.at)
			return err
		}), tc.name)
		require.Equal(t, tc.want, code, tc.name)
	}
}

func TestRolledBackNumberIsReused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	errBoom := errors.New("boom")
	r1, r2 := b.resource(t), b.resource(t)
	err := store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		_, err := b.create(t, tx, r1, t0)
		require.NoError(t, err)
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	var inv *ent.Invoice
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		var err error
		inv, err = b.create(t, tx, r2, t0)
		return err
	}))
	require.Equal(t, "INV-202611-000001", b.codeOf(t, inv.ID))
}

// TestGaplessUnderConcurrency creates invoices from 30 goroutines at once,
// some of whose transactions roll back after taking a number: the
// committed codes are exactly 000001…000030.
func TestGaplessUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n, failing = 30, 6
	resources := make([]pulid.ID, n+failing)
	for i := range resources {
		resources[i] = b.resource(t)
	}
	errRollback := errors.New("rolled back on purpose")
	var wg sync.WaitGroup
	errs := make([]error, n+failing)
	for i := range n + failing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
				if _, err := b.create(t, tx, resources[i], t0); err != nil {
					return err
				}
				if i >= n {
					return errRollback
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i >= n {
			require.ErrorIs(t, err, errRollback)
		} else {
			require.NoError(t, err)
		}
	}
	invs, err := b.db.Client.Invoice.Query().All(b.ctx)
	require.NoError(t, err)
	codes := make([]string, len(invs))
	for i, inv := range invs {
		codes[i] = inv.Code
	}
	sort.Strings(codes)
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("INV-202611-%06d", i+1)
	}
	require.Equal(t, want, codes)
}

// TestCodeFormat: CreatePrepaid (which on PostgreSQL leaves the number to
// the trigger at commit) and NextCode share the month's sequence and write
// the same codes, also past six digits.
func TestCodeFormat(t *testing.T) {
	t.Parallel()
	b := setup(t)
	create := func() string {
		t.Helper()
		var inv *ent.Invoice
		res := b.resource(t)
		require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
			var err error
			inv, err = b.create(t, tx, res, t0)
			return err
		}))
		return b.codeOf(t, inv.ID)
	}
	next := func() string {
		t.Helper()
		var code string
		require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
			var err error
			code, err = b.invoices.NextCode(b.ctx, tx, t0)
			return err
		}))
		return code
	}
	require.Equal(t, "INV-202611-000001", create())
	require.Equal(t, "INV-202611-000002", next())
	require.Equal(t, "INV-202611-000003", create())
	_, err := b.db.SQL.ExecContext(b.ctx, `UPDATE invoice_sequences SET last_value = 999998 WHERE id = 'INV-202611'`)
	require.NoError(t, err)
	require.Equal(t, "INV-202611-999999", create())
	require.Equal(t, "INV-202611-1000000", create())
	require.Equal(t, "INV-202611-1000001", next())
}
