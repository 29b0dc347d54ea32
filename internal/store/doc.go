// Package store opens the service's database — the embedded SQLite file or
// PostgreSQL — and applies its migrations. It hands out one ent client and
// the underlying *sql.DB for the few statements ent cannot express (advisory
// locks, pg_notify, conditional ledger updates).
package store
