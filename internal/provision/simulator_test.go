package provision_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"billing/internal/provision"
	"billing/internal/pulid"
)

// collector records reported results.
type collector struct {
	mu      sync.Mutex
	results []provision.Result
	err     error
}

func (c *collector) report(_ context.Context, r provision.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results = append(c.results, r)
	return c.err
}

func (c *collector) outcomes() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]bool, len(c.results))
	for i, r := range c.results {
		out[i] = r.Succeeded
	}
	return out
}

func requests(n int) []provision.Request {
	out := make([]provision.Request, n)
	for i := range out {
		out[i] = provision.Request{ResourceID: pulid.New("res"), ProductCode: "vserver", Position: i}
	}
	return out
}

func TestSimulatorSynchronous(t *testing.T) {
	t.Parallel()
	reqs := requests(4)
	tests := []struct {
		name  string
		setup func(*provision.Simulator)
		want  []bool
	}{
		{"all succeed", func(*provision.Simulator) {}, []bool{true, true, true, true}},
		{"fail by id", func(s *provision.Simulator) { s.FailResource(reqs[2].ResourceID) }, []bool{true, true, false, true}},
		{"fail by predicate", func(s *provision.Simulator) {
			s.FailWhen(func(r provision.Request) bool { return r.Position%2 == 1 })
		}, []bool{true, false, true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := provision.NewSimulator(provision.SimulatorConfig{Clock: clockwork.NewFakeClock()})
			tc.setup(sim)
			var c collector
			for _, r := range reqs {
				require.NoError(t, sim.Provision(context.Background(), r, c.report))
			}
			// Reported before Provision returned.
			require.Equal(t, tc.want, c.outcomes())
			for i, r := range c.results {
				require.Equal(t, reqs[i].ResourceID, r.ResourceID)
				if r.Succeeded {
					require.NotEmpty(t, r.ExternalRef)
				} else {
					require.Equal(t, "simulated provisioning failure", r.Reason)
				}
			}
		})
	}
}

// TestSimulatorSeeded: random failures are reproducible from the seed.
func TestSimulatorSeeded(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []bool {
		sim := provision.NewSimulator(provision.SimulatorConfig{FailureRate: 0.3, Seed: seed})
		var c collector
		for _, r := range requests(200) {
			require.NoError(t, sim.Provision(context.Background(), r, c.report))
		}
		return c.outcomes()
	}
	a, b := run(7), run(7)
	require.Equal(t, a, b)
	failed := 0
	for _, ok := range a {
		if !ok {
			failed++
		}
	}
	require.InDelta(t, 60, failed, 25, "about 30%% of 200 fail")
	require.NotEqual(t, a, run(8))
}

func TestSimulatorReportError(t *testing.T) {
	t.Parallel()
	sim := provision.NewSimulator(provision.SimulatorConfig{})
	c := collector{err: errors.New("db down")}
	err := sim.Provision(context.Background(), requests(1)[0], c.report)
	require.ErrorContains(t, err, "db down")
}

// TestSimulatorDelayed: results come after Delay on the injected clock;
// Wait observes them, Stop drops what is pending.
func TestSimulatorDelayed(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClock()
	sim := provision.NewSimulator(provision.SimulatorConfig{Delay: 5 * time.Second, Clock: clock})
	var c collector
	for _, r := range requests(3) {
		require.NoError(t, sim.Provision(context.Background(), r, c.report))
	}
	require.Empty(t, c.outcomes())
	require.NoError(t, clock.BlockUntilContext(context.Background(), 3))
	clock.Advance(5 * time.Second)
	sim.Wait()
	require.Equal(t, []bool{true, true, true}, c.outcomes())

	require.NoError(t, sim.Provision(context.Background(), requests(1)[0], c.report))
	sim.Stop()
	require.Len(t, c.outcomes(), 3, "the pending result was dropped")
	require.Error(t, sim.Provision(context.Background(), requests(1)[0], c.report))
}

func TestSimulatorConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []provision.SimulatorConfig{
		{Delay: -time.Second}, {FailureRate: -0.1}, {FailureRate: 1.5},
	} {
		require.Error(t, cfg.Validate(), fmt.Sprintf("%+v", cfg))
		require.Panics(t, func() { provision.NewSimulator(cfg) })
	}
	require.NoError(t, provision.SimulatorConfig{FailureRate: 1}.Validate())
}
