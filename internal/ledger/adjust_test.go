package ledger_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"billing/ent/auditlog"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/requestid"
)

func TestAdjustCredit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		amount      string
		wantBalance int64
		wantEntry   string
	}{
		{"credit", "250000", 1_250_000, "250000"},
		{"debit", "-50000", 950_000, "-50000"},
		{"debit of all available", "-1000000", 0, "-1000000"},
	}
	b := setup(t) // one database; each case has its own account
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acc := b.newAccount(t)
			b.deposit(t, acc, 1_000_000)
			ctx := requestid.With(adminCtx("ops@example.com"), "req-42")
			res, err := b.ledger.AdjustCredit(ctx, ledger.AdjustCreditInput{
				AccountID:      acc,
				Amount:         money.MustParse(tt.amount),
				Reason:         "  goodwill for outage #17 ",
				IdempotencyKey: "adj-" + tt.name,
			})
			require.NoError(t, err)
			require.False(t, res.Replayed)
			require.Equal(t, money.VND(tt.wantBalance).String(), res.Wallet.Balance.String())
			require.Equal(t, int64(2), res.Wallet.Version)
			// The entities are usable after the transaction: their edges load.
			owner, err := res.Wallet.QueryAccount().Only(ctx)
			require.NoError(t, err)
			require.Equal(t, acc, owner.ID)

			ltx := res.Transaction
			require.Equal(t, ledgertransaction.KindADJUSTMENT, ltx.Kind)
			require.Equal(t, acc, ltx.AccountID)
			require.Equal(t, "goodwill for outage #17", ltx.Description)
			require.Equal(t, "ops@example.com", ltx.Actor)
			entries, err := ltx.QueryEntries().Order(ledgerentry.ByID()).All(ctx)
			require.NoError(t, err)
			require.Equal(t, []entryView{
				{ledgerentry.LedgerKindCUSTOMER_AVAILABLE, ledgerentry.KindADJUSTMENT, tt.wantEntry, acc, money.VND(tt.wantBalance).String(), "0"},
				{ledgerentry.LedgerKindADJUSTMENTS, ledgerentry.KindADJUSTMENT, money.MustParse(tt.wantEntry).Neg().String(), "", "0", "0"},
			}, viewEntries(entries))

			logs, err := b.db.Client.AuditLog.Query().Where(auditlog.AccountID(acc), auditlog.Action(ledger.AdjustCreditAction)).All(ctx)
			require.NoError(t, err)
			require.Len(t, logs, 1)
			l := logs[0]
			require.Equal(t, "ops@example.com", l.Actor)
			require.Equal(t, "admin", l.ActorRole)
			require.Equal(t, "wallet", l.TargetType)
			require.Equal(t, string(res.Wallet.ID), l.TargetID)
			require.Equal(t, "goodwill for outage #17", l.Reason)
			require.Equal(t, "req-42", l.RequestID)
			require.True(t, t0.Equal(l.CreatedAt))
			require.Equal(t, map[string]any{
				"amount":         tt.amount,
				"transactionId":  string(ltx.ID),
				"balanceAfter":   money.VND(tt.wantBalance).String(),
				"heldAfter":      "0",
				"idempotencyKey": "adj-" + tt.name,
			}, l.Details)

			requireEvents(t, []string{
				eventJSON(acc, 1_000_000, 0, 1),
				eventJSON(acc, tt.wantBalance, 0, 2),
			}, b.walletEvents(t, acc))
			b.verify(t, acc)
		})
	}
}

func TestAdjustCreditRejected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 1_000_000)
	_, err := b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: money.VND(400_000)})
	require.NoError(t, err)

	valid := ledger.AdjustCreditInput{AccountID: acc, Amount: money.VND(1_000), Reason: "goodwill", IdempotencyKey: "k1"}
	with := func(f func(*ledger.AdjustCreditInput)) ledger.AdjustCreditInput {
		in := valid
		f(&in)
		return in
	}
	admin := adminCtx("ops")
	tests := []struct {
		name      string
		ctx       context.Context
		in        ledger.AdjustCreditInput
		wantCode  fault.Code
		wantField []string
	}{
		{"no viewer", context.Background(), valid, fault.Unauthenticated, nil},
		{"customer of the account", customerCtx(acc), valid, fault.Forbidden, nil},
		{"read-only member", auth.WithViewer(context.Background(), auth.Viewer{Subject: "v", Role: auth.RoleViewer, AccountID: string(acc)}), valid, fault.Forbidden, nil},
		{"service", auth.WithViewer(context.Background(), auth.Viewer{Subject: "vserver", Role: auth.RoleService}), valid, fault.Forbidden, nil},
		{"system", b.ctx, valid, fault.Forbidden, nil},
		{"zero", admin, with(func(in *ledger.AdjustCreditInput) { in.Amount = money.Zero }), fault.Invalid, []string{"input", "amount"}},
		{"five decimals", admin, with(func(in *ledger.AdjustCreditInput) {
			in.Amount = money.FromDecimal(decimal.RequireFromString("10.00001"))
		}), fault.Invalid, []string{"input", "amount"}},
		{"fraction of a VND", admin, with(func(in *ledger.AdjustCreditInput) { in.Amount = money.MustParse("-0.5") }), fault.Invalid, []string{"input", "amount"}},
		{"above max", admin, with(func(in *ledger.AdjustCreditInput) { in.Amount = money.Max.Add(money.VND(1)) }), fault.Invalid, []string{"input", "amount"}},
		{"below minus max", admin, with(func(in *ledger.AdjustCreditInput) { in.Amount = money.Max.Add(money.VND(1)).Neg() }), fault.Invalid, []string{"input", "amount"}},
		{"no reason", admin, with(func(in *ledger.AdjustCreditInput) { in.Reason = "" }), fault.Invalid, []string{"input", "reason"}},
		{"blank reason", admin, with(func(in *ledger.AdjustCreditInput) { in.Reason = " \t\n" }), fault.Invalid, []string{"input", "reason"}},
		{"reason too long", admin, with(func(in *ledger.AdjustCreditInput) { in.Reason = strings.Repeat("é", 501) }), fault.Invalid, []string{"input", "reason"}},
		{"no idempotency key", admin, with(func(in *ledger.AdjustCreditInput) { in.IdempotencyKey = "" }), fault.Invalid, []string{"input", "idempotencyKey"}},
		{"idempotency key too long", admin, with(func(in *ledger.AdjustCreditInput) { in.IdempotencyKey = strings.Repeat("k", 201) }), fault.Invalid, []string{"input", "idempotencyKey"}},
		{"no account", admin, with(func(in *ledger.AdjustCreditInput) { in.AccountID = "" }), fault.Invalid, []string{"input", "accountId"}},
		{"unknown account", admin, with(func(in *ledger.AdjustCreditInput) { in.AccountID = pulid.New("acc") }), fault.NotFound, []string{"input", "accountId"}},
		// 1,000,000 balance, 400,000 held: 600,000 available.
		{"debit above available", admin, with(func(in *ledger.AdjustCreditInput) { in.Amount = money.VND(-600_001) }), fault.InsufficientCredit, []string{"input", "amount"}},
	}
	before := b.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.ledger.AdjustCredit(tt.ctx, tt.in)
			require.Equal(t, tt.wantCode, fault.CodeOf(err), "%v", err)
			if tt.wantField != nil {
				f, _ := fault.As(err)
				require.Equal(t, tt.wantField, f.Field)
			}
			require.Equal(t, before, b.snapshot(t))
		})
	}
	// A reason of exactly 500 characters (after trimming) is accepted.
	_, err = b.ledger.AdjustCredit(admin, with(func(in *ledger.AdjustCreditInput) { in.Reason = " " + strings.Repeat("é", 500) + " " }))
	require.NoError(t, err)
	// So is a debit of exactly the available credit.
	_, err = b.ledger.AdjustCredit(admin, with(func(in *ledger.AdjustCreditInput) {
		in.Amount, in.IdempotencyKey = money.VND(-601_000), "k2"
	}))
	require.NoError(t, err)
	b.requireWallet(t, acc, 400_000, 400_000)
	b.verify(t, acc)
}

func TestAdjustCreditIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc, other := b.newAccount(t), b.newAccount(t)
	ops := adminCtx("ops")
	in := ledger.AdjustCreditInput{AccountID: acc, Amount: money.VND(70_000), Reason: "migration from old system", IdempotencyKey: "import-17"}

	first, err := b.ledger.AdjustCredit(ops, in)
	require.NoError(t, err)
	require.False(t, first.Replayed)

	// Later, the same request again: the same transaction, credited once.
	b.clock.Advance(time.Hour)
	again, err := b.ledger.AdjustCredit(ops, ledger.AdjustCreditInput{
		AccountID: acc, Amount: money.MustParse("70000.0000"), Reason: " migration from old system ", IdempotencyKey: "import-17",
	})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, first.Transaction.ID, again.Transaction.ID)
	require.Equal(t, first.Transaction.Description, again.Transaction.Description)
	require.True(t, first.Transaction.CreatedAt.Equal(again.Transaction.CreatedAt))
	require.Equal(t, first.Wallet.ID, again.Wallet.ID)
	require.Equal(t, "70000", again.Wallet.Balance.String())
	require.Equal(t, int64(1), again.Wallet.Version)

	// The same key for anything else is rejected and changes nothing.
	before := b.snapshot(t)
	for _, changed := range []ledger.AdjustCreditInput{
		{AccountID: acc, Amount: money.VND(70_001), Reason: in.Reason, IdempotencyKey: in.IdempotencyKey},
		{AccountID: acc, Amount: money.VND(-70_000), Reason: in.Reason, IdempotencyKey: in.IdempotencyKey},
		{AccountID: acc, Amount: in.Amount, Reason: "another reason", IdempotencyKey: in.IdempotencyKey},
		{AccountID: other, Amount: in.Amount, Reason: in.Reason, IdempotencyKey: in.IdempotencyKey},
	} {
		_, err := b.ledger.AdjustCredit(ops, changed)
		require.Equal(t, fault.IdempotencyKeyReused, fault.CodeOf(err), "%v", err)
	}
	require.Equal(t, before, b.snapshot(t))

	// Keys are per operator: another operator's "import-17" is its own.
	res, err := b.ledger.AdjustCredit(adminCtx("ops2"), in)
	require.NoError(t, err)
	require.False(t, res.Replayed)
	b.requireWallet(t, acc, 140_000, 0)

	// A failed adjustment stores nothing: the retry runs for real.
	debit := ledger.AdjustCreditInput{AccountID: other, Amount: money.VND(-5_000), Reason: "fee", IdempotencyKey: "fee-1"}
	_, err = b.ledger.AdjustCredit(ops, debit)
	require.Equal(t, fault.InsufficientCredit, fault.CodeOf(err), "%v", err)
	b.deposit(t, other, 5_000)
	res, err = b.ledger.AdjustCredit(ops, debit)
	require.NoError(t, err)
	require.False(t, res.Replayed)
	b.requireWallet(t, other, 0, 0)

	n, err := b.db.Client.LedgerTransaction.Query().Where(ledgertransaction.KindEQ(ledgertransaction.KindADJUSTMENT)).Count(ops)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = b.db.Client.AuditLog.Query().Where(auditlog.Action(ledger.AdjustCreditAction)).Count(ops)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	b.verify(t, acc, other)
}

func TestAdjustCreditConcurrentRetries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	in := ledger.AdjustCreditInput{AccountID: acc, Amount: money.VND(12_345), Reason: "double click", IdempotencyKey: "dbl"}
	const workers = 8
	results := make([]ledger.AdjustCreditResult, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			var err error
			results[i], err = b.ledger.AdjustCredit(adminCtx("ops"), in)
			if err != nil {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	fresh := 0
	for _, r := range results {
		require.NotNil(t, r.Transaction)
		require.Equal(t, results[0].Transaction.ID, r.Transaction.ID)
		if !r.Replayed {
			fresh++
		}
	}
	require.Equal(t, 1, fresh)
	b.requireWallet(t, acc, 12_345, 0)
	var adjustments money.Amount
	require.NoError(t, b.db.SQL.QueryRow(`SELECT SUM(e.amount) FROM ledger_entries e JOIN ledger_accounts la ON la.id = e.ledger_account_id WHERE la.kind = $1`,
		string(ledgeraccount.KindADJUSTMENTS)).Scan(&adjustments))
	require.Equal(t, "-12345", adjustments.String())
	b.verify(t, acc)
}
