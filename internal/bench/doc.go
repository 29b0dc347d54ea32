// Package bench holds the service's load benchmarks, run by `make bench`;
// none of them is a test and none asserts a time.
//
//   - checkout (internal/bench/checkout): checkouts per second through
//     GraphQL over HTTP on PostgreSQL, next to pgbench's TPC-B-like score
//     at the same concurrency, with latencies and database commits per
//     checkout. Its package also has a Go benchmark of the same request on
//     SQLite, so `go test -bench .` measures something without PostgreSQL.
package bench
