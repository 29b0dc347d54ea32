package main

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"billing/internal/store"
)

// roundTrips counts what the service's connection pool asks of
// PostgreSQL, to explain the database's commit count: every transaction
// block ends in one COMMIT (or ROLLBACK), and every statement sent outside
// one is a transaction of its own that PostgreSQL also counts as a commit.
//
// lib/pq (without binary_parameters, which the schema's jsonb columns rule
// out) prepares a statement with parameters with one exchange,
// Parse/Describe/Sync, to learn the parameter types, then runs it with
// Bind/Execute/Sync. store's statement cache keeps the prepared statement
// on its connection, so the first exchange happens once per connection
// and statement text, not per execution. Outside a block each Sync ends a
// transaction, so a prepare there counts in xact_commit too; inside a
// block it costs a round trip and no commit. txArgs and autoArgs count
// those prepares.
type roundTrips struct {
	txCommits, txRollbacks atomic.Int64 // BEGIN … COMMIT / ROLLBACK blocks
	txStatements, txArgs   atomic.Int64 // statements inside them, those with parameters
	autocommit, autoArgs   atomic.Int64 // statements outside any block, those with parameters

	// trace, when set, counts every statement by its text (-trace).
	trace *statementTrace
}

// statementTrace counts statements by text and by whether they ran
// inside a transaction block, for -trace.
type statementTrace struct {
	mu    sync.Mutex
	count map[tracedStatement]int64
	spent map[tracedStatement]time.Duration // from sending it to having its answer (rows not read)
}

type tracedStatement struct {
	inTx  bool
	query string
}

func (t *statementTrace) add(inTx bool, query string, d time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.count == nil {
		t.count = map[tracedStatement]int64{}
		t.spent = map[tracedStatement]time.Duration{}
	}
	k := tracedStatement{inTx, query}
	t.count[k]++
	t.spent[k] += d
}

// write prints the statements seen, most frequent first, per checkout.
func (t *statementTrace) write(w io.Writer, checkouts int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	type row struct {
		tracedStatement
		n     int64
		spent time.Duration
	}
	rows := make([]row, 0, len(t.count))
	for k, n := range t.count {
		rows = append(rows, row{k, n, t.spent[k]})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].n != rows[j].n {
			return rows[i].n > rows[j].n
		}
		return rows[i].query < rows[j].query
	})
	for _, r := range rows {
		where := "auto"
		if r.inTx {
			where = "tx"
		}
		fmt.Fprintf(w, "%7.2f  %-4s %8.3f ms  %s\n", float64(r.n)/float64(max(checkouts, 1)), where,
			float64(r.spent)/float64(r.n)/float64(time.Millisecond), strings.Join(strings.Fields(r.query), " "))
	}
	t.count, t.spent = nil, nil
}

type tripSnapshot struct {
	txCommits, txRollbacks, txStatements, txArgs, autocommit, autoArgs int64
}

func (r *roundTrips) snapshot() tripSnapshot {
	return tripSnapshot{r.txCommits.Load(), r.txRollbacks.Load(), r.txStatements.Load(), r.txArgs.Load(),
		r.autocommit.Load(), r.autoArgs.Load()}
}

func (s tripSnapshot) sub(o tripSnapshot) tripSnapshot {
	return tripSnapshot{s.txCommits - o.txCommits, s.txRollbacks - o.txRollbacks, s.txStatements - o.txStatements,
		s.txArgs - o.txArgs, s.autocommit - o.autocommit, s.autoArgs - o.autoArgs}
}

// exchanges is the number of client-server round trips the counted
// statements took with lib/pq's default protocol: BEGIN and COMMIT or
// ROLLBACK, one per statement, one more per statement prepared.
func (s tripSnapshot) exchanges() int64 {
	return 2*(s.txCommits+s.txRollbacks) + s.txStatements + s.txArgs + s.autocommit + s.autoArgs
}

// openCounted opens PostgreSQL exactly like store.OpenPostgres (same
// driver, statement cache and pool limits), with a driver that counts
// round trips into r between lib/pq and the cache.
func openCounted(ctx context.Context, databaseURL string, r *roundTrips) (*store.DB, error) {
	return store.OpenPostgresWith(ctx, databaseURL, func(c driver.Connector) driver.Connector {
		return &countingConnector{inner: c, trips: r}
	})
}

type countingConnector struct {
	inner driver.Connector
	trips *roundTrips
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, trips: c.trips}, nil
}

func (c *countingConnector) Driver() driver.Driver { return c.inner.Driver() }

// countingConn forwards to a lib/pq connection, which implements every
// optional interface used here. database/sql uses one connection for a
// whole transaction, so inTx is this connection's state.
type countingConn struct {
	driver.Conn
	trips *roundTrips
	inTx  bool
}

func (c *countingConn) statement(query string, args int) {
	switch {
	case c.inTx:
		c.trips.txStatements.Add(1)
		if args > 0 {
			c.trips.txArgs.Add(1)
		}
	default:
		c.trips.autocommit.Add(1)
		if args > 0 {
			c.trips.autoArgs.Add(1)
		}
	}
}

// trace records a statement for -trace, with the time since start (its
// deferred call runs when the driver has the answer).
func (c *countingConn) trace(query string, start time.Time) {
	c.trips.trace.add(c.inTx, query, time.Since(start))
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return &countingTx{Tx: tx, conn: c}, nil
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.statement(query, len(args))
	defer c.trace(query, time.Now())
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.statement(query, len(args))
	defer c.trace(query, time.Now())
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

// PrepareContext is the Parse/Describe/Sync exchange of a statement
// with parameters, once per connection with store's statement cache.
func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.inTx {
		c.trips.txArgs.Add(1)
	} else {
		c.trips.autoArgs.Add(1)
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, conn: c, query: query}, nil
}

func (c *countingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *countingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

type countingTx struct {
	driver.Tx
	conn *countingConn
}

func (t *countingTx) Commit() error {
	t.conn.inTx = false
	err := t.Tx.Commit()
	if err == nil {
		t.conn.trips.txCommits.Add(1)
	} else {
		t.conn.trips.txRollbacks.Add(1)
	}
	return err
}

func (t *countingTx) Rollback() error {
	t.conn.inTx = false
	t.conn.trips.txRollbacks.Add(1)
	return t.Tx.Rollback()
}

type countingStmt struct {
	driver.Stmt
	conn  *countingConn
	query string
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.conn.statement(s.query, 0) // prepared: no Describe exchange per execution
	defer s.conn.trace(s.query, time.Now())
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.conn.statement(s.query, 0)
	defer s.conn.trace(s.query, time.Now())
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
