package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"

	"github.com/lib/pq"
)

// StatementCacheSize is how many prepared statements each PostgreSQL
// connection keeps (least recently used out first).
const StatementCacheSize = 128

// Connector wraps a driver connector so that every statement with
// parameters runs as a named prepared statement, prepared once per pooled
// connection and kept in a per-connection LRU cache of size statements.
//
// Why: lib/pq runs a statement with parameters as two exchanges with the
// server — Parse/Describe, then Bind/Execute — and PostgreSQL parses and
// plans it every time. A cached statement is one exchange (Bind/Execute)
// and is neither parsed nor, once PostgreSQL settles on a generic plan,
// planned again. A checkout is about a dozen such statements, so this
// halves its round trips and takes the parsing and planning off the
// database's CPU (see internal/bench/checkout).
//
// Parameter types are the same as before: lib/pq already prepared every
// such statement (unnamed) and encoded the arguments by the types the
// server described. Statements without parameters keep lib/pq's simple
// query protocol. A statement whose cached plan went stale in a way
// PostgreSQL refuses to re-plan (a changed result type after DDL) is
// dropped from the cache on that error, so the next use prepares it
// afresh. Named prepared statements need a session of their own: behind
// a transaction-pooling proxy (PgBouncer in transaction mode) this cache
// must not be used.
func Connector(inner driver.Connector, size int) driver.Connector {
	return &cachingConnector{inner: inner, size: max(size, 1)}
}

type cachingConnector struct {
	inner driver.Connector
	size  int
}

func (c *cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: conn, size: c.size, lru: list.New(), byQuery: map[string]*list.Element{}}, nil
}

func (c *cachingConnector) Driver() driver.Driver { return c.inner.Driver() }

// cachingConn is one pooled connection. database/sql never uses a
// connection from two goroutines at once, so its cache needs no lock.
type cachingConn struct {
	driver.Conn
	size    int
	lru     *list.List // of *cachedStmt, most recently used first
	byQuery map[string]*list.Element
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
}

// prepared returns the cached statement for query, preparing it (and
// closing the least recently used one past the cache's size) if needed.
func (c *cachingConn) prepared(ctx context.Context, query string) (driver.Stmt, error) {
	if e, ok := c.byQuery[query]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.byQuery[query] = c.lru.PushFront(&cachedStmt{query: query, stmt: st})
	for c.lru.Len() > c.size {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byQuery, old.query)
		if err := old.stmt.Close(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// forget drops query's statement after err when err says that the
// server no longer accepts it.
func (c *cachingConn) forget(query string, err error) {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return
	}
	switch pqErr.Code {
	case "0A000", // feature_not_supported: cached plan must not change result type
		"26000": // invalid_sql_statement_name: prepared statement does not exist
	default:
		return
	}
	if e, ok := c.byQuery[query]; ok {
		c.lru.Remove(e)
		delete(c.byQuery, query)
		// Closing a statement the server may not know is harmless, and
		// inside a failed transaction it would fail: leave it to the
		// connection's end.
	}
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	st, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return rows, err
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	st, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return res, err
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *cachingConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// Close closes the connection; its prepared statements end with its
// session.
func (c *cachingConn) Close() error { return c.Conn.Close() }
