// Package idempotency makes a money-moving request safe to retry.
//
// Run executes a request's work in one transaction together with an
// idempotency record keyed by (scope, key): the record is inserted first,
// the work runs, its JSON-encoded result is stored in the record, and all of
// it commits or none of it does. Afterwards
//
//	same scope+key, same operation and request → the stored result, work not run
//	same scope+key, anything else              → fault.IdempotencyKeyReused
//	work failed                                → nothing stored; a retry runs it again
//
// A caller that knows the result before the work runs (ids generated up
// front) passes it with Expect: the record is inserted with it, and the
// update after the work is skipped when the work returns exactly that.
//
// The request is compared by the SHA-256 of the canonical JSON of
// (operation, request): maps are encoded with sorted keys, and struct and
// map forms of the same request hash alike.
//
// Concurrent calls with one key run the work once. The record's unique
// index does the arbitration: on PostgreSQL the second INSERT … ON
// CONFLICT DO NOTHING waits on the index entry until the first transaction
// ends, then inserts nothing (first committed) — and reads the stored
// record — or inserts (first rolled back) and runs the work itself. On
// SQLite, BEGIN IMMEDIATE serializes the two transactions outright.
//
// The scope says whose keys they are: the account for customer requests,
// "admin:<subject>" for operator requests, so that two clients never
// collide on each other's keys.
package idempotency
