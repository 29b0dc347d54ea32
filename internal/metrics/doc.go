// Package metrics keeps the service's counters and histograms and serves them
// in the Prometheus text exposition format (version 0.0.4), without a client
// library.
//
// The set of metrics is small and fixed, so a hand-written registry is cheaper
// than a dependency: a request looks its series up under a read lock and then
// only touches atomics. Label values that clients control (GraphQL operation
// names, HTTP paths) are sanitized and capped at MaxLabelValues distinct
// values per label, beyond which they are reported as "other", so no client can
// grow the registry without bound.
package metrics
