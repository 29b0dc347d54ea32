package graph

import (
	"cmp"
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"

	"billing/ent"
	"billing/graph/model"

	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/pulid"
)

// Page sizes: connections return DefaultPageSize items when neither first
// nor last is given, and at most MaxPageSize.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// viewer returns the caller or an UNAUTHENTICATED fault.
func viewer(ctx context.Context) (auth.Viewer, error) {
	v, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Viewer{}, fault.New(fault.Unauthenticated, "a bearer token is required")
	}
	return v, nil
}

// reader lets customers, read-only members and admins read; service tokens
// only reach the fields made for them.
func reader(ctx context.Context) (auth.Viewer, error) {
	v, err := viewer(ctx)
	if err != nil {
		return v, err
	}
	if v.IsCustomerScoped() || v.IsAdmin() {
		return v, nil
	}
	return v, fault.New(fault.Forbidden, "not allowed for this role")
}

// admin lets only operators through.
func admin(ctx context.Context) (auth.Viewer, error) {
	v, err := viewer(ctx)
	if err != nil {
		return v, err
	}
	if !v.IsAdmin() {
		return v, fault.New(fault.Forbidden, "operators only")
	}
	return v, nil
}

// pageSize applies the default and the cap to first/last.
func pageSize(first, last *int) (*int, *int, error) {
	for _, n := range []*int{first, last} {
		if n != nil && *n < 0 {
			return nil, nil, fault.New(fault.Invalid, "first and last must not be negative")
		}
	}
	capTo := func(n *int) *int {
		if n != nil && *n > MaxPageSize {
			m := MaxPageSize
			return &m
		}
		return n
	}
	first, last = capTo(first), capTo(last)
	if first == nil && last == nil {
		d := DefaultPageSize
		first = &d
	}
	return first, last, nil
}

// customerNodeTypes are the id prefixes a customer or member may look up
// with node(id). The data layer already limits tenant tables to the
// caller's account; this list keeps operator-only tables (coupons, audit
// log, members) out of reach entirely.
var customerNodeTypes = map[string]bool{
	"acc": true, "wal": true, "len": true, "res": true, "ord": true, "oit": true,
	"pay": true, "gwa": true, "inv": true, "inl": true, "ntf": true, "prd": true,
	"pln": true, "cmp": true, "prc": true, "lnk": true, "crd": true,
}

// nodeTables maps id prefixes to ent tables for node(id).
var nodeTables = map[string]string{}

func nodeAllowed(v auth.Viewer, id pulid.ID) bool {
	if !id.Valid() {
		return false
	}
	if _, ok := nodeTables[id.Prefix()]; !ok {
		return false
	}
	return v.IsAdmin() || customerNodeTypes[id.Prefix()]
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func couponPayload(c *ent.Coupon, err error) (*model.CouponPayload, error) {
	if err != nil {
		ue, err := userErrors(err)
		return &model.CouponPayload{UserErrors: ue}, err
	}
	return &model.CouponPayload{Coupon: c, UserErrors: []*model.UserError{}}, nil
}

// PageArgs is a field middleware that gives every connection field the
// default page size and the cap, including the edges ent generates on
// objects (Account.invoices, Resource.orders, …), which call ent's
// Paginate without a resolver of ours: a field whose arguments include
// first and last gets them through pageSize before it resolves.
func PageArgs(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Args == nil {
		return next(ctx)
	}
	f, okF := fc.Args["first"]
	l, okL := fc.Args["last"]
	if !okF || !okL {
		return next(ctx)
	}
	first, _ := f.(*int)
	last, _ := l.(*int)
	first, last, err := pageSize(first, last)
	if err != nil {
		return nil, err
	}
	fc.Args["first"], fc.Args["last"] = first, last
	return next(ctx)
}

// sortedLines returns an invoice's lines in position order (a copy: the
// loaded edge is left as ent loaded it).
func sortedLines(lines []*ent.InvoiceLine) []*ent.InvoiceLine {
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(a, b *ent.InvoiceLine) int { return cmp.Compare(a.Position, b.Position) })
	return out
}
