// Package swaggerui serves an interactive API reference (Swagger UI) under a mount path;
// prima serve mounts the partner document's at /docs/reference/ and the operator
// document's at /docs/operator/, laid out in the partner portal (HandlerWithLayout).
// Each operation's x-codeSamples are shown as tabs by a small plugin (codesamples.js).
//
// The Swagger UI assets are vendored from the npm package swagger-ui-dist (see
// dist/VERSION and scripts/update-swagger-ui.sh) and embedded in the binary, so the
// page works offline and loads nothing from a CDN. The HTML page and the script that
// initialises Swagger UI are generated here, not copied from the npm package, so that
// no inline script is needed and a strict Content-Security-Policy can be sent.
package swaggerui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// MountPath is the path prefix the handler serves. Requests reach the handler with
// their full path (for example /docs/ or /docs/swagger-ui.css).
const MountPath = "/docs/"

// DefaultSpecURL is used when Handler is given an empty spec URL.
const DefaultSpecURL = "/v1/openapi.json"

// Title is the page title of the reference.
const Title = "PRIMA Partner API — Reference"

// ContentSecurityPolicy is sent with the HTML page. Swagger UI needs inline styles
// and data: images; scripts come only from this origin (no inline script, no eval).
// connect-src 'self' lets the page fetch the spec and, with "Try it out", call the
// API on the same origin.
const ContentSecurityPolicy = "default-src 'none'; " +
	"script-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; " +
	"font-src 'self' data:; " +
	"connect-src 'self'; " +
	"base-uri 'none'; " +
	"form-action 'none'; " +
	"frame-ancestors 'none'"

//go:embed dist
var dist embed.FS

// codeSamplesJS is the Swagger UI plugin that shows each operation's x-codeSamples;
// samplesCSS is its stylesheet.
var (
	//go:embed codesamples.js
	codeSamplesJS string
	//go:embed samples.css
	samplesCSS string
)

// version is the vendored swagger-ui-dist version, read from dist/VERSION.
var version = func() string {
	b, err := dist.ReadFile("dist/VERSION")
	if err != nil {
		panic("swaggerui: dist/VERSION missing from the embedded assets: " + err.Error())
	}
	return strings.TrimSpace(string(b))
}()

// Version reports the vendored swagger-ui-dist version (for example "5.35.0").
func Version() string { return version }

// staticAssets are the embedded files served as-is, with their content types.
var staticAssets = map[string]string{
	"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
	"swagger-ui.css":       "text/css; charset=utf-8",
	"favicon-32x32.png":    "image/png",
}

// Cache lifetimes.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNoCache   = "no-cache"
)

// The page is its head and its body; Layout (or standalone, by default) makes the
// document of them.
var (
	headTemplate = template.Must(template.New("head").Parse(`<link rel="stylesheet" href="swagger-ui.css?v={{.Version}}">
<link rel="stylesheet" href="samples.css?v={{.SamplesHash}}">
<link rel="icon" type="image/png" sizes="32x32" href="favicon-32x32.png?v={{.Version}}">
`))
	bodyTemplate = template.Must(template.New("body").Parse(`<noscript>The interactive reference needs JavaScript. The OpenAPI document is at <a href="{{.SpecURL}}">{{.SpecURL}}</a>.</noscript>
<div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js?v={{.Version}}"></script>
<script src="init.js?v={{.InitHash}}"></script>
`))
	standaloneTemplate = template.Must(template.New("index.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
{{.Head}}</head>
<body>
{{.Body}}</body>
</html>
`))
)

// Layout makes the HTML document of a page from its title and the markup Swagger UI
// needs in <head> (stylesheets) and in <body> (its mount point and scripts), so that
// the reference can sit inside a site's own layout. The markup holds no inline script.
type Layout func(title string, head, body template.HTML) ([]byte, error)

// standalone is the Layout of a page of its own.
func standalone(title string, head, body template.HTML) ([]byte, error) {
	var b bytes.Buffer
	err := standaloneTemplate.Execute(&b, struct {
		Title      string
		Head, Body template.HTML
	}{title, head, body})
	return b.Bytes(), err
}

// uiConfig is the object passed to SwaggerUIBundle; field order is kept in init.js.
type uiConfig struct {
	URL                    string  `json:"url"`
	DomID                  string  `json:"dom_id"`
	DeepLinking            bool    `json:"deepLinking"`
	PersistAuthorization   bool    `json:"persistAuthorization"`
	TryItOutEnabled        bool    `json:"tryItOutEnabled"`
	DisplayRequestDuration bool    `json:"displayRequestDuration"`
	Filter                 bool    `json:"filter"`
	ValidatorURL           *string `json:"validatorUrl"` // null: never call the public validator
}

// asset is one prepared response body.
type asset struct {
	body         []byte
	contentType  string
	cacheControl string
	etag         string
	csp          bool
}

type handler struct {
	mount  string           // the path prefix served, ending in "/"
	assets map[string]asset // keyed by the path below mount; "" is the index
}

// Handler returns an http.Handler for Swagger UI mounted at MountPath ("/docs/").
// specURL is the URL of the OpenAPI document the page loads (for example
// "/v1/openapi.json"); it is written into the generated /docs/init.js.
//
// Served: GET/HEAD /docs/ (and /docs/index.html), /docs/init.js,
// /docs/swagger-ui-bundle.js, /docs/swagger-ui.css, /docs/favicon-32x32.png.
// /docs redirects to /docs/. Other paths answer 404 (http.NotFound), other methods
// 405 (http.Error), so a wrapping server can rewrite both into its error format.
func Handler(specURL string) http.Handler {
	return HandlerAt(MountPath, specURL, Title)
}

// HandlerAt is Handler mounted at mount (a path ending in "/", e.g. "/docs/operator/"),
// with its own page title: another document's reference beside the first. The page
// refers to its assets relatively, so each mount serves its own copy of them.
func HandlerAt(mount, specURL, title string) http.Handler {
	return HandlerWithLayout(mount, specURL, title, nil)
}

// HandlerWithLayout is HandlerAt with the page laid out by layout (nil: a page of its
// own). It panics if layout fails, which only a broken layout template does.
func HandlerWithLayout(mount, specURL, title string, layout Layout) http.Handler {
	if layout == nil {
		layout = standalone
	}
	if specURL == "" {
		specURL = DefaultSpecURL
	}
	if !strings.HasSuffix(mount, "/") {
		mount += "/"
	}

	initJS, err := buildInitJS(specURL)
	if err != nil {
		panic("swaggerui: " + err.Error()) // only fails if uiConfig cannot be marshalled
	}
	initHash := shortHash(initJS)

	data := struct {
		Version, SpecURL, InitHash, SamplesHash string
	}{version, specURL, initHash, shortHash([]byte(samplesCSS))}
	var head, body bytes.Buffer
	if err := headTemplate.Execute(&head, data); err != nil {
		panic("swaggerui: rendering the page: " + err.Error())
	}
	if err := bodyTemplate.Execute(&body, data); err != nil {
		panic("swaggerui: rendering the page: " + err.Error())
	}
	page, err := layout(title, template.HTML(head.String()), template.HTML(body.String())) //nolint:gosec // G203: both are rendered by html/template above
	if err != nil {
		panic("swaggerui: laying out the page: " + err.Error())
	}
	index := bytes.NewBuffer(page)

	h := &handler{mount: mount, assets: map[string]asset{}}
	indexAsset := asset{
		body:         index.Bytes(),
		contentType:  "text/html; charset=utf-8",
		cacheControl: cacheNoCache,
		etag:         `"index-` + shortHash(index.Bytes()) + `"`,
		csp:          true,
	}
	h.assets[""] = indexAsset
	h.assets["index.html"] = indexAsset
	h.assets["samples.css"] = asset{
		body:         []byte(samplesCSS),
		contentType:  "text/css; charset=utf-8",
		cacheControl: cacheNoCache,
		etag:         `"samples-` + shortHash([]byte(samplesCSS)) + `"`,
	}
	h.assets["init.js"] = asset{
		body:         initJS,
		contentType:  "text/javascript; charset=utf-8",
		cacheControl: cacheNoCache,
		etag:         `"init-` + initHash + `"`,
	}
	for name, ct := range staticAssets {
		b, err := dist.ReadFile("dist/" + name)
		if err != nil {
			panic("swaggerui: embedded asset missing: " + err.Error())
		}
		h.assets[name] = asset{
			body:         b,
			contentType:  ct,
			cacheControl: cacheImmutable,
			etag:         `"swagger-ui-` + version + `-` + name + `"`,
		}
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == strings.TrimSuffix(h.mount, "/") {
		http.Redirect(w, r, h.mount, http.StatusMovedPermanently)
		return
	}
	name, ok := strings.CutPrefix(p, h.mount)
	if !ok {
		http.NotFound(w, r)
		return
	}
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cacheControl)
	hdr.Set("ETag", a.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if a.csp {
		hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("X-Frame-Options", "DENY")
	}
	// ServeContent handles HEAD, Range and If-None-Match (304) against the ETag.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// buildInitJS renders the script that starts Swagger UI. The configuration is
// JSON-encoded (valid JavaScript, with <, > and & escaped), so no spec URL can
// break out of it.
func buildInitJS(specURL string) ([]byte, error) {
	cfg, err := json.MarshalIndent(uiConfig{
		URL:                    specURL,
		DomID:                  "#swagger-ui",
		DeepLinking:            true,
		PersistAuthorization:   true,
		TryItOutEnabled:        false,
		DisplayRequestDuration: true,
		Filter:                 true,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("// Generated by github.com/prima-dining/partner-api/docs/swaggerui. Do not edit.\n")
	b.WriteString("\"use strict\";\n")
	b.WriteString(codeSamplesJS)
	b.WriteString("window.addEventListener(\"load\", function () {\n")
	b.WriteString("  var config = ")
	b.Write(bytes.ReplaceAll(cfg, []byte("\n"), []byte("\n  ")))
	b.WriteString(";\n  config.plugins = [primaCodeSamples];\n")
	b.WriteString("  window.ui = SwaggerUIBundle(config);\n});\n")
	return b.Bytes(), nil
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
