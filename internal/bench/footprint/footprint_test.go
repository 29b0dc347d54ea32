package footprint

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSubAndCompare(t *testing.T) {
	before := Counts{"rows:a": 10, "rows:b": 5, "v": 7}
	service := Counts{"rows:a": 13, "rows:b": 5, "v": 8, "rows:c": 1}.Sub(before)
	require.Equal(t, Counts{"rows:a": 3, "v": 1, "rows:c": 1}, service)
	floor := Counts{"rows:a": 3, "v": 1}
	require.Equal(t, []string{"rows:c: service +1, floor +0"}, Compare(service, floor, "service", "floor"))
	require.Empty(t, Compare(service, Counts{"rows:a": 3, "v": 1, "rows:c": 1}, "service", "floor"))
}
