package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"billing/graph"
	"billing/internal/auth"
	"billing/internal/metrics"
	"billing/internal/server/playground"
	"billing/internal/store"
)

// Options configure a Server.
type Options struct {
	// DB is the open database; /readyz checks it.
	DB *store.DB
	// Issuer verifies bearer tokens.
	Issuer *auth.Issuer
	// Resolver is the GraphQL root resolver.
	Resolver *graph.Resolver
	// Metrics receives request metrics; New creates one when nil.
	Metrics *metrics.Registry
	// Logger is the structured logger.
	Logger *slog.Logger
	// Dev enables introspection and suggestions for every caller and
	// pre-fills the playground with PlaygroundToken (embedded default).
	Dev bool
	// PlaygroundToken is the admin token pre-filled in dev mode.
	PlaygroundToken string
	// Limits for GraphQL operations; zero values take the defaults.
	Limits Limits
	// Routes are extra handlers by mux pattern: the payment gateway's
	// callbacks and the sandbox gateway. They authenticate themselves
	// (signatures), not with bearer tokens.
	Routes map[string]http.Handler
}

// Limits bound the cost of one GraphQL operation.
type Limits struct {
	Complexity  int // default 5000
	Depth       int // default 12, introspection fields not counted
	ParserToken int // default 15000
	BodyBytes   int64
	// PingInterval is how often a websocket peer is pinged; one that has
	// not answered within two intervals is dropped (default 15 s).
	PingInterval time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.Complexity == 0 {
		l.Complexity = 5000
	}
	if l.Depth == 0 {
		l.Depth = 12
	}
	if l.ParserToken == 0 {
		l.ParserToken = 15000
	}
	if l.BodyBytes == 0 {
		l.BodyBytes = 1 << 20
	}
	if l.PingInterval == 0 {
		l.PingInterval = 15 * time.Second
	}
	return l
}

// Server serves the service over HTTP.
type Server struct {
	opts    Options
	handler http.Handler
}

// New builds the server's handler tree.
func New(opts Options) *Server {
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Limits = opts.Limits.withDefaults()
	if opts.DB != nil {
		opts.Metrics.SetDBStatsFunc(opts.DB.SQL.Stats)
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.Handle("/graphql", s.graphQL())
	mux.Handle("/playground", s.playground())
	mux.Handle("/playground/", s.playground())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", opts.Metrics.Handler())
	for pattern, h := range opts.Routes {
		mux.Handle(pattern, h)
	}
	s.handler = s.middleware(mux)
	return s
}

// Handler returns the root handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// readyz answers 200 when the database answers and every migration is
// applied, 503 otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.DB.SQL.PingContext(ctx); err != nil {
		s.opts.Logger.WarnContext(ctx, "readyz: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		return
	}
	_, pending, err := s.opts.DB.MigrationStatus(ctx)
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "readyz: migration status", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "migration status unknown"})
		return
	}
	if len(pending) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "migrations pending", "pending": pending})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// playground serves GraphiQL to operators. In dev mode (the embedded
// default, listening on loopback) it opens with the admin token filled in.
// Otherwise the page itself asks for an admin token: as a bearer header,
// or once as ?token=… (which the page then keeps out of the address bar).
func (s *Server) playground() http.Handler {
	base := playground.Options{Endpoint: "/graphql", SubscriptionEndpoint: "/graphql", Title: "billing — admin playground"}
	if s.opts.Dev {
		o := base
		o.Token = s.opts.PlaygroundToken
		return http.StripPrefix("/playground", playground.Handler(o))
	}
	anonymous := http.StripPrefix("/playground", playground.Handler(base))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/playground/" && r.URL.Path != "/playground" {
			anonymous.ServeHTTP(w, r) // static assets carry no secret
			return
		}
		tok := r.URL.Query().Get("token")
		v, hasViewer := auth.FromContext(r.Context())
		if tok != "" {
			var err error
			v, err = s.opts.Issuer.Verify(tok)
			hasViewer = err == nil
		}
		if !hasViewer || !v.IsAdmin() {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintln(w, "The playground is for operators: open /playground/?token=<admin token> (get one with `billing token --role admin`).")
			return
		}
		o := base
		o.Token = tok
		http.StripPrefix("/playground", playground.Handler(o)).ServeHTTP(w, r)
	})
}

// Run listens on addr until ctx is done, then shuts down gracefully:
// new connections are refused, running requests get up to grace to finish
// and subscriptions are told to end.
func (s *Server) Run(ctx context.Context, addr string, grace time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln, grace, ready)
}

// Serve is Run on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration, ready func(net.Addr)) error {
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Websocket connections are hijacked and ignored by Shutdown: cancelling
	// the base context ends their subscriptions.
	cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
