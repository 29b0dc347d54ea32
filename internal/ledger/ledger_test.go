package ledger_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/hold"
	"billing/ent/ledgeraccount"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/internal/fault"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
)

func TestCredit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		kind        ledgertransaction.Kind
		counter     ledgeraccount.Kind
		wantCounter ledgeraccount.Kind
		description string
		wantDesc    string
	}{
		{"deposit", ledgertransaction.KindDEPOSIT, "", ledgeraccount.KindGATEWAY_CLEARING, "", "Credit top-up"},
		{"refund", ledgertransaction.KindREFUND, "", ledgeraccount.KindREFUNDS, "Refund of order ord_1", "Refund of order ord_1"},
		{"adjustment", ledgertransaction.KindADJUSTMENT, "", ledgeraccount.KindADJUSTMENTS, "", "Credit adjustment"},
		{"promotional credit", ledgertransaction.KindADJUSTMENT, ledgeraccount.KindDISCOUNTS, ledgeraccount.KindDISCOUNTS, "Welcome credit", "Welcome credit"},
	}
	b := setup(t) // one database; each case has its own account
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acc := b.newAccount(t)
			p, err := b.credit(b.ctx, ledger.Movement{
				AccountID: acc, Amount: money.VND(150_000), Kind: tt.kind, Counter: tt.counter,
				Memo: ledger.Memo{Description: tt.description, Reference: "pay_1"},
			})
			require.NoError(t, err)

			require.Equal(t, tt.kind, p.Transaction.Kind)
			require.Equal(t, acc, p.Transaction.AccountID)
			require.Equal(t, tt.wantDesc, p.Transaction.Description)
			require.Equal(t, "pay_1", p.Transaction.Reference)
			require.Equal(t, "system", p.Transaction.Actor)
			require.True(t, t0.Equal(p.Transaction.CreatedAt))
			ek := ledgerentry.Kind(tt.kind)
			require.Equal(t, []entryView{
				{ledgerentry.LedgerKindCUSTOMER_AVAILABLE, ek, "150000", acc, "150000", "0"},
				{ledgerentry.LedgerKind(tt.wantCounter), ek, "-150000", "", "0", "0"},
			}, viewEntries(p.Entries))
			require.Equal(t, "150000", p.Wallet.Balance.String())
			require.Equal(t, int64(1), p.Wallet.Version)

			b.requireWallet(t, acc, 150_000, 0)
			evs := b.walletEvents(t, acc)
			require.Len(t, evs, 1)
			require.JSONEq(t, eventJSON(acc, 150_000, 0, 1), evs[0])
			b.verify(t, acc)
		})
	}
}

func TestDebit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		kind        ledgertransaction.Kind
		amount      int64
		wantErr     fault.Code
		wantCounter ledgeraccount.Kind
		wantBalance int64
	}{
		// The wallet holds 100,000 of which 30,000 are held: 70,000 available.
		{"purchase of all available", ledgertransaction.KindPURCHASE, 70_000, "", ledgeraccount.KindREVENUE, 30_000},
		{"invoice payment", ledgertransaction.KindINVOICE_PAYMENT, 1, "", ledgeraccount.KindREVENUE, 99_999},
		{"adjustment", ledgertransaction.KindADJUSTMENT, 25_000, "", ledgeraccount.KindADJUSTMENTS, 75_000},
		{"one VND more than available", ledgertransaction.KindPURCHASE, 70_001, fault.InsufficientCredit, "", 100_000},
		{"more than the balance", ledgertransaction.KindPURCHASE, 100_000, fault.InsufficientCredit, "", 100_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			acc := b.newAccount(t)
			b.deposit(t, acc, 100_000)
			_, err := b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: money.VND(30_000)})
			require.NoError(t, err)
			before := b.snapshot(t)

			p, err := b.debit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.VND(tt.amount), Kind: tt.kind})
			if tt.wantErr != "" {
				require.Equal(t, tt.wantErr, fault.CodeOf(err), "%v", err)
				f, _ := fault.As(err)
				require.Equal(t, []string{"amount"}, f.Field)
				require.Equal(t, before, b.snapshot(t))
			} else {
				require.NoError(t, err)
				ek := ledgerentry.Kind(tt.kind)
				x := money.VND(tt.amount)
				require.Equal(t, []entryView{
					{ledgerentry.LedgerKindCUSTOMER_AVAILABLE, ek, x.Neg().String(), acc, money.VND(tt.wantBalance).String(), "30000"},
					{ledgerentry.LedgerKind(tt.wantCounter), ek, x.String(), "", "0", "0"},
				}, viewEntries(p.Entries))
			}
			b.requireWallet(t, acc, tt.wantBalance, 30_000)
			b.verify(t, acc)
		})
	}
}

func TestMovementRejected(t *testing.T) {
	t.Parallel()
	tooPrecise := money.FromDecimal(decimal.RequireFromString("1.00001"))
	aboveMax := money.Max.Add(money.VND(1))
	tests := []struct {
		name     string
		op       string // credit, debit, hold
		amount   money.Amount
		kind     ledgertransaction.Kind
		counter  ledgeraccount.Kind
		account  string // "" = the test account, "unknown", "none"
		wantCode fault.Code
	}{
		{"zero credit", "credit", money.Zero, ledgertransaction.KindDEPOSIT, "", "", fault.Invalid},
		{"negative credit", "credit", money.VND(-5), ledgertransaction.KindDEPOSIT, "", "", fault.Invalid},
		{"half VND credit", "credit", money.MustParse("0.5"), ledgertransaction.KindDEPOSIT, "", "", fault.Invalid},
		{"five decimals debit", "debit", tooPrecise, ledgertransaction.KindPURCHASE, "", "", fault.Invalid},
		{"above max credit", "credit", aboveMax, ledgertransaction.KindDEPOSIT, "", "", fault.Invalid},
		{"zero hold", "hold", money.Zero, "", "", "", fault.Invalid},
		{"fractional hold", "hold", money.MustParse("10.25"), "", "", "", fault.Invalid},
		{"credit with a debit kind", "credit", money.VND(10), ledgertransaction.KindPURCHASE, "", "", fault.Internal},
		{"debit with a credit kind", "debit", money.VND(10), ledgertransaction.KindDEPOSIT, "", "", fault.Internal},
		{"credit with a hold kind", "credit", money.VND(10), ledgertransaction.KindHOLD, "", "", fault.Internal},
		{"customer counter account", "credit", money.VND(10), ledgertransaction.KindADJUSTMENT, ledgeraccount.KindCUSTOMER_HELD, "", fault.Internal},
		{"unknown account credit", "credit", money.VND(10), ledgertransaction.KindDEPOSIT, "", "unknown", fault.NotFound},
		{"unknown account debit", "debit", money.VND(10), ledgertransaction.KindPURCHASE, "", "unknown", fault.NotFound},
		{"unknown account hold", "hold", money.VND(10), "", "", "unknown", fault.NotFound},
		{"no account", "debit", money.VND(10), ledgertransaction.KindPURCHASE, "", "none", fault.Invalid},
		{"hold above available", "hold", money.VND(1_000_001), "", "", "", fault.InsufficientCredit},
	}
	// One database; the cases run one after the other so that each can
	// check that the whole database is unchanged.
	b := setup(t)
	funded := b.newAccount(t)
	b.deposit(t, funded, 1_000_000)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := funded
			switch tt.account {
			case "unknown":
				acc = pulid.New("acc")
			case "none":
				acc = ""
			}
			before := b.snapshot(t)
			var err error
			m := ledger.Movement{AccountID: acc, Amount: tt.amount, Kind: tt.kind, Counter: tt.counter}
			switch tt.op {
			case "credit":
				_, err = b.credit(b.ctx, m)
			case "debit":
				_, err = b.debit(b.ctx, m)
			case "hold":
				_, err = b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: tt.amount})
			}
			require.Error(t, err)
			require.Equal(t, tt.wantCode, fault.CodeOf(err), "%v", err)
			require.Equal(t, before, b.snapshot(t))
		})
	}
}

func TestCreditCappedAtMax(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	_, err := b.credit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.Max, Kind: ledgertransaction.KindDEPOSIT})
	require.NoError(t, err)
	before := b.snapshot(t)
	_, err = b.credit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.VND(1), Kind: ledgertransaction.KindDEPOSIT})
	require.Equal(t, fault.Invalid, fault.CodeOf(err), "%v", err)
	require.Equal(t, before, b.snapshot(t))
	w := b.requireWallet(t, acc, 1_000_000_000_000, 0)
	require.Equal(t, money.Max.String(), w.Balance.String())
	b.verify(t, acc)
}

func TestHoldCaptureRelease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 500_000)

	// Hold 200,000 for a payment.
	b.clock.Advance(time.Second)
	payment := pulid.New("pay")
	p, err := b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: money.VND(200_000), PaymentID: payment, Reason: "top-up and pay"})
	require.NoError(t, err)
	h1 := p.Hold
	require.Equal(t, hold.StatusACTIVE, h1.Status)
	require.Equal(t, payment, h1.PaymentID)
	require.Equal(t, "200000", h1.Amount.String())
	require.Equal(t, "top-up and pay", h1.Reason)
	require.Equal(t, ledgertransaction.KindHOLD, p.Transaction.Kind)
	require.Equal(t, string(h1.ID), p.Transaction.Reference)
	require.Equal(t, []entryView{
		{ledgerentry.LedgerKindCUSTOMER_AVAILABLE, ledgerentry.KindHOLD, "-200000", acc, "500000", "200000"},
		{ledgerentry.LedgerKindCUSTOMER_HELD, ledgerentry.KindHOLD, "200000", acc, "500000", "200000"},
	}, viewEntries(p.Entries))
	b.requireWallet(t, acc, 500_000, 200_000)
	b.verify(t, acc)

	// Capture it: the money leaves the wallet for revenue.
	b.clock.Advance(time.Second)
	p, err = b.capture(b.ctx, h1.ID)
	require.NoError(t, err)
	require.Equal(t, hold.StatusCAPTURED, p.Hold.Status)
	require.NotNil(t, p.Hold.ResolvedAt)
	require.True(t, b.clock.Now().Equal(*p.Hold.ResolvedAt))
	require.Equal(t, ledgertransaction.KindCAPTURE, p.Transaction.Kind)
	require.Equal(t, []entryView{
		{ledgerentry.LedgerKindCUSTOMER_HELD, ledgerentry.KindCAPTURE, "-200000", acc, "300000", "0"},
		{ledgerentry.LedgerKindREVENUE, ledgerentry.KindCAPTURE, "200000", "", "0", "0"},
	}, viewEntries(p.Entries))
	b.requireWallet(t, acc, 300_000, 0)
	b.verify(t, acc)

	// Hold 100,000 and release it: available again.
	p, err = b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: money.VND(100_000)})
	require.NoError(t, err)
	h2 := p.Hold
	b.requireWallet(t, acc, 300_000, 100_000)
	p, err = b.release(b.ctx, h2.ID)
	require.NoError(t, err)
	require.Equal(t, hold.StatusRELEASED, p.Hold.Status)
	require.Equal(t, ledgertransaction.KindRELEASE, p.Transaction.Kind)
	require.Equal(t, []entryView{
		{ledgerentry.LedgerKindCUSTOMER_AVAILABLE, ledgerentry.KindRELEASE, "100000", acc, "300000", "0"},
		{ledgerentry.LedgerKindCUSTOMER_HELD, ledgerentry.KindRELEASE, "-100000", acc, "300000", "0"},
	}, viewEntries(p.Entries))
	b.requireWallet(t, acc, 300_000, 0)

	// A hold of exactly the available credit passes; one VND more does not.
	p, err = b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: money.VND(300_000)})
	require.NoError(t, err)
	h3 := p.Hold
	_, err = b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: money.VND(1)})
	require.Equal(t, fault.InsufficientCredit, fault.CodeOf(err), "%v", err)
	b.requireWallet(t, acc, 300_000, 300_000)

	requireEvents(t, []string{
		eventJSON(acc, 500_000, 0, 1),
		eventJSON(acc, 500_000, 200_000, 2),
		eventJSON(acc, 300_000, 0, 3),
		eventJSON(acc, 300_000, 100_000, 4),
		eventJSON(acc, 300_000, 0, 5),
		eventJSON(acc, 300_000, 300_000, 6),
	}, b.walletEvents(t, acc))
	b.verify(t, acc)

	// Resolving a hold that is not ACTIVE changes nothing.
	tests := []struct {
		name string
		op   func(context.Context, pulid.ID) (*ledger.Posting, error)
		hold pulid.ID
		want fault.Code
	}{
		{"capture captured", b.capture, h1.ID, fault.InvalidState},
		{"release captured", b.release, h1.ID, fault.InvalidState},
		{"capture released", b.capture, h2.ID, fault.InvalidState},
		{"release released", b.release, h2.ID, fault.InvalidState},
		{"capture unknown", b.capture, pulid.New("hld"), fault.NotFound},
		{"release unknown", b.release, pulid.New("hld"), fault.NotFound},
	}
	before := b.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.op(b.ctx, tt.hold)
			require.Equal(t, tt.want, fault.CodeOf(err), "%v", err)
			require.Equal(t, before, b.snapshot(t))
		})
	}
	// h3 is still capturable.
	_, err = b.capture(b.ctx, h3.ID)
	require.NoError(t, err)
	b.requireWallet(t, acc, 0, 0)
	b.verify(t, acc)
}

func TestConcurrentResolutionOfOneHold(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 50_000)
	p, err := b.hold(b.ctx, ledger.HoldInput{AccountID: acc, Amount: money.VND(50_000)})
	require.NoError(t, err)

	const workers = 10
	var ok, invalid atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			op := b.capture
			if i%2 == 1 {
				op = b.release
			}
			_, err := op(b.ctx, p.Hold.ID)
			switch {
			case err == nil:
				ok.Add(1)
			case fault.Is(err, fault.InvalidState):
				invalid.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(1), ok.Load())
	require.Equal(t, int32(workers-1), invalid.Load())
	w, err := b.ledger.Wallet(b.ctx, acc)
	require.NoError(t, err)
	require.True(t, w.Held.IsZero())
	b.verify(t, acc)
}

func TestTenancy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mine, theirs := b.newAccount(t), b.newAccount(t)
	b.deposit(t, mine, 10_000)
	b.deposit(t, theirs, 10_000)
	p, err := b.hold(b.ctx, ledger.HoldInput{AccountID: theirs, Amount: money.VND(1_000)})
	require.NoError(t, err)
	theirHold := p.Hold.ID
	ctx := customerCtx(mine)

	// A customer's own movements work, including the system counter accounts.
	p, err = b.debit(ctx, ledger.Movement{AccountID: mine, Amount: money.VND(4_000), Kind: ledgertransaction.KindPURCHASE})
	require.NoError(t, err)
	require.Equal(t, "owner", p.Transaction.Actor)
	require.Equal(t, "6000", p.Wallet.Balance.String())
	p, err = b.hold(ctx, ledger.HoldInput{AccountID: mine, Amount: money.VND(1_000)})
	require.NoError(t, err)
	_, err = b.release(ctx, p.Hold.ID)
	require.NoError(t, err)

	before := b.snapshot(t)
	_, err = b.debit(ctx, ledger.Movement{AccountID: theirs, Amount: money.VND(1), Kind: ledgertransaction.KindPURCHASE})
	require.Equal(t, fault.NotFound, fault.CodeOf(err), "%v", err)
	_, err = b.capture(ctx, theirHold)
	require.Equal(t, fault.NotFound, fault.CodeOf(err), "%v", err)
	_, err = b.ledger.Wallet(ctx, theirs)
	require.Equal(t, fault.NotFound, fault.CodeOf(err), "%v", err)
	require.Equal(t, fault.Forbidden, fault.CodeOf(b.ledger.Verify(ctx, mine)))

	// No viewer, no movement.
	_, err = b.credit(context.Background(), ledger.Movement{AccountID: mine, Amount: money.VND(1), Kind: ledgertransaction.KindDEPOSIT})
	require.Error(t, err)
	require.Equal(t, before, b.snapshot(t))
	b.verify(t, mine, theirs)
}

// A Debit rejected for insufficient credit writes nothing, so the caller may
// carry on in the same transaction (auto-renew does, resource by resource).
func TestTransactionUsableAfterInsufficientCredit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 10_000)
	err := store.WithTx(b.ctx, b.db.Client, func(tx *ent.Tx) error {
		_, err := b.ledger.Debit(b.ctx, tx, ledger.Movement{AccountID: acc, Amount: money.VND(10_001), Kind: ledgertransaction.KindPURCHASE})
		require.Equal(t, fault.InsufficientCredit, fault.CodeOf(err), "%v", err)
		_, err = b.ledger.Debit(b.ctx, tx, ledger.Movement{AccountID: acc, Amount: money.VND(7_000), Kind: ledgertransaction.KindPURCHASE})
		return err
	})
	require.NoError(t, err)
	b.requireWallet(t, acc, 3_000, 0)
	b.verify(t, acc)
}

func TestSystemAccountsCreatedOnceUnderRace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 1_000_000)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 16 {
		wg.Go(func() {
			<-start
			var err error
			if i%2 == 0 {
				err = b.ledger.EnsureSystemAccounts(b.ctx)
			} else {
				_, err = b.debit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.VND(1), Kind: ledgertransaction.KindPURCHASE})
			}
			if err != nil {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	rows, err := b.db.SQL.Query(`SELECT code, kind FROM ledger_accounts WHERE account_id IS NULL ORDER BY code`)
	require.NoError(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var code, kind string
		require.NoError(t, rows.Scan(&code, &kind))
		got = append(got, code+" "+kind)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		"system:adjustments ADJUSTMENTS",
		"system:discounts DISCOUNTS",
		"system:gateway_clearing GATEWAY_CLEARING",
		"system:refunds REFUNDS",
		"system:revenue REVENUE",
	}, got)
	b.requireWallet(t, acc, 1_000_000-8, 0)
	b.verify(t, acc)
}

// The guard in the UPDATE is the first line; the CHECK constraints are the
// backstop for a statement that forgets it.
func TestDatabaseRejectsNegativeWallet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 100) // 1,000,000 in the database's 1/10,000 VND
	for _, stmt := range []string{
		`UPDATE wallets SET balance = balance - 1000001 WHERE account_id = $1`,
		`UPDATE wallets SET held = held + 1000001 WHERE account_id = $1`,
		`UPDATE wallets SET held = -1 WHERE account_id = $1`,
	} {
		_, err := b.db.SQL.Exec(stmt, string(acc))
		require.Error(t, err, stmt)
		require.Contains(t, strings.ToLower(err.Error()), "check constraint", stmt)
	}
	b.requireWallet(t, acc, 100, 0)
}

func TestVerifyDetectsBrokenBooks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 100)
	require.NoError(t, b.ledger.Verify(b.ctx, acc))
	_, err := b.db.SQL.Exec(`UPDATE wallets SET balance = balance + 1 WHERE account_id = $1`, string(acc))
	require.NoError(t, err)
	err = b.ledger.Verify(b.ctx, acc)
	require.ErrorContains(t, err, "wallet balance 100.0001, entries sum to 100")
	_, err = b.db.SQL.Exec(`UPDATE ledger_entries SET amount = amount + 1 WHERE account_id = $1`, string(acc))
	require.NoError(t, err)
	err = b.ledger.Verify(b.ctx, acc)
	require.ErrorContains(t, err, "entries summing to 0.0001")
	_, err = b.ledger.Wallet(b.ctx, pulid.New("acc"))
	require.Equal(t, fault.NotFound, fault.CodeOf(err))
}

// Ten debits' worth of credit, fifty concurrent debits: exactly ten pass.
func TestConcurrentDebits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.newAccount(t)
	b.deposit(t, acc, 10*10_000)
	require.NoError(t, b.ledger.EnsureSystemAccounts(b.ctx))

	const workers = 50
	var ok, short atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			_, err := b.debit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.VND(10_000), Kind: ledgertransaction.KindPURCHASE})
			switch {
			case err == nil:
				ok.Add(1)
			case fault.Is(err, fault.InsufficientCredit):
				short.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()

	require.Equal(t, int32(10), ok.Load())
	require.Equal(t, int32(40), short.Load())
	w := b.requireWallet(t, acc, 0, 0)
	require.Equal(t, int64(11), w.Version)
	n, err := b.db.Client.LedgerTransaction.Query().
		Where(ledgertransaction.KindEQ(ledgertransaction.KindPURCHASE)).Count(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 10, n)
	var revenue money.Amount
	require.NoError(t, b.db.SQL.QueryRow(`SELECT SUM(amount) FROM ledger_entries WHERE ledger_kind = 'REVENUE'`).Scan(&revenue))
	require.Equal(t, "100000", revenue.String())
	require.Len(t, b.walletEvents(t, acc), 11)
	b.verify(t, acc)
}
