package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"github.com/stretchr/testify/require"

	"billing/internal/testdb"
)

const walletSub = `subscription { walletChanged { balance held available } }`

func nextWallet(t *testing.T, ws *wsClient) map[string]any {
	t.Helper()
	msg := ws.read()
	require.Equal(t, "next", msg["type"], "%v", msg)
	payload := msg["payload"].(map[string]any)
	require.Nil(t, payload["errors"])
	return payload["data"].(map[string]any)["walletChanged"].(map[string]any)
}

func TestWalletSubscription(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ws := b.dialWS(t, b.custA)
	ws.subscribe("w", walletSub, nil)
	require.Equal(t, map[string]any{"balance": "0", "held": "0", "available": "0"}, nextWallet(t, ws))

	res, _ := b.adjust(t, b.admin, map[string]any{"idempotencyKey": "s1", "accountId": string(b.accA.ID), "amount": "250000", "reason": "live"})
	require.Empty(t, res.AdjustCredit.UserErrors)
	require.Equal(t, map[string]any{"balance": "250000", "held": "0", "available": "250000"}, nextWallet(t, ws))

	// Another account's change is not delivered; the next message is ours.
	res, _ = b.adjust(t, b.admin, map[string]any{"idempotencyKey": "s2", "accountId": string(b.accB.ID), "amount": "5", "reason": "other"})
	require.Empty(t, res.AdjustCredit.UserErrors)
	res, _ = b.adjust(t, b.admin, map[string]any{"idempotencyKey": "s3", "accountId": string(b.accA.ID), "amount": "-50000", "reason": "live"})
	require.Empty(t, res.AdjustCredit.UserErrors)
	require.Equal(t, map[string]any{"balance": "200000", "held": "0", "available": "200000"}, nextWallet(t, ws))
}

// Two server instances on one PostgreSQL database: a subscriber on the
// first sees a credit adjusted through the second.
func TestWalletSubscriptionAcrossInstances(t *testing.T) {
	testdb.RequirePostgres(t)
	t.Parallel()
	b := setup(t)
	dsn := b.dsn
	db2 := testdb.Open(t, dsn)
	second := startInstance(t, db2, dsn, false)

	ws := b.dialWS(t, b.custA)
	ws.subscribe("w", walletSub, nil)
	require.Equal(t, "0", nextWallet(t, ws)["balance"])

	r := second.gql(t, b.admin, adjustMutation, map[string]any{"input": map[string]any{
		"idempotencyKey": "x1", "accountId": string(b.accA.ID), "amount": "777000", "reason": "from instance two"}})
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"balance": "777000", "held": "0", "available": "777000"}, nextWallet(t, ws))
}

// A websocket peer that stops answering pings is dropped; one that
// answers stays connected.
func TestWebsocketDeadPeerDropped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alive := b.dialWS(t, b.custA)
	alive.subscribe("w", walletSub, nil)
	nextWallet(t, alive)

	dead := b.dialWSRaw(t)
	dead.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + b.custA}})
	dead.subscribe("w", walletSub, nil)
	// Read raw frames without answering pings until the server closes.
	deadline := time.Now().Add(10 * time.Second)
	var err error
	pings := 0
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var msg map[string]any
		err = wsjson.Read(ctx, dead.conn, &msg)
		cancel()
		if err != nil {
			break
		}
		if msg["type"] == "ping" {
			pings++
		}
	}
	require.Error(t, err, "the silent peer must be disconnected")
	require.GreaterOrEqual(t, pings, 1)

	// The live one still gets changes (it answers pings in read()).
	res, _ := b.adjust(t, b.admin, map[string]any{"idempotencyKey": "alive", "accountId": string(b.accA.ID), "amount": "10", "reason": "ping"})
	require.Empty(t, res.AdjustCredit.UserErrors)
	require.Equal(t, "10", nextWallet(t, alive)["balance"])
}
