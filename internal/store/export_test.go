package store

import "context"

// MigrateApplied is Migrate, returning the versions this call applied.
func (db *DB) MigrateApplied(ctx context.Context) ([]string, error) { return db.migrate(ctx) }

// MigrationVersions lists the embedded migration versions of a dialect.
func MigrationVersions(dialect string) ([]string, error) {
	ms, err := migrations(dialect)
	if err != nil {
		return nil, err
	}
	vs := make([]string, len(ms))
	for i, m := range ms {
		vs[i] = m.version
	}
	return vs, nil
}

// AfterMigrationsRead makes Migrate call f between reading the applied
// versions and applying the first pending file.
func (db *DB) AfterMigrationsRead(f func()) { db.afterMigrationsRead = f }
