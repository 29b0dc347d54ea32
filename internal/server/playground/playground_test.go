package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const trickyToken = `tok"</script><b>&'`

func get(t *testing.T, h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPageRendersEndpointAndToken(t *testing.T) {
	h := Handler(Options{
		Endpoint:             "/graphql",
		SubscriptionEndpoint: "/graphql/ws",
		Token:                trickyToken,
		Title:                "Billing <admin>",
	})
	rec := get(t, h, "/")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	body := rec.Body.String()

	assert.Contains(t, body, `<title>Billing &lt;admin&gt;</title>`)
	assert.Contains(t, body, `"endpoint":"/graphql"`)
	assert.Contains(t, body, `"subscriptionEndpoint":"/graphql/ws"`)
	// The token is JSON-encoded with <, > and & escaped, so it cannot end
	// the script element or inject markup.
	assert.Contains(t, body, `"token":"tok\"\u003c/script\u003e\u003cb\u003e\u0026'"`)
	assert.NotContains(t, body, trickyToken)
	assert.Equal(t, 5, strings.Count(strings.ToLower(body), "</script"),
		"only the template's five script elements are closed")

	// The JSON data block decodes back to the exact options.
	m := regexp.MustCompile(`(?s)<script type="application/json" id="playground-config">(.*?)</script>`).FindStringSubmatch(body)
	require.Len(t, m, 2)
	var cfg map[string]string
	require.NoError(t, json.Unmarshal([]byte(m[1]), &cfg))
	assert.Equal(t, map[string]string{
		"endpoint":             "/graphql",
		"subscriptionEndpoint": "/graphql/ws",
		"token":                trickyToken,
	}, cfg)

	// The boot script builds the fetcher and the pre-filled header.
	assert.Contains(t, body, "GraphiQL.createFetcher(")
	assert.Contains(t, body, "subscriptionUrl")
	assert.Contains(t, body, `wsConnectionParams = { Authorization: auth }`)
	assert.Contains(t, body, `"Bearer " + cfg.token`)
}

func TestPageWithoutTokenOrSubscriptions(t *testing.T) {
	rec := get(t, Handler(Options{}), "/")
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `{"endpoint":"/graphql"}`, "defaults to /graphql and omits empty values")
	assert.Contains(t, body, "<title>GraphiQL</title>")
	assert.NotContains(t, body, `"token"`)
}

func TestPageHasNoExternalURLs(t *testing.T) {
	body := get(t, Handler(Options{Endpoint: "/graphql", SubscriptionEndpoint: "/graphql", Token: "t"}), "/").Body.String()
	assert.NotContains(t, body, "http://")
	assert.NotContains(t, body, "https://")
	assert.NotRegexp(t, `(?i)unpkg|jsdelivr|cdnjs|esm\.sh|googleapis|cloudflare`, body)
	// All scripts and stylesheets are relative to the mount point.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if m[1] == "data:," { // empty favicon, avoids a request
			continue
		}
		assert.True(t, strings.HasPrefix(m[1], "assets/"), "non-relative asset URL %q", m[1])
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	rec := get(t, Handler(Options{Token: "t"}), "/")
	csp := rec.Header().Get("Content-Security-Policy")
	require.NotEmpty(t, csp)
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "connect-src 'self'")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.NotContains(t, csp, "unsafe-eval")

	// script-src allows exactly 'self' plus the hash of the one inline script.
	body := rec.Body.String()
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	require.Len(t, inline, 1, "exactly one executable inline script")
	sum := sha256.Sum256([]byte(inline[0][1]))
	assert.Contains(t, csp, "script-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';")

	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body)
	require.Len(t, style, 2)
	sum = sha256.Sum256([]byte(style[1]))
	assert.Contains(t, csp, "style-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';")
}

func TestContentSecurityPolicyAbsoluteEndpoints(t *testing.T) {
	rec := get(t, Handler(Options{Endpoint: "https://api.example.test/graphql", SubscriptionEndpoint: "wss://ws.example.test/graphql"}), "/")
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"),
		"connect-src 'self' https://api.example.test wss://ws.example.test;")
}

func TestAssets(t *testing.T) {
	h := Handler(Options{})
	page := get(t, h, "/").Body.String()
	for name, wantType := range map[string]string{
		"graphiql.min.js":             "text/javascript; charset=utf-8",
		"graphiql.min.css":            "text/css; charset=utf-8",
		"react.production.min.js":     "text/javascript; charset=utf-8",
		"react-dom.production.min.js": "text/javascript; charset=utf-8",
	} {
		t.Run(name, func(t *testing.T) {
			rec := get(t, h, "/assets/"+name)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, wantType, rec.Header().Get("Content-Type"))
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			assert.Empty(t, rec.Header().Get("Content-Encoding"))
			assert.Equal(t, "public, max-age=3600", rec.Header().Get("Cache-Control"))
			etag := rec.Header().Get("ETag")
			require.NotEmpty(t, etag)
			raw := rec.Body.Bytes()
			assert.Greater(t, len(raw), 1000)
			assert.Equal(t, assets[name].data, raw)

			// The page links the asset with its content hash, which makes
			// the response cacheable for good.
			ref := "assets/" + name + "?v=" + assets[name].version
			assert.Contains(t, page, ref)
			rec = get(t, h, "/"+ref)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))

			// Revalidation.
			rec = get(t, h, "/assets/"+name, "If-None-Match", etag)
			assert.Equal(t, http.StatusNotModified, rec.Code)

			// gzip when accepted, same bytes once decoded.
			rec = get(t, h, "/assets/"+name, "Accept-Encoding", "gzip, deflate, br")
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
			assert.Contains(t, rec.Header().Values("Vary"), "Accept-Encoding")
			assert.NotEqual(t, etag, rec.Header().Get("ETag"))
			assert.Less(t, rec.Body.Len(), len(raw))
			zr, err := gzip.NewReader(rec.Body)
			require.NoError(t, err)
			decoded, err := io.ReadAll(zr)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(raw, decoded))
		})
	}
}

func TestAssetsHaveNoSourceMapReferences(t *testing.T) {
	for name, a := range assets {
		assert.NotContains(t, string(a.data), "sourceMappingURL=", name)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"":                 false,
		"gzip":             true,
		"br, gzip;q=0.5":   true,
		"GZIP":             true,
		"gzip;q=0":         false,
		"gzip; q=0.000":    false,
		"deflate":          false,
		"*":                true,
		"*;q=0":            false,
		"gzip;q=0, *":      false,
		"identity, *;q=1":  true,
		"br;q=1, x-gzip":   true,
		"gzip;q=0.001":     true,
		"deflate, *;q=0.1": true,
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		assert.Equal(t, want, acceptsGzip(req), "Accept-Encoding: %q", ae)
	}
}

func TestNotFound(t *testing.T) {
	h := Handler(Options{})
	for _, p := range []string{
		"/assets/unknown.js",
		"/assets/README.md",
		"/assets/LICENSE.react",
		"/assets/",
		"/assets/../playground.go",
		"/assets/graphiql.min.js/x",
		"/playground.go",
		"/index.html",
		"/other",
	} {
		rec := get(t, h, p)
		assert.Equal(t, http.StatusNotFound, rec.Code, p)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := Handler(Options{})
	for _, p := range []string{"/", "/assets/graphiql.min.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, p, strings.NewReader("{}")))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, p)
		assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/assets/react.production.min.js", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Zero(t, rec.Body.Len())
}

// TestMounted runs the handler the way the server mounts it and checks the
// bare-path redirect with a real client.
func TestMounted(t *testing.T) {
	cases := []struct {
		name     string
		mount    func(mux *http.ServeMux)
		status   int
		location string
	}{
		{
			// Documented setup: both routes to the handler, which redirects.
			name: `StripPrefix("/playground") on both routes`,
			mount: func(mux *http.ServeMux) {
				pg := http.StripPrefix("/playground", Handler(Options{Endpoint: "/graphql", Token: "abc"}))
				mux.Handle("/playground", pg)
				mux.Handle("/playground/", pg)
			},
			status:   http.StatusMovedPermanently,
			location: "./playground/?x=1",
		},
		{
			// Alternative: only the subtree; ServeMux itself redirects the
			// bare path (the handler never sees it).
			name: `StripPrefix("/playground/") on the subtree`,
			mount: func(mux *http.ServeMux) {
				mux.Handle("/playground/", http.StripPrefix("/playground/", Handler(Options{Endpoint: "/graphql", Token: "abc"})))
			},
			status:   http.StatusTemporaryRedirect, // what ServeMux uses
			location: "/playground/?x=1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			tc.mount(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()

			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.Get(srv.URL + "/playground?x=1")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.location, resp.Header.Get("Location"))

			resp, err = http.Get(srv.URL + "/playground")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "/playground/", resp.Request.URL.Path)
			assert.Contains(t, string(body), `"token":"abc"`)

			resp, err = http.Get(srv.URL + "/playground/assets/graphiql.min.css")
			require.NoError(t, err)
			css, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"))
			assert.NotEmpty(t, css)

			resp, err = http.Get(srv.URL + "/playground/assets/nope.js")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		})
	}
}

func TestRedirectKeepsDeeperPrefix(t *testing.T) {
	// Behind "/admin/tools/playground" the relative Location still resolves
	// to ".../playground/".
	h := http.StripPrefix("/admin/tools/playground", Handler(Options{}))
	rec := get(t, h, "/admin/tools/playground")
	assert.Equal(t, http.StatusMovedPermanently, rec.Code)
	assert.Equal(t, "./playground/", rec.Header().Get("Location"))
}
