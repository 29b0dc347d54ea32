package metrics

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTextTwoRequests(t *testing.T) {
	t.Parallel()
	r := New()
	r.ObserveRequest("GetInvoice", KindQuery, 50*time.Millisecond, false) // exactly on a bound: le is inclusive
	r.ObserveRequest("AddCredit", KindMutation, 3*time.Second, true)

	want := `# HELP billing_graphql_errors_total GraphQL requests that failed, by operation name and kind.
# TYPE billing_graphql_errors_total counter
billing_graphql_errors_total{operation="AddCredit",kind="mutation"} 1
billing_graphql_errors_total{operation="GetInvoice",kind="query"} 0
# HELP billing_graphql_request_duration_seconds Time taken to handle a GraphQL request, in seconds.
# TYPE billing_graphql_request_duration_seconds histogram
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="0.005"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="0.01"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="0.025"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="0.05"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="0.1"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="0.25"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="0.5"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="1"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="2.5"} 0
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="5"} 1
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="10"} 1
billing_graphql_request_duration_seconds_bucket{operation="AddCredit",kind="mutation",le="+Inf"} 1
billing_graphql_request_duration_seconds_sum{operation="AddCredit",kind="mutation"} 3
billing_graphql_request_duration_seconds_count{operation="AddCredit",kind="mutation"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.005"} 0
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.01"} 0
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.025"} 0
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.05"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.1"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.25"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.5"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="1"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="2.5"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="5"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="10"} 1
billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="+Inf"} 1
billing_graphql_request_duration_seconds_sum{operation="GetInvoice",kind="query"} 0.05
billing_graphql_request_duration_seconds_count{operation="GetInvoice",kind="query"} 1
# HELP billing_graphql_requests_total GraphQL requests handled, by operation name and kind.
# TYPE billing_graphql_requests_total counter
billing_graphql_requests_total{operation="AddCredit",kind="mutation"} 1
billing_graphql_requests_total{operation="GetInvoice",kind="query"} 1
`
	require.Equal(t, want, string(r.Text()))
}

func TestTextSameSeriesAccumulates(t *testing.T) {
	t.Parallel()
	r := New()
	r.ObserveRequest("GetInvoice", KindQuery, 100*time.Millisecond, false)
	r.ObserveRequest("GetInvoice", KindQuery, 50*time.Millisecond, true)
	r.ObserveRequest("GetInvoice", KindQuery, 20*time.Second, false)

	text := string(r.Text())
	for _, line := range []string{
		`billing_graphql_requests_total{operation="GetInvoice",kind="query"} 3`,
		`billing_graphql_errors_total{operation="GetInvoice",kind="query"} 1`,
		`billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.05"} 1`,
		`billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="0.1"} 2`,
		`billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="10"} 2`,
		`billing_graphql_request_duration_seconds_bucket{operation="GetInvoice",kind="query",le="+Inf"} 3`,
		`billing_graphql_request_duration_seconds_sum{operation="GetInvoice",kind="query"} 20.15`,
		`billing_graphql_request_duration_seconds_count{operation="GetInvoice",kind="query"} 3`,
	} {
		require.Contains(t, strings.Split(text, "\n"), line)
	}
}

func TestTextEmpty(t *testing.T) {
	t.Parallel()
	require.Equal(t, "", string(New().Text()))
}

func TestTextHTTPAndDBStats(t *testing.T) {
	t.Parallel()
	r := New()
	r.ObserveHTTP("/graphql", 200, 30*time.Millisecond)
	r.ObserveHTTP("/graphql", 200, 2*time.Millisecond)
	r.ObserveHTTP("/graphql", 401, time.Millisecond)
	r.ObserveHTTP("/healthz", 200, time.Millisecond)
	r.SetDBStatsFunc(func() sql.DBStats {
		return sql.DBStats{OpenConnections: 5, InUse: 2, Idle: 3, WaitCount: 7, WaitDuration: 1500 * time.Millisecond}
	})

	want := `# HELP billing_db_idle_connections Idle database connections.
# TYPE billing_db_idle_connections gauge
billing_db_idle_connections 3
# HELP billing_db_in_use_connections Database connections currently in use.
# TYPE billing_db_in_use_connections gauge
billing_db_in_use_connections 2
# HELP billing_db_open_connections Open connections to the database, in use or idle.
# TYPE billing_db_open_connections gauge
billing_db_open_connections 5
# HELP billing_db_wait_count_total Times a caller had to wait for a database connection.
# TYPE billing_db_wait_count_total counter
billing_db_wait_count_total 7
# HELP billing_db_wait_duration_seconds_total Total time callers waited for a database connection, in seconds.
# TYPE billing_db_wait_duration_seconds_total counter
billing_db_wait_duration_seconds_total 1.5
# HELP billing_http_request_duration_seconds Time taken to handle an HTTP request, in seconds, by route path.
# TYPE billing_http_request_duration_seconds histogram
billing_http_request_duration_seconds_bucket{path="/graphql",le="0.005"} 2
billing_http_request_duration_seconds_bucket{path="/graphql",le="0.01"} 2
billing_http_request_duration_seconds_bucket{path="/graphql",le="0.025"} 2
billing_http_request_duration_seconds_bucket{path="/graphql",le="0.05"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="0.1"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="0.25"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="0.5"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="1"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="2.5"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="5"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="10"} 3
billing_http_request_duration_seconds_bucket{path="/graphql",le="+Inf"} 3
billing_http_request_duration_seconds_sum{path="/graphql"} 0.033
billing_http_request_duration_seconds_count{path="/graphql"} 3
billing_http_request_duration_seconds_bucket{path="/healthz",le="0.005"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="0.01"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="0.025"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="0.05"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="0.1"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="0.25"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="0.5"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="1"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="2.5"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="5"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="10"} 1
billing_http_request_duration_seconds_bucket{path="/healthz",le="+Inf"} 1
billing_http_request_duration_seconds_sum{path="/healthz"} 0.001
billing_http_request_duration_seconds_count{path="/healthz"} 1
# HELP billing_http_requests_total HTTP responses, by route path and status code.
# TYPE billing_http_requests_total counter
billing_http_requests_total{path="/graphql",code="200"} 2
billing_http_requests_total{path="/graphql",code="401"} 1
billing_http_requests_total{path="/healthz",code="200"} 1
`
	require.Equal(t, want, string(r.Text()))

	r.SetDBStatsFunc(nil)
	require.NotContains(t, string(r.Text()), "billing_db_")
}

func TestInc(t *testing.T) {
	t.Parallel()
	r := New()
	r.Inc("billing_jobs_runs_total", "Scheduled job runs, by job and result.", map[string]string{"job": "renew", "result": "ok"})
	r.Inc("billing_jobs_runs_total", "ignored: first help wins", map[string]string{"result": "ok", "job": "renew"})
	r.Inc("billing_jobs_runs_total", "", map[string]string{"job": "expire", "result": "error"})
	r.Inc("billing_boots_total", "", nil)

	want := `# TYPE billing_boots_total counter
billing_boots_total 1
# HELP billing_jobs_runs_total Scheduled job runs, by job and result.
# TYPE billing_jobs_runs_total counter
billing_jobs_runs_total{job="expire",result="error"} 1
billing_jobs_runs_total{job="renew",result="ok"} 2
`
	require.Equal(t, want, string(r.Text()))
}

func TestIncPanicsOnProgrammingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		metric    string
		labels    map[string]string
		wantPanic string
	}{
		{name: "empty name", metric: "", wantPanic: `metrics: invalid or reserved counter name ""`},
		{name: "leading digit", metric: "1x_total", wantPanic: `metrics: invalid or reserved counter name "1x_total"`},
		{name: "dash", metric: "a-b_total", wantPanic: `metrics: invalid or reserved counter name "a-b_total"`},
		{name: "built-in name", metric: "billing_graphql_requests_total", wantPanic: `metrics: invalid or reserved counter name "billing_graphql_requests_total"`},
		{name: "histogram series name", metric: "billing_graphql_request_duration_seconds_count", wantPanic: `metrics: invalid or reserved counter name "billing_graphql_request_duration_seconds_count"`},
		{name: "bad label name", metric: "x_total", labels: map[string]string{"a.b": "v"}, wantPanic: `metrics: counter x_total: invalid label name "a.b"`},
		{name: "reserved label name", metric: "x_total", labels: map[string]string{"__name__": "v"}, wantPanic: `metrics: counter x_total: invalid label name "__name__"`},
		{name: "le label", metric: "x_total", labels: map[string]string{"le": "v"}, wantPanic: `metrics: counter x_total: invalid label name "le"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := New()
			require.PanicsWithValue(t, tt.wantPanic, func() { r.Inc(tt.metric, "", tt.labels) })
			require.Equal(t, "", string(r.Text()))
		})
	}
}

func TestLabelEscaping(t *testing.T) {
	t.Parallel()
	r := New()
	r.Inc("billing_odd_total", "Help with a \\ backslash\nand a newline.", map[string]string{"v": "a\"b\\c\nd"})
	r.Inc("billing_odd_total", "", map[string]string{"v": "bad\xffutf8"})
	r.ObserveHTTP(`/say"hi"`, 404, 0)

	text := string(r.Text())
	lines := strings.Split(text, "\n")
	require.Contains(t, lines, `# HELP billing_odd_total Help with a \\ backslash\nand a newline.`)
	require.Contains(t, lines, `billing_odd_total{v="a\"b\\c\nd"} 1`)
	require.Contains(t, lines, "billing_odd_total{v=\"bad\uFFFDutf8\"} 1")
	require.Contains(t, lines, `billing_http_requests_total{path="/say\"hi\"",code="404"} 1`)
}

func TestSanitizeOperation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{in: "GetInvoice", want: "GetInvoice"},
		{in: "get_invoice_2", want: "get_invoice_2"},
		{in: "", want: "anonymous"},
		{in: `Get"Invoice{le="1"}`, want: "Get_Invoice_le__1__"},
		{in: "Xin chào", want: "Xin_ch__o"},
		{in: strings.Repeat("a", 150), want: strings.Repeat("a", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, sanitizeOperation(tt.in))
		})
	}
}

func TestUnknownKind(t *testing.T) {
	t.Parallel()
	r := New()
	r.ObserveRequest("Op", "QUERY", time.Millisecond, false)
	require.Contains(t, strings.Split(string(r.Text()), "\n"), `billing_graphql_requests_total{operation="Op",kind="other"} 1`)
}

func TestCardinalityCap(t *testing.T) {
	t.Parallel()
	r := New()
	for i := range MaxLabelValues + 50 {
		r.ObserveRequest(fmt.Sprintf("Op%03d", i), KindQuery, time.Millisecond, false)
		r.ObserveHTTP(fmt.Sprintf("/p/%03d", i), 200, time.Millisecond)
	}
	// A name seen before the cap keeps its own series afterwards.
	r.ObserveRequest("Op000", KindMutation, time.Millisecond, true)
	r.ObserveRequest("Op000", KindQuery, time.Millisecond, false)
	// "other" itself is always accepted and is not a 201st name.
	r.ObserveRequest(OtherLabel, KindQuery, time.Millisecond, false)

	text := string(r.Text())
	require.Equal(t, MaxLabelValues+2, strings.Count(text, "\nbilling_graphql_requests_total{"),
		"200 names for queries, Op000 as a mutation, and other")
	lines := strings.Split(text, "\n")
	require.Contains(t, lines, `billing_graphql_requests_total{operation="other",kind="query"} 51`)
	require.Contains(t, lines, `billing_graphql_requests_total{operation="Op000",kind="query"} 2`)
	require.Contains(t, lines, `billing_graphql_requests_total{operation="Op000",kind="mutation"} 1`)
	require.Contains(t, lines, `billing_graphql_requests_total{operation="Op199",kind="query"} 1`)
	require.NotContains(t, text, `operation="Op200"`)

	require.Equal(t, MaxLabelValues+1, strings.Count(text, "\nbilling_http_requests_total{"))
	require.Contains(t, lines, `billing_http_requests_total{path="other",code="200"} 50`)
	require.NotContains(t, text, `path="/p/200"`)

	for i := range MaxLabelValues + 10 {
		r.Inc("billing_adhoc_total", "", map[string]string{"id": fmt.Sprint(i)})
	}
	text = string(r.Text())
	require.Equal(t, MaxLabelValues+1, strings.Count(text, "\nbilling_adhoc_total{"))
	require.Contains(t, strings.Split(text, "\n"), `billing_adhoc_total{id="other"} 10`)
}

func TestHandler(t *testing.T) {
	t.Parallel()
	r := New()
	r.Inc("billing_boots_total", "Process starts.", nil)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))

	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/plain; version=0.0.4; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "# HELP billing_boots_total Process starts.\n# TYPE billing_boots_total counter\nbilling_boots_total 1\n", rec.Body.String())
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r := New()
	r.SetDBStatsFunc(func() sql.DBStats { return sql.DBStats{OpenConnections: 1} })
	const workers, perWorker = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				op := fmt.Sprintf("Op%d", i%20)
				r.ObserveRequest(op, KindQuery, time.Duration(i)*time.Millisecond, i%5 == 0)
				r.ObserveHTTP("/graphql", 200, time.Millisecond)
				r.Inc("billing_worker_total", "", map[string]string{"worker": fmt.Sprint(w)})
				if i%100 == 0 {
					_ = r.Text()
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			r.SetDBStatsFunc(func() sql.DBStats { return sql.DBStats{OpenConnections: 2} })
		}
	})
	wg.Wait()

	lines := strings.Split(string(r.Text()), "\n")
	require.Contains(t, lines, fmt.Sprintf(`billing_graphql_requests_total{operation="Op0",kind="query"} %d`, workers*perWorker/20))
	require.Contains(t, lines, fmt.Sprintf(`billing_graphql_errors_total{operation="Op0",kind="query"} %d`, workers*perWorker/20))
	require.Contains(t, lines, fmt.Sprintf(`billing_graphql_errors_total{operation="Op1",kind="query"} %d`, 0))
	require.Contains(t, lines, fmt.Sprintf(`billing_http_requests_total{path="/graphql",code="200"} %d`, workers*perWorker))
	require.Contains(t, lines, fmt.Sprintf(`billing_worker_total{worker="3"} %d`, perWorker))
	require.Contains(t, lines, "billing_db_open_connections 2")
}
