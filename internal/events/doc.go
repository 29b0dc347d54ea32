// Package events carries changes from committed transactions to live
// subscriptions.
//
// A service that changes something a subscriber may watch calls
// Outbox.Append inside its transaction. Append writes an outbox row, so the
// event commits with the change or not at all. Nothing is ever published
// before its transaction commits, and the outbox table stays the source of
// truth. NewBus wires the pieces for the engine in use:
//
//	SQLite:     Append ──commit hook──► Hub ──► subscriptions
//	PostgreSQL: Append + pg_notify ─commit─► Listener (one per instance)
//	                                          └─ reads outbox ─► Hub ──► subscriptions
//
// # SQLite
//
// One instance, one writer at a time: ids are handed out in commit order.
// The first Append of a transaction registers one commit hook that, after
// the commit succeeded, publishes the transaction's events in Append order
// (a rollback or a failed commit drops them). The hook holds a mutex from
// commit to publish, so back-to-back transactions publish in commit order.
//
// # PostgreSQL
//
// Append also calls pg_notify in the transaction, in the statement that
// inserts the row (one round trip); PostgreSQL delivers the notification
// only on commit, to every instance. Each instance runs one
// Listener: one pq.Listener connection (reconnecting with backoff) on
// channel billing_outbox. Every wake-up re-reads the table instead of
// trusting notifications, which are only hints:
//
//   - a notification (queued ones are coalesced into one scan);
//   - a connect or reconnect (pq's event callback, and the nil notification
//     pq sends after a reconnect): notifications sent while the connection
//     was down are lost, the scan from lastSeen finds their rows;
//   - a safety tick every 5 s, which also pings the connection so that a
//     silently dead one is closed and re-established.
//
// A scan reads the rows with id > lastSeen in id order, in batches of 500,
// publishes them and advances lastSeen. It is one statement per batch —
// open gaps (below) included — with its ids written as literals, so lib/pq
// sends it in one round trip, without the Parse/Describe exchange. At
// start lastSeen is the current max(id): subscribers read the current
// state themselves when they subscribe. An instance's own events come back through its listener like
// everyone else's, so each is published exactly once per instance.
//
// # Ids that commit out of order
//
// An identity column hands out ids at insert time, not commit time: a
// transaction can take id 6, then another takes 7 and commits first. A scan
// then sees 7 but not 6, and advancing lastSeen past 6 would lose it
// forever. The listener therefore tracks gaps: every id skipped between
// lastSeen and a row it read is remembered with a deadline (2 minutes, at
// most 10,000 ids), and every scan looks those ids up again, in the same
// statement as the rows above lastSeen (WHERE id > lastSeen OR id IN
// (gaps)); a row that appears is published then, before newer ids, and
// forgotten. An id that never appears
// (its transaction rolled back; sequences never give ids back) is dropped
// at its deadline. At start, the ids missing in the 1,000 ids below max(id)
// are tracked the same way, since they may be transactions still in flight.
//
// We chose gap tracking over the alternatives because it keeps delivery
// immediate and costs one primary-key lookup per open gap per scan:
//   - waiting for a gap to fill before publishing later ids would stall all
//     delivery for the whole horizon after every rollback;
//   - serializing outbox inserts with a lock would serialize every
//     money-moving transaction;
//   - comparing transaction ids (xmin against the snapshot) is exact only
//     with 32-bit xid wrap-around handling and still races with nextval.
//
// The price: a late-committing event is delivered after events with larger
// ids, and a transaction that stays open longer than the horizon after
// appending loses its live delivery (its state is still committed and read
// by the next subscriber). Events about one subject stay in order when
// Append follows the state change, because the row lock on the subject
// orders the two transactions' inserts as well as their commits.
//
// Gaps make each id published at most once: an id is published either when
// the forward scan passes it or when it leaves the gap set, never both.
//
// # Hub
//
// The Hub never blocks a publisher: a subscriber whose buffer is full is
// closed and must resubscribe and re-read the current state. Bus.Prune
// deletes old outbox rows for retention.
package events
