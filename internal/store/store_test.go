package store_test

import (
	"testing"

	"billing/internal/testdb"
)

func TestOpenAndMigrate(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	_ = db
}
