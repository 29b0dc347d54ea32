package invoicing

import (
	"context"
	"sync"
	"time"

	"billing/ent"
)

// gateWait bounds how long a transaction queues at the gate before it
// goes on to the sequence row's lock without it.
const gateWait = time.Second

// gate queues this process's transactions for the month's sequence row
// in memory, one at a time, from the numbering statement to their commit
// or rollback. Correctness does not depend on it — the row lock in
// PostgreSQL orders every transaction of every instance — but when many
// transactions number invoices at once, PostgreSQL hands the row from one
// waiting backend to the next through its lock manager, waking and
// re-checking waiters on each commit; measured with 32 clients, that
// doubled the database's CPU per checkout. Waiting here costs nothing on
// the database.
//
// Only the statements that end a transaction by numbering in the statement
// (IssuePrepaid's, which the auto-renew chunks use) pass the gate, so a
// transaction at the gate holds no lock another one in it could be
// waiting for, except through a path no checkout takes; in case one does,
// a transaction that waited gateWait goes on to the row lock without the
// gate, where PostgreSQL's deadlock detector sees it. Invoices numbered
// at commit (IssuePrepaidAtCommit and CodeAtCommit: every checkout's, and
// CreatePrepaid's) skip it: they wait for the row inside COMMIT, each for
// no more than another's trigger and WAL flush, and at 32 clients the
// database's CPU per checkout stayed where it was with the gate (about
// 3 ms).
type gate struct {
	slot chan struct{}

	mu   sync.Mutex
	held map[*ent.Tx]bool
}

func newGate() *gate { return &gate{slot: make(chan struct{}, 1), held: map[*ent.Tx]bool{}} }

// enter waits for the gate on tx's behalf (at once if tx holds it) and
// arranges for it to be released when tx commits or rolls back.
func (g *gate) enter(ctx context.Context, tx *ent.Tx) error {
	g.mu.Lock()
	held := g.held[tx]
	g.mu.Unlock()
	if held {
		return nil
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g.slot <- struct{}{}:
	case <-t.C:
		return nil // without the gate
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	g.held[tx] = true
	g.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			g.mu.Lock()
			delete(g.held, tx)
			g.mu.Unlock()
			<-g.slot
		})
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			defer release()
			return next.Commit(ctx, tx)
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			defer release()
			return next.Rollback(ctx, tx)
		})
	})
	return nil
}
