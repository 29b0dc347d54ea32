package lifecycle

import (
	"context"
	"time"
)

// SetPacing makes s sweep batch resources per transaction, with busy
// telling whether a customer is paying and rest called instead of resting.
func SetPacing(s *Service, batch int, busy func() bool, rest func(context.Context, time.Duration) error) {
	s.pace = pacing{batch: batch, lanes: s.pace.lanes, busy: busy, rest: rest}
}

// SetLanes makes s run the auto-renew chunks lanes at a time.
func SetLanes(s *Service, lanes int) { s.pace.lanes = lanes }
