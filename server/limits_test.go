package server_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// slow refills one token an hour, so a test's burst is all it gets.
const slow = 1.0 / 3600

var rateLimitHeader = regexp.MustCompile(`^"(default|partner|auth_failures)";r=(\d+);t=(\d+)$`)

// remaining reads r from a RateLimit header, failing the test when it is malformed.
func remaining(t *testing.T, h http.Header) int {
	t.Helper()
	m := rateLimitHeader.FindStringSubmatch(h.Get("RateLimit"))
	if m == nil {
		t.Fatalf("RateLimit = %q, want \"policy\";r=N;t=N", h.Get("RateLimit"))
	}
	n, _ := strconv.Atoi(m[2])
	return n
}

func TestRateLimitBurstOverQuotaGets429(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withRateLimit(server.RateLimit{PerSecond: slow, Burst: 5}))
		other := e.newToken("other-partner")
		for i := range 5 {
			status, h, body := e.do("GET", "/v1/venues", e.token, "")
			if status != http.StatusOK {
				t.Fatalf("request %d in quota: %d %s", i+1, status, body)
			}
			if got := h.Get("RateLimit-Policy"); got != `"default";q=5;w=18000` {
				t.Fatalf("RateLimit-Policy = %q", got)
			}
			if r := remaining(t, h); r != 4-i {
				t.Fatalf("request %d: RateLimit r=%d, want %d", i+1, r, 4-i)
			}
		}
		status, h, body := e.do("GET", "/v1/venues", e.token, "")
		if status != http.StatusTooManyRequests || apiError(t, body).Code != "rate_limited" {
			t.Fatalf("over quota: %d %s", status, body)
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
			t.Fatalf("Retry-After = %q", h.Get("Retry-After"))
		}
		if r := remaining(t, h); r != 0 || h.Get("RateLimit-Policy") == "" {
			t.Fatalf("429 headers: RateLimit %q, RateLimit-Policy %q", h.Get("RateLimit"), h.Get("RateLimit-Policy"))
		}
		// Another token's traffic, within its own quota, is unaffected.
		if status, h, body := e.do("GET", "/v1/venues", other, ""); status != http.StatusOK || remaining(t, h) != 4 {
			t.Fatalf("other token: %d %s %s", status, h.Get("RateLimit"), body)
		}
	})
}

func TestPartnerRateLimitOverridesTheDefault(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withRateLimit(server.RateLimit{PerSecond: 100, Burst: 200}))
		if err := db.SetPartnerRateLimit(context.Background(), "acme-rewards", slow, 2); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if status, h, body := e.do("GET", "/v1/venues", e.token, ""); status != http.StatusOK || h.Get("RateLimit-Policy") != `"partner";q=2;w=7200` {
				t.Fatalf("%d %q %s", status, h.Get("RateLimit-Policy"), body)
			}
		}
		if status, _, body := e.do("GET", "/v1/venues", e.token, ""); status != http.StatusTooManyRequests {
			t.Fatalf("over the partner's quota: %d %s", status, body)
		}
	})
}

func TestFailedAuthenticationIsLimitedPerAddress(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withAuthFailureLimit(server.RateLimit{PerSecond: slow, Burst: 3}))
		// Successes spend nothing of the address's failure budget.
		for range 5 {
			if status, _, body := e.do("GET", "/v1/venues", e.token, ""); status != http.StatusOK {
				t.Fatalf("%d %s", status, body)
			}
		}
		for i, tok := range []string{"prima_pat_guess1", "", "not-a-token"} {
			if status, _, body := e.do("GET", "/v1/venues", tok, ""); status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d %s", i+1, status, body)
			}
		}
		// The budget is spent: even a valid token is refused from this address, so a
		// guesser learns nothing from its next tries.
		status, h, body := e.do("GET", "/v1/venues", e.token, "")
		if status != http.StatusTooManyRequests || apiError(t, body).Code != "rate_limited" {
			t.Fatalf("after 3 failures: %d %s", status, body)
		}
		if h.Get("Retry-After") == "" || h.Get("RateLimit-Policy") != `"auth_failures";q=3;w=10800` {
			t.Fatalf("headers: Retry-After %q, RateLimit-Policy %q", h.Get("Retry-After"), h.Get("RateLimit-Policy"))
		}
		// A spoofed X-Forwarded-For does not make a new address.
		if status, _, _ := e.do("GET", "/v1/venues", e.token, "", "X-Forwarded-For", "203.0.113.9"); status != http.StatusTooManyRequests {
			t.Fatalf("X-Forwarded-For escaped the limit: %d", status)
		}
	})
}

func TestActiveHoldCapPerPartner(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withMaxActiveHolds(2))
		_, slots := e.addVenue(slotSpec{tables: 10})
		hold := func(token string) (int, []byte) {
			status, _, body := e.do("POST", "/v1/reservations", token,
				fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID),
				"Idempotency-Key", key())
			return status, body
		}
		var first string
		for i := range 2 {
			status, body := hold(e.token)
			if status != http.StatusCreated {
				t.Fatalf("hold %d: %d %s", i+1, status, body)
			}
			if i == 0 {
				first = string(regexp.MustCompile(`"id":"(res_[^"]+)"`).FindSubmatch(body)[1])
			}
		}
		status, body := hold(e.token)
		if status != http.StatusConflict || apiError(t, body).Code != "hold_limit_reached" {
			t.Fatalf("third hold: %d %s", status, body)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 2 || active != 2 {
			t.Fatalf("after the refused hold: tables_taken %d, active %d; want 2, 2", taken, active)
		}
		// The cap is per partner: another partner holds as usual.
		if status, body := hold(e.newToken("other-partner")); status != http.StatusCreated {
			t.Fatalf("other partner: %d %s", status, body)
		}
		// Releasing one hold makes room again.
		if status, _, body := e.do("POST", "/v1/reservations/"+first+"/cancel", e.token, `{}`, "Idempotency-Key", key()); status != http.StatusOK {
			t.Fatalf("cancel: %d %s", status, body)
		}
		if status, body := hold(e.token); status != http.StatusCreated {
			t.Fatalf("hold after a release: %d %s", status, body)
		}
	})
}

func TestActiveHoldCapUnderConcurrency(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withMaxActiveHolds(3))
		_, slots := e.addVenue(slotSpec{tables: 20})
		body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
		)
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, _, _ := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", key())
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if statuses[http.StatusCreated] != 3 || statuses[http.StatusConflict] != 9 {
			t.Fatalf("statuses %v, want 3×201 and 9×409", statuses)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 3 || active != 3 {
			t.Fatalf("tables_taken %d, active %d; want 3, 3", taken, active)
		}
	})
}
