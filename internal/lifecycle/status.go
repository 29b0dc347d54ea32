package lifecycle

import (
	"time"

	"billing/ent"
	"billing/ent/resource"
)

// Status is a resource's billing status (SPEC §6), shown on resources.
type Status string

// Billing statuses.
const (
	// StatusGood: more than 15 days left.
	StatusGood Status = "GOOD"
	// StatusWarning: from 5 to 15 days left (both included).
	StatusWarning Status = "WARNING"
	// StatusAlert: less than 5 days left.
	StatusAlert Status = "ALERT"
	// StatusExpired: the period has ended (now ≥ end).
	StatusExpired Status = "EXPIRED"
)

// Thresholds of BillingStatus.
const (
	WarningFrom = 15 * day
	AlertBelow  = 5 * day
)

// BillingStatus is r's billing status at now, from the time left in its
// period. It is "" (none) for resources it means nothing for: postpaid
// ones, and those that are not live (PENDING, FAILED, TRASHED, DELETED,
// RELEASED) or have no period.
func BillingStatus(r *ent.Resource, now time.Time) Status {
	if r == nil || r.PeriodEnd == nil || r.BillingMode != resource.BillingModePREPAID {
		return ""
	}
	switch r.State {
	case resource.StateACTIVE, resource.StateSTOPPED, resource.StateGRACE, resource.StateSUSPENDED:
	default:
		return ""
	}
	left := r.PeriodEnd.Sub(now)
	switch {
	case left <= 0:
		return StatusExpired
	case left < AlertBelow:
		return StatusAlert
	case left <= WarningFrom:
		return StatusWarning
	}
	return StatusGood
}
