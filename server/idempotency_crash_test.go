package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

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
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/reservations", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+e.token)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", k)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
					t.Fatalf("the crashed hold answered %d", resp.StatusCode)
				}
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
