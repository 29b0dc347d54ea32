package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/ledgerentry"
	"billing/ent/ledgertransaction"
	"billing/internal/events"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
)

// Credit adds m.Amount to the customer's available credit against a system
// account (DEPOSIT, REFUND or ADJUSTMENT), inside tx.
func (s *Service) Credit(ctx context.Context, tx *ent.Tx, m Movement) (*Posting, error) {
	counter, err := m.counter(creditCounters, "credit")
	if err != nil {
		return nil, err
	}
	x := m.Amount
	p, err := s.post(ctx, tx, posting{
		accountID:  m.AccountID,
		kind:       m.Kind,
		amount:     x,
		op:         opCredit(x),
		memo:       m.Memo,
		skipWallet: m.SkipWallet || m.NoEntities,
		noEntities: m.NoEntities,
		legs: []leg{
			{spec: customerSpecs(m.AccountID)[0], amount: x, customer: true},
			{spec: systemSpec(counter), amount: x.Neg()},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("credit %s to %s: %w", x, m.AccountID, err)
	}
	return p, nil
}

// Debit takes m.Amount from the customer's available credit to a system
// account (PURCHASE, INVOICE_PAYMENT or ADJUSTMENT), inside tx. It fails
// with fault.InsufficientCredit when the available credit is smaller.
func (s *Service) Debit(ctx context.Context, tx *ent.Tx, m Movement) (*Posting, error) {
	counter, err := m.counter(debitCounters, "debit")
	if err != nil {
		return nil, err
	}
	x := m.Amount
	p, err := s.post(ctx, tx, posting{
		accountID:  m.AccountID,
		kind:       m.Kind,
		amount:     x,
		op:         opDebit,
		memo:       m.Memo,
		skipWallet: m.SkipWallet || m.NoEntities,
		noEntities: m.NoEntities,
		legs: []leg{
			{spec: customerSpecs(m.AccountID)[0], amount: x.Neg(), customer: true},
			{spec: systemSpec(counter), amount: x},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("debit %s from %s: %w", x, m.AccountID, err)
	}
	return p, nil
}

// posting is one movement ready to be written.
type posting struct {
	accountID pulid.ID
	kind      ledgertransaction.Kind
	amount    money.Amount
	op        walletOp
	legs      []leg
	memo      Memo
	// afterWallet runs after the wallet update, before the entries
	// (Hold uses it to create the hold row).
	afterWallet func(now time.Time) error
	// skipWallet leaves Posting.Wallet nil (Movement.SkipWallet).
	skipWallet bool
	// noEntities writes the movement with one statement on PostgreSQL
	// when nothing runs between its parts (Movement.NoEntities).
	noEntities bool
}

// leg is one entry of a posting.
type leg struct {
	spec     accountSpec
	amount   money.Amount // signed
	customer bool         // carries balance_after/held_after
}

// walletOp is the conditional change of the wallet row for one movement.
// In set and guard, $1 is the amount (scaled), $2 the account and $3 now;
// extra arguments start at $4.
type walletOp struct {
	set   string
	guard string
	extra []any
	// short is the error when the guard rejects the change.
	short func(available money.Amount, amount money.Amount) error
}

// The guard of every operation is what makes it safe under concurrency:
// the row is re-checked by the database after any concurrent writer.
var (
	opDebit = walletOp{
		set:   "balance = balance - $1",
		guard: "balance - held >= $1",
		short: insufficient,
	}
	opHold = walletOp{
		set:   "held = held + $1",
		guard: "balance - held >= $1",
		short: insufficient,
	}
	opCapture = walletOp{
		set:   "balance = balance - $1, held = held - $1",
		guard: "held >= $1",
		short: heldMismatch,
	}
	opRelease = walletOp{
		set:   "held = held - $1",
		guard: "held >= $1",
		short: heldMismatch,
	}
)

// opCredit caps the balance at money.Max so that the bigint column can
// never overflow (SQLite would silently turn an overflow into a float).
func opCredit(x money.Amount) walletOp {
	return walletOp{
		set:   "balance = balance + $1",
		guard: "balance <= $4",
		extra: []any{money.Max.Scaled() - x.Scaled()},
		short: func(money.Amount, money.Amount) error {
			return fault.New(fault.Invalid, "the wallet balance would exceed "+money.Max.Format(), "amount")
		},
	}
}

func insufficient(available, amount money.Amount) error {
	return fault.New(fault.InsufficientCredit,
		fmt.Sprintf("insufficient credit: %s available, %s needed", available.Format(), amount.Format()), "amount")
}

func heldMismatch(_, amount money.Amount) error {
	return fmt.Errorf("ledger invariant broken: wallet holds less than the hold's %s", amount)
}

// walletState is the wallet as a movement left it, read back by RETURNING.
type walletState struct {
	id      pulid.ID
	balance money.Amount
	held    money.Amount
	version int64
}

// applyWallet runs the conditional update. No row updated means either no
// wallet or a failed guard; one more read tells which.
func applyWallet(ctx context.Context, tx *ent.Tx, accountID pulid.ID, amount money.Amount, now time.Time, op walletOp) (walletState, error) {
	args := append([]any{amount.Scaled(), string(accountID), now}, op.extra...)
	rows, err := tx.QueryContext(ctx,
		`UPDATE wallets SET `+op.set+`, version = version + 1, updated_at = $3
		 WHERE account_id = $2 AND `+op.guard+`
		 RETURNING id, balance, held, version`, args...)
	if err != nil {
		return walletState{}, fmt.Errorf("update wallet: %w", err)
	}
	var (
		w     walletState
		found bool
	)
	for rows.Next() {
		if err := rows.Scan(&w.id, &w.balance, &w.held, &w.version); err != nil {
			_ = rows.Close()
			return walletState{}, fmt.Errorf("update wallet: %w", err)
		}
		found = true
	}
	// The rows must be closed before the next statement on the connection.
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return walletState{}, fmt.Errorf("update wallet: %w", err)
	}
	if err := rows.Close(); err != nil {
		return walletState{}, fmt.Errorf("update wallet: %w", err)
	}
	if found {
		return w, nil
	}
	return walletState{}, refused(ctx, tx, accountID, amount, op)
}

// refused tells why op changed no wallet row: no wallet, or its guard.
func refused(ctx context.Context, tx *ent.Tx, accountID pulid.ID, amount money.Amount, op walletOp) error {
	var available money.Amount
	rows, err := tx.QueryContext(ctx, `SELECT balance - held FROM wallets WHERE account_id = $1`, string(accountID))
	if err != nil {
		return fmt.Errorf("read wallet: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read wallet: %w", err)
		}
		return fault.New(fault.NotFound, "account not found", "accountId")
	}
	if err := rows.Scan(&available); err != nil {
		return fmt.Errorf("read wallet: %w", err)
	}
	return op.short(available, amount)
}

// post writes one movement: ledger accounts (created if missing), the
// guarded wallet update, the transaction, its entries and the wallet event.
func (s *Service) post(ctx context.Context, tx *ent.Tx, p posting) (*Posting, error) {
	v, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkTenant(v, p.accountID); err != nil {
		return nil, err
	}
	now := s.now(p.memo.At)
	specs := make([]accountSpec, len(p.legs))
	for i, l := range p.legs {
		specs[i] = l.spec
	}
	ids, err := s.ensureAccounts(ctx, tx, now, specs...)
	if err != nil {
		return nil, err
	}
	if p.noEntities && p.afterWallet == nil && s.db.IsPostgres() {
		return s.postPostgres(ctx, tx, p, v.Subject, ids, now)
	}
	w, err := applyWallet(ctx, tx, p.accountID, p.amount, now, p.op)
	if err != nil {
		return nil, err
	}
	if p.afterWallet != nil {
		if err := p.afterWallet(now); err != nil {
			return nil, err
		}
	}
	description := p.memo.Description
	if description == "" {
		description = defaultDescriptions[p.kind]
	}
	create := tx.LedgerTransaction.Create().
		SetAccountID(p.accountID).
		SetKind(p.kind).
		SetDescription(description).
		SetActor(v.Subject).
		SetCreatedAt(now)
	if p.memo.Reference != "" {
		create.SetReference(p.memo.Reference)
	}
	ltx, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("write ledger transaction: %w", err)
	}
	builders := make([]*ent.LedgerEntryCreate, len(p.legs))
	var sum money.Amount
	for i, l := range p.legs {
		sum = sum.Add(l.amount)
		b := tx.LedgerEntry.Create().
			SetTransactionID(ltx.ID).
			SetLedgerAccountID(ids[l.spec.code]).
			SetKind(ledgerentry.Kind(p.kind)).
			SetLedgerKind(ledgerentry.LedgerKind(l.spec.kind)).
			SetAmount(l.amount).
			SetDescription(description).
			SetCreatedAt(now)
		if l.spec.accountID != "" {
			b.SetAccountID(l.spec.accountID)
		}
		if l.customer {
			b.SetBalanceAfter(w.balance).SetHeldAfter(w.held)
		}
		if p.memo.Reference != "" {
			b.SetReference(p.memo.Reference)
		}
		builders[i] = b
	}
	if !sum.IsZero() {
		return nil, fmt.Errorf("ledger: entries of %s sum to %s, not zero", p.kind, sum)
	}
	entries, err := tx.LedgerEntry.CreateBulk(builders...).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("write ledger entries: %w", err)
	}
	if err := s.walletChanged(ctx, tx, p.accountID, w, now); err != nil {
		return nil, err
	}
	if p.skipWallet {
		return &Posting{Transaction: ltx, Entries: entries}, nil
	}
	// Read through ent (same transaction, row still locked by us) so that
	// callers get a full entity whose edges can be queried.
	wal, err := tx.Wallet.Get(ctx, w.id)
	if err != nil {
		return nil, fmt.Errorf("read wallet back: %w", err)
	}
	return &Posting{Transaction: ltx, Entries: entries, Wallet: wal}, nil
}

// walletChanged appends the wallet's event after a movement.
func (s *Service) walletChanged(ctx context.Context, tx *ent.Tx, accountID pulid.ID, w walletState, now time.Time) error {
	payload := WalletChanged{
		AccountID: accountID,
		Balance:   w.balance,
		Held:      w.held,
		Available: w.balance.Sub(w.held),
		Version:   w.version,
	}
	return s.outbox.Append(ctx, tx, events.TopicWallet, accountID, string(w.id), payload, now)
}

// postPostgres is post for a movement that needs no entities back, on
// PostgreSQL: one statement makes the guarded wallet update and, only when
// it changed the row, writes the transaction and its entries (the entries'
// balance_after and held_after from the updated row, their foreign key
// checked at the end of the statement). The same rows as post's; no row
// means no wallet or a failed guard, told apart as applyWallet does.
func (s *Service) postPostgres(ctx context.Context, tx *ent.Tx, p posting, actor string, ids map[string]pulid.ID, now time.Time) (*Posting, error) {
	description := p.memo.Description
	if description == "" {
		description = defaultDescriptions[p.kind]
	}
	var sum money.Amount
	for _, l := range p.legs {
		sum = sum.Add(l.amount)
	}
	if !sum.IsZero() {
		return nil, fmt.Errorf("ledger: entries of %s sum to %s, not zero", p.kind, sum)
	}
	args := append([]any{p.amount.Scaled(), string(p.accountID), now}, p.op.extra...)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	txID := pulid.New("ltx")
	var legs strings.Builder
	for i, l := range p.legs {
		if i > 0 {
			legs.WriteString(", ")
		}
		fmt.Fprintf(&legs, "(%s::text, %s::text, %s::text, %s::bigint, NULLIF(%s::text, ''), %t)",
			arg(string(pulid.New("len"))), arg(string(ids[l.spec.code])), arg(string(l.spec.kind)), arg(l.amount),
			arg(string(l.spec.accountID)), l.customer)
	}
	q := `WITH w AS (
			UPDATE wallets SET ` + p.op.set + `, version = version + 1, updated_at = $3
			WHERE account_id = $2 AND ` + p.op.guard + `
			RETURNING id, balance, held, version),
		t AS (
			INSERT INTO ledger_transactions (id, account_id, kind, description, reference, actor, created_at)
			SELECT ` + arg(string(txID)) + `::text, $2, ` + arg(string(p.kind)) + `::text, ` + arg(description) + `::text,
				NULLIF(` + arg(p.memo.Reference) + `::text, ''), ` + arg(actor) + `::text, $3 FROM w),
		e AS (
			INSERT INTO ledger_entries (id, transaction_id, ledger_account_id, kind, ledger_kind, amount, description,
				created_at, account_id, balance_after, held_after, reference)
			SELECT v.id, ` + arg(string(txID)) + `::text, v.ledger_account_id, ` + arg(string(p.kind)) + `::text, v.ledger_kind,
				v.amount, ` + arg(description) + `::text, $3, v.account_id,
				CASE WHEN v.customer THEN w.balance END, CASE WHEN v.customer THEN w.held END,
				NULLIF(` + arg(p.memo.Reference) + `::text, '')
			FROM w, (VALUES ` + legs.String() + `) AS v(id, ledger_account_id, ledger_kind, amount, account_id, customer))
		SELECT id, balance, held, version FROM w`
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("post %s: %w", p.kind, err)
	}
	var (
		w     walletState
		found bool
	)
	for rows.Next() {
		if err := rows.Scan(&w.id, &w.balance, &w.held, &w.version); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("post %s: %w", p.kind, err)
		}
		found = true
	}
	// The rows must be closed before the next statement on the connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("post %s: %w", p.kind, err)
	}
	if !found {
		return nil, refused(ctx, tx, p.accountID, p.amount, p.op)
	}
	if err := s.walletChanged(ctx, tx, p.accountID, w, now); err != nil {
		return nil, err
	}
	return &Posting{}, nil
}
