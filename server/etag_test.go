package server_test

import (
	"net/http"
	"strings"
	"testing"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestConditionalGETs: each cacheable GET answers 200 with an ETag and its Cache-Control;
// the same request with that ETag in If-None-Match answers 304 without a body; after a
// change to what it shows (a hold on a listed slot, an operator's edit, a cancellation)
// the old ETag gets a 200 with a new ETag; the mutations themselves are no-store; and
// another partner presenting the ETag never gets a 304 for an answer that differs.
func TestConditionalGETs(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 3}, slotSpec{tables: 3})
		venueID := slots[0].VenueID
		op := e.newOperatorToken("etag-group", []string{venueID})
		rival := e.newToken("etag-restricted")
		if _, err := db.SQL().Exec("UPDATE partners SET all_venues = " + falseLiteral(db) + " WHERE name = 'etag-restricted'"); err != nil {
			t.Fatal(err)
		}
		mutated := func(status int, h http.Header, body []byte, what string) {
			t.Helper()
			if status >= 300 {
				t.Fatalf("%s: %d %s", what, status, body)
			}
			if got := h.Get("Cache-Control"); got != "no-store" || h.Get("ETag") != "" {
				t.Errorf("%s: Cache-Control %q, ETag %q; a mutation's answer is no-store without an ETag", what, got, h.Get("ETag"))
			}
		}
		hold := func(slot store.Slot) string {
			t.Helper()
			status, h, body := e.do("POST", "/v1/reservations", e.token,
				`{"slot_id":"`+slot.ID+`","party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`,
				"Idempotency-Key", key())
			mutated(status, h, body, "hold")
			var r client.Reservation
			decode(t, status, http.StatusCreated, body, &r)
			return r.Id
		}
		reservation := hold(slots[1])

		policies := server.CachePolicies()
		cases := []struct {
			operationID, path string
			// change alters what the path answers, through the API.
			change func()
			// rivalStatus is what the restricted partner gets: never a 304.
			rivalStatus int
		}{
			{"searchAvailability", "/v1/availability?party_size=2&date=" + slots[0].LocalDate + "&venue_id=" + venueID,
				func() { hold(slots[0]) }, http.StatusOK},
			{"listVenues", "/v1/venues", func() {
				status, h, body := e.do("PATCH", "/v1/operator/venues/"+venueID, op, `{"name":"Osteria Rinnovata"}`)
				mutated(status, h, body, "venue edit")
			}, http.StatusOK},
			{"getVenue", "/v1/venues/" + venueID, func() {
				status, h, body := e.do("PATCH", "/v1/operator/venues/"+venueID, op, `{"name":"Osteria Terza"}`)
				mutated(status, h, body, "venue edit")
			}, http.StatusNotFound},
			{"getReservation", "/v1/reservations/" + reservation, func() {
				status, h, body := e.do("POST", "/v1/reservations/"+reservation+"/cancel", e.token, `{}`, "Idempotency-Key", key())
				mutated(status, h, body, "cancel")
			}, http.StatusNotFound},
			// After the search's hold, two more take the last tables of slots[0]: the day
			// has one bookable slot fewer.
			{"getAvailabilityCalendar", "/v1/availability/calendar?party_size=2&from=" + slots[0].LocalDate + "&to=" + slots[0].LocalDate + "&venue_id=" + venueID,
				func() { hold(slots[0]); hold(slots[0]) }, http.StatusNotFound},
		}
		if len(cases) != len(policies) {
			t.Fatalf("%d cases for %d cacheable operations (%v): add the new one here", len(cases), len(policies), policies)
		}
		for _, tc := range cases {
			t.Run(tc.operationID, func(t *testing.T) {
				policy, ok := policies[tc.operationID]
				if !ok {
					t.Fatalf("%s is not cacheable", tc.operationID)
				}
				status, h, body := e.do("GET", tc.path, e.token, "")
				etag := h.Get("ETag")
				if status != http.StatusOK || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 ||
					h.Get("Cache-Control") != policy || !strings.Contains(h.Get("Vary"), "Authorization") {
					t.Fatalf("first GET: %d ETag %q Cache-Control %q Vary %q: %s", status, etag, h.Get("Cache-Control"), h.Get("Vary"), body)
				}
				first := string(body)

				// The same ETag, alone, weak, in a list, or *: 304, no body, same headers.
				for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, `"a,b" ,W/` + etag, "*"} {
					status, h, body := e.do("GET", tc.path, e.token, "", "If-None-Match", inm)
					if status != http.StatusNotModified || len(body) != 0 || h.Get("ETag") != etag ||
						h.Get("Cache-Control") != policy || h.Get("Content-Type") != "" {
						t.Fatalf("If-None-Match %s: %d ETag %q Cache-Control %q Content-Type %q body %q",
							inm, status, h.Get("ETag"), h.Get("Cache-Control"), h.Get("Content-Type"), body)
					}
				}
				// Another ETag, or a malformed list: the full answer, the same bytes.
				for _, inm := range []string{`"other"`, strings.Trim(etag, `"`), `W/"x", ` + strings.Trim(etag, `"`)} {
					status, h, body := e.do("GET", tc.path, e.token, "", "If-None-Match", inm)
					if status != http.StatusOK || h.Get("ETag") != etag || string(body) != first {
						t.Fatalf("If-None-Match %s: %d ETag %q, want 200 with the same answer", inm, status, h.Get("ETag"))
					}
				}

				// Another partner, whose answer differs, presenting this ETag: never 304.
				status, h, body = e.do("GET", tc.path, rival, "", "If-None-Match", etag)
				if status != tc.rivalStatus || h.Get("ETag") == etag {
					t.Fatalf("another partner with this ETag: %d ETag %q, want %d with another answer: %s", status, h.Get("ETag"), tc.rivalStatus, body)
				}
				if status != http.StatusOK && h.Get("Cache-Control") != "no-store" {
					t.Errorf("another partner's %d: Cache-Control %q, want no-store", status, h.Get("Cache-Control"))
				}

				tc.change()
				status, h, body = e.do("GET", tc.path, e.token, "", "If-None-Match", etag)
				changed := h.Get("ETag")
				if status != http.StatusOK || changed == "" || changed == etag || string(body) == first {
					t.Fatalf("after the change, with the old ETag: %d ETag %q (was %q): %s", status, changed, etag, body)
				}
				if status, _, body := e.do("GET", tc.path, e.token, "", "If-None-Match", changed); status != http.StatusNotModified || len(body) != 0 {
					t.Fatalf("the new ETag: %d %q, want 304", status, body)
				}
			})
		}

		// The holds on slots[0] (the search's one, the calendar's two) are in the database,
		// and the slot is no longer offered.
		if taken, active, _ := e.counts(slots[0].ID); taken != 3 || active != 3 {
			t.Fatalf("slot 0: %d tables taken, %d active reservations; want 3 and 3", taken, active)
		}
		// Errors of a cacheable operation keep no-store and carry no ETag.
		status, h, _ := e.do("GET", "/v1/venues/ven_nope", e.token, "", "If-None-Match", "*")
		if status != http.StatusNotFound || h.Get("ETag") != "" || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("a 404 with If-None-Match *: %d ETag %q Cache-Control %q", status, h.Get("ETag"), h.Get("Cache-Control"))
		}
	})
}

// TestConditionalOperationsMatchTheSpec holds server.CachePolicies and the spec
// together: an operation is cacheable exactly when the spec gives it If-None-Match, a 304
// and ETag and Cache-Control on its 200; so a new one (the calendar) needs both.
func TestConditionalOperationsMatchTheSpec(t *testing.T) {
	doc := loadSpec(t)
	policies := server.CachePolicies()
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			_, cacheable := policies[op.OperationID]
			seen[op.OperationID] = true
			has304 := op.Responses.Status(http.StatusNotModified) != nil
			hasParam := op.Parameters.GetByInAndName("header", "If-None-Match") != nil
			ok200 := false
			if r := op.Responses.Status(http.StatusOK); r != nil && r.Value != nil {
				ok200 = r.Value.Headers["ETag"] != nil && r.Value.Headers["Cache-Control"] != nil
			}
			if cacheable != has304 || cacheable != hasParam || cacheable && !ok200 || !cacheable && ok200 {
				t.Errorf("%s %s (%s): cacheable %v, but the spec has 304 %v, If-None-Match %v, ETag and Cache-Control on 200 %v",
					method, path, op.OperationID, cacheable, has304, hasParam, ok200)
			}
			if cacheable && method != http.MethodGet {
				t.Errorf("%s %s: only GETs are cacheable", method, path)
			}
		}
	}
	for id := range policies {
		if !seen[id] {
			t.Errorf("server.CachePolicies names %s, which the spec does not have", id)
		}
		if !strings.HasPrefix(policies[id], "private, ") {
			t.Errorf("%s: Cache-Control %q; answers are per partner, so private", id, policies[id])
		}
	}
}
