// Package bulk writes outbox events and notifications many rows per
// statement, for the lifecycle sweeps that change hundreds of resources in
// one transaction. Each function keeps the contract of its one-row
// original — events.Outbox.Append and notify.Service.Notify — so that a
// sweep's events and notices look exactly like anyone else's; only the
// number of round trips differs.
//
// They belong with their originals (events.Outbox.AppendAll,
// notify.Service.NotifyAll) and live here only until those packages grow
// batch forms.
package bulk

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"billing/ent"
	"billing/ent/notification"
	"billing/internal/events"
	"billing/internal/notify"
	"billing/internal/pulid"
)

// chunk bounds the rows of one INSERT: 9 columns × 500 rows stays far
// below the bind-parameter limits of both engines (SQLite 32,766,
// PostgreSQL 65,535).
const chunk = 500

// Event is one outbox event, as events.Outbox.Append takes it.
type Event struct {
	Topic     string
	AccountID pulid.ID
	SubjectID string
	Payload   any
	At        time.Time
}

// Append records evs in tx, in order. On PostgreSQL the rows go in with
// one multi-row INSERT per chunk and one pg_notify for the lot (its
// payload is only a hint: every instance's listener re-reads the outbox
// table after the commit wakes it). On SQLite each goes through
// outbox.Append, which queues it for the in-process hub after commit; the
// engine is in process, so a statement per row costs no round trip.
func Append(ctx context.Context, tx *ent.Tx, outbox *events.Outbox, postgres bool, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	if !postgres {
		for _, ev := range evs {
			if err := outbox.Append(ctx, tx, ev.Topic, ev.AccountID, ev.SubjectID, ev.Payload, ev.At); err != nil {
				return err
			}
		}
		return nil
	}
	var last int64
	for start := 0; start < len(evs); start += chunk {
		part := evs[start:min(start+chunk, len(evs))]
		creates := make([]*ent.OutboxEventCreate, len(part))
		for i, ev := range part {
			body, err := json.Marshal(ev.Payload)
			if err != nil {
				return fmt.Errorf("append %s event: encode: %w", ev.Topic, err)
			}
			creates[i] = tx.OutboxEvent.Create().
				SetTopic(ev.Topic).
				SetAccountID(string(ev.AccountID)).
				SetSubjectID(ev.SubjectID).
				SetPayload(body).
				SetCreatedAt(ev.At.UTC())
		}
		rows, err := tx.OutboxEvent.CreateBulk(creates...).Save(ctx)
		if err != nil {
			return fmt.Errorf("append %d events: %w", len(part), err)
		}
		last = rows[len(rows)-1].ID
	}
	// NOTIFY is delivered when the transaction commits, never before.
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, events.NotifyChannel, fmt.Sprint(last)); err != nil {
		return fmt.Errorf("append %d events: notify: %w", len(evs), err)
	}
	return nil
}

// Notify records the notices in tx like notify.Service.Notify does for
// one: INSERT … ON CONFLICT (dedupe_key) DO NOTHING, and an
// events.TopicNotification event for each notice actually inserted, so a
// notice whose key exists already (committed, or earlier in tx) is
// dropped. It returns how many were created. Each notice must carry its
// At (the caller's now) and pass Validate. Unlike Notify it does not
// check that a dropped key belongs to the same account: lifecycle keys
// embed the resource id, and a resource never changes account.
func Notify(ctx context.Context, tx *ent.Tx, outbox *events.Outbox, postgres bool, notices []notify.Notice) (int, error) {
	if len(notices) == 0 {
		return 0, nil
	}
	dia := dialect.SQLite
	if postgres {
		dia = dialect.Postgres
	}
	var evs []Event
	for start := 0; start < len(notices); start += chunk {
		part := notices[start:min(start+chunk, len(notices))]
		ins := entsql.Dialect(dia).Insert(notification.Table).Columns(
			notification.FieldID, notification.FieldCreatedAt, notification.FieldUpdatedAt,
			notification.FieldAccountID, notification.FieldKind, notification.FieldResourceID,
			notification.FieldTitle, notification.FieldBody, notification.FieldDedupeKey)
		ids := make([]string, len(part))
		for i, n := range part {
			if err := n.Validate(); err != nil {
				return 0, fmt.Errorf("notify %s: %w", n.DedupeKey, err)
			}
			if n.At.IsZero() {
				return 0, fmt.Errorf("notify %s: no time", n.DedupeKey)
			}
			ids[i] = string(pulid.New("ntf"))
			var res any // NULL, as Notify leaves it, for a notice about no resource
			if n.ResourceID != "" {
				res = string(n.ResourceID)
			}
			at := n.At.UTC().Truncate(time.Microsecond)
			ins.Values(ids[i], at, at, string(n.AccountID), n.Kind, res, n.Title, n.Body, n.DedupeKey)
		}
		ins.OnConflict(entsql.ConflictColumns(notification.FieldDedupeKey), entsql.DoNothing()).
			Returning(notification.FieldID)
		query, args := ins.Query()
		returned, err := queryIDs(ctx, tx, query, args)
		if err != nil {
			return 0, fmt.Errorf("notify %d notices: %w", len(part), err)
		}
		// RETURNING yields the inserted rows only; their events follow the
		// notices' order.
		inserted := make(map[string]bool, len(returned))
		for _, id := range returned {
			inserted[id] = true
		}
		for i, n := range part {
			if !inserted[ids[i]] {
				continue
			}
			at := n.At.UTC().Truncate(time.Microsecond)
			evs = append(evs, Event{
				Topic: events.TopicNotification, AccountID: n.AccountID, SubjectID: ids[i], At: at,
				Payload: notify.EventPayload{ID: pulid.ID(ids[i]), Kind: n.Kind, Title: n.Title, ResourceID: n.ResourceID, CreatedAt: at},
			})
		}
	}
	if err := Append(ctx, tx, outbox, postgres, evs); err != nil {
		return 0, err
	}
	return len(evs), nil
}

func queryIDs(ctx context.Context, tx *ent.Tx, query string, args []any) (ids []string, err error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}()
	for rows.Next() {
		var id sql.NullString
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id.String)
	}
	return ids, rows.Err()
}
