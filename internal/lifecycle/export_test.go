package lifecycle

import (
	"context"
	"time"
)

// RunAutoRenewAttemptsWith is RunAutoRenewAttempts set-based (chunk
// attempts per AutoRenewAll; PostgreSQL only) or one by one with
// AutoRenew, for the tests that compare the two.
func RunAutoRenewAttemptsWith(s *Service, ctx context.Context, now time.Time, setBased bool, chunk int) (int, error) {
	return s.runAutoRenewAttempts(ctx, now, setBased, chunk)
}
