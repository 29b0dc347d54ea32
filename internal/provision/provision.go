package provision

import (
	"context"
	"log/slog"

	"billing/internal/pricing"
	"billing/internal/pulid"
)

// Request asks for one paid resource to be created by its product service.
type Request struct {
	// ResourceID is the billing service's id of the resource (PENDING).
	ResourceID pulid.ID
	// AccountID owns the resource.
	AccountID pulid.ID
	// OrderID is the order that bought it.
	OrderID pulid.ID
	// ProductCode and PlanCode say what to create ("vserver", "s-general-1x1").
	ProductCode string
	PlanCode    string
	// Name is the resource's display name.
	Name string
	// Components is the configuration that was sold.
	Components []pricing.Component
	// Months is the prepaid period bought.
	Months int
	// Position is the resource's place in its order (0 … N−1, in quote
	// order: items in input order, then the resources of each item).
	Position int
}

// Result is a product service's answer for one resource.
type Result struct {
	// ResourceID is the resource the result is about.
	ResourceID pulid.ID
	// Succeeded reports whether the resource now exists.
	Succeeded bool
	// ExternalRef is the product service's own id of the resource.
	ExternalRef string
	// Reason explains a failure for the customer.
	Reason string
}

// ReportFunc delivers a Result to the billing service. It is the
// checkout's ReportProvisioning bound to the system viewer.
type ReportFunc func(ctx context.Context, r Result) error

// Provisioner hands paid resources to the product services.
//
// Provision is called once per resource after the payment transaction
// committed. An implementation delivers the outcome later, either by
// calling report (the simulator) or by having the product service call the
// reportProvisioning mutation (external mode). An error means the request
// could not be handed over at all; the resource then stays PROVISIONING.
type Provisioner interface {
	Provision(ctx context.Context, req Request, report ReportFunc) error
}

// External is the production provisioner: the product services learn
// about new resources from their own integration and report back through
// the reportProvisioning mutation with a service token. Provision only
// records the hand-over in the log.
type External struct {
	logger *slog.Logger
}

// NewExternal returns the external provisioner; logger may be nil.
func NewExternal(logger *slog.Logger) *External {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &External{logger: logger}
}

// Provision implements Provisioner: the product service reports back
// through reportProvisioning, so report is not used.
func (e *External) Provision(ctx context.Context, req Request, _ ReportFunc) error {
	e.logger.InfoContext(ctx, "resource awaiting provisioning by its product service",
		"resource", req.ResourceID, "product", req.ProductCode, "plan", req.PlanCode, "order", req.OrderID)
	return nil
}
