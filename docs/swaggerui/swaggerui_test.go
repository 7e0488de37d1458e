package swaggerui

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testSpecURL = "/v1/openapi.json"

// response is what a test looks at: the status, the headers and the whole body.
type response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{StatusCode: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
}

func TestVersionIsVendored(t *testing.T) {
	if !strings.HasPrefix(Version(), "5.") {
		t.Fatalf("Version() = %q, want a swagger-ui-dist 5.x version", Version())
	}
}

func TestIndex(t *testing.T) {
	h := Handler(testSpecURL)
	for _, target := range []string{"/docs/", "/docs/index.html"} {
		res := get(t, h, http.MethodGet, target, nil)
		b := res.Body
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", target, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", target, ct)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", target, cc)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(strings.SplitN(csp, "style-src", 2)[0], "unsafe-inline") {
			t.Errorf("GET %s: CSP %q allows inline or eval'd scripts", target, csp)
		}
		for _, want := range []string{
			"<title>PRIMA Partner API — Reference</title>",
			`<link rel="stylesheet" href="swagger-ui.css?v=` + Version() + `">`,
			`<script src="swagger-ui-bundle.js?v=` + Version() + `"></script>`,
			`<script src="init.js?v=`,
			`<div id="swagger-ui"></div>`,
		} {
			if !strings.Contains(b, want) {
				t.Errorf("GET %s: body lacks %q", target, want)
			}
		}
		// No inline script: every <script> has a src and an empty body.
		if n, m := strings.Count(b, "<script"), strings.Count(b, "<script src="); n != m {
			t.Errorf("GET %s: %d <script> tags, only %d with src", target, n, m)
		}
		if strings.Contains(b, "http://") || strings.Contains(b, "https://") || strings.Contains(b, `="//`) {
			t.Errorf("GET %s: index references another origin (a CDN?)", target)
		}
	}
}

func TestInitJS(t *testing.T) {
	h := Handler(testSpecURL)
	res := get(t, h, http.MethodGet, "/docs/init.js", nil)
	b := res.Body
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", cc)
	}
	for _, want := range []string{
		"SwaggerUIBundle(",
		`"url": "` + testSpecURL + `"`,
		`"dom_id": "#swagger-ui"`,
		`"deepLinking": true`,
		`"persistAuthorization": true`,
		`"tryItOutEnabled": false`,
		`"displayRequestDuration": true`,
		`"filter": true`,
	} {
		if !strings.Contains(b, want) {
			t.Errorf("init.js lacks %q:\n%s", want, b)
		}
	}
}

func TestInitJSEscapesSpecURL(t *testing.T) {
	h := Handler(`/x"</script><script>alert(1)</script>`)
	b := get(t, h, http.MethodGet, "/docs/init.js", nil).Body
	if strings.Contains(b, "</script>") || strings.Contains(b, `x"<`) {
		t.Fatalf("spec URL not escaped in init.js:\n%s", b)
	}
}

func TestEmptySpecURLUsesDefault(t *testing.T) {
	b := get(t, Handler(""), http.MethodGet, "/docs/init.js", nil).Body
	if !strings.Contains(b, `"url": "`+DefaultSpecURL+`"`) {
		t.Fatalf("init.js does not use %s:\n%s", DefaultSpecURL, b)
	}
}

func TestStaticAssets(t *testing.T) {
	h := Handler(testSpecURL)
	cases := []struct {
		path, contentType, contains string
	}{
		{"/docs/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"},
		{"/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle"},
		{"/docs/favicon-32x32.png", "image/png", "\x89PNG"},
	}
	for _, c := range cases {
		res := get(t, h, http.MethodGet, c.path+"?v="+Version(), nil)
		b := res.Body
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", c.path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != c.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, ct, c.contentType)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("GET %s: Cache-Control %q, want a long max-age", c.path, cc)
		}
		etag := res.Header.Get("ETag")
		if !strings.Contains(etag, Version()) {
			t.Errorf("GET %s: ETag %q lacks version %s", c.path, etag, Version())
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", c.path)
		}
		if !strings.Contains(b, c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
		if len(b) < 100 {
			t.Errorf("GET %s: body only %d bytes", c.path, len(b))
		}

		// Revalidation with the ETag answers 304 without a body.
		res = get(t, h, http.MethodGet, c.path, map[string]string{"If-None-Match": etag})
		if b := res.Body; res.StatusCode != http.StatusNotModified || b != "" {
			t.Errorf("GET %s If-None-Match: status %d, %d body bytes", c.path, res.StatusCode, len(b))
		}
	}
}

func TestHead(t *testing.T) {
	res := get(t, Handler(testSpecURL), http.MethodHead, "/docs/swagger-ui.css", nil)
	if b := res.Body; res.StatusCode != http.StatusOK || b != "" {
		t.Fatalf("HEAD: status %d, %d body bytes", res.StatusCode, len(b))
	}
	if res.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("HEAD: Content-Type %q", res.Header.Get("Content-Type"))
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := Handler(testSpecURL)
	for _, target := range []string{
		"/docs/nope.js",
		"/docs/LICENSE",
		"/docs/VERSION",
		"/docs/dist/swagger-ui.css",
		"/docs/../go.mod",
		"/elsewhere/swagger-ui.css",
	} {
		res := get(t, h, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, res.StatusCode)
		}
	}

	res := get(t, h, http.MethodPost, "/docs/", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /docs/: status %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}

	res = get(t, h, http.MethodGet, "/docs", nil)
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/docs/" {
		t.Errorf("GET /docs: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestServesThroughHTTPServer checks the handler behind a real listener, as mounted
// under a mux at /docs/ (the way the server mounts it).
func TestServesThroughHTTPServer(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/docs/", Handler(testSpecURL))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, p := range []string{"/docs/", "/docs/init.js", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"} {
		res, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		_, err = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: reading body: %v", p, err)
		}
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", p, res.StatusCode)
		}
	}
}

// TestHandlerWithLayoutPutsTheReferenceInTheSitesPage: the layout gets the title and the
// markup Swagger UI needs (its stylesheets in head; its mount point and scripts in body,
// none inline), and the page it makes is what the mount serves.
func TestHandlerWithLayoutPutsTheReferenceInTheSitesPage(t *testing.T) {
	var gotTitle, gotHead, gotBody string
	h := HandlerWithLayout("/docs/reference/", testSpecURL, "API reference", func(title string, head, body template.HTML) ([]byte, error) {
		gotTitle, gotHead, gotBody = title, string(head), string(body)
		return []byte("<site>" + string(body) + "</site>"), nil
	})
	if gotTitle != "API reference" || !strings.Contains(gotHead, `href="swagger-ui.css?v=`) || !strings.Contains(gotHead, `href="samples.css?v=`) {
		t.Errorf("layout got title %q, head %q", gotTitle, gotHead)
	}
	if !strings.Contains(gotBody, `<div id="swagger-ui"></div>`) || !strings.Contains(gotBody, `<script src="init.js?v=`) || strings.Contains(gotBody, "<script>") {
		t.Errorf("layout got body %q", gotBody)
	}
	if res := get(t, h, http.MethodGet, "/docs/reference/", nil); res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Body, "<site>") {
		t.Errorf("GET /docs/reference/: %d %q", res.StatusCode, res.Body)
	}
	if res := get(t, h, http.MethodGet, "/docs/reference/samples.css", nil); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, ".prima-code-tab") {
		t.Errorf("GET samples.css: %d", res.StatusCode)
	}
	// init.js registers the code samples plugin with the configuration.
	js := get(t, h, http.MethodGet, "/docs/reference/init.js", nil).Body
	for _, want := range []string{"function primaCodeSamples(system)", "config.plugins = [primaCodeSamples];", "SwaggerUIBundle(config)", `"url": "` + testSpecURL + `"`} {
		if !strings.Contains(js, want) {
			t.Errorf("init.js lacks %s", want)
		}
	}
}
