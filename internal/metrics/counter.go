package metrics

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
)

// counterFamily is one ad-hoc counter and its series, keyed by their rendered labels.
type counterFamily struct {
	help   string
	series map[string]*atomic.Uint64
}

// Inc adds one to the ad-hoc counter name with the given labels, creating it
// with help text help on first use (later help texts are ignored). Names
// should end in "_total" by Prometheus convention. Each counter keeps at most
// MaxLabelValues label combinations; further ones are counted with every label
// value set to OtherLabel.
//
// Inc panics when name is not a valid metric name or is one of the registry's
// built-in metrics, or a label name is invalid: those are programming errors
// that would otherwise corrupt the whole exposition.
func (r *Registry) Inc(name, help string, labels map[string]string) {
	key := renderLabelMap(labels)
	r.mu.RLock()
	f := r.counters[name]
	var c *atomic.Uint64
	if f != nil {
		c = f.series[key]
		if c == nil && len(f.series) >= MaxLabelValues {
			c = f.series[renderLabelMap(otherLabels(labels))]
		}
	}
	r.mu.RUnlock()
	if c == nil {
		c = r.counterSeries(name, help, labels, key)
	}
	c.Add(1)
}

// counterSeries creates, under the write lock, the series of counter name
// for labels, validating the name and labels first.
func (r *Registry) counterSeries(name, help string, labels map[string]string, key string) *atomic.Uint64 {
	if !validMetricName(name) || reserved[name] {
		panic(fmt.Sprintf("metrics: invalid or reserved counter name %q", name))
	}
	for l := range labels {
		if !validLabelName(l) {
			panic(fmt.Sprintf("metrics: counter %s: invalid label name %q", name, l))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.counters[name]
	if f == nil {
		f = &counterFamily{help: help, series: make(map[string]*atomic.Uint64)}
		r.counters[name] = f
	}
	if c := f.series[key]; c != nil {
		return c
	}
	if len(f.series) >= MaxLabelValues {
		key = renderLabelMap(otherLabels(labels))
		if c := f.series[key]; c != nil {
			return c
		}
	}
	c := new(atomic.Uint64)
	f.series[key] = c
	return c
}

// otherLabels returns labels with every value replaced by OtherLabel.
func otherLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k := range labels {
		out[k] = OtherLabel
	}
	return out
}

// renderLabelMap renders labels sorted by name, as they appear in the exposition.
func renderLabelMap(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	pairs := make([]string, 0, 2*len(names))
	for _, k := range names {
		pairs = append(pairs, k, labels[k])
	}
	return renderLabels(pairs...)
}

// renderLabels renders name/value pairs as {name="value",...}, escaping values.
func renderLabels(pairs ...string) string {
	if len(pairs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(pairs[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// labelValueEscaper escapes what the text format requires in a label value.
var labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// helpEscaper escapes what the text format requires in a HELP line.
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// escapeLabelValue escapes v for a label value, replacing invalid UTF-8,
// which the format does not allow.
func escapeLabelValue(v string) string {
	return labelValueEscaper.Replace(strings.ToValidUTF8(v, "\uFFFD"))
}

// validMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// validLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]* and does
// not start with "__", which Prometheus reserves, and is not "le", which
// would clash with histograms.
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") || s == "le" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
