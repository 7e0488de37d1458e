// Package portal is the partner portal at /docs/: a getting-started page and one page
// per guide, written in Markdown (pages/*.md, embedded in the binary), rendered once at
// start-up, and laid out with a navigation sidebar that also leads to the API
// references (Swagger UI, package swaggerui) and the error catalogue.
//
// Every page works under the docs' strict Content-Security-Policy: no inline script,
// no inline style, one small embedded stylesheet and one small script (which sends old
// Swagger UI deep links, /docs/#/Tag/operation, to the reference).
package portal

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// The portal's URLs.
const (
	Home          = "/docs/"
	GuidesPrefix  = "/docs/guides/"
	Reference     = "/docs/reference/"
	OperatorRef   = "/docs/operator/"
	Errors        = "/docs/errors"
	AssetsPrefix  = "/docs/assets/"
	PartnerSpec   = "/v1/openapi.json"
	OperatorSpec  = "/v1/operator/openapi.json"
	stylesheetURL = AssetsPrefix + "portal.css"
	scriptURL     = AssetsPrefix + "portal.js"
	iconURL       = AssetsPrefix + "favicon.svg"
)

// Guide is one guide page, at GuidesPrefix + Slug, listed in the navigation as Label.
type Guide struct {
	Slug, Label string
}

// Guides are the guide pages, in the navigation's order; each is pages/<slug>.md.
var Guides = []Guide{
	{"authentication", "Authentication"},
	{"five-calls", "The five calls"},
	{"idempotency", "Idempotency"},
	{"errors", "Errors"},
	{"webhooks", "Webhooks"},
	{"missed-webhooks", "Recovering from missed webhooks"},
	{"rotation", "Rotating secrets and tokens"},
	{"reconciliation", "Reconciling a month"},
	{"sandbox", "Sandbox"},
	{"versioning", "Versioning"},
}

//go:embed pages/*.md assets/portal.css assets/portal.js assets/favicon.svg
var files embed.FS

// Page is what the layout needs to lay out one page.
type Page struct {
	// Path is the page's own URL; its navigation entry is marked current.
	Path string
	// Title is the page's title (the browser tab shows it with the product's name).
	Title string
	// Head is extra markup for <head> (stylesheets), Body the page's content.
	Head, Body template.HTML
	// Wide pages (the references) use the whole width beside the navigation.
	Wide bool
}

var layout = template.Must(template.New("layout").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Page.Title}} — PRIMA Partner API</title>
<link rel="stylesheet" href="{{.CSS}}">
<link rel="icon" type="image/svg+xml" href="{{.Icon}}">
{{.Page.Head}}<script src="{{.JS}}" defer></script>
</head>
<body>
<header class="topbar">
<a class="brand" href="/docs/">PRIMA <span>Partner API</span></a>
<span class="version">v1</span>
<a class="topbar-link" href="/v1/openapi.json">OpenAPI document</a>
</header>
<div class="layout">
<nav class="sidebar" aria-label="Documentation">
{{range .Nav}}<p class="nav-section">{{.Heading}}</p>
<ul>
{{range .Links}}<li><a href="{{.Href}}"{{if .Current}} aria-current="page"{{end}}>{{.Label}}</a></li>
{{end}}</ul>
{{end}}</nav>
<main class="content{{if .Page.Wide}} wide{{end}}" id="content">
{{.Page.Body}}
</main>
</div>
</body>
</html>
`))

type navLink struct {
	Href, Label string
	Current     bool
}

type navSection struct {
	Heading string
	Links   []navLink
}

func nav(current string) []navSection {
	link := func(href, label string) navLink { return navLink{href, label, href == current} }
	guides := make([]navLink, 0, len(Guides))
	for _, g := range Guides {
		guides = append(guides, link(GuidesPrefix+g.Slug, g.Label))
	}
	return []navSection{
		{"Start", []navLink{link(Home, "Getting started")}},
		{"Guides", guides},
		{"Reference", []navLink{
			link(Reference, "API reference"),
			link(Errors, "Error codes"),
			link(OperatorRef, "Operator API"),
		}},
	}
}

// Render writes p, laid out with the navigation, as a complete HTML document.
func Render(p Page) ([]byte, error) {
	return loadAssets().render(p)
}

// render lays p out, linking the assets by their content's hash.
func (a *assets) render(p Page) ([]byte, error) {
	var b bytes.Buffer
	err := layout.Execute(&b, struct {
		Page          Page
		Nav           []navSection
		CSS, JS, Icon string
	}{p, nav(p.Path), stylesheetURL + "?v=" + a.css.hash, scriptURL + "?v=" + a.js.hash, iconURL + "?v=" + a.icon.hash})
	return b.Bytes(), err
}

// Layout lays out a page of another package (Swagger UI) at path: the signature of
// swaggerui.Layout.
func Layout(path string) func(title string, head, body template.HTML) ([]byte, error) {
	return func(title string, head, body template.HTML) ([]byte, error) {
		return Render(Page{Path: path, Title: title, Head: head, Body: body, Wide: true})
	}
}

// Markdown returns the Markdown source of the page with this slug ("index" is the
// getting-started page), for the pages that read a table out of a guide.
func Markdown(slug string) (string, bool) {
	b, err := files.ReadFile("pages/" + slug + ".md")
	return string(b), err == nil
}

type staticAsset struct {
	body []byte
	hash string
}

type assets struct {
	css, js, icon staticAsset
	pages         map[string][]byte // by URL path: the rendered pages
}

// loadAssets renders every page once; the embedded files cannot change, so a failure
// is a programming error found by the package's tests.
var loadAssets = sync.OnceValue(func() *assets {
	a, err := build()
	if err != nil {
		panic("portal: " + err.Error())
	}
	return a
})

func build() (*assets, error) {
	a := &assets{pages: map[string][]byte{}}
	for name, dst := range map[string]*staticAsset{"assets/portal.css": &a.css, "assets/portal.js": &a.js, "assets/favicon.svg": &a.icon} {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		*dst = staticAsset{body: b, hash: shortHash(b)}
	}
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	)
	type source struct{ slug, path string }
	sources := []source{{"index", Home}}
	for _, g := range Guides {
		sources = append(sources, source{g.Slug, GuidesPrefix + g.Slug})
	}
	for _, s := range sources {
		src, ok := Markdown(s.slug)
		if !ok {
			return nil, fmt.Errorf("pages/%s.md is missing", s.slug)
		}
		title, body, err := renderMarkdown(md, []byte(src))
		if err != nil {
			return nil, fmt.Errorf("pages/%s.md: %w", s.slug, err)
		}
		page, err := a.render(Page{Path: s.path, Title: title, Body: body})
		if err != nil {
			return nil, err
		}
		a.pages[s.path] = page
	}
	return a, nil
}

// renderMarkdown renders a page: its title is its first-level heading; its second-level
// headings, listed under the title, say what is on the page.
func renderMarkdown(md goldmark.Markdown, src []byte) (string, template.HTML, error) {
	doc := md.Parser().Parse(text.NewReader(src))
	var title string
	type entry struct{ id, text string }
	var toc []entry
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		label := plainText(h, src)
		switch h.Level {
		case 1:
			if title == "" {
				title = label
			}
		case 2:
			id, _ := h.AttributeString("id")
			idStr, _ := id.([]byte)
			toc = append(toc, entry{string(idStr), label})
		}
		return ast.WalkSkipChildren, nil
	})
	if err != nil {
		return "", "", err
	}
	if title == "" {
		return "", "", fmt.Errorf("no first-level heading")
	}
	var out bytes.Buffer
	if err := md.Renderer().Render(&out, src, doc); err != nil {
		return "", "", err
	}
	body := out.String()
	if len(toc) > 1 {
		var b strings.Builder
		b.WriteString(`<nav class="toc" aria-label="On this page"><p>On this page</p><ul>`)
		for _, e := range toc {
			fmt.Fprintf(&b, `<li><a href="#%s">%s</a></li>`, template.HTMLEscapeString(e.id), template.HTMLEscapeString(e.text))
		}
		b.WriteString("</ul></nav>\n")
		// Under the title: the first heading's end.
		if i := strings.Index(body, "</h1>\n"); i >= 0 {
			body = body[:i+6] + b.String() + body[i+6:]
		}
	}
	return title, template.HTML(body), nil //nolint:gosec // G203: goldmark's output; raw HTML in the Markdown is not passed through (no html.WithUnsafe)
}

// plainText is a heading's text without its markup.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(src))
		case *ast.String:
			b.Write(t.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// Handler serves the portal's own pages and assets: GET/HEAD Home, GuidesPrefix+slug
// and AssetsPrefix+{portal.css,portal.js,favicon.svg}. Anything else answers 404 (http.NotFound),
// another method 405, so that a wrapping server can answer both in its own format.
func Handler() http.Handler {
	a := loadAssets()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			body        []byte
			contentType string
			cache       = "no-cache"
		)
		switch p := r.URL.Path; {
		case a.pages[p] != nil:
			body, contentType = a.pages[p], "text/html; charset=utf-8"
		case p == stylesheetURL:
			body, contentType, cache = a.css.body, "text/css; charset=utf-8", immutableIfVersioned(r)
		case p == scriptURL:
			body, contentType, cache = a.js.body, "text/javascript; charset=utf-8", immutableIfVersioned(r)
		case p == iconURL:
			body, contentType, cache = a.icon.body, "image/svg+xml", immutableIfVersioned(r)
		default:
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", cache)
		h.Set("ETag", `"portal-`+shortHash(body)+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

// immutableIfVersioned lets a browser keep an asset for good when its URL carries the
// content's hash (as the pages link it).
func immutableIfVersioned(r *http.Request) string {
	if r.URL.Query().Get("v") != "" {
		return "public, max-age=31536000, immutable"
	}
	return "no-cache"
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
