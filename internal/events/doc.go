// Package events carries changes from committed transactions to live
// subscriptions.
//
// A service that changes something a subscriber may watch calls
// Outbox.Append inside its transaction. Append writes an outbox row; on
// PostgreSQL it also calls pg_notify in the same transaction, which the
// server delivers only on commit, waking each instance's one listener; on
// SQLite (one instance) the event is handed to the in-process hub by a
// commit hook. Either way nothing is published before its transaction
// commits, and the outbox table stays the source of truth: a listener that
// lost its connection re-reads the table from the last id it saw.
package events
