package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"
	"modernc.org/sqlite"

	"billing/ent"
	_ "billing/ent/runtime" // hooks and interceptors declared in the schema.
)

var registerOnce sync.Once

// registerSQLite registers the pure-Go modernc driver under the name
// "sqlite3" too: ent and its migrator identify the dialect by that name.
func registerSQLite() {
	registerOnce.Do(func() {
		for _, d := range sql.Drivers() {
			if d == dialect.SQLite {
				return
			}
		}
		sql.Register(dialect.SQLite, &sqlite.Driver{})
	})
}

// DB is an open database: the ent client, the raw handle and its dialect.
type DB struct {
	Client  *ent.Client
	SQL     *sql.DB
	Dialect string // dialect.SQLite or dialect.Postgres

	// afterMigrationsRead, when set by a test, runs after Migrate read the
	// applied versions and before it applies the first pending file.
	afterMigrationsRead func()
}

// Open opens PostgreSQL when databaseURL is set, else the SQLite file at
// sqlitePath (created with its directory on first use).
func Open(ctx context.Context, databaseURL, sqlitePath string) (*DB, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL)
	}
	return OpenSQLite(ctx, sqlitePath)
}

// OpenSQLite opens (creating if needed) the SQLite database file at path.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	registerSQLite()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: create data directory: %w", err)
	}
	q := url.Values{}
	// Foreign keys are off by default in SQLite; the schema relies on them.
	q.Add("_pragma", "foreign_keys(1)")
	// WAL lets readers run while one writer commits.
	q.Add("_pragma", "journal_mode(WAL)")
	// Writers wait for each other instead of failing with SQLITE_BUSY.
	q.Add("_pragma", "busy_timeout(10000)")
	// NORMAL is durable across application crashes in WAL mode.
	q.Add("_pragma", "synchronous(NORMAL)")
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction that
	// reads then writes never fails to upgrade its lock mid-way.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open(dialect.SQLite, dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return wrap(db, dialect.SQLite), nil
}

// OpenPostgres opens a PostgreSQL database through lib/pq, with a cache
// of prepared statements on every connection (see Connector).
func OpenPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	return OpenPostgresWith(ctx, databaseURL, nil)
}

// OpenPostgresWith is OpenPostgres with lib/pq's connector wrapped by
// under (when not nil) beneath the statement cache: a benchmark counts the
// exchanges the server sees that way.
func OpenPostgresWith(ctx context.Context, databaseURL string, under func(driver.Connector) driver.Connector) (*DB, error) {
	var connector driver.Connector
	connector, err := pq.NewConnector(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", redact(err, databaseURL))
	}
	if under != nil {
		connector = under(connector)
	}
	db := sql.OpenDB(Connector(connector, StatementCacheSize))
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open postgres: %w", redact(err, databaseURL))
	}
	return wrap(db, dialect.Postgres), nil
}

func wrap(db *sql.DB, name string) *DB {
	drv := entsql.OpenDB(name, db)
	return &DB{Client: ent.NewClient(ent.Driver(drv)), SQL: db, Dialect: name}
}

// redact makes sure a driver error never carries the connection password.
func redact(err error, databaseURL string) error {
	u, perr := url.Parse(databaseURL)
	if perr != nil || u.User == nil {
		return err
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
	}
	return err
}

// Close closes the client and the database.
func (db *DB) Close() error { return db.Client.Close() }

// IsPostgres reports whether the database is PostgreSQL.
func (db *DB) IsPostgres() bool { return db.Dialect == dialect.Postgres }

// WithTx runs fn in one transaction: committed when fn returns nil, rolled
// back on an error or a panic (which is re-raised).
func WithTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}
