// Package money holds the one type every amount in the service uses.
//
// An Amount is a shopspring decimal in Go and at the GraphQL boundary, and a
// signed 64-bit integer counting 1/10,000 VND in the database. The integer
// form is what makes amounts exact, orderable and summable in SQL on both
// engines: SQLite's NUMERIC affinity silently turns long decimals into
// floating point and TEXT compares as strings, while integers do neither.
//
// Rounding happens only at named points: RoundVND rounds half away from zero
// (half-up for positive amounts) to whole đồng, which is what an invoice line
// and a ledger movement carry. Unit prices may keep up to four decimals
// (7.7 VND per GB-hour); anything finer is rejected rather than truncated.
package money
