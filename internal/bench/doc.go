// Package bench holds the service's load benchmarks, run by `make bench`;
// none of them is a test and none asserts a time.
//
//   - checkout (internal/bench/checkout): checkouts per second through
//     GraphQL over HTTP on PostgreSQL, next to pgbench's TPC-B-like score
//     at the same concurrency, with latencies and database commits per
//     checkout, and the database floor: the checkout's write transaction
//     (floor.sql, checked row for row against a real checkout) run by
//     pgbench with no service in front. Its package also has a Go
//     benchmark of the same request on SQLite, so `go test -bench .`
//     measures something without PostgreSQL.
//   - footprint (internal/bench/footprint): what a piece of work wrote, per
//     table, with which the floors are checked against the service.
package bench
