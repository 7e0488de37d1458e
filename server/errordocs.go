package server

import (
	"cmp"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

var errorDocsPage = template.Must(template.New("errors").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PRIMA Partner API — Errors</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.5rem;text-align:left;vertical-align:top}tr:target{background:#fff7d6}</style></head>
<body><h1>Errors</h1>
<p>Every non-2xx response has the body <code>{"error": {"type", "code", "message", "param", "doc_url", "request_id"}}</code>.
Branch on <code>code</code>; show <code>message</code> to people. Quote <code>request_id</code> when you contact PRIMA.
The <a href="/docs/">API reference</a> lists which codes each operation can return.</p>
<table><thead><tr><th>code</th><th>status</th><th>type</th><th>meaning</th><th>what to do</th></tr></thead><tbody>
{{range .}}<tr id="{{.Code}}"><td><a href="#{{.Code}}"><code>{{.Code}}</code></a></td><td>{{.Status}}</td><td><code>{{.Type}}</code></td><td>{{.Meaning}}</td><td>{{.Remedy}}</td></tr>
{{end}}</tbody></table></body></html>`))

type errorDoc struct {
	Code    Code
	Status  int
	Type    string
	Meaning template.HTML // the spec's Markdown words, code spans rendered (inlineCode)
	Remedy  template.HTML
}

// inlineCode renders the one piece of Markdown the error texts use, `code` spans, as
// <code> elements, and escapes everything else.
func inlineCode(text string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(text, "`") {
		if i%2 == 1 {
			b.WriteString("<code>" + template.HTMLEscapeString(part) + "</code>")
		} else {
			b.WriteString(template.HTMLEscapeString(part))
		}
	}
	return template.HTML(b.String()) //nolint:gosec // G203: every piece above is escaped
}

// errorTableRow matches a row of the error table in the spec's introduction, whose last
// column says what the code means: the page shows the spec's words, not a copy of them.
var errorTableRow = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| [a-z_]+ \\| [0-9]{3} \\| (.+) \\|$")

// meanings reads each code's meaning from the spec's introduction.
func meanings(description string) map[Code]string {
	out := map[Code]string{}
	for _, m := range errorTableRow.FindAllStringSubmatch(description, -1) {
		out[Code(m[1])] = m[2]
	}
	return out
}

// specMeanings is meanings of the embedded spec, read once.
var specMeanings = sync.OnceValue(func() map[Code]string {
	doc, err := loadSpec()
	if err != nil {
		return map[Code]string{} // New refuses an invalid spec, so this does not happen
	}
	return meanings(doc.Info.Description)
})

// errorDocs serves /docs/errors: every code of the catalogue, at the anchor its doc_url
// points to, with what it means (from the spec) and what to do (the catalogue's message).
func (s *Server) errorDocs(c echo.Context) error {
	rows := make([]errorDoc, 0, len(Catalogue))
	for code, e := range Catalogue {
		rows = append(rows, errorDoc{Code: code, Status: e.Status, Type: string(e.Type),
			Meaning: inlineCode(specMeanings()[code]), Remedy: inlineCode(e.Message)})
	}
	slices.SortFunc(rows, func(a, b errorDoc) int {
		return cmp.Or(cmp.Compare(a.Status, b.Status), cmp.Compare(a.Code, b.Code))
	})
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return errorDocsPage.Execute(c.Response(), rows)
}
