package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestIdempotentHoldResumesAfterCrashBetweenCommitAndAnswer kills a hold right after its
// transaction committed the reservation and the key's recovery point, before any answer
// was stored or sent (for a prime slot: before its payment intent was created). The retry
// with the same key is refused while the dead request's lease runs, then resumes: the same
// reservation, one table taken, one payment intent; a retry after that replays it.
func TestIdempotentHoldResumesAfterCrashBetweenCommitAndAnswer(t *testing.T) {
	for _, prime := range []bool{false, true} {
		t.Run(fmt.Sprintf("prime=%v", prime), func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, db *store.DB) {
				e := newEnv(t, db)
				_, slots := e.addVenue(slotSpec{tables: 5, prime: prime})
				body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID)
				k := key()
				var crashed atomic.Int32
				idempotency.SetCrashHook(func(key, point string) {
					if key == k && point == idempotency.PointHeld {
						crashed.Add(1)
						panic(http.ErrAbortHandler) // the connection drops: no answer, nothing stored
					}
				})
				t.Cleanup(func() { idempotency.SetCrashHook(nil) })
				e.postDropped(t, "/v1/reservations", e.token, body, k)
				idempotency.SetCrashHook(nil)
				if crashed.Load() != 1 {
					t.Fatalf("crash hook ran %d times", crashed.Load())
				}
				if taken, active, total := e.counts(slots[0].ID); taken != 1 || active != 1 || total != 1 {
					t.Fatalf("after the crash: tables_taken=%d active=%d total=%d, want 1, 1, 1", taken, active, total)
				}

				// At once: the dead request still owns the key.
				s, _, b := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", k)
				if s != http.StatusConflict || apiError(t, b).Code != "idempotency_key_in_use" {
					t.Fatalf("retry within the lease: %d %s", s, b)
				}
				// After the lease (ended here by the clock of the row): resumed, not re-run.
				if _, err := db.SQL().Exec(`UPDATE idempotency_keys SET locked_until = created_at`); err != nil {
					t.Fatal(err)
				}
				s1, _, b1 := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", k)
				s2, h2, b2 := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", k)
				if s1 != http.StatusCreated || s2 != http.StatusCreated || string(b1) != string(b2) || h2.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("resumed %d %s\nreplayed %d %s", s1, b1, s2, b2)
				}
				var got struct {
					ID      string `json:"id"`
					Payment *struct {
						IntentID string `json:"payment_intent_id"`
					} `json:"payment"`
				}
				if err := json.Unmarshal(b1, &got); err != nil {
					t.Fatal(err)
				}
				var stored string
				if err := db.SQL().QueryRow(`SELECT id FROM reservations`).Scan(&stored); err != nil || stored != got.ID {
					t.Fatalf("answered %s, the crashed request stored %s (%v)", got.ID, stored, err)
				}
				if taken, active, total := e.counts(slots[0].ID); taken != 1 || active != 1 || total != 1 {
					t.Fatalf("after the retries: tables_taken=%d active=%d total=%d, want 1, 1, 1", taken, active, total)
				}
				var intents int
				if err := db.SQL().QueryRow(`SELECT count(*) FROM sandbox_payment_intents`).Scan(&intents); err != nil {
					t.Fatal(err)
				}
				if want := map[bool]int{false: 0, true: 1}[prime]; intents != want || prime && (got.Payment == nil || got.Payment.IntentID == "") {
					t.Fatalf("%d payment intents (want %d), payment %+v", intents, want, got.Payment)
				}
			})
		})
	}
}

// TestIdempotentCreatesResumeAfterCrash kills each create that is one write (a webhook
// endpoint, and the operator's venue, schedule, one-off slot, closure and allocation)
// right after its transaction committed the resource and the key's recovery point, before
// any answer was stored or sent. The retry after the dead request's lease answers the
// same resource (201, same id), none is created twice, and a further retry replays it.
func TestIdempotentCreatesResumeAfterCrash(t *testing.T) {
	type create struct {
		path, body, token string
		// count counts the resources the create makes (in the scope of this test).
		count string
		// check checks the database after the resumed answer.
		check func(t *testing.T, e *env, answer map[string]any)
	}
	cases := map[string]func(t *testing.T, e *env) create{
		"webhook endpoint": func(t *testing.T, e *env) create {
			return create{path: "/v1/webhook_endpoints", token: e.token,
				body:  `{"url":"https://partner.example/hooks","events":["reservation.confirmed"]}`,
				count: "SELECT count(*) FROM webhook_endpoints",
				check: func(t *testing.T, e *env, a map[string]any) {
					if s, _ := a["secret"].(string); !strings.HasPrefix(s, "whsec_") ||
						e.count(t, "SELECT count(*) FROM webhook_endpoints WHERE secret = ?", s) != 1 {
						t.Fatalf("resumed endpoint without its stored secret: %v", a)
					}
				}}
		},
		"venue": func(t *testing.T, e *env) create {
			return create{path: "/v1/operator/venues", token: e.newOperatorToken("lupa-group", nil), body: venueBody,
				count: "SELECT count(*) FROM venues WHERE name = 'Trattoria Nuova'"}
		},
		"schedule": func(t *testing.T, e *env) create {
			op := e.newOperatorToken("lupa-group", nil)
			v := e.createVenue(t, op)
			return create{path: "/v1/operator/venues/" + v.Id + "/schedules", token: op,
				body: `{"days":["mon","tue","wed","thu","fri","sat","sun"],"times":["19:00"],"duration_minutes":120,
					"party_size_min":2,"party_size_max":4,"seating_area":"dining_room","type":"standard","tables":3,"horizon_days":4}`,
				count: "SELECT count(*) FROM schedules",
				check: func(t *testing.T, e *env, a map[string]any) {
					n, _ := a["slots_generated"].(float64)
					if got := e.count(t, "SELECT count(*) FROM slots WHERE schedule_id = ?", a["id"]); n < 3 || got != int(n) {
						t.Fatalf("resumed schedule generated %v slots, the database has %d", a["slots_generated"], got)
					}
				}}
		},
		"one-off slot": func(t *testing.T, e *env) create {
			op := e.newOperatorToken("lupa-group", nil)
			v := e.createVenue(t, op)
			return create{path: "/v1/operator/venues/" + v.Id + "/slots", token: op,
				body: fmt.Sprintf(`{"local_date":%q,"local_time":"19:00","duration_minutes":120,"party_size_min":1,"party_size_max":4,
					"seating_area":"bar","type":"standard","tables":2}`, localDate(2)),
				count: "SELECT count(*) FROM slots"}
		},
		"closure": func(t *testing.T, e *env) create {
			v, _ := e.addVenue(slotSpec{tables: 2, in: 26 * time.Hour}, slotSpec{tables: 2, in: 27 * time.Hour})
			op := e.newOperatorToken("lupa-group", []string{v.ID})
			return create{path: "/v1/operator/venues/" + v.ID + "/closures", token: op,
				body:  fmt.Sprintf(`{"date_from":%q,"date_to":%q,"reason":"Private event"}`, localDate(0), localDate(3)),
				count: "SELECT count(*) FROM closures",
				check: func(t *testing.T, e *env, a map[string]any) {
					if a["slots_withdrawn"] != float64(2) || e.count(t, "SELECT count(*) FROM slots WHERE status = 'withdrawn'") != 2 {
						t.Fatalf("resumed closure: %v", a)
					}
				}}
		},
		"allocation": func(t *testing.T, e *env) create {
			_, slots := e.addVenue(slotSpec{tables: 4, in: 72 * time.Hour})
			op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
			return create{path: "/v1/operator/slots/" + slots[0].ID + "/allocations", token: op,
				body:  fmt.Sprintf(`{"partner_id":%q,"tables":2,"release_hours_before":24}`, partnerID(t, e.db, "acme-rewards")),
				count: "SELECT count(*) FROM slot_allocations",
				check: func(t *testing.T, e *env, _ map[string]any) {
					if n := e.count(t, "SELECT tables_reserved FROM slots WHERE id = ?", slots[0].ID); n != 2 {
						t.Fatalf("tables_reserved %d after the resumed allocation, want 2", n)
					}
				}}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, db *store.DB) {
				e := newEnv(t, db)
				c := setup(t, e)
				k := key()
				var crashed atomic.Int32
				idempotency.SetCrashHook(func(key, point string) {
					if key == k && point == idempotency.PointApplied {
						crashed.Add(1)
						panic(http.ErrAbortHandler)
					}
				})
				t.Cleanup(func() { idempotency.SetCrashHook(nil) })
				e.postDropped(t, c.path, c.token, c.body, k)
				idempotency.SetCrashHook(nil)
				if crashed.Load() != 1 || e.count(t, c.count) != 1 {
					t.Fatalf("crash hook ran %d times; %d created, want 1", crashed.Load(), e.count(t, c.count))
				}
				if _, err := db.SQL().Exec(`UPDATE idempotency_keys SET locked_until = created_at`); err != nil {
					t.Fatal(err)
				}
				s1, _, b1 := e.do("POST", c.path, c.token, c.body, "Idempotency-Key", k)
				s2, h2, b2 := e.do("POST", c.path, c.token, c.body, "Idempotency-Key", k)
				if s1 != http.StatusCreated || s2 != http.StatusCreated || string(b1) != string(b2) || h2.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("resumed %d %s\nreplayed %d %s", s1, b1, s2, b2)
				}
				if n := e.count(t, c.count); n != 1 {
					t.Fatalf("%d created after the retries, want 1", n)
				}
				var answer map[string]any
				if err := json.Unmarshal(b1, &answer); err != nil {
					t.Fatal(err)
				}
				if c.check != nil {
					c.check(t, e, answer)
				}
			})
		})
	}
}

// postDropped sends a POST that the server is expected to drop without an answer (a
// crash hook panics in it), and fails t if it answers.
func (e *env) postDropped(t *testing.T, path, token, body, key string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	// A connection of its own: Go's transport resends a request with an Idempotency-Key
	// that a reused connection dropped, and the resent one would answer 409 (key in use).
	once := &http.Client{Transport: &http.Transport{}}
	defer once.CloseIdleConnections()
	if resp, err := once.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("the dropped request answered %d %s", resp.StatusCode, b)
	}
}

// TestSandboxConfirmWhoseAnswerWasLostIsAnsweredOnRetry confirms a prime hold's sandbox
// intent and then puts its Idempotency-Key back as a request that died before its answer
// was stored (in flight, lease over). The retry with the same key answers the intent as
// confirmed (the sandbox keeps the confirm's key with the intent, as Stripe does), not
// 409 for an intent already confirmed; a confirm under another key is still refused.
func TestSandboxConfirmWhoseAnswerWasLostIsAnsweredOnRetry(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2, prime: true})
		h := e.hold(slots[0].ID, 2)
		path := "/v1/sandbox/payment_intents/" + h.Payment.PaymentIntentId + "/confirm"
		const body = `{"outcome":"succeeded"}`
		k := key()
		s1, _, b1 := e.do("POST", path, e.token, body, "Idempotency-Key", k)
		if s1 != http.StatusOK {
			t.Fatalf("confirm: %d %s", s1, b1)
		}
		if _, err := db.SQL().Exec(`UPDATE idempotency_keys SET state = 'in_flight', locked_until = created_at`); err != nil {
			t.Fatal(err)
		}
		s2, h2, b2 := e.do("POST", path, e.token, body, "Idempotency-Key", k)
		if s2 != http.StatusOK || h2.Get("Idempotent-Replayed") == "true" || !strings.Contains(string(b2), `"requires_capture"`) {
			t.Fatalf("the retry of a confirm whose answer was lost: %d %s", s2, b2)
		}
		if s, _, b := e.do("POST", path, e.token, body, "Idempotency-Key", key()); s != http.StatusConflict {
			t.Fatalf("a second confirm under another key: %d %s", s, b)
		}
		if fin := e.finalize(h.Id); fin.JSON200 == nil || fin.JSON200.Payment.AmountCaptured != h.Payment.Amount {
			t.Fatalf("finalize after the retried confirm: %d %s", fin.StatusCode(), fin.Body)
		}
	})
}
