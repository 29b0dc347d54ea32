package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header  string
		want    string
		wantErr bool
	}{
		{header: "Bearer abc.def.ghi", want: "abc.def.ghi"},
		{header: "bearer abc", want: "abc"},
		{header: "BEARER   abc  ", want: "abc"},
		{header: "Bearer", wantErr: true},
		{header: "Bearer   ", wantErr: true},
		{header: "Basic dXNlcjpwYXNz", wantErr: true},
		{header: "abc.def.ghi", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			got, err := BearerToken(tt.header)
			if tt.wantErr {
				require.EqualError(t, err, "authorization header is not a bearer token")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t, testSecret, t0)
	customer := Viewer{Subject: "user-1", Role: RoleCustomer, AccountID: "acc-1"}
	good, err := iss.Issue(customer, time.Hour)
	require.NoError(t, err)
	readOnly, err := iss.Issue(Viewer{Subject: "user-2", Role: RoleViewer, AccountID: "acc-1"}, time.Hour)
	require.NoError(t, err)
	expired, err := newIssuer(t, testSecret, t0.Add(-2*time.Hour)).Issue(customer, time.Hour)
	require.NoError(t, err)
	foreign, err := newIssuer(t, otherSecret, t0).Issue(customer, time.Hour)
	require.NoError(t, err)

	const body401 = `{"errors":[{"message":"invalid or expired token","extensions":{"code":"UNAUTHENTICATED"}}]}`
	tests := []struct {
		name       string
		header     string
		wantCalled bool
		wantViewer *Viewer
		wantMutate bool
	}{
		{name: "no header passes through anonymous", header: "", wantCalled: true},
		{name: "valid customer token", header: "Bearer " + good, wantCalled: true, wantViewer: &customer, wantMutate: true},
		{name: "viewer role cannot mutate", header: "Bearer " + readOnly, wantCalled: true,
			wantViewer: &Viewer{Subject: "user-2", Role: RoleViewer, AccountID: "acc-1"}},
		{name: "expired token", header: "Bearer " + expired},
		{name: "token from another secret", header: "Bearer " + foreign},
		{name: "garbage", header: "Bearer garbage"},
		{name: "basic auth", header: "Basic dXNlcjpwYXNz"},
		{name: "empty bearer", header: "Bearer "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			var got Viewer
			var gotOK bool
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				got, gotOK = FromContext(r.Context())
				w.WriteHeader(http.StatusNoContent)
			})
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			Middleware(iss)(next).ServeHTTP(rec, req)

			require.Equal(t, tt.wantCalled, called)
			if !tt.wantCalled {
				require.Equal(t, http.StatusUnauthorized, rec.Code)
				require.Equal(t, body401, rec.Body.String())
				require.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
				require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				return
			}
			require.Equal(t, http.StatusNoContent, rec.Code)
			if tt.wantViewer == nil {
				require.False(t, gotOK)
				return
			}
			require.True(t, gotOK)
			require.Len(t, got.TokenID, 32)
			got.TokenID = ""
			require.Equal(t, *tt.wantViewer, got)
			require.Equal(t, tt.wantMutate, got.CanMutate())
		})
	}
}
