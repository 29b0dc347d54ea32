package catalog

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/auth"
	"billing/internal/testdb"
)

// testBundle is what most tests need: a system context and a fresh database.
type testBundle struct {
	ctx    context.Context
	client *ent.Client
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := testdb.New(t)
	return &testBundle{ctx: auth.SystemContext(context.Background()), client: db.Client}
}

// setupSeeded is setup plus one Seed run.
func setupSeeded(t *testing.T) *testBundle {
	t.Helper()
	b := setup(t)
	_, err := Seed(b.ctx, b.client)
	require.NoError(t, err)
	return b
}

// rowCounts counts the catalog tables.
type rowCounts struct{ products, plans, components, prices int }

func countRows(t *testing.T, b *testBundle) rowCounts {
	t.Helper()
	var c rowCounts
	var err error
	c.products, err = b.client.Product.Query().Count(b.ctx)
	require.NoError(t, err)
	c.plans, err = b.client.Plan.Query().Count(b.ctx)
	require.NoError(t, err)
	c.components, err = b.client.PlanComponent.Query().Count(b.ctx)
	require.NoError(t, err)
	c.prices, err = b.client.Price.Query().Count(b.ctx)
	require.NoError(t, err)
	return c
}
