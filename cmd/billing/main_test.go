package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/internal/auth"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := envOf(map[string]string{"BILLING_DATA_DIR": dir})
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"token", "--role", "customer", "--account", "acc_01JDX3Q6V7N2M8K4P5R6S7T8V9"}, env, &out, &errOut))
	secret, err := auth.LoadOrCreateSecret(dir)
	require.NoError(t, err)
	iss, err := auth.NewIssuer(secret, nil)
	require.NoError(t, err)
	v, err := iss.Verify(strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.Equal(t, auth.RoleCustomer, v.Role)
	require.Equal(t, "acc_01JDX3Q6V7N2M8K4P5R6S7T8V9", v.AccountID)

	for _, args := range [][]string{
		{"token", "--role", "system"},
		{"token", "--role", "root"},
		{"token", "--role", "customer"}, // no account
	} {
		out.Reset()
		require.Error(t, run(context.Background(), args, env, &out, &errOut), "%v", args)
		require.Empty(t, out.String())
	}
}

// TestServeEmbedded starts the embedded default as `make run` does, checks
// that it announces the playground and tokens, answers with the seeded
// catalog, and shuts down cleanly when told to stop.
func TestServeEmbedded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := envOf(map[string]string{"BILLING_DATA_DIR": dir, "BILLING_ADDR": "127.0.0.1:0", "BILLING_SCHEDULER": "false"})
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, &stderr) }()

	re := regexp.MustCompile(`Admin playground:\s+(http://\S+)/playground/\s+GraphQL endpoint:\s+\S+\s+Sandbox gateway:\s+\S+\s+Admin token:\s+(\S+)`)
	var m []string
	require.Eventually(t, func() bool { m = re.FindStringSubmatch(stderr.String()); return m != nil }, 30*time.Second, 20*time.Millisecond, "no start-up banner: %s", stderr.String())
	base, token := m[1], m[2]

	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.Get(base + "/playground/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(page), token, "the dev playground opens with the admin token")

	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ products { totalCount } accounts { totalCount edges { node { name wallet { balance } } } } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct {
		Data struct {
			Products struct{ TotalCount int }
			Accounts struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Name   string
						Wallet struct{ Balance string }
					}
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(body, &out), string(body))
	require.Equal(t, 3, out.Data.Products.TotalCount, string(body))
	require.Equal(t, 1, out.Data.Accounts.TotalCount)
	require.Equal(t, demoName, out.Data.Accounts.Edges[0].Node.Name)
	require.Equal(t, "0", out.Data.Accounts.Edges[0].Node.Wallet.Balance)

	cancel() // what SIGTERM does
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}

	// A second start reuses the data directory: same secret, no second demo account.
	ctx2, cancel2 := context.WithCancel(context.Background())
	var stderr2 syncBuffer
	done2 := make(chan error, 1)
	go func() { done2 <- run(ctx2, []string{"serve"}, env, io.Discard, &stderr2) }()
	require.Eventually(t, func() bool { return re.MatchString(stderr2.String()) }, 30*time.Second, 20*time.Millisecond)
	m2 := re.FindStringSubmatch(stderr2.String())
	req, _ = http.NewRequest(http.MethodPost, m2[1]+"/graphql", strings.NewReader(`{"query":"{ accounts { totalCount } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token) // the first run's token is still valid
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.JSONEq(t, `{"data":{"accounts":{"totalCount":1}}}`, string(body))
	cancel2()
	require.NoError(t, <-done2)
}

func TestJobsCommand(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"BILLING_DATA_DIR": t.TempDir()})
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"jobs", "list"}, env, &out, io.Discard))
	require.Regexp(t, `(?m)^expire-abandoned-payments\s+every 1m0s\s+next \S+`, out.String())
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"jobs", "run", "expire-abandoned-payments"}, env, &out, io.Discard))
	require.Equal(t, "expire-abandoned-payments: 0 done\n", out.String())
	require.Error(t, run(context.Background(), []string{"jobs", "run", "nope"}, env, &out, io.Discard))
}
