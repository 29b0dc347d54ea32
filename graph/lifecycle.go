package graph

import (
	"time"

	"billing/ent"
	"billing/ent/resource"
	"billing/graph/model"
	"billing/internal/checkout"
)

// autoRenewDays are the days before the period end on which auto-renew
// tries to renew from credit, at autoRenewHour in the billing time zone.
var autoRenewDays = []int{7, 4, 1, 0}

const autoRenewHour = 8

// autoRenewSchedule lists the auto-renew attempts of a resource's current
// period: 08:00 local on T−7, T−4, T−1 and T (T is the local date of the
// period end).
func autoRenewSchedule(r *ent.Resource, loc *time.Location) []*time.Time {
	out := []*time.Time{}
	if !r.AutoRenew || r.BillingMode != resource.BillingModePREPAID || r.PeriodEnd == nil {
		return out
	}
	switch r.State {
	case resource.StateACTIVE, resource.StateSTOPPED, resource.StateGRACE:
	default:
		return out
	}
	if loc == nil {
		loc = time.UTC
	}
	end := r.PeriodEnd.In(loc)
	for _, d := range autoRenewDays {
		day := end.AddDate(0, 0, -d)
		at := time.Date(day.Year(), day.Month(), day.Day(), autoRenewHour, 0, 0, 0, loc)
		out = append(out, &at)
	}
	return out
}

func orderPayload(res *checkout.OrderResult, err error) (*model.PlaceOrderPayload, error) {
	if err != nil {
		ue, err := userErrors(err)
		return &model.PlaceOrderPayload{UserErrors: ue}, err
	}
	p := &model.PlaceOrderPayload{Order: res.Order, Payment: res.Payment, Replayed: res.Replayed, UserErrors: []*model.UserError{}}
	if res.RedirectURL != "" {
		p.RedirectURL = &res.RedirectURL
	}
	return p, nil
}

func resourcePayload(res *ent.Resource, err error) (*model.ResourcePayload, error) {
	if err != nil {
		ue, err := userErrors(err)
		return &model.ResourcePayload{UserErrors: ue}, err
	}
	return &model.ResourcePayload{Resource: res, UserErrors: []*model.UserError{}}, nil
}
