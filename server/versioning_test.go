package server_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestEveryAnswerCarriesTheAPIVersion(t *testing.T) {
	want := loadSpec(t).Info.Version
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, c := range []struct {
			method, path, token string
			status              int
		}{
			{"GET", "/v1/venues", e.token, http.StatusOK},
			{"GET", "/v1/venues", "", http.StatusUnauthorized},
			{"GET", "/v1/reservations/res_nope", e.token, http.StatusNotFound},
			{"GET", "/v1/nowhere", e.token, http.StatusNotFound},
			{"GET", "/healthz", "", http.StatusOK},
			{"GET", "/v1/openapi.json", "", http.StatusOK},
		} {
			status, h, body := e.do(c.method, c.path, c.token, "")
			if status != c.status || h.Get("API-Version") != want {
				t.Errorf("%s %s: %d, API-Version %q; want %d, %q\n%s", c.method, c.path, status, h.Get("API-Version"), c.status, want, body)
			}
		}
	})
}

// TestChangelogRecordsTheSpecVersion: every version of the contract has its entry.
func TestChangelogRecordsTheSpecVersion(t *testing.T) {
	b, err := os.ReadFile("../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	if v := loadSpec(t).Info.Version; !strings.Contains(string(b), "## "+v+" ") {
		t.Fatalf("CHANGELOG.md has no \"## %s (date)\" entry for the spec's info.version", v)
	}
}
