package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/account"
	"billing/internal/app"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/events"
	"billing/internal/server"
	"billing/internal/store"
	"billing/internal/testdb"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// instance is one running server on a database, wired like `billing serve`
// (internal/app) with the sandbox gateway and a synchronous provisioning
// simulator.
type instance struct {
	db     *store.DB
	srv    *httptest.Server
	app    *app.App
	bus    *events.Bus
	issuer *auth.Issuer
}

func startInstance(t *testing.T, db *store.DB, dsn string, dev bool) *instance {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hs := httptest.NewUnstartedServer(nil)
	public := "http://" + hs.Listener.Addr().String()
	url := ""
	if db.IsPostgres() {
		url = dsn
	}
	a, err := app.New(context.Background(), app.Options{
		DB: db, DatabaseURL: url, Secret: testSecret, Clock: clockwork.NewRealClock(), Logger: logger,
		PublicURL: public, Dev: dev, Sandbox: true, SandboxRetryInterval: 50 * time.Millisecond,
		Provisioner: "simulator", ProvisionDelay: 0,
		Limits: server.Limits{PingInterval: 300 * time.Millisecond},
	})
	require.NoError(t, err)
	hs.Config.Handler = a.Server.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = a.Close(context.Background())
	})
	return &instance{db: db, srv: hs, app: a, bus: a.Bus, issuer: a.Issuer}
}

// bundle is a server with two customer accounts (A and B) and tokens.
type bundle struct {
	*instance
	clock                    clockwork.Clock
	dsn                      string
	accA, accB               *ent.Account
	admin, custA, custB, vwA string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	dsn := testdb.NewDSN(t)
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Migrate(context.Background()))
	inst := startInstance(t, db, dsn, false)
	b := &bundle{instance: inst, clock: clockwork.NewRealClock(), dsn: dsn}
	ctx := auth.SystemContext(context.Background())
	_, err := catalog.Seed(ctx, db.Client)
	require.NoError(t, err)
	accounts := account.New(db, b.clock)
	b.accA, err = accounts.Create(ctx, account.CreateInput{Name: "Alpha", Email: "a@example.com", OwnerSubject: "alice"})
	require.NoError(t, err)
	b.accB, err = accounts.Create(ctx, account.CreateInput{Name: "Beta", Email: "b@example.com", OwnerSubject: "bob"})
	require.NoError(t, err)
	b.admin = b.token(t, auth.Viewer{Subject: "ops", Role: auth.RoleAdmin})
	b.custA = b.token(t, auth.Viewer{Subject: "alice", Role: auth.RoleCustomer, AccountID: string(b.accA.ID)})
	b.custB = b.token(t, auth.Viewer{Subject: "bob", Role: auth.RoleCustomer, AccountID: string(b.accB.ID)})
	b.vwA = b.token(t, auth.Viewer{Subject: "vera", Role: auth.RoleViewer, AccountID: string(b.accA.ID)})
	return b
}

func (i *instance) token(t *testing.T, v auth.Viewer) string {
	t.Helper()
	tok, err := i.issuer.Issue(v, time.Hour)
	require.NoError(t, err)
	return tok
}

// gqlResponse is a decoded GraphQL response.
type gqlResponse struct {
	status int
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r gqlResponse) codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

// gql POSTs a GraphQL request with the token (none when empty).
func (i *instance) gql(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return i.post(t, token, "application/json", body)
}

func (i *instance) post(t *testing.T, token, contentType string, body []byte) gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, i.srv.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out gqlResponse
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	out.status = resp.StatusCode
	return out
}

// data decodes the response data into v, failing on any error.
func (r gqlResponse) mustData(t *testing.T, v any) {
	t.Helper()
	require.Empty(t, r.Errors, "unexpected errors: %+v", r.Errors)
	require.NoError(t, json.Unmarshal(r.Data, v))
}

// wsClient is a minimal graphql-transport-ws client. A background reader
// answers the server's pings at once (as real clients do) and queues the
// other messages for read.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan map[string]any
	errc chan error
}

func (i *instance) dialWS(t *testing.T, token string) *wsClient {
	t.Helper()
	c := i.dialWSRaw(t)
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	c.msgs, c.errc = make(chan map[string]any, 100), make(chan error, 1)
	go func() {
		for {
			var msg map[string]any
			if err := wsjson.Read(context.Background(), c.conn, &msg); err != nil {
				c.errc <- err
				return
			}
			if msg["type"] == "ping" {
				_ = wsjson.Write(context.Background(), c.conn, map[string]any{"type": "pong"})
				continue
			}
			c.msgs <- msg
		}
	}()
	msg := c.read()
	require.Equal(t, "connection_ack", msg["type"], "%v", msg)
	return c
}

// dialWSRaw connects without reading: the test reads frames itself.
func (i *instance) dialWSRaw(t *testing.T) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(i.srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(c.t, wsjson.Write(ctx, c.conn, v))
}

// read returns the next message that is not a ping.
func (c *wsClient) read() map[string]any {
	c.t.Helper()
	select {
	case msg := <-c.msgs:
		return msg
	case err := <-c.errc:
		c.t.Fatalf("websocket closed: %v", err)
	case <-time.After(15 * time.Second):
		c.t.Fatal("no websocket message within 15 s")
	}
	return nil
}

// tryRead returns the next message if one arrives within d.
func (c *wsClient) tryRead(d time.Duration) (map[string]any, bool) {
	select {
	case msg := <-c.msgs:
		return msg, true
	case <-time.After(d):
		return nil, false
	}
}

func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	c.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
}

// testWriter sends log lines to the test log (shown for failing tests).
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
