package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/auth"
	"billing/internal/notify"
	"billing/internal/store"
)

// TestEdgePageCap: the connections ent generates on objects
// (Account.notifications here) get the same default page size and cap
// as the top-level ones: 20 without first/last, at most 100, negative
// refused.
func TestEdgePageCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := auth.SystemContext(context.Background())
	require.NoError(t, store.WithTx(ctx, b.db.Client, func(tx *ent.Tx) error {
		for i := range 130 {
			if _, err := b.app.Notify.Notify(ctx, tx, notify.Notice{
				AccountID: b.accA.ID, Kind: "test.page", Title: fmt.Sprintf("notice %d", i),
				DedupeKey: fmt.Sprintf("page-test-%d", i),
			}); err != nil {
				return err
			}
		}
		return nil
	}))

	count := func(args string) (int, int) {
		t.Helper()
		var d struct {
			Viewer struct {
				Account struct {
					Notifications struct {
						TotalCount int
						Edges      []struct{ Node struct{ ID string } }
					}
				}
			}
		}
		b.gql(t, b.custA, `{ viewer { account { notifications`+args+` { totalCount edges { node { id } } } } } }`, nil).mustData(t, &d)
		n := d.Viewer.Account.Notifications
		return len(n.Edges), n.TotalCount
	}
	got, total := count("")
	require.Equal(t, 20, got)
	require.Equal(t, 130, total)
	got, _ = count("(first: 1000)")
	require.Equal(t, 100, got)
	got, _ = count("(last: 500)")
	require.Equal(t, 100, got)
	got, _ = count("(first: 7)")
	require.Equal(t, 7, got)
	r := b.gql(t, b.custA, `{ viewer { account { notifications(first: -1) { totalCount } } } }`, nil)
	require.Equal(t, []string{"INVALID_INPUT"}, r.codes())
}
