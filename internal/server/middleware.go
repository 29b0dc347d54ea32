package server

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"billing/internal/auth"
	"billing/internal/requestid"
)

// middleware wraps the mux: request id → access log and metrics → panic
// recovery → authentication.
func (s *Server) middleware(next http.Handler) http.Handler {
	authed := auth.Middleware(s.opts.Issuer)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if rid == "" || len(rid) > 64 {
			rid = requestid.New()
		}
		w.Header().Set("X-Request-Id", rid)
		ctx := requestid.With(r.Context(), rid)
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ctx = requestid.WithClientIP(ctx, host)
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.opts.Logger.ErrorContext(ctx, "panic", "request_id", rid, "panic", v, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeJSON(rec, http.StatusInternalServerError, map[string]any{
						"errors": []map[string]any{{"message": "internal error", "extensions": map[string]string{"code": "INTERNAL", "requestId": rid}}},
					})
				}
			}
			d := time.Since(start)
			route := routeOf(r.URL.Path)
			s.opts.Metrics.ObserveHTTP(route, rec.status, d)
			level := slog.LevelInfo
			if route == "/healthz" || route == "/readyz" || route == "/metrics" {
				level = slog.LevelDebug
			}
			s.opts.Logger.Log(ctx, level, "http request",
				"request_id", rid, "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
		}()
		r.Body = http.MaxBytesReader(rec, r.Body, s.opts.Limits.BodyBytes)
		authed.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// routeOf keeps metric labels bounded: known routes, else "other".
func routeOf(p string) string {
	switch p {
	case "/graphql", "/healthz", "/readyz", "/metrics":
		return p
	}
	for _, prefix := range []string{"/playground", "/sandbox", "/gateway"} {
		if strings.HasPrefix(p, prefix) {
			return prefix
		}
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Flush supports streaming responses.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack lets the websocket transport take over the connection.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	r.status, r.wrote = http.StatusSwitchingProtocols, true
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
