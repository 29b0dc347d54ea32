package catalog

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent/plan"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/testdb"
)

func TestPlanCache(t *testing.T) {
	t.Parallel()
	ctx := auth.SystemContext(context.Background())
	db := testdb.New(t)
	_, err := Seed(ctx, db.Client)
	require.NoError(t, err)
	rename := func(name string) { // behind ent's back: no hook sees it
		t.Helper()
		_, err := db.SQL.ExecContext(ctx, `UPDATE plans SET name = $1 WHERE code = $2`, name, "s-general-1x1")
		require.NoError(t, err)
	}

	c := NewPlanCache(db.Client, time.Hour)
	first, err := c.Active(ctx, db.Client, " s-general-1x1 ")
	require.NoError(t, err)
	require.NotNil(t, first.Edges.Product)
	require.Len(t, first.Edges.Components, 3) // flavor, root disk, public IP

	// Served from memory, by code and by id: a change made outside the
	// client is not seen (within the TTL).
	rename("renamed by hand")
	again, err := c.Active(ctx, db.Client, "s-general-1x1")
	require.NoError(t, err)
	require.Same(t, first, again)
	byID, err := c.Active(ctx, db.Client, string(first.ID))
	require.NoError(t, err)
	require.Same(t, first, byID)

	// A change through the client drops every entry.
	require.NoError(t, db.Client.Plan.Update().Where(plan.Code("s-general-2x4")).SetName("2x4").Exec(ctx))
	fresh, err := c.Active(ctx, db.Client, "s-general-1x1")
	require.NoError(t, err)
	require.NotSame(t, first, fresh)
	require.Equal(t, "renamed by hand", fresh.Name)

	// Retired through the client: the fault at once, and never cached.
	require.NoError(t, db.Client.Plan.Update().Where(plan.Code("s-general-1x1")).SetActive(false).Exec(ctx))
	_, err = c.Active(ctx, db.Client, "s-general-1x1")
	requireFault(t, err, fault.Invalid, "plan")
	_, err = c.Active(ctx, db.Client, "s-general-64x256")
	requireFault(t, err, fault.NotFound, "plan")

	// Past the TTL (0 here) every call reads the catalog again.
	require.NoError(t, db.Client.Plan.Update().Where(plan.Code("s-general-1x1")).SetActive(true).Exec(ctx))
	short := NewPlanCache(db.Client, 0)
	_, err = short.Active(ctx, db.Client, "s-general-1x1")
	require.NoError(t, err)
	rename("renamed again")
	p, err := short.Active(ctx, db.Client, "s-general-1x1")
	require.NoError(t, err)
	require.Equal(t, "renamed again", p.Name)
}
