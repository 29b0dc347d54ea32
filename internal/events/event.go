package events

import (
	"context"
	"encoding/json"
	"fmt"
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

// Event is one change, as written to the outbox.
type Event struct {
	// ID is the outbox row id; ids grow with commit order per instance.
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

// Outbox writes events in the caller's transaction.
type Outbox struct {
	postgres bool
	hub      *Hub
}

// NewOutbox returns an outbox for the given engine. On SQLite, events are
// published to hub after commit; on PostgreSQL the listener does it.
func NewOutbox(postgres bool, hub *Hub) *Outbox {
	return &Outbox{postgres: postgres, hub: hub}
}

// NotifyChannel is the PostgreSQL channel the outbox notifies on.
const NotifyChannel = "billing_outbox"

// Append records ev in tx. The payload is JSON-encoded.
func (o *Outbox) Append(ctx context.Context, tx *ent.Tx, topic string, accountID pulid.ID, subjectID string, payload any, at time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("append %s event: encode: %w", topic, err)
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
	ev := Event{ID: row.ID, Topic: topic, AccountID: accountID, SubjectID: subjectID, Payload: body, CreatedAt: row.CreatedAt}
	if o.postgres {
		// NOTIFY is delivered when the transaction commits, never before.
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, fmt.Sprint(row.ID)); err != nil {
			return fmt.Errorf("append %s event: notify: %w", topic, err)
		}
		return nil
	}
	if o.hub != nil {
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				if err := next.Commit(ctx, tx); err != nil {
					return err
				}
				o.hub.Publish(ev)
				return nil
			})
		})
	}
	return nil
}
