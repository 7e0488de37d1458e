package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/payments/stripetest"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestHandlerErrorsAreStoredReplayedAuditedAndMeasured: a domain error a handler returns
// is answered by the central error handler inside the idempotency middleware, so a 4xx
// is stored with its key and replayed byte for byte, and every answer (first and replay)
// is audited and measured with its status, as when handlers wrote typed responses.
func TestHandlerErrorsAreStoredReplayedAuditedAndMeasured(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		m := metrics.New()
		e := newEnv(t, db, withMetrics(m))
		_, slots := e.addVenue(slotSpec{tables: 1})
		e.hold(slots[0].ID, 2) // the slot's one table
		holdOf := func(slot string) string {
			return fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slot)
		}
		for _, tc := range []struct {
			body   string
			status int
			code   string
		}{
			{holdOf(slots[0].ID), http.StatusConflict, "slot_unavailable"},
			{holdOf("slot_unknown"), http.StatusNotFound, "resource_missing"},
		} {
			k := key()
			s1, h1, b1 := e.do("POST", "/v1/reservations", e.token, tc.body, "Idempotency-Key", k)
			s2, h2, b2 := e.do("POST", "/v1/reservations", e.token, tc.body, "Idempotency-Key", k)
			if s1 != tc.status || apiError(t, b1).Code != tc.code {
				t.Fatalf("first: %d %s, want %d %s", s1, b1, tc.status, tc.code)
			}
			if s2 != s1 || !bytes.Equal(b1, b2) || h2.Get("Idempotent-Replayed") != "true" || h1.Get("Idempotent-Replayed") != "" {
				t.Fatalf("replay of %s: %d %q (replayed %q)\nfirst %d %q", tc.code, s2, b2, h2.Get("Idempotent-Replayed"), s1, b1)
			}
			if h2.Get("Content-Type") != "application/json" || h1.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type: first %q, replay %q", h1.Get("Content-Type"), h2.Get("Content-Type"))
			}
			e.audit.Flush()
			_, list, body := listAudit(t, e, e.token, fmt.Sprintf("?status=%d", tc.status))
			n := 0
			for _, ev := range list.Data {
				if ev.IdempotencyKey == k && ev.Route == "/v1/reservations" {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%s: %d audit events with the key and status %d, want the first answer and its replay: %s", tc.code, n, tc.status, body)
			}
		}
		if taken, active, total := e.counts(slots[0].ID); taken != 1 || active != 1 || total != 1 {
			t.Fatalf("tables_taken=%d active=%d total=%d, want the first hold alone", taken, active, total)
		}
		out := scrape(t, m)
		for _, want := range []string{
			`prima_http_request_duration_seconds_count{method="POST",route="/v1/reservations",status="409"} 2`,
			`prima_http_request_duration_seconds_count{method="POST",route="/v1/reservations",status="404"} 2`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestHandler5xxIsNotStoredForReplay: a 502 a handler returns releases its key, as the
// typed 502 did, so the retry with the same key runs again and succeeds.
func TestHandler5xxIsNotStoredForReplay(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true})
		body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID)
		k := key()
		srv.FailNext(stripetest.CreateIntent, 1)
		if s, _, b := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", k); s != http.StatusBadGateway || apiError(t, b).Code != "payment_provider_error" {
			t.Fatalf("hold while Stripe fails: %d %s", s, b)
		}
		s, h, b := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", k)
		if s != http.StatusCreated || h.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry with the same key: %d (replayed %q) %s", s, h.Get("Idempotent-Replayed"), b)
		}
	})
}
