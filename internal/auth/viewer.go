package auth

import "context"

// Viewer is the authenticated caller of a request.
type Viewer struct {
	// Subject identifies the caller: a user id, a service name, or "system".
	Subject string
	// Role decides what the caller may do.
	Role Role
	// AccountID is the one account a customer or viewer belongs to; it is empty
	// for admin, service and system viewers.
	AccountID string
	// TokenID is the jti of the token the viewer came from; empty for the system viewer.
	TokenID string
}

// IsCustomerScoped reports whether the viewer's reads must be filtered to its AccountID.
func (v Viewer) IsCustomerScoped() bool { return v.Role.accountScoped() }

// CanMutate reports whether the viewer may change anything; read-only viewers may not.
func (v Viewer) CanMutate() bool {
	switch v.Role {
	case RoleAdmin, RoleCustomer, RoleService, RoleSystem:
		return true
	default:
		return false
	}
}

// IsAdmin reports whether the viewer is an operator with access to every account.
func (v Viewer) IsAdmin() bool { return v.Role == RoleAdmin }

// IsService reports whether the viewer is a product service.
func (v Viewer) IsService() bool { return v.Role == RoleService }

// IsSystem reports whether the viewer is the process itself (scheduler, jobs, seed).
func (v Viewer) IsSystem() bool { return v.Role == RoleSystem }

// SystemSubject is the Subject of the viewer that SystemContext installs.
const SystemSubject = "system"

// viewerKey is the context key for the Viewer; a private type so no other
// package can set or read it except through this package.
type viewerKey struct{}

// WithViewer returns a copy of ctx that carries v.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext returns the viewer carried by ctx, and false when there is none.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(Viewer)
	return v, ok
}

// SystemContext returns a copy of ctx carrying the system viewer, for work the
// process starts itself (scheduled jobs, migrations, seeding).
func SystemContext(ctx context.Context) context.Context {
	return WithViewer(ctx, Viewer{Subject: SystemSubject, Role: RoleSystem})
}
