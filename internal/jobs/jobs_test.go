package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/internal/jobs"
	"billing/internal/testdb"
)

func TestPGElectorOneLeader(t *testing.T) {
	testdb.RequirePostgres(t)
	t.Parallel()
	dsn := testdb.NewDSN(t)
	a, b := testdb.Open(t, dsn), testdb.Open(t, dsn)
	ea, eb := jobs.NewPGElector(a.SQL), jobs.NewPGElector(b.SQL)
	ctx := context.Background()
	require.NoError(t, ea.IsLeader(ctx))
	require.NoError(t, ea.IsLeader(ctx), "the leader stays leader")
	require.ErrorIs(t, eb.IsLeader(ctx), jobs.ErrNotLeader)
	require.NoError(t, ea.Close())
	require.NoError(t, eb.IsLeader(ctx), "another instance takes over")
	require.ErrorIs(t, ea.IsLeader(ctx), jobs.ErrNotLeader)
	require.NoError(t, eb.Close())
}

func TestJobNext(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC) // 09:00 in Hanoi
	next, err := jobs.Job{Name: "daily", Cron: "0 8 * * *"}.Next(now, loc)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 28, 8, 0, 0, 0, loc), next)
	next, err = jobs.Job{Name: "minutely", Every: time.Minute}.Next(now, loc)
	require.NoError(t, err)
	require.True(t, next.Equal(now.Add(time.Minute)))
}
