package store

import (
	"context"
	"fmt"
)

// Migrate brings the schema up to date.
// TODO(store): replace by the embedded versioned migrations.
func (db *DB) Migrate(ctx context.Context) error {
	if err := db.Client.Schema.Create(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
