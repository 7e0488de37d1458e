package server

import (
	"bytes"
	"cmp"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/prima-dining/partner-api/docs/portal"
)

// errorDocsTable is the content of /docs/errors; the portal lays it out with its
// navigation (portal.Render).
var errorDocsTable = template.Must(template.New("errors").Parse(`<h1>Error codes</h1>
<p>Every non-2xx response has the body <code>{"error": {"type", "code", "message", "param", "doc_url", "request_id"}}</code>.
Branch on <code>code</code>; show <code>message</code> to people. Quote <code>request_id</code> when you contact PRIMA.
<a href="/docs/guides/errors">Errors</a> explains the format and when to retry; the <a href="/docs/reference/">API reference</a> lists which codes each operation can return.</p>
<table class="errors"><thead><tr><th>code</th><th>status</th><th>type</th><th>meaning</th><th>what to do</th></tr></thead><tbody>
{{range .}}<tr id="{{.Code}}"><td><a href="#{{.Code}}"><code>{{.Code}}</code></a></td><td>{{.Status}}</td><td><code>{{.Type}}</code></td><td>{{.Meaning}}</td><td>{{.Remedy}}</td></tr>
{{end}}</tbody></table>`))

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

// errorTableRow matches a row of the portal's table of error codes
// (docs/portal/pages/error-codes.md), whose last column says what the code means: the
// page shows those words, not a copy of them.
var errorTableRow = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| [a-z_]+ \\| [0-9]{3} \\| (.+) \\|$")

// meanings reads each code's meaning from the Markdown table.
func meanings(description string) map[Code]string {
	out := map[Code]string{}
	for _, m := range errorTableRow.FindAllStringSubmatch(description, -1) {
		out[Code(m[1])] = m[2]
	}
	return out
}

// codeMeanings is meanings of the portal's table, read once.
var codeMeanings = sync.OnceValue(func() map[Code]string {
	src, _ := portal.Markdown("error-codes") // embedded; the portal's tests make sure it is there
	return meanings(src)
})

// errorDocs serves /docs/errors: every code of the catalogue, at the anchor its doc_url
// points to, with what it means (from the portal's table) and what to do (the
// catalogue's message), in the portal's layout.
func (s *Server) errorDocs(c echo.Context) error {
	page, err := errorDocsPage()
	if err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, page)
}

// errorDocsPage renders /docs/errors.
func errorDocsPage() ([]byte, error) {
	rows := make([]errorDoc, 0, len(Catalogue))
	for code, e := range Catalogue {
		rows = append(rows, errorDoc{Code: code, Status: e.Status, Type: string(e.Type),
			Meaning: inlineCode(codeMeanings()[code]), Remedy: inlineCode(e.Message)})
	}
	slices.SortFunc(rows, func(a, b errorDoc) int {
		return cmp.Or(cmp.Compare(a.Status, b.Status), cmp.Compare(a.Code, b.Code))
	})
	var table bytes.Buffer
	if err := errorDocsTable.Execute(&table, rows); err != nil {
		return nil, err
	}
	return portal.Render(portal.Page{Path: portal.Errors, Title: "Error codes",
		Body: template.HTML(table.String())}) //nolint:gosec // G203: rendered by html/template above
}
