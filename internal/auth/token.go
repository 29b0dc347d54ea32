package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLen is the shortest signing secret accepted, in bytes: HS256 is only
// as strong as its key, and 32 bytes matches the hash's output size.
const MinSecretLen = 32

// TokenIssuer is the iss claim of every token this service issues and accepts.
const TokenIssuer = "billing"

// clockSkew is how far the clocks of two instances may disagree before a fresh
// token is refused as not yet valid, or a just-expired one still accepted.
const clockSkew = 30 * time.Second

var (
	// ErrInvalidToken is returned for any token that cannot be trusted: malformed,
	// wrong algorithm, bad signature, wrong issuer, not yet valid, or claims that
	// do not describe a viewer.
	ErrInvalidToken = errors.New("invalid token")
	// ErrExpiredToken is returned for a correctly signed token whose exp has passed.
	ErrExpiredToken = errors.New("token expired")
)

// claims is the token payload. The account id travels as "acc" to keep
// tokens short; it is omitted for roles that have no account.
type claims struct {
	Role    string `json:"role"`
	Account string `json:"acc,omitempty"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies the service's bearer tokens.
type Issuer struct {
	secret []byte
	clock  func() time.Time
	parser *jwt.Parser
}

// NewIssuer returns an Issuer signing with secret, which must be at least
// MinSecretLen bytes. clock is the source of "now" for iat, nbf and exp; nil
// means time.Now.
func NewIssuer(secret []byte, clock func() time.Time) (*Issuer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("new token issuer: secret is %d bytes, need at least %d", len(secret), MinSecretLen)
	}
	if clock == nil {
		clock = time.Now
	}
	iss := &Issuer{
		// Copied so a caller reusing its slice cannot change the key underneath us.
		secret: append([]byte(nil), secret...),
		clock:  clock,
	}
	iss.parser = jwt.NewParser(
		// The one defence against alg confusion: only HS256 reaches the key function.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return iss.clock() }),
	)
	return iss, nil
}

// Issue returns a signed token for v that is valid for ttl from now. The token
// gets a fresh random id; v.TokenID is ignored. The system role cannot be
// issued, customer and viewer tokens need an account, and admin and service
// tokens must not have one.
func (i *Issuer) Issue(v Viewer, ttl time.Duration) (string, error) {
	if err := checkViewer(v); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("issue token: ttl %s is not positive", ttl)
	}
	jti, err := randomID()
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	now := i.clock().Truncate(time.Second) // JWT times are whole seconds.
	c := claims{
		Role:    string(v.Role),
		Account: v.AccountID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   v.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        jti,
		},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(i.secret)
	if err != nil {
		return "", fmt.Errorf("issue token: sign: %w", err)
	}
	return signed, nil
}

// Verify checks token and returns the viewer it describes. Every failure
// wraps ErrInvalidToken or ErrExpiredToken; messages never contain the token.
func (i *Issuer) Verify(token string) (Viewer, error) {
	var c claims
	_, err := i.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return i.secret, nil })
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Viewer{}, fmt.Errorf("verify token: %w", ErrExpiredToken)
		}
		// The library's own messages may quote decoded header or claim bytes, so
		// only our fixed reason is kept.
		return Viewer{}, fmt.Errorf("verify token: %w: %s", ErrInvalidToken, reason(err))
	}
	role, err := ParseRole(c.Role)
	if err != nil {
		return Viewer{}, fmt.Errorf("verify token: %w: unknown role", ErrInvalidToken)
	}
	v := Viewer{Subject: c.Subject, Role: role, AccountID: c.Account, TokenID: c.ID}
	if err := checkViewer(v); err != nil {
		return Viewer{}, fmt.Errorf("verify token: %w: %w", ErrInvalidToken, err)
	}
	if v.TokenID == "" {
		return Viewer{}, fmt.Errorf("verify token: %w: missing jti", ErrInvalidToken)
	}
	return v, nil
}

// checkViewer enforces the rules every token's viewer must meet, on issue and on verify.
func checkViewer(v Viewer) error {
	if v.Subject == "" {
		return errors.New("missing subject")
	}
	switch v.Role {
	case RoleAdmin, RoleService:
		if v.AccountID != "" {
			return fmt.Errorf("role %s must not have an account", v.Role)
		}
	case RoleCustomer, RoleViewer:
		if v.AccountID == "" {
			return fmt.Errorf("role %s needs an account", v.Role)
		}
	case RoleSystem:
		return errors.New("role system is never carried by a token")
	default:
		return fmt.Errorf("unknown role %q", string(v.Role))
	}
	return nil
}

// reason names why the JWT library refused a token, in words that quote nothing from it.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing required claim"
	default:
		return "rejected"
	}
}

// randomID returns 128 random bits in hex, enough that token ids never collide.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
