package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestIdempotentHoldReplaysAndRefusesAnotherBody(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 5})
		body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID)
		k := key()

		s1, h1, b1 := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", k)
		// The same request again, re-serialised with other spacing: replayed, not re-run.
		s2, h2, b2 := e.do("POST", "/v1/reservations", e.token, strings.ReplaceAll(body, ",", ", "), "Idempotency-Key", k)
		if s1 != http.StatusCreated || s2 != http.StatusCreated || !bytes.Equal(b1, b2) {
			t.Fatalf("first %d %s\nreplay %d %s", s1, b1, s2, b2)
		}
		if h2.Get("Idempotent-Replayed") != "true" || h1.Get("Idempotent-Replayed") != "" {
			t.Fatalf("Idempotent-Replayed: first %q, replay %q", h1.Get("Idempotent-Replayed"), h2.Get("Idempotent-Replayed"))
		}
		other := strings.Replace(body, `"party_size":2`, `"party_size":3`, 1)
		s3, _, b3 := e.do("POST", "/v1/reservations", e.token, other, "Idempotency-Key", k)
		if s3 != http.StatusUnprocessableEntity || apiError(t, b3).Code != "idempotency_key_reused" {
			t.Fatalf("other body: %d %s", s3, b3)
		}
		// Keys are per partner: another partner's same key is a new request.
		s4, _, _ := e.do("POST", "/v1/reservations", e.newToken("other-partner"), body, "Idempotency-Key", k)
		if s4 != http.StatusCreated {
			t.Fatalf("another partner's key: %d", s4)
		}
		if taken, active, total := e.counts(slots[0].ID); taken != 2 || active != 2 || total != 2 {
			t.Fatalf("database: tables_taken=%d active=%d total=%d, want 2, 2, 2", taken, active, total)
		}
	})
}

func TestConcurrentRequestsWithOneKeyHoldOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 30})
		k := key()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[string]int{}
			bodies   = map[string]bool{}
			start    = make(chan struct{})
		)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := e.client.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: k}, holdBody(slots[0].ID, 2))
				if err != nil {
					t.Error(err)
					return
				}
				label := statusOf(r)
				if r.JSON409 != nil {
					label += " " + r.JSON409.Error.Code
				}
				mu.Lock()
				statuses[label]++
				if r.JSON201 != nil {
					bodies[string(r.Body)] = true
				}
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if statuses["201"] < 1 || statuses["201"]+statuses["409 idempotency_key_in_use"] != 20 || len(bodies) != 1 {
			t.Fatalf("answers %v with %d distinct 201 bodies; want only 201 (one body) and 409 idempotency_key_in_use", statuses, len(bodies))
		}
		if taken, active, total := e.counts(slots[0].ID); taken != 1 || active != 1 || total != 1 {
			t.Fatalf("database: tables_taken=%d active=%d total=%d, want one reservation", taken, active, total)
		}
	})
}

func TestBadInputsAnswerInTheErrorFormatAndChangeNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2, minP: 2, maxP: 4})
		good := func(edit func(m map[string]any)) string {
			m := map[string]any{
				"slot_id": slots[0].ID, "party_size": 2,
				"guest": map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+12125550143"},
			}
			if edit != nil {
				edit(m)
			}
			b, _ := json.Marshal(m)
			return string(b)
		}
		guestField := func(k string, v any) func(map[string]any) {
			return func(m map[string]any) { m["guest"].(map[string]any)[k] = v }
		}
		huge := good(func(m map[string]any) { m["notes"] = strings.Repeat("x", 1<<20) })
		cases := []struct {
			name, method, path, body string
			headers                  []string
			status                   int
			code, param              string
		}{
			{"party size of the wrong type", "POST", "/v1/reservations", good(func(m map[string]any) { m["party_size"] = "two" }), nil, 400, "parameter_invalid", "party_size"},
			{"party size above the spec's maximum", "POST", "/v1/reservations", good(func(m map[string]any) { m["party_size"] = 21 }), nil, 400, "parameter_invalid", "party_size"},
			{"party size outside the slot's range", "POST", "/v1/reservations", good(func(m map[string]any) { m["party_size"] = 6 }), nil, 400, "party_size_out_of_range", "party_size"},
			{"missing field", "POST", "/v1/reservations", good(func(m map[string]any) { delete(m, "slot_id") }), nil, 400, "parameter_missing", "slot_id"},
			{"missing nested field", "POST", "/v1/reservations", good(func(m map[string]any) { delete(m["guest"].(map[string]any), "email") }), nil, 400, "parameter_missing", "guest.email"},
			{"unknown field", "POST", "/v1/reservations", good(func(m map[string]any) { m["table_number"] = 7 }), nil, 400, "parameter_unknown", "table_number"},
			{"unknown nested field", "POST", "/v1/reservations", good(guestField("age", 40)), nil, 400, "parameter_unknown", "guest.age"},
			{"bad email", "POST", "/v1/reservations", good(guestField("email", "ada-at-example")), nil, 400, "parameter_invalid", "guest.email"},
			{"bad phone", "POST", "/v1/reservations", good(guestField("phone", "555-0143")), nil, 400, "parameter_invalid", "guest.phone"},
			{"malformed JSON", "POST", "/v1/reservations", `{"slot_id": `, nil, 400, "body_invalid", ""},
			{"JSON that is not an object", "POST", "/v1/reservations", `[1,2]`, nil, 400, "body_invalid", ""},
			{"body over 1 MB", "POST", "/v1/reservations", huge, nil, 413, "body_too_large", ""},
			{"not JSON", "POST", "/v1/reservations", "slot_id=x", []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
			{"missing Idempotency-Key", "POST", "/v1/reservations", good(nil), []string{"Idempotency-Key", ""}, 400, "idempotency_key_missing", "Idempotency-Key"},
			{"unknown slot", "POST", "/v1/reservations", good(func(m map[string]any) { m["slot_id"] = "slot_nope" }), nil, 404, "resource_missing", "slot_id"},
			{"bad date", "GET", "/v1/availability?date=2026-02-30x&party_size=2", "", nil, 400, "parameter_invalid", "date"},
			{"missing date", "GET", "/v1/availability?party_size=2", "", nil, 400, "parameter_missing", "date"},
			{"party size not a number", "GET", "/v1/availability?date=2026-12-04&party_size=two", "", nil, 400, "parameter_invalid", "party_size"},
			{"limit too large", "GET", "/v1/venues?limit=1000", "", nil, 400, "parameter_invalid", "limit"},
			{"bad time", "GET", "/v1/availability?date=2026-12-04&party_size=2&time_from=7pm", "", nil, 400, "parameter_invalid", "time_from"},
			{"time_to before time_from", "GET", "/v1/availability?date=2026-12-04&party_size=2&time_from=20:00&time_to=18:00", "", nil, 400, "parameter_invalid", "time_to"},
			{"unknown enum", "GET", "/v1/reservations?status=lost", "", nil, 400, "parameter_invalid", "status"},
			{"unknown cursor", "GET", "/v1/venues?starting_after=ven_nope", "", nil, 400, "parameter_invalid", "starting_after"},
			{"unknown route", "GET", "/v1/tables", "", nil, 404, "route_not_found", ""},
			{"wrong method", "DELETE", "/v1/reservations", "", nil, 405, "method_not_allowed", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				headers := append([]string{"Idempotency-Key", key()}, tc.headers...)
				status, _, body := e.do(tc.method, tc.path, e.token, tc.body, headers...)
				if status != tc.status {
					t.Fatalf("status %d, want %d: %s", status, tc.status, body)
				}
				d := apiError(t, body)
				if d.Code != tc.code || (tc.param != "" && (d.Param == nil || *d.Param != tc.param)) {
					t.Fatalf("code %q param %v, want %q %q: %s", d.Code, d.Param, tc.code, tc.param, body)
				}
			})
		}
		if taken, active, total := e.counts(slots[0].ID); taken != 0 || active != 0 || total != 0 {
			t.Fatalf("database changed: tables_taken=%d active=%d total=%d", taken, active, total)
		}
	})
}

func TestAuthenticationAndScopes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		_, slots := e.addVenue(slotSpec{tables: 2})

		revoked, revokedTok, _ := e.tokens.Create(ctx, access.CreateParams{Partner: "acme-rewards"})
		if err := e.tokens.Revoke(ctx, revokedTok.ID); err != nil {
			t.Fatal(err)
		}
		expired, _, _ := e.tokens.Create(ctx, access.CreateParams{Partner: "acme-rewards", ExpiresIn: time.Millisecond})
		time.Sleep(5 * time.Millisecond)
		unknown := access.TokenPrefix + strings.Repeat("A", 40) // right shape, wrong checksum
		cases := []struct {
			name, header string
			code         string
		}{
			{"missing", "", "authentication_required"},
			{"not bearer", "Basic dXNlcjpwYXNz", "token_invalid"},
			{"malformed", "Bearer hello", "token_invalid"},
			{"unknown", "Bearer " + unknown, "token_invalid"},
			{"revoked", "Bearer " + revoked, "token_revoked"},
			{"expired", "Bearer " + expired, "token_expired"},
		}
		for _, tc := range cases {
			status, h, body := e.do("GET", "/v1/venues", "", "", "Authorization", tc.header)
			if status != http.StatusUnauthorized || apiError(t, body).Code != tc.code || h.Get("WWW-Authenticate") == "" {
				t.Errorf("%s token: %d %s", tc.name, status, body)
			}
		}

		readOnly := e.newToken("acme-rewards", access.ScopeVenuesRead, access.ScopeAvailabilityRead)
		status, _, body := e.do("POST", "/v1/reservations", readOnly, fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"A","last_name":"B","email":"a@b.co","phone":"+12125550143"}}`, slots[0].ID), "Idempotency-Key", key())
		if status != http.StatusForbidden || apiError(t, body).Code != "insufficient_scope" {
			t.Errorf("missing scope: %d %s", status, body)
		}
		if taken, _, total := e.counts(slots[0].ID); taken != 0 || total != 0 {
			t.Fatalf("a refused request changed the database")
		}

		// Another partner's reservation is a 404 exactly like one that does not exist.
		mine, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if mine.JSON201 == nil {
			t.Fatalf("hold: %s", mine.Body)
		}
		rival := e.newToken("rival-concierge")
		for _, path := range []string{"/v1/reservations/" + mine.JSON201.Id, "/v1/reservations/res_01jzzzzzzzzzzzzzzzzzzzzzzz"} {
			status, _, body := e.do("GET", path, rival, "")
			d := apiError(t, body)
			if status != http.StatusNotFound || d.Code != "resource_missing" || *d.Param != "reservation_id" {
				t.Errorf("GET %s as another partner: %d %s", path, status, body)
			}
		}
		status, _, body = e.do("POST", "/v1/reservations/"+mine.JSON201.Id+"/cancel", rival, "", "Idempotency-Key", key())
		if status != http.StatusNotFound {
			t.Errorf("cancel another partner's reservation: %d %s", status, body)
		}
		list, _ := e.clientFor(rival).ListReservationsWithResponse(ctx, &client.ListReservationsParams{})
		if list.JSON200 == nil || len(list.JSON200.Data) != 0 {
			t.Errorf("another partner's list shows %s", list.Body)
		}

		// The token table holds hashes, never the secrets.
		rows, err := db.ListTokens(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			raw, _ := json.Marshal(r)
			for _, secret := range []string{e.token, revoked, expired, readOnly, rival} {
				if strings.Contains(string(raw), secret) {
					t.Fatalf("token row %s stores a secret in plain text", r.ID)
				}
			}
		}
		sum := sha256.Sum256([]byte(e.token))
		if _, err := db.GetTokenByHash(ctx, hex.EncodeToString(sum[:])); err != nil {
			t.Fatalf("the token's SHA-256 is not what is stored: %v", err)
		}
	})
}

func TestRevokedTokenStopsOnTheNextRequest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		secret, tok, _ := e.tokens.Create(ctx, access.CreateParams{Partner: "acme-rewards"})
		if status, _, _ := e.do("GET", "/v1/venues", secret, ""); status != http.StatusOK {
			t.Fatalf("before revocation: %d", status)
		}
		if err := e.tokens.Revoke(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if status, _, body := e.do("GET", "/v1/venues", secret, ""); status != http.StatusUnauthorized || apiError(t, body).Code != "token_revoked" {
			t.Fatalf("after revocation: %d %s", status, body)
		}
		listed, _ := e.tokens.List(ctx, "acme-rewards")
		for _, l := range listed {
			if l.ID == tok.ID && (l.LastUsedAt == nil || l.RevokedAt == nil) {
				t.Fatalf("token list shows last_used_at=%v revoked_at=%v", l.LastUsedAt, l.RevokedAt)
			}
		}
	})
}

func TestEveryResponseCarriesARequestID(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, path := range []string{"/healthz", "/readyz", "/v1/venues", "/v1/nowhere", "/v1/openapi.json"} {
			_, h, body := e.do("GET", path, e.token, "")
			if !strings.HasPrefix(h.Get("Request-Id"), "req_") {
				t.Errorf("%s: no Request-Id", path)
			}
			if strings.HasPrefix(string(body), `{"error"`) && apiError(t, body).RequestId != h.Get("Request-Id") {
				t.Errorf("%s: request_id differs from the header", path)
			}
		}
	})
}
