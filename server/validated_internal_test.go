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

// A request's key tells apart how its bytes fall between its path, query and headers,
// even for bytes a parsed URL or header cannot hold: no request takes another's pass.
func TestValidatedRequestKeysAreUnambiguous(t *testing.T) {
	sp, err := parsedSpec()
	if err != nil {
		t.Fatal(err)
	}
	v := newValidatedRequests()
	keyOf := func(path, query string, etags ...string) string {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		route, _, err := sp.router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = query
		for _, e := range etags {
			req.Header.Add("If-None-Match", e)
		}
		key, ok := v.key(req, route, nil)
		if !ok {
			t.Fatalf("GET %s?%s is not remembered", path, query)
		}
		return key
	}
	venue := "/v1/venues/ven_1"
	keys := map[string]string{
		"etag x":                       keyOf(venue, "", `"x"`),
		"etags a, b":                   keyOf(venue, "", "a", "b"),
		"etag a NUL b":                 keyOf(venue, "", "a\x00b"),
		"etag x,y":                     keyOf(venue, "", `"x", "y"`),
		"no etag":                      keyOf(venue, ""),
		"query q, etag x then a name":  keyOf(venue, "q", "x\nIf-None-Match"),
		"the etag in the query":        keyOf(venue, "q\nIf-None-Match\x00x"),
		"the etag in the query, sized": keyOf(venue, "q 13:If-None-Match1 1:x"),
		"another venue":                keyOf("/v1/venues/ven_2", ""),
	}
	seen := map[string]string{}
	for name, key := range keys {
		if other, ok := seen[key]; ok {
			t.Fatalf("%q and %q share the key %q", name, other, key)
		}
		seen[key] = name
	}
}
