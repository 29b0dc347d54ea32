// Package bulk writes notifications many rows per statement, for the
// lifecycle sweeps that change hundreds of resources in one transaction.
// Notify keeps the contract of its one-row original, notify.Service.Notify,
// so that a sweep's notices look exactly like anyone else's; only the
// number of round trips differs. (Events in bulk are
// events.Outbox.AppendAll.) It belongs with its original
// (notify.Service.NotifyAll) and lives here only until that package grows
// a batch form.
package bulk

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"billing/ent"
	"billing/ent/notification"
	"billing/internal/events"
	"billing/internal/notify"
	"billing/internal/pulid"
)

// chunk bounds the rows of one multi-row INSERT on SQLite: 9 columns ×
// 500 rows stays far below its limit of 32,766 bind parameters
// (PostgreSQL gets arrays).
const chunk = 500

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
	size := chunk
	if postgres {
		size = len(notices) // one statement of arrays
	}
	var evs []events.Record
	for start := 0; start < len(notices); start += size {
		part := notices[start:min(start+size, len(notices))]
		ids := make([]string, len(part))
		for i, n := range part {
			if err := n.Validate(); err != nil {
				return 0, fmt.Errorf("notify %s: %w", n.DedupeKey, err)
			}
			if n.At.IsZero() {
				return 0, fmt.Errorf("notify %s: no time", n.DedupeKey)
			}
			ids[i] = string(pulid.New("ntf"))
		}
		query, args := insertNotices(postgres, part, ids)
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
			evs = append(evs, events.Record{
				Topic: events.TopicNotification, AccountID: n.AccountID, SubjectID: ids[i], At: at,
				Payload: notify.EventPayload{ID: pulid.ID(ids[i]), Kind: n.Kind, Title: n.Title, ResourceID: n.ResourceID, CreatedAt: at},
			})
		}
	}
	if err := outbox.AppendAll(ctx, tx, evs); err != nil {
		return 0, err
	}
	return len(evs), nil
}

// insertNotices is the INSERT … ON CONFLICT (dedupe_key) DO NOTHING
// RETURNING id of the notices, with ids: on PostgreSQL one INSERT …
// SELECT FROM unnest(arrays), a fixed number of parameters whatever the
// number of rows; on SQLite a multi-row INSERT (at most chunk rows).
func insertNotices(postgres bool, ns []notify.Notice, ids []string) (string, []any) {
	if postgres {
		ats, accounts, kinds, resources := make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
		titles, bodies, keys := make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
		for i, n := range ns {
			ats[i] = n.At.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
			accounts[i], kinds[i], resources[i] = string(n.AccountID), n.Kind, string(n.ResourceID)
			titles[i], bodies[i], keys[i] = n.Title, n.Body, n.DedupeKey
		}
		// NULLIF: NULL, as Notify leaves it, for a notice about no resource.
		return `INSERT INTO notifications (id, created_at, updated_at, account_id, kind, resource_id, title, body, dedupe_key)
			SELECT t.id, t.at, t.at, t.account_id, t.kind, NULLIF(t.resource_id, ''), t.title, t.body, t.dedupe_key
			FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
				WITH ORDINALITY AS t(id, at, account_id, kind, resource_id, title, body, dedupe_key, ord)
			ORDER BY t.ord
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING id`,
			[]any{pq.Array(ids), pq.Array(ats), pq.Array(accounts), pq.Array(kinds), pq.Array(resources),
				pq.Array(titles), pq.Array(bodies), pq.Array(keys)}
	}
	ins := entsql.Dialect(dialect.SQLite).Insert(notification.Table).Columns(
		notification.FieldID, notification.FieldCreatedAt, notification.FieldUpdatedAt,
		notification.FieldAccountID, notification.FieldKind, notification.FieldResourceID,
		notification.FieldTitle, notification.FieldBody, notification.FieldDedupeKey)
	for i, n := range ns {
		var res any // NULL, as Notify leaves it, for a notice about no resource
		if n.ResourceID != "" {
			res = string(n.ResourceID)
		}
		at := n.At.UTC().Truncate(time.Microsecond)
		ins.Values(ids[i], at, at, string(n.AccountID), n.Kind, res, n.Title, n.Body, n.DedupeKey)
	}
	ins.OnConflict(entsql.ConflictColumns(notification.FieldDedupeKey), entsql.DoNothing()).
		Returning(notification.FieldID)
	return ins.Query()
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
