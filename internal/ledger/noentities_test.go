package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/internal/fault"
	"billing/internal/ledger"
	"billing/internal/money"
	"billing/internal/pulid"
)

// TestNoEntitiesMatchesPosting: a movement asked for with NoEntities (one
// statement on PostgreSQL) writes the same transaction, entries, wallet
// and event as one with entities, and is refused the same way.
func TestNoEntitiesMatchesPosting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	type outcome struct {
		txs     []string
		entries []entryView
		events  []string
		wallet  [2]string
	}
	run := func(noEntities bool) (outcome, pulid.ID) {
		acc := b.newAccount(t)
		b.deposit(t, acc, 100_000)
		memo := ledger.Memo{Description: "Order payment", Reference: "pay_x", At: at}
		p, err := b.debit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.VND(40_000), Kind: ledgertransaction.KindPURCHASE,
			NoEntities: noEntities, Memo: memo})
		require.NoError(t, err)
		if noEntities && b.db.IsPostgres() {
			require.Nil(t, p.Transaction)
			require.Nil(t, p.Wallet)
		}
		_, err = b.credit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.VND(5_000), Kind: ledgertransaction.KindREFUND,
			NoEntities: noEntities, Memo: ledger.Memo{At: at}})
		require.NoError(t, err)
		before := b.snapshot(t)
		_, err = b.debit(b.ctx, ledger.Movement{AccountID: acc, Amount: money.VND(65_001), Kind: ledgertransaction.KindPURCHASE,
			NoEntities: noEntities})
		require.Equal(t, fault.InsufficientCredit, fault.CodeOf(err), "%v", err)
		require.Equal(t, before, b.snapshot(t))
		b.verify(t, acc)

		var o outcome
		txs, err := b.db.Client.LedgerTransaction.Query().Where(ledgertransaction.AccountID(acc)).
			Order(ent.Asc(ledgertransaction.FieldCreatedAt), ent.Asc(ledgertransaction.FieldID)).All(b.ctx)
		require.NoError(t, err)
		for _, x := range txs {
			o.txs = append(o.txs, fmt.Sprint(x.Kind, "|", x.Description, "|", x.Reference, "|", x.Actor, "|", x.CreatedAt.UTC()))
			es, err := b.db.Client.LedgerEntry.Query().Where(ledgerentry.TransactionID(x.ID)).
				Order(ent.Asc(ledgerentry.FieldAmount)).All(b.ctx)
			require.NoError(t, err)
			for _, e := range es {
				require.Equal(t, x.Description, e.Description)
				require.Equal(t, x.Reference, e.Reference)
				require.True(t, e.CreatedAt.Equal(x.CreatedAt))
			}
			o.entries = append(o.entries, viewEntries(es)...)
		}
		o.events = b.walletEvents(t, acc)
		w := b.requireWallet(t, acc, 65_000, 0)
		o.wallet = [2]string{fmt.Sprint(w.Version), w.UpdatedAt.UTC().String()}
		return o, acc
	}
	with, accWith := run(false)
	without, accWithout := run(true)
	require.Equal(t, with.txs, without.txs)
	require.Len(t, without.entries, 6) // deposit, debit, credit
	for i := range with.entries {
		if with.entries[i].Owner == accWith {
			with.entries[i].Owner = accWithout
		}
	}
	require.Equal(t, with.entries, without.entries)
	require.Equal(t, with.wallet, without.wallet)
	require.Len(t, without.events, 3)
	for i := range with.events {
		require.JSONEq(t, with.events[i], replaceAccount(without.events[i], accWithout, accWith))
	}
}

func replaceAccount(s string, from, to pulid.ID) string {
	out := []byte(s)
	f, tt := []byte(from), []byte(to)
	for i := 0; i+len(f) <= len(out); i++ {
		if string(out[i:i+len(f)]) == string(f) {
			out = append(out[:i], append(append([]byte{}, tt...), out[i+len(f):]...)...)
			i += len(tt) - 1
		}
	}
	return string(out)
}
