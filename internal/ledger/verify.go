package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"billing/ent/ledgeraccount"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/money"
	"billing/internal/pulid"
)

// Verify checks the ledger invariants of one account and returns every
// violation it finds (nil when the books balance):
//
//   - wallet.balance = Σ entries on the account's AVAILABLE and HELD ledger accounts,
//   - wallet.held = Σ entries on its HELD ledger account,
//   - every transaction of the account has at least two entries summing to zero,
//   - every entry agrees with its ledger account (kind, owner),
//   - wallet.version = number of the account's transactions (one bump per movement).
//
// It reads across tenants (system entries belong to no account), so only
// admin and system viewers may call it. On PostgreSQL it reads one
// REPEATABLE READ snapshot, so it may run while money moves.
func (s *Service) Verify(ctx context.Context, accountID pulid.ID) error {
	v, ok := auth.FromContext(ctx)
	if !ok || !(v.IsAdmin() || v.IsSystem()) {
		return fault.New(fault.Forbidden, "only operators may verify the ledger")
	}
	opts := &sql.TxOptions{}
	if s.db.IsPostgres() {
		// One snapshot for all the sums below.
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.db.SQL.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("verify ledger of %s: %w", accountID, err)
	}
	defer func() { _ = tx.Rollback() }()
	problems, err := verify(ctx, tx, accountID)
	if err != nil {
		return fmt.Errorf("verify ledger of %s: %w", accountID, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("ledger of %s does not balance: %w", accountID, errors.Join(problems...))
	}
	return nil
}

func verify(ctx context.Context, tx *sql.Tx, accountID pulid.ID) ([]error, error) {
	var problems []error
	id := string(accountID)

	var (
		balance, held money.Amount
		version       int64
	)
	err := tx.QueryRowContext(ctx, `SELECT balance, held, version FROM wallets WHERE account_id = $1`, id).
		Scan(&balance, &held, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "wallet not found", "accountId")
	}
	if err != nil {
		return nil, err
	}

	sums := map[ledgeraccount.Kind]money.Amount{}
	rows, err := tx.QueryContext(ctx, `
		SELECT la.kind, COALESCE(SUM(e.amount), 0)
		FROM ledger_accounts la LEFT JOIN ledger_entries e ON e.ledger_account_id = la.id
		WHERE la.account_id = $1
		GROUP BY la.kind`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			kind string
			sum  money.Amount
		)
		if err := rows.Scan(&kind, &sum); err != nil {
			_ = rows.Close()
			return nil, err
		}
		sums[ledgeraccount.Kind(kind)] = sum
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	if got := sums[ledgeraccount.KindCUSTOMER_AVAILABLE].Add(sums[ledgeraccount.KindCUSTOMER_HELD]); !got.Equal(balance) {
		problems = append(problems, fmt.Errorf("wallet balance %s, entries sum to %s", balance, got))
	}
	if got := sums[ledgeraccount.KindCUSTOMER_HELD]; !got.Equal(held) {
		problems = append(problems, fmt.Errorf("wallet held %s, HELD entries sum to %s", held, got))
	}

	rows, err = tx.QueryContext(ctx, `
		SELECT t.id, COUNT(e.id), COALESCE(SUM(e.amount), 0)
		FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
		WHERE t.account_id = $1
		GROUP BY t.id
		HAVING COUNT(e.id) < 2 OR COALESCE(SUM(e.amount), 0) <> 0`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			txID string
			n    int64
			sum  money.Amount
		)
		if err := rows.Scan(&txID, &n, &sum); err != nil {
			_ = rows.Close()
			return nil, err
		}
		problems = append(problems, fmt.Errorf("transaction %s has %d entries summing to %s", txID, n, sum))
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}

	var mismatched int64
	err = tx.QueryRowContext(ctx, `
		SELECT COUNT(*)
		FROM ledger_entries e
		JOIN ledger_accounts la ON la.id = e.ledger_account_id
		JOIN ledger_transactions t ON t.id = e.transaction_id
		WHERE t.account_id = $1
		  AND (e.ledger_kind <> la.kind
		       OR COALESCE(e.account_id, '') <> COALESCE(la.account_id, '')
		       OR e.kind <> t.kind)`, id).Scan(&mismatched)
	if err != nil {
		return nil, err
	}
	if mismatched > 0 {
		problems = append(problems, fmt.Errorf("%d entries disagree with their ledger account or transaction", mismatched))
	}

	var txCount int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_transactions WHERE account_id = $1`, id).Scan(&txCount); err != nil {
		return nil, err
	}
	if txCount != version {
		problems = append(problems, fmt.Errorf("wallet version %d, %d transactions", version, txCount))
	}
	return problems, nil
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return err
	}
	return rows.Close()
}
