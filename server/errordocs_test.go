package server_test

import (
	"html"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestErrorDocsExplainEveryCodeAtItsAnchor(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	status, h, body := e.do("GET", "/docs/errors", "", "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs/errors: %d %s", status, h.Get("Content-Type"))
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
		if len(cells) != 6 || strings.TrimSpace(strings.TrimSuffix(cells[4], "</td>")) == "" || !strings.Contains(cells[5], firstWords(entry.Message)) {
			t.Errorf("%s: the row lacks its meaning or what to do: %s", code, page[i:i+end])
		}
	}
}

func firstWords(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
