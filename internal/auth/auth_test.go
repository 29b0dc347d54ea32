package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
	t0          = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
)

// fixedClock returns a clock that always reads at.
func fixedClock(at time.Time) func() time.Time { return func() time.Time { return at } }

// newIssuer returns an Issuer over secret whose clock reads at.
func newIssuer(t *testing.T, secret []byte, at time.Time) *Issuer {
	t.Helper()
	iss, err := NewIssuer(secret, fixedClock(at))
	require.NoError(t, err)
	return iss
}

// signRaw builds an HS256-signed token from arbitrary header and claims, to
// forge tokens that Issue would never produce.
func signRaw(t *testing.T, secret []byte, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(header) + "." + enc(claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// validClaims returns the claims of a good customer token issued at t0, for cases to spoil.
func validClaims() map[string]any {
	return map[string]any{
		"sub": "user-1", "role": "customer", "acc": "acc-1", "iss": "billing", "jti": "id-1",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Role
		wantErr string
	}{
		{in: "admin", want: RoleAdmin},
		{in: "customer", want: RoleCustomer},
		{in: "viewer", want: RoleViewer},
		{in: "service", want: RoleService},
		{in: "system", want: RoleSystem},
		{in: "Admin", wantErr: `parse role "Admin": unknown role`},
		{in: "", wantErr: `parse role "": unknown role`},
		{in: "root", wantErr: `parse role "root": unknown role`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRole(tt.in)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				require.Equal(t, Role(""), got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestViewerPermissions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role                                   Role
		customerScoped, mutate, admin, service bool
		system                                 bool
	}{
		{role: RoleAdmin, mutate: true, admin: true},
		{role: RoleCustomer, customerScoped: true, mutate: true},
		{role: RoleViewer, customerScoped: true, mutate: false},
		{role: RoleService, mutate: true, service: true},
		{role: RoleSystem, mutate: true, system: true},
		{role: Role("bogus")},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			t.Parallel()
			v := Viewer{Subject: "s", Role: tt.role}
			require.Equal(t, tt.customerScoped, v.IsCustomerScoped(), "IsCustomerScoped")
			require.Equal(t, tt.mutate, v.CanMutate(), "CanMutate")
			require.Equal(t, tt.admin, v.IsAdmin(), "IsAdmin")
			require.Equal(t, tt.service, v.IsService(), "IsService")
			require.Equal(t, tt.system, v.IsSystem(), "IsSystem")
		})
	}
}

func TestContext(t *testing.T) {
	t.Parallel()

	_, ok := FromContext(context.Background())
	require.False(t, ok)

	want := Viewer{Subject: "user-1", Role: RoleViewer, AccountID: "acc-1", TokenID: "jti-1"}
	got, ok := FromContext(WithViewer(context.Background(), want))
	require.True(t, ok)
	require.Equal(t, want, got)

	sys, ok := FromContext(SystemContext(context.Background()))
	require.True(t, ok)
	require.Equal(t, Viewer{Subject: "system", Role: RoleSystem}, sys)
	require.True(t, sys.IsSystem())
}

func TestNewIssuer(t *testing.T) {
	t.Parallel()
	_, err := NewIssuer(testSecret[:31], nil)
	require.EqualError(t, err, "new token issuer: secret is 31 bytes, need at least 32")
	_, err = NewIssuer(nil, nil)
	require.EqualError(t, err, "new token issuer: secret is 0 bytes, need at least 32")

	iss, err := NewIssuer(testSecret, nil) // nil clock falls back to time.Now
	require.NoError(t, err)
	tok, err := iss.Issue(Viewer{Subject: "ops", Role: RoleAdmin}, time.Minute)
	require.NoError(t, err)
	v, err := iss.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, RoleAdmin, v.Role)
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		viewer Viewer
	}{
		{name: "admin", viewer: Viewer{Subject: "ops@example.com", Role: RoleAdmin}},
		{name: "customer", viewer: Viewer{Subject: "user-1", Role: RoleCustomer, AccountID: "acc-1"}},
		{name: "viewer", viewer: Viewer{Subject: "user-2", Role: RoleViewer, AccountID: "acc-1"}},
		{name: "service", viewer: Viewer{Subject: "vps", Role: RoleService}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iss := newIssuer(t, testSecret, t0)
			tok, err := iss.Issue(tt.viewer, time.Hour)
			require.NoError(t, err)

			got, err := iss.Verify(tok)
			require.NoError(t, err)
			require.Len(t, got.TokenID, 32)
			want := tt.viewer
			want.TokenID = got.TokenID
			require.Equal(t, want, got)
		})
	}
}

func TestIssueClaims(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t, testSecret, t0.Add(500*time.Millisecond))

	tok, err := iss.Issue(Viewer{Subject: "user-1", Role: RoleCustomer, AccountID: "acc-1", TokenID: "ignored"}, 2*time.Hour)
	require.NoError(t, err)
	header, claims := decodeParts(t, tok)
	require.Equal(t, map[string]any{"alg": "HS256", "typ": "JWT"}, header)
	jti := claims["jti"]
	require.NotEqual(t, "ignored", jti)
	require.Equal(t, map[string]any{
		"sub": "user-1", "role": "customer", "acc": "acc-1", "iss": "billing", "jti": jti,
		"iat": float64(t0.Unix()), "nbf": float64(t0.Unix()), "exp": float64(t0.Add(2 * time.Hour).Unix()),
	}, claims)

	tok, err = iss.Issue(Viewer{Subject: "ops", Role: RoleAdmin}, time.Hour)
	require.NoError(t, err)
	_, claims = decodeParts(t, tok)
	require.NotContains(t, claims, "acc")

	tok2, err := iss.Issue(Viewer{Subject: "ops", Role: RoleAdmin}, time.Hour)
	require.NoError(t, err)
	_, claims2 := decodeParts(t, tok2)
	require.NotEqual(t, claims["jti"], claims2["jti"])
}

// decodeParts returns a token's header and claims without verifying it.
func decodeParts(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

func TestIssueRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		viewer  Viewer
		ttl     time.Duration
		wantErr string
	}{
		{name: "system role", viewer: Viewer{Subject: "system", Role: RoleSystem}, ttl: time.Hour,
			wantErr: "issue token: role system is never carried by a token"},
		{name: "customer without account", viewer: Viewer{Subject: "u", Role: RoleCustomer}, ttl: time.Hour,
			wantErr: "issue token: role customer needs an account"},
		{name: "viewer without account", viewer: Viewer{Subject: "u", Role: RoleViewer}, ttl: time.Hour,
			wantErr: "issue token: role viewer needs an account"},
		{name: "admin with account", viewer: Viewer{Subject: "u", Role: RoleAdmin, AccountID: "acc-1"}, ttl: time.Hour,
			wantErr: "issue token: role admin must not have an account"},
		{name: "service with account", viewer: Viewer{Subject: "u", Role: RoleService, AccountID: "acc-1"}, ttl: time.Hour,
			wantErr: "issue token: role service must not have an account"},
		{name: "unknown role", viewer: Viewer{Subject: "u", Role: "root"}, ttl: time.Hour,
			wantErr: `issue token: unknown role "root"`},
		{name: "no subject", viewer: Viewer{Role: RoleAdmin}, ttl: time.Hour,
			wantErr: "issue token: missing subject"},
		{name: "zero ttl", viewer: Viewer{Subject: "u", Role: RoleAdmin}, ttl: 0,
			wantErr: "issue token: ttl 0s is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := newIssuer(t, testSecret, t0).Issue(tt.viewer, tt.ttl)
			require.EqualError(t, err, tt.wantErr)
			require.Empty(t, tok)
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
	// with returns validClaims changed by key/value pairs; a nil value deletes the claim.
	with := func(kv ...any) map[string]any {
		c := validClaims()
		for i := 0; i < len(kv); i += 2 {
			k := kv[i].(string)
			if kv[i+1] == nil {
				delete(c, k)
			} else {
				c[k] = kv[i+1]
			}
		}
		return c
	}
	goodIssuer := newIssuer(t, testSecret, t0)
	issued := func(at time.Time, secret []byte, v Viewer, ttl time.Duration) string {
		tok, err := newIssuer(t, secret, at).Issue(v, ttl)
		require.NoError(t, err)
		return tok
	}
	customer := Viewer{Subject: "user-1", Role: RoleCustomer, AccountID: "acc-1"}

	tests := []struct {
		name    string
		token   string
		want    error
		wantErr string
	}{
		{name: "signed with another secret", token: issued(t0, otherSecret, customer, time.Hour),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: bad signature or algorithm"},
		{name: "alg none", token: noneToken(t, validClaims()),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: bad signature or algorithm"},
		{name: "alg RS256 with HMAC signature", token: signRaw(t, testSecret, map[string]any{"alg": "RS256", "typ": "JWT"}, validClaims()),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: bad signature or algorithm"},
		{name: "alg HS512", token: signRaw(t, testSecret, map[string]any{"alg": "HS512", "typ": "JWT"}, validClaims()),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: bad signature or algorithm"},
		{name: "expired", token: issued(t0.Add(-2*time.Hour), testSecret, customer, time.Hour),
			want: ErrExpiredToken, wantErr: "verify token: token expired"},
		{name: "expired within clock skew is still accepted", token: issued(t0.Add(-time.Hour-10*time.Second), testSecret, customer, time.Hour)},
		{name: "not yet valid", token: signRaw(t, testSecret, hs256, with("nbf", t0.Add(time.Hour).Unix())),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: not valid yet"},
		{name: "issued in the future", token: signRaw(t, testSecret, hs256, with("iat", t0.Add(time.Hour).Unix())),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: issued in the future"},
		{name: "wrong issuer", token: signRaw(t, testSecret, hs256, with("iss", "someone-else")),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: wrong issuer"},
		{name: "no issuer", token: signRaw(t, testSecret, hs256, with("iss", nil)),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: missing required claim"},
		{name: "no expiry", token: signRaw(t, testSecret, hs256, with("exp", nil)),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: missing required claim"},
		{name: "unknown role", token: signRaw(t, testSecret, hs256, with("role", "root")),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: unknown role"},
		{name: "role system", token: signRaw(t, testSecret, hs256, with("acc", nil, "role", "system")),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: role system is never carried by a token"},
		{name: "customer without account", token: signRaw(t, testSecret, hs256, with("acc", nil)),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: role customer needs an account"},
		{name: "viewer without account", token: signRaw(t, testSecret, hs256, with("acc", nil, "role", "viewer")),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: role viewer needs an account"},
		{name: "admin with account", token: signRaw(t, testSecret, hs256, with("role", "admin")),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: role admin must not have an account"},
		{name: "no subject", token: signRaw(t, testSecret, hs256, with("sub", nil)),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: missing subject"},
		{name: "no token id", token: signRaw(t, testSecret, hs256, with("jti", nil)),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: missing jti"},
		{name: "malformed", token: "not.a.token",
			want: ErrInvalidToken, wantErr: "verify token: invalid token: malformed"},
		{name: "empty", token: "",
			want: ErrInvalidToken, wantErr: "verify token: invalid token: malformed"},
		{name: "tampered claims", token: tamper(t, issued(t0, testSecret, customer, time.Hour)),
			want: ErrInvalidToken, wantErr: "verify token: invalid token: bad signature or algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := goodIssuer.Verify(tt.token)
			if tt.want == nil {
				require.NoError(t, err)
				require.Equal(t, "acc-1", v.AccountID)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.EqualError(t, err, tt.wantErr)
			require.Equal(t, Viewer{}, v)
			if tt.token != "" {
				require.NotContains(t, err.Error(), tt.token)
			}
			require.NotContains(t, err.Error(), string(testSecret))
		})
	}
}

// noneToken builds an unsigned token with alg "none", the classic forgery.
func noneToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// tamper swaps a token's claims for a customer of another account, keeping the signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	c := validClaims()
	c["acc"] = "acc-2"
	b, err := json.Marshal(c)
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}
