package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"billing/ent"
	"billing/internal/pulid"
)

// Record is one event for AppendAll: Append's arguments.
type Record struct {
	Topic     string
	AccountID pulid.ID
	SubjectID string
	Payload   any
	At        time.Time
}

// AppendAll is Append for many events, in order, for the sweeps and
// batches that change hundreds of rows in one transaction: the same rows
// as Append one by one. On PostgreSQL they go in with one INSERT … SELECT
// FROM unnest(arrays) — a fixed number of parameters however many rows,
// which PostgreSQL parses far faster than a multi-row VALUES list — and
// one pg_notify for the lot in the same statement (its payload is only a
// hint: every instance's listener re-reads the table after the commit
// wakes it). Events tx deferred before (Defer) are written first, so the
// order holds. On SQLite each goes through Append, which queues it for the
// in-process hub after commit; the engine is in process, so a statement
// per row costs no round trip.
func (o *Outbox) AppendAll(ctx context.Context, tx *ent.Tx, evs []Record) error {
	if len(evs) == 0 {
		return nil
	}
	if !o.postgres {
		for _, ev := range evs {
			if err := o.Append(ctx, tx, ev.Topic, ev.AccountID, ev.SubjectID, ev.Payload, ev.At); err != nil {
				return err
			}
		}
		return nil
	}
	if err := o.Flush(ctx, tx); err != nil {
		return err
	}
	n := len(evs)
	topics, accounts, subjects, payloads, ats := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, ev := range evs {
		body, err := json.Marshal(ev.Payload)
		if err != nil {
			return fmt.Errorf("append %s event: encode: %w", ev.Topic, err)
		}
		topics[i], accounts[i], subjects[i], payloads[i] = ev.Topic, string(ev.AccountID), ev.SubjectID, string(body)
		ats[i] = ev.At.UTC().Format(time.RFC3339Nano)
	}
	// Ids are given in the order of the arrays. The payloads travel as
	// text (JSON is UTF-8 without NUL; the database is UTF8, as Vietnamese
	// texts need) and become the same bytes with convert_to: a bytea[]
	// would be hex-encoded. NOTIFY is delivered when the transaction
	// commits, never before.
	_, err := tx.ExecContext(ctx, `
		WITH e AS (
			INSERT INTO outbox_events (topic, account_id, subject_id, payload, created_at)
			SELECT t.topic, t.account_id, t.subject_id, convert_to(t.payload, 'UTF8'), t.created_at
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
				WITH ORDINALITY AS t(topic, account_id, subject_id, payload, created_at, ord)
			ORDER BY t.ord
			RETURNING id)
		SELECT pg_notify($6, max(e.id)::text) FROM e`,
		pq.Array(topics), pq.Array(accounts), pq.Array(subjects), pq.Array(payloads), pq.Array(ats), NotifyChannel)
	if err != nil {
		return fmt.Errorf("append %d events: %w", n, err)
	}
	return nil
}
