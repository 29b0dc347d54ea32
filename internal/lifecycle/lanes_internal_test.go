package lifecycle

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/internal/pulid"
)

// TestSplitLanes: whole accounts to the lane with the fewest attempts,
// due's order kept in each lane; one lane when there is not a full chunk
// for each.
func TestSplitLanes(t *testing.T) {
	var due []attempt
	for i, acc := range []string{"A", "A", "A", "B", "C", "C", "D", "D"} {
		due = append(due, attempt{r: &ent.Resource{ID: pulid.ID(acc + string(rune('0'+i))), AccountID: pulid.ID(acc)}})
	}
	names := func(lanes [][]attempt) [][]string {
		var out [][]string
		for _, l := range lanes {
			var ids []string
			for _, a := range l {
				ids = append(ids, string(a.r.ID))
			}
			out = append(out, ids)
		}
		return out
	}
	require.Equal(t, [][]string{{"A0", "A1", "A2", "D6", "D7"}, {"B3", "C4", "C5"}}, names(splitLanes(due, 2, 1)))
	require.Equal(t, [][]string{{"A0", "A1", "A2"}, {"B3", "D6", "D7"}, {"C4", "C5"}}, names(splitLanes(due, 3, 2)))
	require.Equal(t, [][]string{{"A0", "A1", "A2", "B3", "C4", "C5", "D6", "D7"}}, names(splitLanes(due, 2, 5)))
	require.Equal(t, [][]string{{"A0", "A1", "A2", "B3", "C4", "C5", "D6", "D7"}}, names(splitLanes(due, 1, 1)))
}

// TestGiveWayLanes: while a customer pays, each of n lanes rests so that
// together they work 1/(1+GiveWay) of the time, as one sweep alone does;
// alone they do not rest.
func TestGiveWayLanes(t *testing.T) {
	var rested []time.Duration
	busy := true
	s := &Service{pace: pacing{busy: func() bool { return busy }, rest: func(_ context.Context, d time.Duration) error {
		rested = append(rested, d)
		return nil
	}}}
	ctx := context.Background()
	require.NoError(t, s.giveWay(ctx, 10*time.Millisecond))
	require.NoError(t, s.giveWayLanes(ctx, 10*time.Millisecond, 1))
	require.NoError(t, s.giveWayLanes(ctx, 10*time.Millisecond, 2))
	require.NoError(t, s.giveWayLanes(ctx, 10*time.Millisecond, 3))
	// GiveWay = 3: one lane rests 3× its work; two lanes 7× (each works
	// 1/8 of the time, together 1/4); three lanes 11×.
	require.Equal(t, []time.Duration{30 * time.Millisecond, 30 * time.Millisecond, 70 * time.Millisecond, 110 * time.Millisecond}, rested)
	busy = false
	require.NoError(t, s.giveWayLanes(ctx, 10*time.Millisecond, 2))
	require.Len(t, rested, 4, "no rest without a customer paying")
}
