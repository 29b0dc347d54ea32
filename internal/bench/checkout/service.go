package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"billing/internal/account"
	"billing/internal/app"
	"billing/internal/auth"
	"billing/internal/catalog"
	"billing/internal/store"

	"github.com/jonboulle/clockwork"
)

// credit is what each benchmark account starts with: 100 billion VND,
// enough for 300,000+ checkouts of 306,000, far below money.Max.
const credit = "100000000000"

// checkoutQuery is the request every client repeats: one s-general-1x1
// (181,000 + 20 GB × 3,500 + 1 IP × 55,000 = 306,000 VND) for one month,
// paid from credit. The answer is checked, not just received.
const checkoutQuery = `mutation Checkout($in: PlaceOrderInput!) { placeOrder(input: $in) {
	order { id status } payment { id status } userErrors { code message } } }`

// service is one billing server wired by internal/app (sandbox gateway,
// provisioning simulator with no delay, no scheduler) on db, listening on
// a loopback port.
type service struct {
	app  *app.App
	http *http.Server
	url  string
}

// secret signs the benchmark's tokens; every run makes its own.
func newSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// startService wires and starts the service on db. databaseURL is the
// PostgreSQL URL db was opened with ("" on SQLite).
func startService(ctx context.Context, db *store.DB, databaseURL string, secret []byte) (*service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	public := "http://" + ln.Addr().String()
	a, err := app.New(ctx, app.Options{
		DB: db, DatabaseURL: databaseURL, Secret: secret, Clock: clockwork.NewRealClock(),
		Logger: slog.New(slog.DiscardHandler), PublicURL: public, Sandbox: true,
		Provisioner: "simulator", ProvisionDelay: 0,
	})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("wire service: %w", err)
	}
	s := &service{app: a, url: public, http: &http.Server{Handler: a.Server.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// stop shuts the HTTP server and the service down.
func (s *service) stop(ctx context.Context) error {
	return errors.Join(s.http.Shutdown(ctx), s.app.Close(ctx))
}

// customer is one benchmark client's account and token.
type customer struct {
	accountID string
	token     string
}

// prepare seeds the catalog and opens n funded customer accounts through
// the running service (accounts by the account service, credit by the
// operator's adjustCredit mutation). Each client buys on its own account,
// as customers do: the benchmark measures the service, not one wallet's
// row lock.
func prepare(ctx context.Context, s *service, db *store.DB, n int) ([]customer, error) {
	sys := auth.SystemContext(ctx)
	if _, err := catalog.Seed(sys, db.Client); err != nil {
		return nil, fmt.Errorf("seed catalog: %w", err)
	}
	admin, err := s.app.Issuer.Issue(auth.Viewer{Subject: "bench-ops", Role: auth.RoleAdmin}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	accounts := account.New(db, clockwork.NewRealClock())
	c := newClient(s.url, 4)
	out := make([]customer, n)
	for i := range out {
		subject := fmt.Sprintf("bench-customer-%d", i)
		acc, err := accounts.Create(sys, account.CreateInput{Name: "Bench " + strconv.Itoa(i), OwnerSubject: subject})
		if err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		tok, err := s.app.Issuer.Issue(auth.Viewer{Subject: subject, Role: auth.RoleCustomer, AccountID: string(acc.ID)}, 24*time.Hour)
		if err != nil {
			return nil, err
		}
		var d struct {
			AdjustCredit struct{ UserErrors []struct{ Message string } }
		}
		err = c.do(ctx, admin, `mutation($in: AdjustCreditInput!) { adjustCredit(input: $in) { userErrors { message } } }`,
			map[string]any{"in": map[string]any{"idempotencyKey": "bench-fund-" + subject, "accountId": string(acc.ID),
				"amount": credit, "reason": "benchmark credit"}}, &d)
		if err != nil {
			return nil, fmt.Errorf("fund account: %w", err)
		}
		if len(d.AdjustCredit.UserErrors) > 0 {
			return nil, fmt.Errorf("fund account: %s", d.AdjustCredit.UserErrors[0].Message)
		}
		out[i] = customer{accountID: string(acc.ID), token: tok}
	}
	return out, nil
}

// client posts GraphQL requests over keep-alive connections.
type client struct {
	url  string
	http *http.Client
}

func newClient(baseURL string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &client{url: baseURL + "/graphql", http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// do sends one operation and decodes its data into out; GraphQL errors
// are errors.
func (c *client) do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("graphql: %s", r.Errors[0].Message)
	}
	return json.Unmarshal(r.Data, out)
}

// keys makes idempotency keys unique across every client and run.
var keys atomic.Int64

var runID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// typename asks the cheapest authenticated operation: { __typename }.
func (c *client) typename(ctx context.Context, cu customer) error {
	var d struct {
		Typename string `json:"__typename"`
	}
	if err := c.do(ctx, cu.token, `{ __typename }`, nil, &d); err != nil {
		return err
	}
	if d.Typename != "Query" {
		return fmt.Errorf("__typename: %q", d.Typename)
	}
	return nil
}

// checkout places one order with CREDIT and checks that it was paid and
// every resource provisioned before the answer (simulator, no delay).
func (c *client) checkout(ctx context.Context, cu customer) error {
	key := fmt.Sprintf("bench-%s-%d", runID, keys.Add(1))
	var d struct {
		PlaceOrder struct {
			Order      *struct{ ID, Status string }
			Payment    *struct{ ID, Status string }
			UserErrors []struct{ Code, Message string }
		}
	}
	err := c.do(ctx, cu.token, checkoutQuery, map[string]any{"in": map[string]any{
		"idempotencyKey": key, "paymentMethod": "CREDIT",
		"items": []any{map[string]any{"plan": "s-general-1x1", "months": 1, "count": 1}},
	}}, &d)
	switch {
	case err != nil:
		return err
	case len(d.PlaceOrder.UserErrors) > 0:
		return fmt.Errorf("%s: %s", d.PlaceOrder.UserErrors[0].Code, d.PlaceOrder.UserErrors[0].Message)
	case d.PlaceOrder.Payment == nil || d.PlaceOrder.Payment.Status != "SUCCEEDED":
		return fmt.Errorf("payment not succeeded: %+v", d.PlaceOrder.Payment)
	case d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "COMPLETED":
		return fmt.Errorf("order not completed: %+v", d.PlaceOrder.Order)
	}
	return nil
}

// startCounted opens a pool on the service database, counted into trips,
// and starts a service on it; stop both with stopCounted.
func startCounted(ctx context.Context, svcURL string, secret []byte, trips *roundTrips) (*service, *store.DB, error) {
	db, err := openCounted(ctx, svcURL, trips)
	if err != nil {
		return nil, nil, err
	}
	s, err := startService(ctx, db, svcURL, secret)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return s, db, nil
}

// oneCheckout places one checkout for cu through a service started on the
// service database, then stops it.
func oneCheckout(ctx context.Context, svcURL string, secret []byte, trips *roundTrips, cu customer) error {
	s, db, err := startCounted(ctx, svcURL, secret, trips)
	if err != nil {
		return err
	}
	c := newClient(s.url, 1)
	err = c.checkout(ctx, cu)
	c.http.CloseIdleConnections()
	return errors.Join(err, s.stop(context.Background()), db.Close())
}
