// Package store opens the service's database — the embedded SQLite file or
// PostgreSQL — and applies its migrations. It hands out one ent client and
// the underlying *sql.DB for the few statements ent cannot express (advisory
// locks, pg_notify, conditional ledger updates).
//
// On PostgreSQL every pooled connection keeps its statements with
// parameters prepared (Connector, StatementCacheSize per connection): one
// exchange per execution instead of lib/pq's two, and no parsing or
// planning once PostgreSQL settles on a generic plan. It needs a session
// per connection, so put no transaction-pooling proxy (PgBouncer in
// transaction mode) between the service and PostgreSQL; session pooling
// is fine.
package store
