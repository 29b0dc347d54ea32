package invoicing_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/invoice"
	"billing/ent/invoiceline"
	"billing/internal/invoicing"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// atCommitInput is a CREATE invoice of res issued at at.
func (b *bundle) atCommitInput(res pulid.ID, at time.Time) invoicing.PrepaidInput {
	return invoicing.PrepaidInput{
		ID: pulid.New("inv"), AccountID: b.acc, ResourceID: res, ProductID: b.product.ID,
		Action: invoice.ActionCREATE, Quote: b.quote,
		PeriodStart: at, PeriodEnd: at.Add(60 * 24 * time.Hour), IssuedAt: at,
	}
}

// codeOf is the committed code of invoice id.
func (b *bundle) codeOf(t *testing.T, id pulid.ID) string {
	t.Helper()
	inv, err := b.db.Client.Invoice.Get(b.ctx, id)
	require.NoError(t, err)
	return inv.Code
}

// TestIssuePrepaidAtCommit: invoices issued at commit (IssuePrepaidAtCommit,
// CreatePrepaid) are written like IssuePrepaid's (status, amounts, lines)
// and get their numbers when the
// transaction commits — after those of a transaction that numbered and
// committed in between (PostgreSQL) — in input order, per month of issue;
// a rollback takes no number.
func TestIssuePrepaidAtCommit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r0, r1, r2, r3, r4, r5 := b.resource(t), b.resource(t), b.resource(t), b.resource(t), b.resource(t), b.resource(t)
	var first *ent.Invoice
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		var err error
		first, err = b.create(t, tx, r0, t0)
		return err
	}))
	require.Equal(t, "INV-202611-000001", b.codeOf(t, first.ID))

	// Rolled back: no number spent.
	errBoom := errors.New("boom")
	err := store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		require.NoError(t, b.invoices.IssuePrepaidAtCommit(b.ctx, tx, []invoicing.PrepaidInput{b.atCommitInput(r1, t0)}))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	// Two invoices at commit — one by CreatePrepaid, one by
	// IssuePrepaidAtCommit — with another transaction numbering and
	// committing while they wait (PostgreSQL: SQLite has one writer).
	in1, in2 := b.atCommitInput(r1, t0), b.atCommitInput(r2, t0)
	var other string
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		if _, err := b.invoices.CreatePrepaid(b.ctx, tx, in1); err != nil {
			return err
		}
		if err := b.invoices.IssuePrepaidAtCommit(b.ctx, tx, []invoicing.PrepaidInput{in2}); err != nil {
			return err
		}
		if !testdb.Postgres() {
			return nil
		}
		// Were tx holding the month's row already, this would wait for it
		// forever: the timeout turns that into a failure.
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		return store.WithTx(ctx, b.db.Client, func(tx2 *ent.Tx) error {
			codes, err := b.invoices.IssuePrepaid(ctx, tx2, []invoicing.PrepaidInput{b.atCommitInput(r5, t0)})
			if err == nil {
				other = codes[0]
			}
			return err
		})
	}))
	if testdb.Postgres() {
		require.Equal(t, "INV-202611-000002", other)
		require.Equal(t, "INV-202611-000003", b.codeOf(t, in1.ID))
		require.Equal(t, "INV-202611-000004", b.codeOf(t, in2.ID))
	} else {
		require.Equal(t, "INV-202611-000002", b.codeOf(t, in1.ID))
		require.Equal(t, "INV-202611-000003", b.codeOf(t, in2.ID))
	}

	// One call across a month boundary in the billing zone (Asia/Ho_Chi_Minh):
	// 17:00 UTC on 30 November is 1 December there.
	dec := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)
	in3, in4 := b.atCommitInput(r3, t0), b.atCommitInput(r4, dec)
	require.NoError(t, store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		return b.invoices.IssuePrepaidAtCommit(b.ctx, tx, []invoicing.PrepaidInput{in4, in3})
	}))
	next := "INV-202611-000004"
	if testdb.Postgres() {
		next = "INV-202611-000005"
	}
	require.Equal(t, next, b.codeOf(t, in3.ID))
	require.Equal(t, "INV-202612-000001", b.codeOf(t, in4.ID))

	// Written as IssuePrepaid writes them.
	got, err := b.db.Client.Invoice.Query().Where(invoice.IDIn(first.ID, in1.ID)).
		WithLines(func(q *ent.InvoiceLineQuery) { q.Order(ent.Asc(invoiceline.FieldPosition)) }).
		Order(ent.Asc(invoice.FieldCode)).All(b.ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Len(t, got[0].Edges.Lines, 2)
	require.Equal(t, invoiceRow(got[0]), invoiceRow(got[1]))
	require.Equal(t, "PAID 230000 20909", fmt.Sprint(got[1].Status, " ", got[1].Total, " ", got[1].Vat))
}

// TestAtCommitGaplessUnderConcurrency: invoices numbered at commit and in
// their statement, from concurrent transactions, some rolled back, end up
// with the codes 1…n of the month, none left under a placeholder.
func TestAtCommitGaplessUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const atCommit, now, failing = 24, 8, 6
	total := atCommit + now + failing
	resources := make([]pulid.ID, total)
	for i := range resources {
		resources[i] = b.resource(t)
	}
	errRollback := errors.New("rolled back on purpose")
	var wg sync.WaitGroup
	errs := make([]error, total)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
				ins := []invoicing.PrepaidInput{b.atCommitInput(resources[i], t0)}
				if i >= atCommit && i < atCommit+now {
					_, err := b.invoices.IssuePrepaid(b.ctx, tx, ins)
					return err
				}
				if err := b.invoices.IssuePrepaidAtCommit(b.ctx, tx, ins); err != nil {
					return err
				}
				if i >= atCommit+now {
					return errRollback
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i >= atCommit+now {
			require.ErrorIs(t, err, errRollback)
		} else {
			require.NoError(t, err, i)
		}
	}
	invs, err := b.db.Client.Invoice.Query().All(b.ctx)
	require.NoError(t, err)
	codes := make([]string, len(invs))
	for i, inv := range invs {
		codes[i] = inv.Code
		require.False(t, strings.Contains(inv.Code, "#"), inv.Code)
	}
	sort.Strings(codes)
	want := make([]string, atCommit+now)
	for i := range want {
		want[i] = fmt.Sprintf("INV-202611-%06d", i+1)
	}
	require.Equal(t, want, codes)
}
