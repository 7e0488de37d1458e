package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/store/storetest"
)

// TestEveryAnswerCarriesNosniff covers answers written by every layer: a handler, the
// error handler (validation, auth, unknown routes, 405), the docs and health.
func TestEveryAnswerCarriesNosniff(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	cases := []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/v1/venues", e.token, 200},
		{"GET", "/v1/venues?limit=banana", e.token, 400},
		{"GET", "/v1/venues", "", 401},
		{"GET", "/v1/venues", "prima_pat_nope", 401},
		{"GET", "/v1/nowhere", e.token, 404},
		{"GET", "/no/such/route", "", 404},
		{"DELETE", "/v1/venues", e.token, 405},
		{"GET", "/v1/openapi.json", "", 200},
		{"GET", "/docs/", "", 200},
		{"GET", "/docs/reference/swagger-ui.css", "", 200},
		{"GET", "/docs/errors", "", 200},
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
	}
	for _, tc := range cases {
		status, h, body := e.do(tc.method, tc.path, tc.token, "")
		if status != tc.want {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, status, tc.want, body)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q", tc.method, tc.path, status, got)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS on a server published over http", tc.method, tc.path)
		}
	}
}

// TestAuthenticatedAnswersAreNotStored: every answer to a call with a token is no-store,
// except the 200s of the cacheable GETs (etag_test.go).
func TestAuthenticatedAnswersAreNotStored(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	_, slots := e.addVenue(slotSpec{tables: 1})
	for _, tc := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/v1/tokens/current", e.token, "", 200},
		{"GET", "/v1/reservations", e.token, "", 200},
		{"GET", "/v1/reservations/res_nope", e.token, "", 404},
		{"GET", "/v1/venues/ven_nope", e.token, "", 404}, // cacheable operations' errors too
		{"POST", "/v1/reservations", e.token, `{"slot_id":"` + slots[0].ID + `","party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, 201},
		{"GET", "/v1/venues", "prima_pat_nope", "", 401},
	} {
		status, h, body := e.do(tc.method, tc.path, tc.token, tc.body, "Idempotency-Key", key())
		if status != tc.want {
			t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, status, tc.want, body)
		}
		if got := h.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s (%d): Cache-Control %q, want no-store", tc.method, tc.path, status, got)
		}
	}
	// The docs keep their own caching.
	if _, h, _ := e.do("GET", "/docs/reference/swagger-ui.css", "", ""); !strings.Contains(h.Get("Cache-Control"), "max-age") {
		t.Errorf("docs asset: Cache-Control %q", h.Get("Cache-Control"))
	}
}

func TestDocsPagesHaveAContentSecurityPolicy(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	for _, path := range []string{"/docs/", "/docs/errors"} {
		status, h, _ := e.do("GET", path, "", "")
		csp := h.Get("Content-Security-Policy")
		if status != http.StatusOK || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: %d, Content-Security-Policy %q", path, status, csp)
		}
	}
}

func TestHSTSWhenPublishedOverHTTPS(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), withPublicURL("https://api.prima.example"))
	for _, path := range []string{"/v1/venues", "/no/such/route", "/docs/", "/healthz"} {
		_, h, _ := e.do("GET", path, e.token, "")
		if got := h.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
			t.Errorf("%s: Strict-Transport-Security %q", path, got)
		}
	}
}
