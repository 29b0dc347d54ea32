package fault

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCodeOf(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("debit wallet: %w", New(InsufficientCredit, "available credit is 10 VND", "input", "amount"))
	require.Equal(t, InsufficientCredit, CodeOf(err))
	require.True(t, Is(err, InsufficientCredit))
	f, ok := As(err)
	require.True(t, ok)
	require.Equal(t, []string{"input", "amount"}, f.Field)
	require.Equal(t, Internal, CodeOf(fmt.Errorf("boom")))
	require.False(t, Is(nil, Internal))
}
