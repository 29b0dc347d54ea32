package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/lib/pq"

	"billing/ent"
	"billing/internal/money"
	"billing/internal/pulid"
)

// Insufficient is the fault.InsufficientCredit a Debit of amount fails
// with when only available is left: for a caller that decides a set of
// debits itself (DebitAll) and must explain the one that did not fit in
// the same words.
func Insufficient(available, amount money.Amount) error { return insufficient(available, amount) }

// LockAvailable returns the available credit (balance − held) of the
// wallets of accountIDs, with their rows locked until tx ends, in
// account order: the one order in which several wallets are locked, so
// two such transactions never deadlock. An account without a wallet is
// missing from the result. PostgreSQL only (SELECT … FOR UPDATE).
func (s *Service) LockAvailable(ctx context.Context, tx *ent.Tx, accountIDs []pulid.ID) (map[pulid.ID]money.Amount, error) {
	if !s.db.IsPostgres() {
		return nil, errors.New("ledger: LockAvailable is for PostgreSQL")
	}
	ids := make([]string, len(accountIDs))
	for i, id := range accountIDs {
		ids[i] = string(id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	rows, err := tx.QueryContext(ctx,
		`SELECT account_id, balance - held FROM wallets WHERE account_id = ANY($1::text[]) ORDER BY account_id FOR UPDATE`,
		pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("lock %d wallets: %w", len(ids), err)
	}
	out := make(map[pulid.ID]money.Amount, len(ids))
	for rows.Next() {
		var (
			id        string
			available money.Amount
		)
		if err := rows.Scan(&id, &available); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("lock wallets: %w", err)
		}
		out[pulid.ID(id)] = available
	}
	// Close before the next statement on the connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("lock %d wallets: %w", len(ids), err)
	}
	return out, nil
}

// WalletEvent is the wallet event one movement of DebitAll leaves for its
// caller to append (events.TopicWallet, subject WalletID), where the
// one-by-one Debit would have appended it.
type WalletEvent struct {
	WalletID pulid.ID
	Payload  WalletChanged
}

// DebitAll writes the debits ms, in order, as Debit would write them one
// by one (with SkipWallet) — the same ledger transactions and entries,
// balance_after and held_after as each left the wallet, the wallet's
// version one step per movement — with three statements whatever their
// number, on PostgreSQL: one UPDATE of the wallets (each by the sum of
// its movements, guarded like Debit: available ≥ that sum), one INSERT
// of the transactions and one of the entries. Each entry set sums to
// zero. It returns each movement's wallet event instead of appending
// it, so that the caller can append it where the one-by-one path would
// have (between its own events).
//
// The caller should hold the wallets' locks (LockAvailable) and have
// decided that each movement fits; if one does not, the guard refuses
// its wallet and DebitAll fails with fault.InsufficientCredit, writing
// nothing the caller keeps (roll back). Every movement must share one
// Memo.At.
func (s *Service) DebitAll(ctx context.Context, tx *ent.Tx, ms []Movement) ([]WalletEvent, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	if !s.db.IsPostgres() {
		return nil, errors.New("ledger: DebitAll is for PostgreSQL")
	}
	v, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now(ms[0].Memo.At)
	type account struct {
		total money.Amount
		n     int64
	}
	accounts := map[pulid.ID]*account{}
	var order []pulid.ID // accounts in first-movement order
	specs := []accountSpec{}
	counters := make([]accountSpec, len(ms))
	for i, m := range ms {
		if err := checkTenant(v, m.AccountID); err != nil {
			return nil, err
		}
		if !m.Amount.IsPositive() {
			return nil, fmt.Errorf("debit %s from %s: the amount must be positive", m.Amount, m.AccountID)
		}
		if !s.now(m.Memo.At).Equal(now) {
			return nil, fmt.Errorf("debit all: movements at %s and %s", now, s.now(m.Memo.At))
		}
		counter, err := m.counter(debitCounters, "debit")
		if err != nil {
			return nil, err
		}
		counters[i] = systemSpec(counter)
		a := accounts[m.AccountID]
		if a == nil {
			a = &account{}
			accounts[m.AccountID] = a
			order = append(order, m.AccountID)
			specs = append(specs, customerSpecs(m.AccountID)[0])
		}
		a.total = a.total.Add(m.Amount)
		a.n++
	}
	for _, c := range counters {
		if !slices.Contains(specs, c) {
			specs = append(specs, c)
		}
	}
	ids, err := s.ensureAccounts(ctx, tx, now, specs...)
	if err != nil {
		return nil, err
	}

	// The wallets, each by the sum of its movements.
	accs, totals, counts := make([]string, len(order)), make([]int64, len(order)), make([]int64, len(order))
	for i, id := range order {
		accs[i], totals[i], counts[i] = string(id), accounts[id].total.Scaled(), accounts[id].n
	}
	rows, err := tx.QueryContext(ctx,
		`UPDATE wallets w SET balance = w.balance - v.total, version = w.version + v.n, updated_at = $4
		 FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(account_id, total, n)
		 WHERE w.account_id = v.account_id AND w.balance - w.held >= v.total
		 RETURNING w.account_id, w.id, w.balance, w.held, w.version`,
		pq.Array(accs), pq.Array(totals), pq.Array(counts), now)
	if err != nil {
		return nil, fmt.Errorf("debit %d wallets: %w", len(order), err)
	}
	after := make(map[pulid.ID]walletState, len(order))
	for rows.Next() {
		var (
			acc string
			w   walletState
		)
		if err := rows.Scan(&acc, &w.id, &w.balance, &w.held, &w.version); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("debit wallets: %w", err)
		}
		after[pulid.ID(acc)] = w
	}
	// Close before the next statement on the connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("debit %d wallets: %w", len(order), err)
	}
	for _, id := range order {
		if _, ok := after[id]; !ok {
			return nil, refused(ctx, tx, id, accounts[id].total, opDebit)
		}
	}

	// Each movement's wallet as it left it: the final state plus what the
	// account's later movements took, one version per movement.
	left := make(map[pulid.ID]account, len(order))
	for id, a := range accounts {
		left[id] = *a
	}
	n := len(ms)
	var (
		txIDs, txAccounts, txKinds, txDescs, txRefs, txActors                      = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		enIDs, enTx, enLedger, enKinds, enLedgerKinds, enDescs, enRefs, enAccounts = make([]string, 2*n), make([]string, 2*n), make([]string, 2*n), make([]string, 2*n), make([]string, 2*n), make([]string, 2*n), make([]string, 2*n), make([]string, 2*n)
		enAmounts                                                                  = make([]int64, 2*n)
		enBalances, enHelds                                                        = make([]sql.NullInt64, 2*n), make([]sql.NullInt64, 2*n)
	)
	evs := make([]WalletEvent, n)
	for i, m := range ms {
		w := after[m.AccountID]
		rest := left[m.AccountID]
		rest.total = rest.total.Sub(m.Amount)
		rest.n--
		left[m.AccountID] = rest
		balance := w.balance.Add(rest.total)
		version := w.version - rest.n
		description := m.Memo.Description
		if description == "" {
			description = defaultDescriptions[m.Kind]
		}
		txID := string(pulid.New("ltx"))
		txIDs[i], txAccounts[i], txKinds[i], txDescs[i], txRefs[i], txActors[i] =
			txID, string(m.AccountID), string(m.Kind), description, m.Memo.Reference, v.Subject
		legs := []struct {
			spec     accountSpec
			amount   money.Amount
			customer bool
		}{
			{customerSpecs(m.AccountID)[0], m.Amount.Neg(), true},
			{counters[i], m.Amount, false},
		}
		var sum money.Amount
		for j, l := range legs {
			k := 2*i + j
			sum = sum.Add(l.amount)
			enIDs[k], enTx[k], enLedger[k] = string(pulid.New("len")), txID, string(ids[l.spec.code])
			enKinds[k], enLedgerKinds[k], enDescs[k], enRefs[k] = string(m.Kind), string(l.spec.kind), description, m.Memo.Reference
			enAccounts[k], enAmounts[k] = string(l.spec.accountID), l.amount.Scaled()
			if l.customer {
				enBalances[k] = sql.NullInt64{Int64: balance.Scaled(), Valid: true}
				enHelds[k] = sql.NullInt64{Int64: w.held.Scaled(), Valid: true}
			}
		}
		if !sum.IsZero() {
			return nil, fmt.Errorf("ledger: entries of %s sum to %s, not zero", m.Kind, sum)
		}
		evs[i] = WalletEvent{WalletID: w.id, Payload: WalletChanged{
			AccountID: m.AccountID, Balance: balance, Held: w.held, Available: balance.Sub(w.held), Version: version,
		}}
	}
	// NULLIF: NULL, as Debit leaves it, for no reference and for the
	// counter entry's account (its balance and held are NULL elements).
	_, err = tx.ExecContext(ctx,
		`INSERT INTO ledger_transactions (id, account_id, kind, description, reference, actor, created_at)
		 SELECT t.id, t.account_id, t.kind, t.description, NULLIF(t.reference, ''), t.actor, $7
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
			AS t(id, account_id, kind, description, reference, actor)`,
		pq.Array(txIDs), pq.Array(txAccounts), pq.Array(txKinds), pq.Array(txDescs), pq.Array(txRefs), pq.Array(txActors), now)
	if err != nil {
		return nil, fmt.Errorf("write %d ledger transactions: %w", n, err)
	}
	// The entries' foreign-key check runs once per entry with the plan
	// the session keeps for it, which a young database's session made for
	// a ledger_transactions of a page or two: a sequential scan, costing
	// a pass over the whole table per entry as the table grows. Discarding
	// the session's plans makes the check planned afresh, once, for the
	// table as it is now (with this call's transactions): an index lookup.
	// (Planning every check instead, plan_cache_mode = force_custom_plan,
	// cost some 45 µs per entry.) The session's other statements are
	// planned again on their next use.
	if _, err := tx.ExecContext(ctx, `DISCARD PLANS`); err != nil {
		return nil, fmt.Errorf("write %d ledger entries: %w", 2*n, err)
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO ledger_entries (id, transaction_id, ledger_account_id, kind, ledger_kind, amount, description,
			created_at, account_id, balance_after, held_after, reference)
		 SELECT e.id, e.transaction_id, e.ledger_account_id, e.kind, e.ledger_kind, e.amount, e.description,
			$12, NULLIF(e.account_id, ''), e.balance_after, e.held_after, NULLIF(e.reference, '')
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[],
			$9::bigint[], $10::bigint[], $11::text[])
			AS e(id, transaction_id, ledger_account_id, kind, ledger_kind, amount, description, account_id,
				balance_after, held_after, reference)`,
		pq.Array(enIDs), pq.Array(enTx), pq.Array(enLedger), pq.Array(enKinds), pq.Array(enLedgerKinds),
		pq.Array(enAmounts), pq.Array(enDescs), pq.Array(enAccounts), pq.Array(enBalances), pq.Array(enHelds),
		pq.Array(enRefs), now)
	if err != nil {
		return nil, fmt.Errorf("write %d ledger entries: %w", 2*n, err)
	}
	return evs, nil
}
