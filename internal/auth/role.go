package auth

import "fmt"

// Role is what a viewer is allowed to be; it decides which checks apply to it.
type Role string

// The roles a viewer can have.
const (
	// RoleAdmin is an operator of the billing service, with access to every account.
	RoleAdmin Role = "admin"
	// RoleCustomer is a member of one account who may read and change it.
	RoleCustomer Role = "customer"
	// RoleViewer is a read-only member of one account.
	RoleViewer Role = "viewer"
	// RoleService is a product service that reports usage and provisions resources.
	RoleService Role = "service"
	// RoleSystem is the process itself (scheduler, jobs, migrations, seed); it is
	// never issued as a token and never accepted from one.
	RoleSystem Role = "system"
)

// ParseRole returns the role named by s, or an error when s names no role.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleCustomer, RoleViewer, RoleService, RoleSystem:
		return r, nil
	default:
		return "", fmt.Errorf("parse role %q: unknown role", s)
	}
}

// String returns the role's name.
func (r Role) String() string { return string(r) }

// accountScoped reports whether a viewer of this role belongs to exactly one account.
func (r Role) accountScoped() bool { return r == RoleCustomer || r == RoleViewer }
