package portal

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestEveryPageRendersWithItsTitle: the getting-started page and every guide render,
// each under its Markdown's first heading, with no Markdown left unrendered.
func TestEveryPageRendersWithItsTitle(t *testing.T) {
	a, err := build()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{Home: "Getting started"}
	for _, g := range Guides {
		want[GuidesPrefix+g.Slug] = g.Label
	}
	for path, title := range want {
		page := string(a.pages[path])
		if page == "" {
			t.Errorf("%s: not rendered", path)
			continue
		}
		if !strings.Contains(page, "<h1") || !strings.Contains(page, ">"+title+"</h1>") {
			t.Errorf("%s: no heading %q", path, title)
		}
		if !strings.Contains(page, "<title>"+title+" — PRIMA Partner API</title>") {
			t.Errorf("%s: no title %q", path, title)
		}
		main := page[strings.Index(page, "<main"):]
		if strings.Contains(main, "```") || strings.Contains(main, "| --- |") || strings.Contains(main, "|---|") {
			t.Errorf("%s: Markdown left unrendered", path)
		}
	}
	if len(a.pages) != len(want) {
		t.Errorf("%d pages rendered, want %d", len(a.pages), len(want))
	}
}

var link = regexp.MustCompile(`\]\((/[^)\s]*)\)`)

// TestGuideLinksLeadSomewhere: every link of a page to this server names a page of the
// portal, a reference, the error codes or a document (so a renamed guide cannot leave
// dead links behind).
func TestGuideLinksLeadSomewhere(t *testing.T) {
	known := map[string]bool{Home: true, Reference: true, OperatorRef: true, Errors: true,
		PartnerSpec: true, OperatorSpec: true, "/v1/openapi.yaml": true}
	for _, g := range Guides {
		known[GuidesPrefix+g.Slug] = true
	}
	for _, slug := range append([]string{"index", "error-codes"}, slugs()...) {
		src, ok := Markdown(slug)
		if !ok {
			t.Fatalf("pages/%s.md is missing", slug)
		}
		for _, m := range link.FindAllStringSubmatch(src, -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if !known[target] {
				t.Errorf("pages/%s.md links %s, which is no page", slug, m[1])
			}
		}
	}
}

func slugs() []string {
	var out []string
	for _, g := range Guides {
		out = append(out, g.Slug)
	}
	return out
}

// TestCurlInTheGuidesIsPortable: the guides' shell runs on macOS as on Linux, so no
// GNU-only flag.
func TestCurlInTheGuidesIsPortable(t *testing.T) {
	gnuOnly := regexp.MustCompile(`date -d|date --date|sed -i|base64 -w|readlink -f|grep -P|xargs -r`)
	for _, slug := range append([]string{"index"}, slugs()...) {
		src, _ := Markdown(slug)
		if m := gnuOnly.FindString(src); m != "" {
			t.Errorf("pages/%s.md uses %q, which macOS lacks", slug, m)
		}
	}
}

func TestHandlerServesPagesAndAssets(t *testing.T) {
	h := Handler()
	for path, ct := range map[string]string{
		Home:                            "text/html; charset=utf-8",
		GuidesPrefix + "idempotency":    "text/html; charset=utf-8",
		stylesheetURL:                   "text/css; charset=utf-8",
		scriptURL:                       "text/javascript; charset=utf-8",
		iconURL:                         "image/svg+xml",
		GuidesPrefix + "nope":           "",
		AssetsPrefix + "portal.css.map": "",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		switch {
		case ct == "" && rec.Code != http.StatusNotFound:
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		case ct != "" && (rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ct):
			t.Errorf("GET %s: %d %s, want 200 %s", path, rec.Code, rec.Header().Get("Content-Type"), ct)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Home, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d", Home, rec.Code)
	}
}

// TestRenderLaysOutAnotherPage: Layout puts another package's page (Swagger UI's) in the
// portal, with its navigation entry current.
func TestRenderLaysOutAnotherPage(t *testing.T) {
	b, err := Layout(Reference)("API reference", `<link rel="stylesheet" href="x.css">`, `<div id="swagger-ui"></div>`)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`<link rel="stylesheet" href="x.css">`, `<div id="swagger-ui"></div>`, `href="/docs/reference/" aria-current="page"`, `class="content wide"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}
