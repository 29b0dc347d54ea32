package invoicing

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/testdb"
)

// TestGate: one transaction at a time holds the gate, from enter to its
// commit or rollback; entering again in the same transaction does not
// wait; a commit followed by the usual deferred rollback releases once.
func TestGate(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	g := newGate()
	begin := func() *ent.Tx {
		t.Helper()
		tx, err := db.Client.Tx(ctx)
		require.NoError(t, err)
		return tx
	}

	tx1 := begin()
	require.NoError(t, g.enter(ctx, tx1))
	require.NoError(t, g.enter(ctx, tx1), "a transaction holding the gate enters again at once")

	// Another transaction waits: with its context done, it gives up.
	done, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, g.enter(done, &ent.Tx{}), context.Canceled)

	require.NoError(t, tx1.Commit())
	require.Empty(t, g.slot, "released by the commit")
	// The deferred rollback after a commit fails and releases nothing more.
	require.Error(t, tx1.Rollback())
	require.Empty(t, g.slot)

	tx2 := begin()
	require.NoError(t, g.enter(ctx, tx2))
	require.Len(t, g.slot, 1)
	require.NoError(t, tx2.Rollback())
	require.Empty(t, g.slot, "released by the rollback")

	tx3 := begin()
	require.NoError(t, g.enter(ctx, tx3))
	require.NoError(t, tx3.Commit())
	require.Empty(t, g.slot)
	require.Empty(t, g.held)
}
