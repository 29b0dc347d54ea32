package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/internal/auth"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

// moneySetup creates a ledger transaction to hang entries on.
func moneySetup(t *testing.T) (context.Context, *store.DB, pulid.ID) {
	t.Helper()
	// Every tenant-scoped query needs a viewer; the system viewer sees all.
	ctx := auth.SystemContext(context.Background())
	db := testdb.New(t)
	tx, err := db.Client.LedgerTransaction.Create().
		SetKind(ledgertransaction.KindADJUSTMENT).
		SetCreatedAt(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)).
		Save(ctx)
	require.NoError(t, err)
	return ctx, db, tx.ID
}

func insertEntries(ctx context.Context, t *testing.T, db *store.DB, txID pulid.ID, amounts []money.Amount) {
	t.Helper()
	ledgerAccount := pulid.New("lac")
	for _, a := range amounts {
		_, err := db.Client.LedgerEntry.Create().
			SetTransactionID(txID).
			SetLedgerAccountID(ledgerAccount).
			SetKind(ledgerentry.KindADJUSTMENT).
			SetLedgerKind(ledgerentry.LedgerKindADJUSTMENTS).
			SetAmount(a).
			SetCreatedAt(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)).
			Save(ctx)
		require.NoError(t, err, "insert %s", a)
	}
}

// sqlSum sums the entries of a transaction in SQL, bypassing ent.
func sqlSum(ctx context.Context, t *testing.T, db *store.DB, txID pulid.ID) money.Amount {
	t.Helper()
	q := `SELECT SUM(amount) FROM ledger_entries WHERE transaction_id = ?`
	if db.IsPostgres() {
		q = `SELECT SUM(amount) FROM ledger_entries WHERE transaction_id = $1`
	}
	var sum money.Amount
	require.NoError(t, db.SQL.QueryRowContext(ctx, q, txID).Scan(&sum))
	return sum
}

// entSum sums the entries of a transaction with an ent aggregate.
func entSum(ctx context.Context, t *testing.T, db *store.DB, txID pulid.ID) money.Amount {
	t.Helper()
	var rows []struct {
		Total money.Amount `json:"total"`
	}
	err := db.Client.LedgerEntry.Query().
		Where(ledgerentry.TransactionID(txID)).
		Aggregate(ent.As(ent.Sum(ledgerentry.FieldAmount), "total")).
		Scan(ctx, &rows)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	return rows[0].Total
}

// TestMoneyIsExactOrderableAndSummable checks the bigint 1/10,000 VND
// columns on the engine under test: values come back exactly, sort
// numerically (not as text) and sum exactly in SQL (not as floats).
func TestMoneyIsExactOrderableAndSummable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		amounts []string
		sorted  []string // ascending
		sum     string
	}{
		{
			name:    "edge values",
			amounts: []string{"99999999999.9999", "0.0001", "-0.0001", "181000", "7.7"},
			sorted:  []string{"-0.0001", "0.0001", "7.7", "181000", "99999999999.9999"},
			sum:     "100000181007.6999",
		},
		{
			name:    "sum past float precision",
			amounts: []string{"99999999999.9999", "99999999999.9999", "99999999999.9999", "0.0001"},
			sorted:  []string{"0.0001", "99999999999.9999", "99999999999.9999", "99999999999.9999"},
			sum:     "299999999999.9998",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, db, txID := moneySetup(t)
			amounts := make([]money.Amount, len(c.amounts))
			for i, s := range c.amounts {
				amounts[i] = money.MustParse(s)
			}
			insertEntries(ctx, t, db, txID, amounts)
			want := money.MustParse(c.sum)
			require.True(t, money.Sum(amounts...).Equal(want), "test case total")

			// Round trip and ORDER BY through ent.
			got, err := db.Client.LedgerEntry.Query().
				Where(ledgerentry.TransactionID(txID)).
				Order(ledgerentry.ByAmount(), ledgerentry.ByID()).
				All(ctx)
			require.NoError(t, err)
			var gotSorted []string
			for _, e := range got {
				gotSorted = append(gotSorted, e.Amount.String())
			}
			require.Equal(t, c.sorted, gotSorted)
			for i, e := range got {
				require.True(t, e.Amount.Equal(money.MustParse(c.sorted[i])), "%s", e.Amount)
			}

			// ORDER BY in raw SQL.
			q := `SELECT amount FROM ledger_entries WHERE transaction_id = ? ORDER BY amount`
			if db.IsPostgres() {
				q = `SELECT amount FROM ledger_entries WHERE transaction_id = $1 ORDER BY amount`
			}
			rows, err := db.SQL.QueryContext(ctx, q, txID)
			require.NoError(t, err)
			defer rows.Close()
			var rawSorted []string
			for rows.Next() {
				var a money.Amount
				require.NoError(t, rows.Scan(&a))
				rawSorted = append(rawSorted, a.String())
			}
			require.NoError(t, rows.Err())
			require.Equal(t, c.sorted, rawSorted)

			// SUM in SQL, through ent and raw.
			for name, sum := range map[string]money.Amount{
				"ent aggregate": entSum(ctx, t, db, txID),
				"raw SQL":       sqlSum(ctx, t, db, txID),
			} {
				require.True(t, sum.Equal(want), "%s: SUM = %s, want %s", name, sum, want)
				require.Equal(t, c.sum, sum.String(), name)
			}
		})
	}
}

// TestMoneyRejectsInexactAmounts checks that an amount the bigint column
// cannot hold exactly is refused on insert, never rounded.
func TestMoneyRejectsInexactAmounts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		amount string
		errMsg string
	}{
		{"five decimals", "0.00001", "more than 4 decimal places"},
		{"five decimals on a large amount", "181000.12345", "more than 4 decimal places"},
		{"beyond the maximum", "100000000000000.0001", "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, db, txID := moneySetup(t)
			_, err := db.Client.LedgerEntry.Create().
				SetTransactionID(txID).
				SetLedgerAccountID(pulid.New("lac")).
				SetKind(ledgerentry.KindADJUSTMENT).
				SetLedgerKind(ledgerentry.LedgerKindADJUSTMENTS).
				SetAmount(money.FromDecimal(decimal.RequireFromString(c.amount))).
				SetCreatedAt(time.Now()).
				Save(ctx)
			require.ErrorIs(t, err, money.ErrInvalid)
			require.ErrorContains(t, err, c.errMsg)

			n, err := db.Client.LedgerEntry.Query().Count(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "nothing stored")
		})
	}
}
