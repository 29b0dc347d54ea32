package auth

import (
	"errors"
	"net/http"
	"strings"
)

// unauthorizedBody is the GraphQL-shaped error a client gets for a bad token,
// so GraphQL clients can handle it like any other top-level error.
const unauthorizedBody = `{"errors":[{"message":"invalid or expired token","extensions":{"code":"UNAUTHENTICATED"}}]}`

// errNotBearer is returned by BearerToken for a header of another scheme.
var errNotBearer = errors.New("authorization header is not a bearer token")

// BearerToken returns the token in an Authorization header value of the form
// "Bearer <token>" (the scheme is case-insensitive, as RFC 7235 says). It
// returns an error for any other scheme or an empty token.
func BearerToken(header string) (string, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errNotBearer
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", errNotBearer
	}
	return token, nil
}

// Middleware authenticates requests carrying "Authorization: Bearer <token>".
// Without the header the request passes through with no viewer, and resolvers
// decide what an anonymous caller may see. With a valid token the viewer is put
// in the request's context. Any other Authorization header is answered with 401
// and a GraphQL error body, without calling next.
func Middleware(iss *Issuer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header := r.Header.Get("Authorization")
			if header == "" {
				next.ServeHTTP(w, r)
				return
			}
			token, err := BearerToken(header)
			if err != nil {
				writeUnauthorized(w)
				return
			}
			v, err := iss.Verify(token)
			if err != nil {
				writeUnauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithViewer(r.Context(), v)))
		})
	}
}

// writeUnauthorized answers 401 with the challenge RFC 6750 asks for.
func writeUnauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("WWW-Authenticate", "Bearer")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(unauthorizedBody)) // The client is gone if this fails; nothing to do.
}
