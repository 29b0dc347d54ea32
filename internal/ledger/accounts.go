package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"billing/ent"
	"billing/ent/ledgeraccount"
	"billing/internal/fault"
	"billing/internal/pulid"
	"billing/internal/store"
)

// AvailableCode is the code of a customer's AVAILABLE ledger account.
func AvailableCode(accountID pulid.ID) string { return "customer:" + string(accountID) + ":available" }

// HeldCode is the code of a customer's HELD ledger account.
func HeldCode(accountID pulid.ID) string { return "customer:" + string(accountID) + ":held" }

// SystemCode is the fixed code of a system ledger account, e.g. "system:revenue".
func SystemCode(kind ledgeraccount.Kind) string { return "system:" + strings.ToLower(string(kind)) }

// accountSpec names a ledger account that must exist.
type accountSpec struct {
	code      string
	kind      ledgeraccount.Kind
	accountID pulid.ID // "" for system accounts
}

func customerSpecs(accountID pulid.ID) []accountSpec {
	return []accountSpec{
		{code: AvailableCode(accountID), kind: ledgeraccount.KindCUSTOMER_AVAILABLE, accountID: accountID},
		{code: HeldCode(accountID), kind: ledgeraccount.KindCUSTOMER_HELD, accountID: accountID},
	}
}

func systemSpec(kind ledgeraccount.Kind) accountSpec {
	return accountSpec{code: SystemCode(kind), kind: kind}
}

// OpenWallet creates, in the caller's transaction, the wallet and the two
// customer ledger accounts of a new account. The account row must exist.
func OpenWallet(ctx context.Context, tx *ent.Tx, accountID pulid.ID, now time.Time) (*ent.Wallet, error) {
	now = now.UTC()
	w, err := tx.Wallet.Create().
		SetAccountID(accountID).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("open wallet of %s: %w", accountID, err)
	}
	for _, sp := range customerSpecs(accountID) {
		err := tx.LedgerAccount.Create().
			SetAccountID(accountID).
			SetCode(sp.code).
			SetKind(sp.kind).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("open ledger account %s: %w", sp.code, err)
		}
	}
	return w, nil
}

// EnsureSystemAccounts creates the missing system ledger accounts in their
// own transaction. Movements create them on demand anyway; calling this at
// start-up keeps that first insert out of customer transactions.
func (s *Service) EnsureSystemAccounts(ctx context.Context) error {
	specs := make([]accountSpec, 0, len(SystemKinds))
	for _, k := range SystemKinds {
		specs = append(specs, systemSpec(k))
	}
	err := store.WithTx(ctx, s.db.Client, func(tx *ent.Tx) error {
		_, err := s.ensureAccounts(ctx, tx, s.now(time.Time{}), specs...)
		return err
	})
	if err != nil {
		return fmt.Errorf("ensure system ledger accounts: %w", err)
	}
	return nil
}

// ensureAccounts returns the ids of the ledger accounts named by specs,
// creating the missing system ones; a missing customer ledger account means
// the account was never opened (fault.NotFound), and is not created so that
// a movement on an unknown account leaves no trace. Ledger accounts are
// never deleted and never change code or kind, so ids that a committed
// transaction saw are remembered (s.accountIDs) and the common case costs
// no statement at all; otherwise it reads first, so the usual miss is one
// SELECT. A missing system account is inserted with ON CONFLICT (code) DO
// NOTHING and read again. On PostgreSQL a concurrent inserter of the same code
// makes the INSERT wait for its transaction: when it commits, ours does
// nothing and the following SELECT (a new READ COMMITTED snapshot) sees its
// row; when it rolls back, ours inserts. On SQLite writers are serialized.
// Raw SQL because system accounts belong to no tenant and this lookup must
// work for every viewer; the rows it returns are ids only.
func (s *Service) ensureAccounts(ctx context.Context, tx *ent.Tx, now time.Time, specs ...accountSpec) (map[string]pulid.ID, error) {
	if ids, ok := s.knownAccounts(specs); ok {
		return ids, nil
	}
	ids, err := selectAccounts(ctx, tx, specs)
	if err != nil {
		return nil, err
	}
	if len(ids) == len(specs) {
		s.rememberAccounts(tx, ids)
		return ids, nil
	}
	for _, sp := range specs {
		if _, ok := ids[sp.code]; ok {
			continue
		}
		if sp.accountID != "" {
			return nil, fault.New(fault.NotFound, "account not found", "accountId")
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO ledger_accounts (id, created_at, updated_at, account_id, code, kind, currency)
			 VALUES ($1, $2, $2, NULL, $3, $4, 'VND')
			 ON CONFLICT (code) DO NOTHING`,
			string(pulid.New("lac")), now, sp.code, string(sp.kind))
		if err != nil {
			return nil, fmt.Errorf("create ledger account %s: %w", sp.code, err)
		}
	}
	ids, err = selectAccounts(ctx, tx, specs)
	if err != nil {
		return nil, err
	}
	for _, sp := range specs {
		if _, ok := ids[sp.code]; !ok {
			return nil, fmt.Errorf("ledger account %s missing after insert", sp.code)
		}
	}
	s.rememberAccounts(tx, ids)
	return ids, nil
}

// knownAccounts returns the remembered ids of specs, if all are known.
func (s *Service) knownAccounts(specs []accountSpec) (map[string]pulid.ID, bool) {
	ids := make(map[string]pulid.ID, len(specs))
	for _, sp := range specs {
		v, ok := s.accountIDs.Load(sp.code)
		if !ok {
			return nil, false
		}
		ids[sp.code] = v.(pulid.ID)
	}
	return ids, true
}

// rememberAccounts remembers ids once tx has committed: a row tx read may
// be tx's own insert (or the account's OpenWallet in the same
// transaction), which a rollback would take back.
func (s *Service) rememberAccounts(tx *ent.Tx, ids map[string]pulid.ID) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			for code, id := range ids {
				s.accountIDs.Store(code, id)
			}
			return nil
		})
	})
}

func selectAccounts(ctx context.Context, tx *ent.Tx, specs []accountSpec) (map[string]pulid.ID, error) {
	args := make([]any, len(specs))
	marks := make([]string, len(specs))
	for i, sp := range specs {
		args[i] = sp.code
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT id, code, kind FROM ledger_accounts WHERE code IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read ledger accounts: %w", err)
	}
	defer rows.Close()
	want := make(map[string]ledgeraccount.Kind, len(specs))
	for _, sp := range specs {
		want[sp.code] = sp.kind
	}
	ids := make(map[string]pulid.ID, len(specs))
	for rows.Next() {
		var id, code, kind string
		if err := rows.Scan(&id, &code, &kind); err != nil {
			return nil, fmt.Errorf("read ledger accounts: %w", err)
		}
		if want[code] != ledgeraccount.Kind(kind) {
			return nil, fmt.Errorf("ledger account %s has kind %s, want %s", code, kind, want[code])
		}
		ids[code] = pulid.ID(id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ledger accounts: %w", err)
	}
	return ids, nil
}
