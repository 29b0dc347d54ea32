package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"billing/ent"
	"billing/internal/pulid"
)

// Topics.
const (
	// TopicWallet carries a WalletChanged after every balance change.
	TopicWallet = "wallet"
	// TopicPayment carries a payment's status changes.
	TopicPayment = "payment"
	// TopicNotification carries new notifications.
	TopicNotification = "notification"
)

// NotifyChannel is the PostgreSQL channel the outbox notifies on and the
// listener listens to.
const NotifyChannel = "billing_outbox"

// Event is one change, as written to the outbox.
type Event struct {
	// ID is the outbox row id. On SQLite ids follow commit order; on
	// PostgreSQL they follow insert order, so a transaction that commits
	// late delivers its smaller id after larger ones (see the package doc).
	ID int64 `json:"id"`
	// Topic says what kind of thing changed.
	Topic string `json:"topic"`
	// AccountID is the account the change belongs to ("" for none).
	AccountID pulid.ID `json:"accountId,omitempty"`
	// SubjectID is the id of the changed thing (wallet, payment…).
	SubjectID string `json:"subjectId,omitempty"`
	// Payload is the JSON body, decoded by subscribers of the topic.
	Payload json.RawMessage `json:"payload"`
	// CreatedAt is when the change happened.
	CreatedAt time.Time `json:"createdAt"`
}

// Decode unmarshals the payload into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Payload, v) }

// eventOf converts an outbox row.
func eventOf(row *ent.OutboxEvent) Event {
	return Event{
		ID:        row.ID,
		Topic:     row.Topic,
		AccountID: pulid.ID(row.AccountID),
		SubjectID: row.SubjectID,
		Payload:   row.Payload,
		CreatedAt: row.CreatedAt,
	}
}

// Outbox writes events in the caller's transaction.
type Outbox struct {
	postgres bool
	hub      *Hub

	// SQLite only. commitMu is held from the commit of an event-carrying
	// transaction until its events are published, so two transactions that
	// commit back to back publish in commit (= id) order.
	commitMu sync.Mutex
	// pendingMu guards pending: the events of each open transaction, in
	// Append order, published together by one commit hook.
	pendingMu sync.Mutex
	pending   map[*ent.Tx][]Event

	// PostgreSQL only. deferredMu guards deferred: the rows appended to
	// each transaction that called Defer and not written yet.
	deferredMu sync.Mutex
	deferred   map[*ent.Tx]*[]row
}

// row is an outbox row waiting in a deferred transaction.
type row struct {
	topic, accountID, subjectID string
	payload                     []byte
	at                          time.Time
}

// NewOutbox returns an outbox for the given engine. On SQLite, events are
// published to hub after commit; on PostgreSQL hub is not used: the
// listener reads committed rows and publishes them (use NewBus to get both
// wired).
func NewOutbox(postgres bool, hub *Hub) *Outbox {
	return &Outbox{postgres: postgres, hub: hub, pending: map[*ent.Tx][]Event{}, deferred: map[*ent.Tx]*[]row{}}
}

// Append records an event in tx. The payload is JSON-encoded. Call it after
// the state change it describes (after taking that row's lock), so that on
// PostgreSQL two transactions on the same subject get ids in commit order.
func (o *Outbox) Append(ctx context.Context, tx *ent.Tx, topic string, accountID pulid.ID, subjectID string, payload any, at time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("append %s event: encode: %w", topic, err)
	}
	if o.postgres {
		if o.hold(tx, row{topic, string(accountID), subjectID, body, at.UTC()}) {
			return nil
		}
		return appendPostgres(ctx, tx, topic, accountID, subjectID, body, at)
	}
	row, err := tx.OutboxEvent.Create().
		SetTopic(topic).
		SetAccountID(string(accountID)).
		SetSubjectID(subjectID).
		SetPayload(body).
		SetCreatedAt(at.UTC()).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("append %s event: %w", topic, err)
	}
	if o.hub != nil {
		o.publishAfterCommit(tx, eventOf(row))
	}
	return nil
}

// appendPostgres inserts the row and calls pg_notify in one statement (one
// round trip instead of two). NOTIFY is delivered when the transaction
// commits, never before; the payload (the row id) is only a hint, the
// listener re-reads the table.
func appendPostgres(ctx context.Context, tx *ent.Tx, topic string, accountID pulid.ID, subjectID string, body []byte, at time.Time) error {
	rows, err := tx.QueryContext(ctx,
		`WITH e AS (
			INSERT INTO outbox_events (topic, account_id, subject_id, payload, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id)
		 SELECT e.id FROM e, pg_notify($6, e.id::text)`,
		topic, string(accountID), subjectID, body, at.UTC(), NotifyChannel)
	if err != nil {
		return fmt.Errorf("append %s event: %w", topic, err)
	}
	// Read to the end: an error of the statement may come with its result.
	for rows.Next() {
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("append %s event: %w", topic, err)
	}
	return nil
}

// publishAfterCommit queues ev for tx. The first event of a transaction
// registers one commit hook that publishes all of them in Append order:
// ent runs the post-commit part of several hooks last-registered first,
// so a hook per event would publish a transaction's events in reverse.
func (o *Outbox) publishAfterCommit(tx *ent.Tx, ev Event) {
	o.pendingMu.Lock()
	evs, registered := o.pending[tx]
	o.pending[tx] = append(evs, ev)
	o.pendingMu.Unlock()
	if registered {
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			o.commitMu.Lock()
			defer o.commitMu.Unlock()
			err := next.Commit(ctx, tx)
			evs := o.take(tx)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				o.hub.Publish(ev)
			}
			return nil
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			o.take(tx)
			return next.Rollback(ctx, tx)
		})
	})
}

// take removes and returns the events queued for tx.
func (o *Outbox) take(tx *ent.Tx) []Event {
	o.pendingMu.Lock()
	defer o.pendingMu.Unlock()
	evs := o.pending[tx]
	delete(o.pending, tx)
	return evs
}

// Defer makes the events appended to tx from now on wait, on PostgreSQL,
// until Flush or the commit, which write all of them with one multi-row
// INSERT and one pg_notify: one statement (and one notification) per
// transaction instead of one per event. Ids are still handed out in
// Append order and before the commit, under the locks the transaction
// holds, so events keep their order (see Append). A failure to write them
// rolls the transaction back and fails its commit. On SQLite, where every
// statement is in process, Defer does nothing.
//
// Use it for transactions that append only through Append (not also
// through a bulk writer that inserts at once, which would overtake the
// deferred rows).
func (o *Outbox) Defer(tx *ent.Tx) {
	if !o.postgres {
		return
	}
	o.deferredMu.Lock()
	_, registered := o.deferred[tx]
	if !registered {
		o.deferred[tx] = new([]row)
	}
	o.deferredMu.Unlock()
	if registered {
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := o.Flush(ctx, tx)
			o.deferredMu.Lock()
			delete(o.deferred, tx)
			o.deferredMu.Unlock()
			if err != nil {
				return errors.Join(err, tx.Rollback())
			}
			return next.Commit(ctx, tx)
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			o.deferredMu.Lock()
			delete(o.deferred, tx)
			o.deferredMu.Unlock()
			return next.Rollback(ctx, tx)
		})
	})
}

// hold queues r when tx defers its events, reporting whether it did.
func (o *Outbox) hold(tx *ent.Tx, r row) bool {
	o.deferredMu.Lock()
	defer o.deferredMu.Unlock()
	rows, ok := o.deferred[tx]
	if ok {
		*rows = append(*rows, r)
	}
	return ok
}

// Flush writes the events deferred in tx now, in Append order (see Defer):
// for a caller that is about to take a lock that should be held as
// briefly as possible, such as the month's invoice sequence row. Without
// deferred events it does nothing.
func (o *Outbox) Flush(ctx context.Context, tx *ent.Tx) error {
	o.deferredMu.Lock()
	var rows []row
	if p, ok := o.deferred[tx]; ok {
		rows, *p = *p, nil
	}
	o.deferredMu.Unlock()
	for len(rows) > 0 {
		n := min(len(rows), flushChunk)
		if err := insertPostgres(ctx, tx, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// flushChunk bounds the rows of one INSERT: 5 parameters each stays far
// below PostgreSQL's 65,535.
const flushChunk = 1000

// insertPostgres inserts rows with one statement that also calls
// pg_notify once (with the last id, a hint like Append's).
func insertPostgres(ctx context.Context, tx *ent.Tx, rows []row) error {
	var b strings.Builder
	b.WriteString(`WITH e AS (INSERT INTO outbox_events (topic, account_id, subject_id, payload, created_at) VALUES `)
	args := make([]any, 0, 5*len(rows)+1)
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, r.topic, r.accountID, r.subjectID, r.payload, r.at)
	}
	fmt.Fprintf(&b, ` RETURNING id) SELECT pg_notify($%d, max(e.id)::text) FROM e`, len(args)+1)
	args = append(args, NotifyChannel)
	res, err := tx.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("append %d events: %w", len(rows), err)
	}
	for res.Next() {
	}
	if err := errors.Join(res.Err(), res.Close()); err != nil {
		return fmt.Errorf("append %d events: %w", len(rows), err)
	}
	return nil
}
