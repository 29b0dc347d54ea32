package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/auth"
	"billing/internal/notify"
	"billing/internal/pulid"
	"billing/internal/store"
)

func (b *bundle) notice(t *testing.T, acc *ent.Account, key string) pulid.ID {
	t.Helper()
	ctx := auth.SystemContext(context.Background())
	require.NoError(t, store.WithTx(ctx, b.db.Client, func(tx *ent.Tx) error {
		created, err := b.app.Notify.Notify(ctx, tx, notify.Notice{AccountID: acc.ID, Kind: notify.KindRenewalReminder,
			Title: "Renew soon", Body: "Your server expires in 7 days.", DedupeKey: key})
		require.True(t, created)
		return err
	}))
	n, err := b.db.Client.Notification.Query().Where().All(ctx)
	require.NoError(t, err)
	for _, x := range n {
		if x.DedupeKey == key {
			return x.ID
		}
	}
	t.Fatal("notice not stored")
	return ""
}

func TestNotifications(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ws := b.dialWS(t, b.custA)
	ws.subscribe("n", `subscription { notificationAdded { id kind title } }`, nil)
	// The subscription is registered asynchronously: create B's notice,
	// then A's until one arrives; B's must never be delivered.
	theirs := b.notice(t, b.accB, "b1")
	// Under load a notice may arrive after the next one was created: any
	// of A's notices may come first, in creation order, never B's.
	var mine []pulid.ID
	var msg map[string]any
	for i := 0; i < 50 && msg == nil; i++ {
		mine = append(mine, b.notice(t, b.accA, fmt.Sprintf("a%d", i)))
		msg, _ = ws.tryRead(100 * time.Millisecond)
	}
	require.NotNil(t, msg, "no notification delivered")
	added := func(msg map[string]any) map[string]any {
		t.Helper()
		require.Equal(t, "next", msg["type"], "%v", msg)
		return msg["payload"].(map[string]any)["data"].(map[string]any)["notificationAdded"].(map[string]any)
	}
	got := added(msg)
	first := slices.Index(mine, pulid.ID(got["id"].(string)))
	require.GreaterOrEqual(t, first, 0, "delivered %v, not one of A's notices %v", got, mine)
	require.Equal(t, map[string]any{"id": string(mine[first]), "kind": "renewal.reminder", "title": "Renew soon"}, got)
	n := b.notice(t, b.accA, "last")
	// The rest of A's notices, in order, then the last one.
	for _, want := range append(slices.Clone(mine[first+1:]), n) {
		require.Equal(t, string(want), added(ws.read())["id"])
	}
	r := b.gql(t, b.custA, `{ notifications { totalCount } viewer { account { unreadNotifications } } }`, nil)
	var counts struct {
		Notifications struct{ TotalCount int }
		Viewer        struct {
			Account struct{ UnreadNotifications int }
		}
	}
	r.mustData(t, &counts)
	require.Equal(t, counts.Notifications.TotalCount, counts.Viewer.Account.UnreadNotifications)
	require.GreaterOrEqual(t, counts.Notifications.TotalCount, 2)
	unread := counts.Viewer.Account.UnreadNotifications

	r = b.gql(t, b.custA, `mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { count userErrors { code } } }`,
		map[string]any{"ids": []string{string(mine[first]), string(theirs)}})
	require.JSONEq(t, `{"markNotificationsRead": {"count": 1, "userErrors": []}}`, string(r.Data))
	r = b.gql(t, b.custA, `{ viewer { account { unreadNotifications } } }`, nil)
	require.JSONEq(t, fmt.Sprintf(`{"viewer": {"account": {"unreadNotifications": %d}}}`, unread-1), string(r.Data))
	r = b.gql(t, b.custB, `{ viewer { account { unreadNotifications } } }`, nil)
	require.JSONEq(t, `{"viewer": {"account": {"unreadNotifications": 1}}}`, string(r.Data), "B's notice stays unread")
	r = b.gql(t, b.vwA, `mutation { markAllNotificationsRead { count } }`, nil)
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())
}
