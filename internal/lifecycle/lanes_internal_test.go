package lifecycle

import (
	"testing"

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
