// Command migrategen writes the versioned migrations of internal/store, one
// directory per dialect, from the ent schema.
//
// For each dialect it replays the committed files on an empty development
// database, diffs the result against the ent schema and writes a new file
// (and updates atlas.sum) only when they differ, so a second run with no
// schema change leaves the tree untouched. The development databases are a
// temporary SQLite file and a temporary PostgreSQL database created on the
// server named by BILLING_DEV_DATABASE_URL and dropped afterwards. When that
// server cannot be reached the PostgreSQL directory is left unchecked (and
// says so); the migration-drift test of internal/store catches it later.
//
// It runs from the repository root through `go generate .` (make generate):
//
//	go run ./internal/store/migrategen               # diff both dialects
//	go run ./internal/store/migrategen -name add_x   # name the new files
//	go run ./internal/store/migrategen -new backfill # empty files to hand-write
//	go run ./internal/store/migrategen -rehash       # re-sum after a hand edit
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	_ "github.com/lib/pq" // PostgreSQL driver "postgres".
	"modernc.org/sqlite"

	"billing/ent/migrate"
)

// envDevURL names the PostgreSQL server used as a scratch database.
const envDevURL = "BILLING_DEV_DATABASE_URL"

const defaultDevURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// dirName is the directory of each dialect under the migration root; it
// matches the embed patterns of internal/store.
var dirName = map[string]string{dialect.SQLite: "sqlite", dialect.Postgres: "postgres"}

func main() {
	dir := flag.String("dir", "internal/store/migrations", "migration root holding one directory per dialect")
	name := flag.String("name", "changes", "name part of a generated file")
	newName := flag.String("new", "", "write an empty migration with this name in every dialect, for hand-written SQL")
	rehash := flag.Bool("rehash", false, "recompute atlas.sum of every dialect after a hand edit")
	flag.Parse()

	if err := run(context.Background(), *dir, *name, *newName, *rehash); err != nil {
		fmt.Fprintln(os.Stderr, "migrategen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, name, newName string, rehash bool) error {
	dirs := map[string]*recordingDir{}
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		path := filepath.Join(root, dirName[d])
		if err := os.MkdirAll(path, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		ld, err := atlasmigrate.NewLocalDir(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		dirs[d] = &recordingDir{LocalDir: ld}
	}
	version, err := nextVersion(dirs[dialect.SQLite], dirs[dialect.Postgres])
	if err != nil {
		return err
	}

	switch {
	case rehash:
		for _, d := range []string{dialect.SQLite, dialect.Postgres} {
			if err := writeSum(dirs[d]); err != nil {
				return fmt.Errorf("%s: %w", dirName[d], err)
			}
			fmt.Printf("%s: rewrote %s\n", dirName[d], filepath.Join(dirs[d].Path(), atlasmigrate.HashFileName))
		}
		return nil
	case newName != "":
		for _, d := range []string{dialect.SQLite, dialect.Postgres} {
			if err := writeEmpty(dirs[d], version, newName); err != nil {
				return fmt.Errorf("%s: %w", dirName[d], err)
			}
			fmt.Printf("%s: wrote %s (fill it in, then run with -rehash)\n", dirName[d],
				filepath.Join(dirs[d].Path(), dirs[d].written[0]))
		}
		return nil
	}

	// One version for both dialects: the same schema change gets the same
	// file name in each directory.
	if err := diffSQLite(ctx, dirs[dialect.SQLite], version, name); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	report(dirName[dialect.SQLite], dirs[dialect.SQLite])

	devURL := os.Getenv(envDevURL)
	if devURL == "" {
		devURL = defaultDevURL
	}
	err = diffPostgres(ctx, devURL, dirs[dialect.Postgres], version, name)
	var unreachable *unreachableError
	switch {
	case errors.As(err, &unreachable):
		fmt.Fprintf(os.Stderr, "migrategen: WARNING: PostgreSQL migrations were NOT checked: %v\n"+
			"migrategen: set %s to a reachable server and run `make generate` again;\n"+
			"migrategen: the migration-drift test on PostgreSQL fails until then if the schema changed.\n",
			unreachable.err, envDevURL)
		return nil
	case err != nil:
		return fmt.Errorf("postgres: %w", err)
	}
	report(dirName[dialect.Postgres], dirs[dialect.Postgres])
	return nil
}

func report(d string, dir *recordingDir) {
	var files []string
	for _, n := range dir.written {
		if n != atlasmigrate.HashFileName {
			files = append(files, n)
		}
	}
	if len(files) == 0 {
		fmt.Printf("%s: migrations up to date\n", d)
		return
	}
	for _, n := range files {
		fmt.Printf("%s: wrote %s\n", d, filepath.Join(dir.Path(), n))
	}
}

// diffSQLite replays the SQLite directory on a temporary database file.
func diffSQLite(ctx context.Context, dir *recordingDir, version, name string) error {
	tmp, err := os.MkdirTemp("", "migrategen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	registerSQLite()
	// ent's SQLite dialect refuses a connection without foreign keys.
	db, err := sql.Open(dialect.SQLite, "file:"+filepath.Join(tmp, "dev.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	return diff(ctx, entsql.OpenDB(dialect.SQLite, db), dir, version, name)
}

// registerSQLite registers the pure-Go modernc driver as "sqlite3", the
// name ent's migrator knows. It does not import internal/store, whose
// embedded files this program writes, so it runs even when they are missing.
func registerSQLite() {
	if !slices.Contains(sql.Drivers(), dialect.SQLite) {
		sql.Register(dialect.SQLite, &sqlite.Driver{})
	}
}

// unreachableError means the PostgreSQL development server did not answer.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }

// diffPostgres replays the PostgreSQL directory on a temporary database
// created on the server at adminURL, dropped afterwards.
func diffPostgres(ctx context.Context, adminURL string, dir *recordingDir, version, name string) (err error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return fmt.Errorf("parse %s: %w", envDevURL, err)
	}
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return &unreachableError{err}
	}
	defer admin.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := admin.PingContext(pingCtx); err != nil {
		return &unreachableError{fmt.Errorf("%s: %w", u.Redacted(), err)}
	}

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	devName := "billing_migrategen_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+devName); err != nil {
		return fmt.Errorf("create scratch database: %w", err)
	}
	defer func() {
		// The dev pool is closed before this runs, so nothing holds the
		// database open.
		if _, derr := admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+devName); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop scratch database %s: %w", devName, derr))
		}
	}()

	u.Path = "/" + devName
	dev, err := sql.Open("postgres", u.String())
	if err != nil {
		return err
	}
	defer dev.Close()
	return diff(ctx, entsql.OpenDB(dialect.Postgres, dev), dir, version, name)
}

// diff writes a migration to dir when the ent schema differs from the
// replay of dir on the empty database behind drv.
func diff(ctx context.Context, drv dialect.Driver, dir *recordingDir, version, name string) error {
	m, err := schema.NewMigrate(drv,
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithFormatter(versionedFormatter{version: version}),
		// The files must build exactly the ent schema: a removed field or
		// index is dropped by a reviewed migration, not left behind.
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	)
	if err != nil {
		return err
	}
	if err := m.NamedDiff(ctx, name, migrate.Tables...); err != nil {
		if errors.Is(err, atlasmigrate.ErrChecksumMismatch) {
			return fmt.Errorf("%w: a file in %s was edited by hand; run with -rehash if that was intended", err, dir.Path())
		}
		return err
	}
	return nil
}

// versionedFormatter is atlas's default format with a version chosen once
// per run instead of one clock reading per file.
type versionedFormatter struct{ version string }

func (f versionedFormatter) Format(p *atlasmigrate.Plan) ([]atlasmigrate.File, error) {
	p.Version = f.version
	return atlasmigrate.DefaultFormatter.Format(p)
}

// nextVersion is the current UTC time in atlas's version format, moved
// past the newest existing file so versions always increase.
func nextVersion(dirs ...*recordingDir) (string, error) {
	v := time.Now().UTC()
	for _, d := range dirs {
		files, err := d.Files()
		if err != nil {
			return "", err
		}
		if len(files) == 0 {
			continue
		}
		last, err := time.Parse("20060102150405", files[len(files)-1].Version())
		if err != nil {
			return "", fmt.Errorf("%s: %w", files[len(files)-1].Name(), err)
		}
		if !v.After(last) {
			v = last.Add(time.Second)
		}
	}
	return v.Format("20060102150405"), nil
}

func writeEmpty(dir *recordingDir, version, name string) error {
	name = strings.ReplaceAll(strings.TrimSpace(name), " ", "_")
	body := "-- Hand-written migration: statements run in one transaction, in order.\n"
	if err := dir.WriteFile(version+"_"+name+".sql", []byte(body)); err != nil {
		return err
	}
	return writeSum(dir)
}

func writeSum(dir *recordingDir) error {
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	return atlasmigrate.WriteSumFile(dir, sum)
}

// recordingDir is a migration directory that remembers what was written.
type recordingDir struct {
	*atlasmigrate.LocalDir
	written []string
}

func (d *recordingDir) WriteFile(name string, b []byte) error {
	d.written = append(d.written, name)
	return d.LocalDir.WriteFile(name, b)
}
