// Package footprint tells what a piece of work wrote to a database: the
// rows of every table of the current schema, and any other figure asked
// for, before and after. The benchmarks use it to prove that a database
// floor — hand-written SQL doing a checkout's or a sweep's writes, to
// measure the most any implementation can reach — writes exactly what
// the service writes, so that the floor cannot drift from the code.
package footprint

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Querier is a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Counts maps "rows:<table>" and each extra figure's name to its value.
type Counts map[string]int64

// Take counts the rows of every base table of the current schema whose
// name does not start with skipPrefix (none when ""), and runs each of
// extra (name → a query returning one integer).
func Take(ctx context.Context, q Querier, skipPrefix string, extra map[string]string) (Counts, error) {
	rows, err := q.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("footprint: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("footprint: %w", err)
		}
		if skipPrefix == "" || !strings.HasPrefix(t, skipPrefix) {
			tables = append(tables, t)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("footprint: %w", err)
	}
	queries := maps.Clone(extra)
	if queries == nil {
		queries = map[string]string{}
	}
	for _, t := range tables {
		queries["rows:"+t] = `SELECT count(*) FROM "` + t + `"`
	}
	out := Counts{}
	for _, k := range slices.Sorted(maps.Keys(queries)) {
		var n int64
		if err := q.QueryRowContext(ctx, queries[k]).Scan(&n); err != nil {
			return nil, fmt.Errorf("footprint %s: %w", k, err)
		}
		out[k] = n
	}
	return out, nil
}

// Sub is what changed from before to c: the non-zero differences.
func (c Counts) Sub(before Counts) Counts {
	d := Counts{}
	for k := range keys(c, before) {
		if v := c[k] - before[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}

// Compare lists, in name order, where the work's changes (got, by floor)
// differ from the service's (want): "name: service +a, floor +b", using
// the labels given for the two.
func Compare(want, got Counts, wantLabel, gotLabel string) []string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(keys(want, got))) {
		if want[k] != got[k] {
			diffs = append(diffs, fmt.Sprintf("%s: %s %+d, %s %+d", k, wantLabel, want[k], gotLabel, got[k]))
		}
	}
	return diffs
}

func keys(a, b Counts) map[string]bool {
	m := make(map[string]bool, len(a)+len(b))
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}
