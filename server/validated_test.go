package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/prima-dining/partner-api/store/storetest"
)

// A read that passed validation is remembered (validatedRequests), so the same read
// again skips it. Each read here is sent three times, in turns, valid ones beside
// invalid ones of the same operation and path: every answer must be the one the first
// turn gave, which is the one validation gives.
func TestRepeatedReadsAreCheckedAsTheFirst(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	venue, slots := e.addVenue(slotSpec{tables: 2})
	date := slots[0].LocalDate
	search := "/v1/availability?date=" + date + "&party_size=2"
	reads := []struct {
		path        string
		status      int
		code, param string
	}{
		{search, http.StatusOK, "", ""},
		{search + "&limit=1000", http.StatusBadRequest, "parameter_invalid", "limit"},
		{search + "&stauts=held", http.StatusBadRequest, "parameter_unknown", "stauts"},
		{"/v1/availability?date=" + date + "&party_size=0", http.StatusBadRequest, "parameter_invalid", "party_size"},
		{search + "&limit=1", http.StatusOK, "", ""},
		{"/v1/venues/" + venue.ID, http.StatusOK, "", ""},
		{"/v1/venues/" + url.PathEscape(venue.ID+"\x00"), http.StatusBadRequest, "parameter_invalid", "venue_id"},
		{"/v1/reservations?limit=5", http.StatusOK, "", ""},
		{"/v1/reservations?limit=0", http.StatusBadRequest, "parameter_invalid", "limit"},
		{"/v1/reservations", http.StatusOK, "", ""},
	}
	for turn := 1; turn <= 3; turn++ {
		for _, r := range reads {
			status, _, body := e.do("GET", r.path, e.token, "")
			if status != r.status {
				t.Fatalf("turn %d: GET %s: %d, want %d: %s", turn, r.path, status, r.status, body)
			}
			if r.code == "" {
				continue
			}
			if got := apiError(t, body); got.Code != r.code || got.Param == nil || *got.Param != r.param {
				t.Fatalf("turn %d: GET %s: %s (param %v), want %s (param %s)", turn, r.path, got.Code, got.Param, r.code, r.param)
			}
		}
	}
	// A partner's own answers stay its own: another partner's token on a remembered read
	// is authenticated and scoped as before (the memory keeps validation only).
	other := e.newToken("ptn_other", "availability:read")
	if status, _, body := e.do("GET", "/v1/reservations?limit=5", other, ""); status != http.StatusForbidden {
		t.Fatalf("a token without reservations:read on a remembered read: %d %s", status, body)
	}
}
