package ledger_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/ent/outboxevent"
	"billing/internal/account"
	"billing/internal/auth"
	"billing/internal/events"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/pulid"
	"billing/internal/store"
	"billing/internal/testdb"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

type bundle struct {
	db       *store.DB
	clock    *clockwork.FakeClock
	ledger   *ledger.Service
	accounts *account.Service
	ctx      context.Context // the system viewer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := testdb.New(t)
	clock := clockwork.NewFakeClockAt(t0)
	return &bundle{
		db:       db,
		clock:    clock,
		ledger:   ledger.New(db, events.NewOutbox(db.IsPostgres(), nil), clock),
		accounts: account.New(db, clock),
		ctx:      auth.SystemContext(context.Background()),
	}
}

func (b *bundle) newAccount(t *testing.T) pulid.ID {
	t.Helper()
	acc, err := b.accounts.Create(b.ctx, account.CreateInput{Name: "Acme", OwnerSubject: "user-" + string(pulid.New("u"))})
	require.NoError(t, err)
	return acc.ID
}

func customerCtx(accountID pulid.ID) context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: "owner", Role: auth.RoleCustomer, AccountID: string(accountID)})
}

func adminCtx(subject string) context.Context {
	return auth.WithViewer(context.Background(), auth.Viewer{Subject: subject, Role: auth.RoleAdmin})
}

// inTx runs fn in its own transaction with the given context.
func (b *bundle) inTx(ctx context.Context, fn func(tx *ent.Tx) (*ledger.Posting, error)) (*ledger.Posting, error) {
	var p *ledger.Posting
	err := store.WithTx(ctx, b.db.Client, func(tx *ent.Tx) error {
		var err error
		p, err = fn(tx)
		return err
	})
	return p, err
}

func (b *bundle) credit(ctx context.Context, m ledger.Movement) (*ledger.Posting, error) {
	return b.inTx(ctx, func(tx *ent.Tx) (*ledger.Posting, error) { return b.ledger.Credit(ctx, tx, m) })
}

func (b *bundle) debit(ctx context.Context, m ledger.Movement) (*ledger.Posting, error) {
	return b.inTx(ctx, func(tx *ent.Tx) (*ledger.Posting, error) { return b.ledger.Debit(ctx, tx, m) })
}

func (b *bundle) hold(ctx context.Context, in ledger.HoldInput) (*ledger.Posting, error) {
	return b.inTx(ctx, func(tx *ent.Tx) (*ledger.Posting, error) { return b.ledger.Hold(ctx, tx, in) })
}

func (b *bundle) capture(ctx context.Context, id pulid.ID) (*ledger.Posting, error) {
	return b.inTx(ctx, func(tx *ent.Tx) (*ledger.Posting, error) { return b.ledger.Capture(ctx, tx, id, ledger.Memo{}) })
}

func (b *bundle) release(ctx context.Context, id pulid.ID) (*ledger.Posting, error) {
	return b.inTx(ctx, func(tx *ent.Tx) (*ledger.Posting, error) { return b.ledger.Release(ctx, tx, id, ledger.Memo{}) })
}

func (b *bundle) deposit(t *testing.T, accountID pulid.ID, vnd int64) {
	t.Helper()
	_, err := b.credit(b.ctx, ledger.Movement{AccountID: accountID, Amount: money.VND(vnd), Kind: ledgertransaction.KindDEPOSIT})
	require.NoError(t, err)
}

// requireWallet checks the wallet's balance and held amount exactly.
func (b *bundle) requireWallet(t *testing.T, accountID pulid.ID, balance, held int64) *ent.Wallet {
	t.Helper()
	w, err := b.ledger.Wallet(b.ctx, accountID)
	require.NoError(t, err)
	require.Equal(t, money.VND(balance).String(), w.Balance.String(), "balance")
	require.Equal(t, money.VND(held).String(), w.Held.String(), "held")
	return w
}

// verify checks the account's invariants and the whole ledger's: all
// entries sum to zero, and so does every transaction.
func (b *bundle) verify(t *testing.T, accountIDs ...pulid.ID) {
	t.Helper()
	for _, id := range accountIDs {
		require.NoError(t, b.ledger.Verify(b.ctx, id))
	}
	var total money.Amount
	require.NoError(t, b.db.SQL.QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM ledger_entries`).Scan(&total))
	require.True(t, total.IsZero(), "all entries sum to %s", total)
	var unbalanced int
	require.NoError(t, b.db.SQL.QueryRow(`SELECT COUNT(*) FROM (
		SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING SUM(amount) <> 0) x`).Scan(&unbalanced))
	require.Zero(t, unbalanced, "unbalanced transactions")
	var uncovered int
	require.NoError(t, b.db.SQL.QueryRow(`SELECT COUNT(*) FROM ledger_entries
		WHERE ledger_kind NOT IN ('CUSTOMER_AVAILABLE', 'CUSTOMER_HELD') AND (balance_after IS NOT NULL OR held_after IS NOT NULL OR account_id IS NOT NULL)`).Scan(&uncovered))
	require.Zero(t, uncovered, "system entries carry wallet state or an owner")
}

// snapshot is everything a rejected operation must leave unchanged.
type snapshot struct {
	Counts  map[string]int
	Wallets map[string][3]int64
}

func (b *bundle) snapshot(t *testing.T) snapshot {
	t.Helper()
	s := snapshot{Counts: map[string]int{}, Wallets: map[string][3]int64{}}
	for _, table := range []string{"ledger_transactions", "ledger_entries", "holds", "outbox_events", "audit_logs", "idempotency_records", "ledger_accounts"} {
		var n int
		require.NoError(t, b.db.SQL.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n))
		s.Counts[table] = n
	}
	rows, err := b.db.SQL.Query(`SELECT account_id, balance, held, version FROM wallets`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var (
			id   string
			vals [3]int64
		)
		require.NoError(t, rows.Scan(&id, &vals[0], &vals[1], &vals[2]))
		s.Wallets[id] = vals
	}
	require.NoError(t, rows.Err())
	return s
}

// walletEvents returns the payloads of the account's wallet events, in order.
func (b *bundle) walletEvents(t *testing.T, accountID pulid.ID) []string {
	t.Helper()
	evs, err := b.db.Client.OutboxEvent.Query().
		Where(outboxevent.Topic(events.TopicWallet), outboxevent.AccountID(string(accountID))).
		Order(ent.Asc(outboxevent.FieldID)).
		All(b.ctx)
	require.NoError(t, err)
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Payload)
	}
	return out
}

func eventJSON(accountID pulid.ID, balance, held int64, version int64) string {
	b, _ := json.Marshal(map[string]any{
		"accountId": accountID,
		"balance":   money.VND(balance),
		"held":      money.VND(held),
		"available": money.VND(balance - held),
		"version":   version,
	})
	return string(b)
}

func requireEvents(t *testing.T, want, got []string) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.JSONEq(t, want[i], got[i], "event %d", i)
	}
}

// entryView is the comparable part of an entry.
type entryView struct {
	LedgerKind   ledgerentry.LedgerKind
	Kind         ledgerentry.Kind
	Amount       string
	Owner        pulid.ID
	BalanceAfter string
	HeldAfter    string
}

func viewEntries(es []*ent.LedgerEntry) []entryView {
	out := make([]entryView, len(es))
	for i, e := range es {
		out[i] = entryView{
			LedgerKind: e.LedgerKind, Kind: e.Kind, Amount: e.Amount.String(), Owner: e.AccountID,
			BalanceAfter: e.BalanceAfter.String(), HeldAfter: e.HeldAfter.String(),
		}
	}
	return out
}
