package state_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"billing/ent"
	"billing/ent/resource"
	"billing/internal/fault"
	"billing/internal/lifecycle/state"
)

// TestTransitions: the table allows exactly what SPEC §6 describes.
func TestTransitions(t *testing.T) {
	t.Parallel()
	allowed := map[string][]resource.State{}
	for _, tr := range state.Transitions {
		allowed[tr.Name] = tr.From
	}
	require.ElementsMatch(t, []resource.State{resource.StateGRACE, resource.StateSUSPENDED}, allowed["Renewed"])
	require.ElementsMatch(t, []resource.State{resource.StateACTIVE, resource.StateSTOPPED}, allowed["Extend"])
	// A renewal is Extend or Renewed, from exactly the live states.
	require.ElementsMatch(t, append(allowed["Extend"], allowed["Renewed"]...), state.Renew.From)
	for _, st := range state.Renew.From {
		tr := state.RenewTransition(st)
		require.True(t, tr.Allows(st), "%s from %s", tr.Name, st)
	}
	require.Equal(t, state.Renewed.Name, state.RenewTransition(resource.StateGRACE).Name)
	require.Equal(t, state.Extend.Name, state.RenewTransition(resource.StateSTOPPED).Name)

	// Nothing leaves DELETED, RELEASED or FAILED.
	for _, tr := range state.Transitions {
		for _, end := range []resource.State{resource.StateDELETED, resource.StateRELEASED, resource.StateFAILED} {
			require.False(t, tr.Allows(end), "%s from %s", tr.Name, end)
		}
	}
	require.Contains(t, state.Table(), "| Recover | TRASHED | ACTIVE |")
}

// TestRefusal: refused transitions are INVALID_STATE with a message that
// says why and what to do.
func TestRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tr   state.Transition
		st   resource.State
		want string
	}{
		{state.Renew, resource.StateRELEASED, "cannot renew srv-1: it was released after it expired and can no longer be renewed; buy a new one instead"},
		{state.Resize, resource.StateSUSPENDED, "cannot resize srv-1: it is suspended; renew it first"},
		{state.Stop, resource.StatePENDING, "cannot stop srv-1: it is still being created"},
		{state.Renew, resource.StateTRASHED, "cannot renew srv-1: it is in the trash; recover it first"},
	}
	for _, tc := range tests {
		err := state.Check(tc.tr, &ent.Resource{Name: "srv-1", State: tc.st})
		f, ok := fault.As(err)
		require.True(t, ok)
		require.Equal(t, fault.InvalidState, f.Code)
		require.Equal(t, tc.want, f.Message)
		require.Equal(t, []string{"input", "resourceId"}, f.Field)
	}
	require.NoError(t, state.Check(state.Renew, &ent.Resource{State: resource.StateSUSPENDED}))
}
