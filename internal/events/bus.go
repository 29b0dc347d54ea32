package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"billing/ent/outboxevent"
	"billing/internal/store"
)

// Bus wires the outbox to the hub for the engine in use, so the rest of the
// service does not care which one it runs on: services append through
// Outbox, subscriptions read from Hub.
//
// On SQLite (one instance) the outbox publishes to the hub right after each
// commit. On PostgreSQL the outbox only notifies, and the instance's one
// Listener feeds the hub from the table, so an instance receives its own
// events through the listener too, exactly once, like every other instance.
type Bus struct {
	// Outbox appends events inside transactions.
	Outbox *Outbox
	// Hub delivers committed events to this instance's subscribers.
	Hub *Hub

	db       *store.DB
	listener *Listener // nil on SQLite
}

// NewBus returns the bus for db. databaseURL is the URL db was opened with;
// it is needed on PostgreSQL only, for the listener's own connection.
func NewBus(db *store.DB, databaseURL string, logger *slog.Logger) *Bus {
	hub := NewHub()
	b := &Bus{Outbox: NewOutbox(db.IsPostgres(), hub), Hub: hub, db: db}
	if db.IsPostgres() {
		b.listener = NewListener(databaseURL, db, hub, logger)
	}
	return b
}

// Start starts the listener on PostgreSQL; on SQLite there is nothing to
// start.
func (b *Bus) Start(ctx context.Context) error {
	if b.listener == nil {
		return nil
	}
	if b.listener.databaseURL == "" {
		return errors.New("start events bus: PostgreSQL needs the database URL for the listener")
	}
	return b.listener.Start(ctx)
}

// Stop stops the listener, if any.
func (b *Bus) Stop(ctx context.Context) error {
	if b.listener == nil {
		return nil
	}
	return b.listener.Stop(ctx)
}

// Listener returns the PostgreSQL listener, nil on SQLite.
func (b *Bus) Listener() *Listener { return b.listener }

// pruneBatch bounds one DELETE, so retention never holds a long lock on a
// busy outbox.
const pruneBatch = 5_000

// Prune deletes the outbox rows created before olderThan and returns how
// many it deleted. Subscribers never read old rows (they start from the
// current state), so retention only has to outlast the listeners' gap
// horizon; keep a day or more for debugging.
func (b *Bus) Prune(ctx context.Context, olderThan time.Time) (int, error) {
	total := 0
	for {
		ids, err := b.db.Client.OutboxEvent.Query().
			Where(outboxevent.CreatedAtLT(olderThan.UTC())).
			Limit(pruneBatch).
			IDs(ctx)
		if err != nil {
			return total, fmt.Errorf("prune outbox: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		n, err := b.db.Client.OutboxEvent.Delete().Where(outboxevent.IDIn(ids...)).Exec(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune outbox: %w", err)
		}
		if len(ids) < pruneBatch {
			return total, nil
		}
	}
}
