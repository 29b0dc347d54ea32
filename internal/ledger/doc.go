// Package ledger is the double-entry ledger behind every credit wallet.
//
// Every movement of money is one LedgerTransaction whose LedgerEntries sum
// to zero across ledger accounts. Each customer account has two ledger
// accounts, AVAILABLE (customer:<id>:available) and HELD
// (customer:<id>:held); the system accounts (system:gateway_clearing,
// system:revenue, system:refunds, system:discounts, system:adjustments) are
// created on demand, race-safely, by insert-if-missing on their unique code.
// The wallet row is a running total kept in step with the entries in the
// same transaction:
//
//	wallet.balance = Σ entries on AVAILABLE + HELD
//	wallet.held    = Σ entries on HELD
//	available      = balance − held ≥ 0
//
// Entries are only ever inserted. A correction is a new transaction.
//
// # Movements
//
// x is the (positive, whole-VND) amount. Signs are those of the entries.
//
//	method   kind              customer AVAILABLE  customer HELD  counter account
//	Credit   DEPOSIT           +x                                  GATEWAY_CLEARING −x
//	Credit   REFUND            +x                                  REFUNDS −x
//	Credit   ADJUSTMENT        +x                                  ADJUSTMENTS −x
//	Debit    PURCHASE          −x                                  REVENUE +x
//	Debit    INVOICE_PAYMENT   −x                                  REVENUE +x
//	Debit    ADJUSTMENT        −x                                  ADJUSTMENTS +x
//	Hold     HOLD              −x                  +x
//	Capture  CAPTURE                               −x              REVENUE +x
//	Release  RELEASE           +x                  −x
//
// Movement.Counter may name another system account for Credit and Debit
// (for example DISCOUNTS for promotional credit); the kind then only labels
// the history.
//
// # Concurrency
//
// The rule "no wallet goes below zero" lives in the database. Each movement
// changes the wallet with one conditional statement, for example
//
//	UPDATE wallets SET balance = balance - $1, version = version + 1, …
//	WHERE account_id = $2 AND balance - held >= $1
//	RETURNING balance, held, version, …
//
// and treats "no row updated" as insufficient credit. On PostgreSQL (READ
// COMMITTED) a concurrent writer waits for the row lock and then re-checks
// the WHERE clause against the committed row, so two debits can never both
// pass on the same money; on SQLite writers are serialized by BEGIN
// IMMEDIATE. The CHECK constraints held >= 0 and balance - held >= 0 are
// the backstop for any statement that forgets the guard. The values
// returned by the statement fill the entries' balance_after/held_after and
// the wallet event, so they are exactly the state the movement produced.
//
// # Transactions
//
// Credit, Debit, Hold, Capture and Release run inside the caller's
// *ent.Tx so that a checkout can commit its order, invoice, idempotency
// record and money movement together. Each also appends an
// events.TopicWallet outbox event (WalletChanged) in that transaction.
// They trust the caller for authorization, with one safety net: a
// customer-scoped viewer can only move money on its own account.
//
// AdjustCredit is the operator's manual adjustment, a whole use case: it
// authorizes (admin only), validates, and runs idempotently under the scope
// "admin:<subject>" (the key belongs to the operator's client that made it;
// the request hash covers the account, so the same key for another account
// is rejected), writing the movement, an audit entry (action credit.adjust)
// and the wallet event in one transaction.
package ledger
