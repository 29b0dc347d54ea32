package pulid

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	t.Parallel()
	a, b := New("acc"), New("acc")
	require.True(t, a.Valid())
	require.Equal(t, "acc", a.Prefix())
	require.Len(t, string(a), 30)
	require.Less(t, string(a), string(b), "ids sort by creation")
	for _, bad := range []ID{"", "acc", "acc_", "acc_xyz", "_01JDX3Q6V7N2M8K4P5R6S7T8V9", "acc_01JDX3Q6V7N2M8K4P5R6S7T8VU"} {
		require.False(t, bad.Valid(), bad)
	}
}
