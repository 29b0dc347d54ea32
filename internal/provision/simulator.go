package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"billing/internal/pulid"
)

// SimulatorConfig configures the built-in simulator.
type SimulatorConfig struct {
	// Delay is how long a resource takes to provision. Zero makes the
	// simulator synchronous: Provision reports before it returns, which is
	// what tests use.
	Delay time.Duration
	// FailureRate is the probability (0…1) that a resource fails. It is a
	// probability, never an amount of money.
	FailureRate float64
	// Seed makes the random failures reproducible.
	Seed int64
	// Clock times the delay; a fake clock in tests.
	Clock clockwork.Clock
	// Logger receives report errors of asynchronous results (nil: discard).
	Logger *slog.Logger
}

// Validate checks the configuration.
func (c SimulatorConfig) Validate() error {
	switch {
	case c.Delay < 0:
		return errors.New("provision simulator: delay must not be negative")
	case c.FailureRate < 0 || c.FailureRate > 1 || c.FailureRate != c.FailureRate:
		return errors.New("provision simulator: failure rate must lie in [0, 1]")
	}
	return nil
}

// Simulator stands in for the product services in development and tests.
// It succeeds or fails each resource (randomly at FailureRate with a
// seeded generator, or as told by FailResource/FailWhen) and reports the
// result after Delay on the injected clock — inline when Delay is zero.
type Simulator struct {
	cfg    SimulatorConfig
	logger *slog.Logger

	mu       sync.Mutex
	rng      *rand.Rand
	failIDs  map[pulid.ID]bool
	failWhen func(Request) bool
	seq      int64

	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

// NewSimulator returns a simulator. It panics on an invalid configuration,
// which is a wiring error.
func NewSimulator(cfg SimulatorConfig) *Simulator {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	seed := uint64(cfg.Seed)
	return &Simulator{
		cfg:     cfg,
		logger:  logger,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		failIDs: map[pulid.ID]bool{},
		stop:    make(chan struct{}),
	}
}

// FailResource makes the given resources fail when they are provisioned.
func (s *Simulator) FailResource(ids ...pulid.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.failIDs[id] = true
	}
}

// FailWhen makes every request for which pred is true fail (nil clears
// it). Tests use it when resource ids are not known in advance, e.g. to
// fail the second resource of an order: FailWhen(func(r Request) bool {
// return r.Position == 1 }).
func (s *Simulator) FailWhen(pred func(Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failWhen = pred
}

// decide returns the result for req. Random draws happen in call order,
// so a given seed and call sequence always gives the same outcomes.
func (s *Simulator) decide(req Request) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	fail := s.failIDs[req.ResourceID] || (s.failWhen != nil && s.failWhen(req))
	delete(s.failIDs, req.ResourceID)
	if !fail && s.cfg.FailureRate > 0 {
		fail = s.rng.Float64() < s.cfg.FailureRate
	}
	if fail {
		return Result{ResourceID: req.ResourceID, Reason: "simulated provisioning failure"}
	}
	return Result{ResourceID: req.ResourceID, Succeeded: true, ExternalRef: fmt.Sprintf("sim-%s-%d", req.ProductCode, s.seq)}
}

// Provision implements Provisioner. With no delay it reports before
// returning and returns the report's error; otherwise it reports from a
// goroutine once Delay has passed on the clock (see Wait and Stop).
func (s *Simulator) Provision(ctx context.Context, req Request, report ReportFunc) error {
	if report == nil {
		return errors.New("provision simulator: no report function")
	}
	res := s.decide(req)
	if s.cfg.Delay == 0 {
		if err := report(ctx, res); err != nil {
			return fmt.Errorf("simulate provisioning of %s: %w", req.ResourceID, err)
		}
		return nil
	}
	select {
	case <-s.stop:
		return errors.New("provision simulator: stopped")
	default:
	}
	// The request's context ends with the request; the result outlives it.
	bg := context.WithoutCancel(ctx)
	timer := s.cfg.Clock.NewTimer(s.cfg.Delay)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-timer.Chan():
		case <-s.stop:
			timer.Stop()
			return
		}
		if err := report(bg, res); err != nil {
			s.logger.ErrorContext(bg, "simulated provisioning result not recorded",
				"resource", req.ResourceID, "error", err)
		}
	}()
	return nil
}

// Inline reports whether Provision reports before it returns (no delay):
// a caller may then hand resources over inside the transaction that paid
// for them and record their results in it too.
func (s *Simulator) Inline() bool { return s.cfg.Delay == 0 }

// Wait blocks until every result already scheduled has been reported (or
// dropped by Stop). With a fake clock, advance it past Delay first.
func (s *Simulator) Wait() { s.wg.Wait() }

// Stop drops results not delivered yet and waits for the goroutines to end;
// later Provision calls fail. The dropped resources stay PROVISIONING.
func (s *Simulator) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
}
