package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MaxLabelValues is how many distinct operation names (and, separately, HTTP
// paths) are tracked before further ones are folded into OtherLabel.
const MaxLabelValues = 200

// OtherLabel is the label value that stands for every value past the cap.
const OtherLabel = "other"

// maxOperationLen bounds a sanitized operation name; longer names are cut.
const maxOperationLen = 100

// The kinds of request ObserveRequest accepts; anything else is counted as OtherLabel.
const (
	KindQuery        = "query"
	KindMutation     = "mutation"
	KindSubscription = "subscription"
	KindHTTP         = "http"
)

// durationBuckets are the upper bounds, in seconds, of the request duration histogram.
var durationBuckets = [...]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// The names of the built-in metric families.
const (
	nameRequests        = "billing_graphql_requests_total"
	nameErrors          = "billing_graphql_errors_total"
	nameDuration        = "billing_graphql_request_duration_seconds"
	nameHTTPRequests    = "billing_http_requests_total"
	nameHTTPDuration    = "billing_http_request_duration_seconds"
	nameDBOpen          = "billing_db_open_connections"
	nameDBInUse         = "billing_db_in_use_connections"
	nameDBIdle          = "billing_db_idle_connections"
	nameDBWaitCount     = "billing_db_wait_count_total"
	nameDBWaitDurations = "billing_db_wait_duration_seconds_total"
)

// reserved holds the built-in family names (and the histogram's series names),
// which ad-hoc counters may not take.
var reserved = map[string]bool{
	nameRequests: true, nameErrors: true, nameDuration: true,
	nameDuration + "_bucket": true, nameDuration + "_sum": true, nameDuration + "_count": true,
	nameHTTPRequests: true, nameHTTPDuration: true,
	nameHTTPDuration + "_bucket": true, nameHTTPDuration + "_sum": true, nameHTTPDuration + "_count": true,
	nameDBOpen: true, nameDBInUse: true, nameDBIdle: true,
	nameDBWaitCount: true, nameDBWaitDurations: true,
}

// requestKey identifies one GraphQL request series.
type requestKey struct{ operation, kind string }

// histogram counts durations into durationBuckets. The observation count is
// not stored: it is the sum of the buckets, so _count, the +Inf bucket and a
// requests counter derived from it can never disagree.
type histogram struct {
	buckets  [len(durationBuckets) + 1]atomic.Uint64 // per bucket, not cumulative; last is +Inf
	sumNanos atomic.Int64                            // integer nanoseconds keep the sum exact
}

// observe adds one duration to the histogram.
func (h *histogram) observe(d time.Duration) {
	h.buckets[bucketIndex(d)].Add(1)
	h.sumNanos.Add(int64(d))
}

// requestSeries holds the metrics of one (operation, kind) pair.
type requestSeries struct {
	duration histogram
	errors   atomic.Uint64
}

// httpKey identifies one HTTP request series.
type httpKey struct {
	path string
	code int
}

// Registry holds every metric of the process. The zero value is not usable;
// create one with New. It is safe for concurrent use.
type Registry struct {
	mu         sync.RWMutex
	requests   map[requestKey]*requestSeries
	operations map[string]struct{} // distinct operation label values, for the cap
	http       map[httpKey]*atomic.Uint64
	httpTimes  map[string]*histogram // by path only, to keep the histogram's cardinality low
	paths      map[string]struct{}   // distinct path label values, for the cap
	counters   map[string]*counterFamily
	dbStats    func() sql.DBStats
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		requests:   make(map[requestKey]*requestSeries),
		operations: make(map[string]struct{}),
		http:       make(map[httpKey]*atomic.Uint64),
		httpTimes:  make(map[string]*histogram),
		paths:      make(map[string]struct{}),
		counters:   make(map[string]*counterFamily),
	}
}

// ObserveRequest records one GraphQL request: its count, whether it failed,
// and how long it took. operation is the client-chosen operation name and is
// sanitized and capped; kind is one of KindQuery, KindMutation,
// KindSubscription or KindHTTP.
func (r *Registry) ObserveRequest(operation, kind string, duration time.Duration, failed bool) {
	switch kind {
	case KindQuery, KindMutation, KindSubscription, KindHTTP:
	default:
		kind = OtherLabel
	}
	s := r.requestSeries(requestKey{operation: sanitizeOperation(operation), kind: kind})
	s.duration.observe(duration)
	if failed {
		s.errors.Add(1)
	}
}

// requestSeries returns the series for key, creating it (or folding the
// operation into OtherLabel once the cap is reached) on first use. Past the
// cap, unknown names still resolve under the read lock, so a flood of random
// names does not serialize requests on the write lock.
func (r *Registry) requestSeries(key requestKey) *requestSeries {
	r.mu.RLock()
	key.operation = capped(r.operations, key.operation)
	s, ok := r.requests[key]
	r.mu.RUnlock()
	if ok {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key.operation = track(r.operations, key.operation)
	if s, ok := r.requests[key]; ok {
		return s
	}
	s = new(requestSeries)
	r.requests[key] = s
	return s
}

// ObserveHTTP records one HTTP response: a count by path and status code, and
// its duration by path. Callers should pass the route, not the raw URL (which
// may carry ids); paths are capped like operations all the same.
func (r *Registry) ObserveHTTP(path string, status int, duration time.Duration) {
	c, h := r.httpSeries(path, status)
	c.Add(1)
	h.observe(duration)
}

// httpSeries returns the counter for (path, status) and the histogram for
// path, creating them on first use, with paths capped like operations.
func (r *Registry) httpSeries(path string, status int) (*atomic.Uint64, *histogram) {
	r.mu.RLock()
	key := httpKey{path: capped(r.paths, path), code: status}
	c, h := r.http[key], r.httpTimes[key.path]
	r.mu.RUnlock()
	if c != nil && h != nil {
		return c, h
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key.path = track(r.paths, key.path)
	if c = r.http[key]; c == nil {
		c = new(atomic.Uint64)
		r.http[key] = c
	}
	if h = r.httpTimes[key.path]; h == nil {
		h = new(histogram)
		r.httpTimes[key.path] = h
	}
	return c, h
}

// SetDBStatsFunc makes the registry report the connection pool statistics
// returned by f at each scrape; nil stops reporting them.
func (r *Registry) SetDBStatsFunc(f func() sql.DBStats) {
	r.mu.Lock()
	r.dbStats = f
	r.mu.Unlock()
}

// capped returns v if it is tracked in seen or there is still room to track
// it, and OtherLabel otherwise. The caller holds at least the read lock.
func capped(seen map[string]struct{}, v string) string {
	if _, ok := seen[v]; ok || v == OtherLabel || len(seen) < MaxLabelValues {
		return v
	}
	return OtherLabel
}

// track is capped that also records v as seen when it is let through. The
// caller holds the write lock.
func track(seen map[string]struct{}, v string) string {
	v = capped(seen, v)
	if v != OtherLabel {
		seen[v] = struct{}{}
	}
	return v
}

// bucketIndex returns the index of the first bucket whose bound holds d.
func bucketIndex(d time.Duration) int {
	secs := d.Seconds()
	for i, le := range durationBuckets {
		if secs <= le {
			return i
		}
	}
	return len(durationBuckets)
}

// sanitizeOperation maps a client-supplied operation name onto the GraphQL
// name alphabet [_A-Za-z0-9], cut to maxOperationLen; an empty name is
// "anonymous". Valid names, the usual case, are returned without allocating.
func sanitizeOperation(op string) string {
	if op == "" {
		return "anonymous"
	}
	if len(op) > maxOperationLen {
		op = op[:maxOperationLen]
	}
	valid := true
	for i := 0; i < len(op); i++ {
		if !isNameByte(op[i]) {
			valid = false
			break
		}
	}
	if valid {
		return op
	}
	b := []byte(op)
	for i, c := range b {
		if !isNameByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// isNameByte reports whether c may appear in a GraphQL name.
func isNameByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// formatFloat formats v the way Prometheus clients do.
func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Handler returns an http.Handler that writes every metric in the Prometheus
// text format 0.0.4.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		_, _ = w.Write(r.Text()) // The scraper is gone if this fails; nothing to do.
	})
}

// ContentType is the media type of the text exposition format this package writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"
