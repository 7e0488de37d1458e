package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/docs/portal"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestPortalPagesAnswerWithTheirNavigation opens every page of the portal through the
// real router: 200, HTML, the docs' Content-Security-Policy, and the navigation that
// leads to every guide, both references and the error codes.
func TestPortalPagesAnswerWithTheirNavigation(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	pages := []string{portal.Home, portal.Reference, portal.OperatorRef, portal.Errors}
	for _, g := range portal.Guides {
		pages = append(pages, portal.GuidesPrefix+g.Slug)
	}
	for _, path := range pages {
		status, h, body := e.do("GET", path, "", "")
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", path, status, h.Get("Content-Type"))
			continue
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
		page := string(body)
		for _, href := range append([]string{portal.Home, portal.Reference, portal.OperatorRef, portal.Errors}, guideLinks()...) {
			if !strings.Contains(page, `href="`+href+`"`) {
				t.Errorf("GET %s: the navigation has no link to %s", path, href)
			}
		}
		if !strings.Contains(page, `href="`+path+`" aria-current="page"`) {
			t.Errorf("GET %s: its own navigation entry is not marked current", path)
		}
		// No inline script: every <script> loads a file of this origin.
		if strings.Contains(page, "<script>") || strings.Contains(page, "<script type") || strings.Contains(page, " style=") {
			t.Errorf("GET %s: inline script or style", path)
		}
	}
}

func guideLinks() []string {
	var out []string
	for _, g := range portal.Guides {
		out = append(out, portal.GuidesPrefix+g.Slug)
	}
	return out
}

// TestPortalReferencesLoadTheirDocuments: the reference loads the partner document, the
// operator reference the operator document (their generated init.js say which).
func TestPortalReferencesLoadTheirDocuments(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	for mount, spec := range map[string]string{portal.Reference: "/v1/openapi.json", portal.OperatorRef: "/v1/operator/openapi.json"} {
		status, _, js := e.do("GET", mount+"init.js", "", "")
		if status != http.StatusOK || !strings.Contains(string(js), `"url": "`+spec+`"`) || !strings.Contains(string(js), "primaCodeSamples") {
			t.Errorf("%sinit.js: %d, does not load %s with the code samples plugin:\n%s", mount, status, spec, js)
		}
	}
}

// TestUnknownDocsPathsAnswerInTheErrorFormat: an unknown guide, page or asset under /docs/
// is a 404 in the API's error format, as every unknown route is.
func TestUnknownDocsPathsAnswerInTheErrorFormat(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	for _, path := range []string{"/docs/guides/nope", "/docs/guides/", "/docs/nope", "/docs/reference/nope.js", "/docs/operator/nope", "/docs/assets/nope.css", "/docs/swagger-ui.css"} {
		status, h, body := e.do("GET", path, "", "")
		var answer struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if status != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "application/json") ||
			json.Unmarshal(body, &answer) != nil || answer.Error.Code != "route_not_found" ||
			!strings.Contains(answer.Error.Message, "/docs/") {
			t.Errorf("GET %s: %d %s %s", path, status, h.Get("Content-Type"), body)
		}
	}
}

// TestDocsRedirects: the bare paths and / lead to the portal.
func TestDocsRedirects(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for from, to := range map[string]string{"/": "/docs/", "/docs": "/docs/", "/docs/reference": "/docs/reference/", "/docs/operator": "/docs/operator/"} {
		res, err := client.Get(e.srv.URL + from)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode/100 != 3 || res.Header.Get("Location") != to {
			t.Errorf("GET %s: %d to %q, want a redirect to %s", from, res.StatusCode, res.Header.Get("Location"), to)
		}
	}
}
