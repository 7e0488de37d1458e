package server

import (
	"net/http/httptest"
	"testing"
)

// What validation writes into a request (a default of its query) is written again when
// the request is one that passed before and is not validated again.
func TestRememberedReadsGetTheDefaultsValidationWrites(t *testing.T) {
	sp, err := parsedSpec()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{validated: newValidatedRequests()}
	for turn := 1; turn <= 3; turn++ {
		req := httptest.NewRequest("GET", "/v1/reservations?status=held", nil)
		route, params, err := sp.router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.checkRequest(req, route, params, nil); err != nil {
			t.Fatalf("turn %d: %v", turn, err)
		}
		if q := req.URL.Query(); q.Get("limit") != "20" || q.Get("status") != "held" {
			t.Fatalf("turn %d: the query after the checks is %q, want the default limit=20 beside status=held", turn, req.URL.RawQuery)
		}
	}
	if n := s.validated.queries.Len(); n != 1 {
		t.Fatalf("%d requests remembered, want the one", n)
	}
}
