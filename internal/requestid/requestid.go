// Package requestid carries the id of the request being served through a
// context, so that logs, audit entries and error reports can name it.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

type key struct{}

// New returns a fresh random request id.
func New() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context { return context.WithValue(ctx, key{}, id) }

// From returns the request id in ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

type ipKey struct{}

// WithClientIP returns ctx carrying the caller's IP address.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// ClientIP returns the caller's IP address in ctx, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}
