package server_test

import (
	"html"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestErrorDocsExplainEveryCodeAtItsAnchor reads /docs/errors: every code of the
// catalogue has its row at its anchor, with what it means and what to do, its code spans
// rendered as <code> (not as literal backticks), and nothing else taken as markup.
func TestErrorDocsExplainEveryCodeAtItsAnchor(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	status, h, body := e.do("GET", "/docs/errors", "", "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs/errors: %d %s", status, h.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "<code>param</code>") {
		t.Error("no rendered code span (<code>param</code>) on the page")
	}
	// The layout loads the portal's one script; the catalogue's texts bring none.
	if table := string(body)[strings.Index(string(body), "<table"):]; strings.Contains(table, "<script") {
		t.Error("markup from the texts reached the page")
	}
	page := html.UnescapeString(string(body))
	for code, entry := range server.Catalogue {
		row := `<tr id="` + string(code) + `">`
		i := strings.Index(page, row)
		if i < 0 {
			t.Errorf("no anchor for %s", code)
			continue
		}
		end := strings.Index(page[i:], "</tr>")
		cells := strings.Split(page[i:i+end], "<td>")
		// code, status, type, meaning, what to do
		if len(cells) != 6 || strings.TrimSpace(strings.TrimSuffix(cells[4], "</td>")) == "" || !strings.Contains(cells[5], firstWords(strings.ReplaceAll(entry.Message, "`", ""))) {
			t.Errorf("%s: the row lacks its meaning or what to do: %s", code, page[i:i+end])
		}
		// Markdown code spans are rendered, not shown as backticks.
		if strings.Contains(page[i:i+end], "`") {
			t.Errorf("%s: a literal backtick in its row: %s", code, page[i:i+end])
		}
	}
}

func firstWords(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
