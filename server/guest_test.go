package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	client "github.com/prima-dining/partner-api/sdk/go"
	operatorapi "github.com/prima-dining/partner-api/sdk/go/operator"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// venuePayloads decodes the reservation of every notification the venue's platform
// received (the log connector keeps the payloads), oldest first.
func (e *env) venuePayloads(venueID string) []map[string]any {
	e.t.Helper()
	ns, err := e.db.ListVenueNotifications(context.Background(), venueID, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for i := len(ns) - 1; i >= 0; i-- { // newest first in the store
		var ev struct {
			Data struct {
				Object map[string]any `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(ns[i].Payload, &ev); err != nil {
			e.t.Fatalf("payload: %v %s", err, ns[i].Payload)
		}
		out = append(out, ev.Data.Object)
	}
	return out
}

func TestRicherGuestIsKeptShownToTheVenueAndChanged(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 2})
		op := e.newOperatorToken("lupa-group", []string{v.ID})

		// A tag that is not BCP 47 is refused, naming the field, and holds nothing.
		bad := `{"slot_id":"` + slots[0].ID + `","party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143","language":"not a tag"}}`
		status, _, body := e.do("POST", "/v1/reservations", e.token, bad, "Idempotency-Key", key())
		if d := apiError(t, body); status != http.StatusBadRequest || d.Code != "parameter_invalid" || d.Param == nil || *d.Param != "guest.language" {
			t.Fatalf("bad language: %d %s", status, body)
		}
		if taken, _, total := e.counts(slots[0].ID); taken != 0 || total != 0 {
			t.Fatalf("a refused hold left %d tables taken, %d reservations", taken, total)
		}

		// Every optional field but marketing consent, which is then false.
		g := guest()
		g.Language, g.LoyaltyNumber, g.RoomNumber, g.Reference = ptr("FR-ca"), ptr("AMX-4471"), ptr("1204"), ptr("member-55120")
		hold, err := e.client.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: key()},
			client.CreateReservationJSONRequestBody{SlotId: slots[0].ID, PartySize: 2, Guest: g})
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold: %v %s", err, hold.Body)
		}
		got := hold.JSON201.Guest
		if deref(got.Language) != "fr-CA" || deref(got.LoyaltyNumber) != "AMX-4471" || deref(got.RoomNumber) != "1204" ||
			deref(got.Reference) != "member-55120" || got.MarketingConsent {
			t.Fatalf("held guest: %s", hold.Body)
		}
		e.finalize(hold.JSON201.Id)

		// The change goes through the change path: shown at once, sent to the venue once.
		r := e.patch(hold.JSON201.Id, client.UpdateReservationJSONRequestBody{
			Guest: &client.GuestUpdate{RoomNumber: ptr("1810"), MarketingConsent: ptr(true)},
		})
		if r.JSON200 == nil || deref(r.JSON200.Guest.RoomNumber) != "1810" || !r.JSON200.Guest.MarketingConsent || deref(r.JSON200.Guest.LoyaltyNumber) != "AMX-4471" {
			t.Fatalf("patch: %d %s", r.StatusCode(), r.Body)
		}
		if n := e.venueUpdates(v.ID); n["reservation.confirmed"] != 1 || n["reservation.updated"] != 1 {
			t.Fatalf("venue notifications: %v", n)
		}
		payloads := e.venuePayloads(v.ID)
		last := payloads[len(payloads)-1]["guest"].(map[string]any)
		if last["room_number"] != "1810" || last["marketing_consent"] != true || last["loyalty_number"] != "AMX-4471" ||
			last["language"] != "fr-CA" || last["reference"] != "member-55120" {
			t.Fatalf("platform payload's guest: %v", last)
		}
		first := payloads[0]["guest"].(map[string]any)
		if first["room_number"] != "1204" || first["marketing_consent"] != false {
			t.Fatalf("the confirmation's payload: %v", first)
		}

		// The operator's bookings view shows the same.
		var list operatorapi.OperatorReservationList
		status, _, body = e.do("GET", "/v1/operator/reservations", op, "")
		decode(t, status, http.StatusOK, body, &list)
		if len(list.Data) != 1 || deref(list.Data[0].Guest.RoomNumber) != "1810" || !list.Data[0].Guest.MarketingConsent ||
			deref(list.Data[0].Guest.Reference) != "member-55120" {
			t.Fatalf("operator view: %s", body)
		}
	})
}
