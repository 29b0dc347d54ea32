// Package playground serves an offline GraphiQL IDE for the admin GraphQL API.
//
// Every byte the browser needs (GraphiQL, React, ReactDOM and GraphiQL's CSS,
// fonts included as data: URLs) is embedded in the binary, so the playground
// works without any internet access. See assets/README.md for the exact npm
// package versions and update-assets.sh to refresh them.
//
// Who may open the playground is the caller's decision: this package does no
// authentication or authorization of its own.
//
// # Mounting
//
// The handler expects the mount prefix to be stripped. It serves
//
//	/            the HTML page
//	/assets/...  the embedded static files (relative URLs in the page)
//	""           (the bare mount path) a redirect to the same path plus "/"
//
// With the standard library mux, route both the bare path and the subtree to
// it:
//
//	pg := http.StripPrefix("/playground", playground.Handler(opts))
//	mux.Handle("/playground", pg)  // bare path → 301 to "/playground/"
//	mux.Handle("/playground/", pg) // page and assets
//
// The redirect is relative ("./playground/"), so it stays correct behind a
// reverse proxy that adds a further path prefix. Stripping "/playground/"
// (with the slash) also works, but then the bare "/playground" never reaches
// the handler: register only "/playground/" and let ServeMux redirect it.
//
// With another router, wrap the handler in http.StripPrefix the same way
// (chi's Mount, for instance, leaves r.URL.Path unchanged).
package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// Options configures the playground page.
type Options struct {
	// Endpoint is the URL of the GraphQL HTTP endpoint, normally an absolute
	// path such as "/graphql". It is resolved against the page's location.
	// Defaults to "/graphql".
	Endpoint string
	// SubscriptionEndpoint is the URL path of the graphql-transport-ws
	// WebSocket endpoint, e.g. "/graphql". The page resolves it against its
	// own location and switches the scheme to ws:// or wss:// (matching
	// http:// or https://). An absolute ws:// or wss:// URL is used as is.
	// Empty disables subscriptions in the playground.
	SubscriptionEndpoint string
	// Token, when set, is pre-filled as "Authorization: Bearer <Token>" in
	// the headers editor and sent as the Authorization connection parameter
	// of the WebSocket connection. The page then embeds the token, so it is
	// served with Cache-Control: no-store.
	Token string
	// Title is the HTML page title. Defaults to "GraphiQL".
	Title string
}

//go:embed assets/graphiql.min.js assets/graphiql.min.css assets/react.production.min.js assets/react-dom.production.min.js
var assetFS embed.FS

type asset struct {
	contentType string
	data        []byte
	version     string // short content hash, used as ?v= cache buster
	etag        string
	gzipped     func() []byte
}

var assetTypes = map[string]string{
	"graphiql.min.js":             "text/javascript; charset=utf-8",
	"graphiql.min.css":            "text/css; charset=utf-8",
	"react.production.min.js":     "text/javascript; charset=utf-8",
	"react-dom.production.min.js": "text/javascript; charset=utf-8",
}

// assets maps a file name (as requested under assets/) to its content.
var assets = func() map[string]*asset {
	m := make(map[string]*asset, len(assetTypes))
	for name, ct := range assetTypes {
		data, err := assetFS.ReadFile("assets/" + name)
		if err != nil {
			panic("playground: embedded asset missing: " + name)
		}
		sum := sha256.Sum256(data)
		version := hex.EncodeToString(sum[:8])
		m[name] = &asset{
			contentType: ct,
			data:        data,
			version:     version,
			etag:        `"` + version + `"`,
			gzipped:     sync.OnceValue(func() []byte { return gzipBytes(data) }),
		}
	}
	return m
}()

func gzipBytes(data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

// bootScript is the one inline script of the page; the Content-Security-Policy
// allows it by hash. It must stay constant: per-request values go into the
// JSON data block it reads.
const bootScript = `
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("playground-config").textContent);
  function toWS(u) {
    var url = new URL(u, window.location.href);
    if (url.protocol === "https:") url.protocol = "wss:";
    else if (url.protocol === "http:") url.protocol = "ws:";
    return url.toString();
  }
  var fetcherOptions = { url: new URL(cfg.endpoint, window.location.href).toString() };
  if (cfg.subscriptionEndpoint) fetcherOptions.subscriptionUrl = toWS(cfg.subscriptionEndpoint);
  var props = {};
  if (cfg.token) {
    var auth = "Bearer " + cfg.token;
    fetcherOptions.wsConnectionParams = { Authorization: auth };
    props.headers = JSON.stringify({ Authorization: auth }, null, 2);
    props.defaultEditorToolsVisibility = "headers";
  }
  props.fetcher = GraphiQL.createFetcher(fetcherOptions);
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
`

// pageStyle is the one inline style block, allowed by hash as well.
const pageStyle = `html, body { height: 100%; margin: 0; overflow: hidden; } #graphiql { height: 100vh; }`

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{{.Title}}</title>
<link rel="stylesheet" href="assets/graphiql.min.css?v={{.V.CSS}}">
<style>{{.Style}}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript.</noscript>
<script src="assets/react.production.min.js?v={{.V.React}}"></script>
<script src="assets/react-dom.production.min.js?v={{.V.ReactDOM}}"></script>
<script src="assets/graphiql.min.js?v={{.V.GraphiQL}}"></script>
<script type="application/json" id="playground-config">{{.Config}}</script>
<script>{{.Boot}}</script>
</body>
</html>
`))

// pageConfig is JSON-encoded (with <, > and & escaped) into the page.
type pageConfig struct {
	Endpoint             string `json:"endpoint"`
	SubscriptionEndpoint string `json:"subscriptionEndpoint,omitempty"`
	Token                string `json:"token,omitempty"`
}

type pageData struct {
	Title  string
	Style  template.CSS
	Boot   template.JS
	Config pageConfig
	V      struct{ CSS, React, ReactDOM, GraphiQL string }
}

type handler struct {
	page []byte
	csp  string
}

// Handler returns the playground handler. See the package documentation for
// how to mount it.
func Handler(opts Options) http.Handler {
	if opts.Endpoint == "" {
		opts.Endpoint = "/graphql"
	}
	if opts.Title == "" {
		opts.Title = "GraphiQL"
	}
	data := pageData{
		Title: opts.Title,
		Style: template.CSS(pageStyle),
		Boot:  template.JS(bootScript),
		Config: pageConfig{
			Endpoint:             opts.Endpoint,
			SubscriptionEndpoint: opts.SubscriptionEndpoint,
			Token:                opts.Token,
		},
	}
	data.V.CSS = assets["graphiql.min.css"].version
	data.V.React = assets["react.production.min.js"].version
	data.V.ReactDOM = assets["react-dom.production.min.js"].version
	data.V.GraphiQL = assets["graphiql.min.js"].version

	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		panic("playground: rendering page: " + err.Error())
	}
	return &handler{page: buf.Bytes(), csp: contentSecurityPolicy(opts)}
}

// contentSecurityPolicy allows scripts and styles from the handler itself
// plus the single inline script and style block (by hash), and network
// connections to the page's own origin (which in CSP Level 3 covers ws:/wss:
// on the same host) plus the origin of an absolute Endpoint or
// SubscriptionEndpoint.
func contentSecurityPolicy(opts Options) string {
	connect := []string{"'self'"}
	for _, e := range []string{opts.Endpoint, opts.SubscriptionEndpoint} {
		if u, err := url.Parse(e); err == nil && u.Scheme != "" && u.Host != "" {
			switch strings.ToLower(u.Scheme) {
			case "http", "https", "ws", "wss":
				connect = append(connect, strings.ToLower(u.Scheme)+"://"+u.Host)
			}
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' " + cspHash(bootScript),
		"style-src 'self' " + cspHash(pageStyle),
		"font-src 'self' data:",
		"img-src 'self' data:",
		"connect-src " + strings.Join(connect, " "),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "" {
		// The bare mount path, e.g. "/playground" after stripping
		// "/playground", or "/playground/" after stripping "/playground/".
		orig := originalPath(r)
		if strings.HasSuffix(orig, "/") {
			h.servePage(w, r)
			return
		}
		redirectToSlash(w, r, orig)
		return
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	switch {
	case p == "/":
		h.servePage(w, r)
	case strings.HasPrefix(p, "/assets/"):
		serveAsset(w, r, strings.TrimPrefix(p, "/assets/"))
	default:
		http.NotFound(w, r)
	}
}

// originalPath is the escaped path of the request as the server received it,
// before any prefix stripping.
func originalPath(r *http.Request) string {
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
			return u.EscapedPath()
		}
	}
	return r.URL.EscapedPath()
}

// redirectToSlash sends "/x/playground" to "/x/playground/" with a relative
// Location ("./playground/"), so it also works behind a path-rewriting proxy.
func redirectToSlash(w http.ResponseWriter, r *http.Request, orig string) {
	seg := path.Base(orig)
	if orig == "" || seg == "/" || seg == "." || seg == ".." {
		http.NotFound(w, r)
		return
	}
	loc := "./" + seg + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	// Set Location directly: http.Redirect would resolve the relative URL
	// against the already-stripped r.URL.Path.
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusMovedPermanently)
}

func setCommonHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	setCommonHeaders(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Frame-Options", "DENY")
	// The page may embed a bearer token: never store it anywhere.
	hd.Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.page))
}

func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	setCommonHeaders(w)
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Add("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.version {
		// The page links assets with ?v=<content hash>: safe to keep forever.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=3600")
	}
	data, etag := a.data, a.etag
	if acceptsGzip(r) {
		data = a.gzipped()
		etag = `"` + a.version + `-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// acceptsGzip reports whether the Accept-Encoding header allows gzip
// (explicitly or via "*"), honouring q=0.
func acceptsGzip(r *http.Request) bool {
	gzip, star := -1, -1 // -1 unset, 0 refused, 1 accepted
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			ok := 1
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					if q := strings.TrimSpace(val); q == "0" || strings.HasPrefix(q, "0.") && strings.Trim(q[2:], "0") == "" {
						ok = 0
					}
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzip = ok
			case "*":
				star = ok
			}
		}
	}
	if gzip >= 0 {
		return gzip == 1
	}
	return star == 1
}
