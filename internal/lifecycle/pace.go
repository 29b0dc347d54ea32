package lifecycle

import (
	"context"
	"time"
)

// GiveWay is how long a sweep rests after a full batch while customers'
// payments are being placed (checkout.Service.Busy), as a multiple of the
// time the batch took: 3 leaves the sweep a quarter of the time while
// customers pay. Measured on the 2-core development VM, PostgreSQL, one
// run each (runs vary by ±10%): checkouts kept 0.72–0.78 of their
// throughput during the 100,000-row expiry sweep with 1, 0.83 with 2,
// 0.77 with 3; 0.70 during 20,000 auto-renewals with 2, 0.85 with 3. The
// rest of the loss is the live events of the sweep (two per resource),
// which the instance's listener reads and publishes meanwhile.
//
// A sweep over thousands of due resources — the first of the month, or
// after an outage — is a few seconds of full load on the database; the
// customers paying meanwhile should not feel it. A sweep alone runs at
// full speed: it only rests when a checkout is in progress as a batch
// ends. Resting uses real time, not the service's clock: it shares the
// machine, it is not a business deadline.
const GiveWay = 3.0

// pacing is how the sweeps batch and give way; tests change it.
type pacing struct {
	batch int                                        // resources per transaction (SweepBatch)
	lanes int                                        // auto-renew chunks at once (AutoRenewLanes)
	busy  func() bool                                // a customer is paying (checkout.Service.Busy)
	rest  func(context.Context, time.Duration) error // waits, or fails when the context ends first
}

func defaultPacing(busy func() bool) pacing {
	return pacing{batch: SweepBatch, lanes: AutoRenewLanes, busy: busy, rest: rest}
}

// giveWay rests after a batch that took spent when a customer is paying.
func (s *Service) giveWay(ctx context.Context, spent time.Duration) error {
	return s.giveWayLanes(ctx, spent, 1)
}

// giveWayLanes is giveWay for one of lanes batches running side by side
// (the auto-renew lanes): each rests long enough that together they take
// the share of the time one sweep alone would, 1/(1+GiveWay) — a lane
// works spent and rests spent × (lanes × (1+GiveWay) − 1).
func (s *Service) giveWayLanes(ctx context.Context, spent time.Duration, lanes int) error {
	if !s.pace.busy() {
		return nil
	}
	return s.pace.rest(ctx, time.Duration(float64(spent)*(float64(lanes)*(1+GiveWay)-1)))
}

// rest waits d of real time, or until ctx ends.
func rest(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
