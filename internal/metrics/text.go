package metrics

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
)

// family is one metric family ready to be written: its header and its sample lines.
type family struct {
	name, help, typ string
	samples         bytes.Buffer
}

// sample appends one sample line to the family.
func (f *family) sample(name, labels, value string) {
	f.samples.WriteString(name)
	f.samples.WriteString(labels)
	f.samples.WriteByte(' ')
	f.samples.WriteString(value)
	f.samples.WriteByte('\n')
}

// histogramSnapshot is a histogram read once, so all its lines agree.
type histogramSnapshot struct {
	buckets [len(durationBuckets) + 1]uint64
	count   uint64
	sum     float64
}

// snapshot reads the histogram's atomics.
func (h *histogram) snapshot() histogramSnapshot {
	var s histogramSnapshot
	for i := range h.buckets {
		s.buckets[i] = h.buckets[i].Load()
		s.count += s.buckets[i]
	}
	s.sum = float64(h.sumNanos.Load()) / 1e9
	return s
}

// write appends the histogram's _bucket, _sum and _count lines; pairs are the
// series' labels other than le.
func (s histogramSnapshot) write(f *family, pairs ...string) {
	var cumulative uint64
	for i, n := range s.buckets {
		cumulative += n
		le := "+Inf"
		if i < len(durationBuckets) {
			le = formatFloat(durationBuckets[i])
		}
		f.sample(f.name+"_bucket", renderLabels(append(pairs[:len(pairs):len(pairs)], "le", le)...), formatUint(cumulative))
	}
	labels := renderLabels(pairs...)
	f.sample(f.name+"_sum", labels, formatFloat(s.sum))
	f.sample(f.name+"_count", labels, formatUint(s.count))
}

// formatUint formats a counter value.
func formatUint(v uint64) string { return strconv.FormatUint(v, 10) }

// Text returns every metric in the Prometheus text format 0.0.4: families
// sorted by name, series sorted by label values, families without series left out.
func (r *Registry) Text() []byte {
	var families []*family
	add := func(name, help, typ string) *family {
		f := &family{name: name, help: help, typ: typ}
		families = append(families, f)
		return f
	}

	r.mu.RLock()
	dbStats := r.dbStats

	if len(r.requests) > 0 {
		keys := make([]requestKey, 0, len(r.requests))
		for k := range r.requests {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b requestKey) int {
			return cmp.Or(cmp.Compare(a.operation, b.operation), cmp.Compare(a.kind, b.kind))
		})
		reqs := add(nameRequests, "GraphQL requests handled, by operation name and kind.", "counter")
		errs := add(nameErrors, "GraphQL requests that failed, by operation name and kind.", "counter")
		dur := add(nameDuration, "Time taken to handle a GraphQL request, in seconds.", "histogram")
		for _, k := range keys {
			s := r.requests[k]
			pairs := []string{"operation", k.operation, "kind", k.kind}
			labels := renderLabels(pairs...)
			h := s.duration.snapshot()
			reqs.sample(nameRequests, labels, formatUint(h.count))
			errs.sample(nameErrors, labels, formatUint(s.errors.Load()))
			h.write(dur, pairs...)
		}
	}

	if len(r.http) > 0 {
		keys := make([]httpKey, 0, len(r.http))
		for k := range r.http {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b httpKey) int {
			return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.code, b.code))
		})
		f := add(nameHTTPRequests, "HTTP responses, by route path and status code.", "counter")
		for _, k := range keys {
			f.sample(nameHTTPRequests, renderLabels("path", k.path, "code", strconv.Itoa(k.code)), formatUint(r.http[k].Load()))
		}
		paths := make([]string, 0, len(r.httpTimes))
		for p := range r.httpTimes {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		d := add(nameHTTPDuration, "Time taken to handle an HTTP request, in seconds, by route path.", "histogram")
		for _, p := range paths {
			r.httpTimes[p].snapshot().write(d, "path", p)
		}
	}

	for name, c := range r.counters {
		f := add(name, c.help, "counter")
		keys := make([]string, 0, len(c.series))
		for k := range c.series {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f.sample(name, k, formatUint(c.series[k].Load()))
		}
	}
	r.mu.RUnlock()

	// Called outside the lock: sql.DB.Stats takes the pool's own lock.
	if dbStats != nil {
		st := dbStats()
		add(nameDBOpen, "Open connections to the database, in use or idle.", "gauge").
			sample(nameDBOpen, "", strconv.Itoa(st.OpenConnections))
		add(nameDBInUse, "Database connections currently in use.", "gauge").
			sample(nameDBInUse, "", strconv.Itoa(st.InUse))
		add(nameDBIdle, "Idle database connections.", "gauge").
			sample(nameDBIdle, "", strconv.Itoa(st.Idle))
		add(nameDBWaitCount, "Times a caller had to wait for a database connection.", "counter").
			sample(nameDBWaitCount, "", strconv.FormatInt(st.WaitCount, 10))
		add(nameDBWaitDurations, "Total time callers waited for a database connection, in seconds.", "counter").
			sample(nameDBWaitDurations, "", formatFloat(st.WaitDuration.Seconds()))
	}

	slices.SortFunc(families, func(a, b *family) int { return cmp.Compare(a.name, b.name) })
	var out bytes.Buffer
	for _, f := range families {
		if f.help != "" {
			out.WriteString("# HELP " + f.name + " " + helpEscaper.Replace(f.help) + "\n")
		}
		out.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
		out.Write(f.samples.Bytes())
	}
	return out.Bytes()
}
