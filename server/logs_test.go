package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// syncBuffer is a log sink that handlers on several goroutines can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsNeverCarryTokensOrGuestData(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var logs syncBuffer
		e := newEnv(t, db, withLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 2, prime: true})
		g := guest()
		// The richer guest of issue 19 stays out of the logs too.
		g.LoyaltyNumber, g.RoomNumber, g.Reference, g.Language = ptr("LOYAL-998877"), ptr("ROOM-4411"), ptr("member-guestref-31"), ptr("fr-CA")

		// The five calls, a failed authentication and a refused request.
		date, _ := time.Parse(time.DateOnly, slots[0].LocalDate)
		if r, err := e.client.SearchAvailabilityWithResponse(ctx, &client.SearchAvailabilityParams{Date: openapi_types.Date{Time: date}, PartySize: 2, VenueId: &v.ID}); err != nil || r.JSON200 == nil {
			t.Fatalf("search: %v %s", err, r.Body)
		}
		hold, err := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()},
			client.CreateReservationJSONRequestBody{SlotId: slots[0].ID, PartySize: 2, Guest: g})
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold: %v %s", err, hold.Body)
		}
		succeeded := client.ConfirmPaymentIntentRequestOutcomeSucceeded
		if r, _ := e.client.ConfirmSandboxPaymentIntentWithResponse(ctx, hold.JSON201.Payment.PaymentIntentId, &client.ConfirmSandboxPaymentIntentParams{},
			client.ConfirmPaymentIntentRequest{Outcome: &succeeded}); r.JSON200 == nil {
			t.Fatalf("confirm: %s", r.Body)
		}
		if r, _ := e.client.FinalizeReservationWithResponse(ctx, hold.JSON201.Id, &client.FinalizeReservationParams{IdempotencyKey: key()}); r.JSON200 == nil {
			t.Fatalf("finalize: %s", r.Body)
		}
		if r, _ := e.client.GetReservationWithResponse(ctx, hold.JSON201.Id, nil); r.JSON200 == nil {
			t.Fatalf("get: %s", r.Body)
		}
		if status, _, _ := e.do("GET", "/v1/venues", e.token+"x", ""); status != http.StatusUnauthorized {
			t.Fatalf("bad token: %d", status)
		}
		if status, _, _ := e.do("POST", "/v1/reservations", e.token, `{"slot_id":"slot_nope","party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, "Idempotency-Key", key()); status != http.StatusNotFound {
			t.Fatalf("unknown slot: %d", status)
		}

		out := logs.String()
		requests := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not a JSON log line: %q", line)
			}
			if rec["msg"] == "request" {
				requests++
				if id, _ := rec["request_id"].(string); !strings.HasPrefix(id, "req_") {
					t.Errorf("request line without a request id: %s", line)
				}
			}
		}
		if requests < 7 {
			t.Fatalf("captured %d request lines, want at least 7:\n%s", requests, out)
		}
		secret := strings.TrimPrefix(e.token, "prima_pat_")
		for name, value := range map[string]string{
			"token": e.token, "token secret": secret[len(secret)-20:], "guest email": string(g.Email),
			"guest phone": g.Phone, "guest last name": g.LastName, "client secret": hold.JSON201.Payment.ClientSecret,
			"loyalty number": *g.LoyaltyNumber, "room number": *g.RoomNumber, "guest reference": *g.Reference,
		} {
			if strings.Contains(out, value) {
				t.Errorf("the log carries the %s (%q)", name, value)
			}
		}
	})
}
