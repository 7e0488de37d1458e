package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	client "github.com/prima-dining/partner-api/sdk/go"
	operatorapi "github.com/prima-dining/partner-api/sdk/go/operator"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

const venueQuestions = `{"questions":[
	{"id":"allergies","kind":"dietary","label":"Any allergies we should know about?","required":true},
	{"id":"occasion","kind":"occasion"},
	{"id":"terrace","kind":"custom","type":"yes_no","label":"Terrace if the weather allows?","slot_types":["prime"]}
], "modification_policy": {"allowed_until_hours_before": 40}}`

func TestBookingQuestionsAskedAnsweredShownAndChangedUntilTheCutoff(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var offset atomic.Int64 // how far the booking layer's clock is ahead
		e := newEnv(t, db, withClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
		v, slots := e.addVenue(slotSpec{tables: 2, in: 48 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})

		// The operator configures the questions; a bad one is refused, naming it.
		status, _, body := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"questions":[{"id":"seat","kind":"custom","type":"one_of","label":"Where?"}]}`)
		if d := apiError(t, body); status != http.StatusBadRequest || deref(d.Param) != "questions.0.options" {
			t.Fatalf("one_of without options: %d %s", status, body)
		}
		var ov operatorapi.OperatorVenue
		status, _, body = e.do("PATCH", "/v1/operator/venues/"+v.ID, op, venueQuestions)
		decode(t, status, http.StatusOK, body, &ov)
		if ov.Questions == nil || len(*ov.Questions) != 3 || (*ov.Questions)[1].Type != "one_of" || len((*ov.Questions)[1].Options) == 0 {
			t.Fatalf("operator's questions: %s", body)
		}

		// The partner sees them on the venue (all three) and in search (those the slot asks).
		var venue client.Venue
		status, _, body = e.do("GET", "/v1/venues/"+v.ID, e.token, "")
		decode(t, status, http.StatusOK, body, &venue)
		if venue.Questions == nil || len(*venue.Questions) != 3 || (*venue.Questions)[0].Id != "allergies" || !(*venue.Questions)[0].Required ||
			(*venue.Questions)[0].Type != client.BookingQuestionTypeDietary {
			t.Fatalf("venue's questions: %s", body)
		}
		date, _ := time.Parse(time.DateOnly, slots[0].LocalDate)
		search, err := e.client.SearchAvailabilityWithResponse(context.Background(), &client.SearchAvailabilityParams{Date: openapi_types.Date{Time: date}, PartySize: 2, VenueId: &v.ID})
		if err != nil || search.JSON200 == nil || len(search.JSON200.Data) != 1 {
			t.Fatalf("search: %v %s", err, search.Body)
		}
		if qs := search.JSON200.Data[0].Questions; qs == nil || len(*qs) != 2 || (*qs)[0].Id != "allergies" || (*qs)[1].Id != "occasion" {
			t.Fatalf("the standard slot's questions: %s", search.Body)
		}

		// A hold without the required answer, with an answer of the wrong type, or with
		// an answer to a question the slot does not ask is 400 naming it; nothing is held.
		for _, c := range []struct{ answers, code, param string }{
			{`{"occasion":"birthday"}`, "parameter_missing", "answers.allergies"},
			{`{"allergies":"peanuts"}`, "parameter_invalid", "answers.allergies"},
			{`{"allergies":{"restrictions":["chocolate"]}}`, "parameter_invalid", "answers.allergies.restrictions"},
			{`{"allergies":{"details":"Nuts"},"occasion":"wedding"}`, "parameter_invalid", "answers.occasion"},
			{`{"allergies":{"details":"Nuts"},"terrace":true}`, "parameter_invalid", "answers.terrace"},
		} {
			hold := `{"slot_id":"` + slots[0].ID + `","party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"},"answers":` + c.answers + `}`
			status, _, body := e.do("POST", "/v1/reservations", e.token, hold, "Idempotency-Key", key())
			if d := apiError(t, body); status != http.StatusBadRequest || d.Code != c.code || deref(d.Param) != c.param {
				t.Fatalf("answers %s: %d %s", c.answers, status, body)
			}
		}
		if taken, _, total := e.counts(slots[0].ID); taken != 0 || total != 0 {
			t.Fatalf("refused holds left %d tables taken, %d reservations", taken, total)
		}

		// With the answer it holds, and the answers are on the reservation.
		answers := map[string]any{"allergies": map[string]any{"restrictions": []any{"peanut_allergy"}, "details": "Carries an EpiPen."}, "occasion": "birthday"}
		hold, err := e.client.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: key()},
			client.CreateReservationJSONRequestBody{SlotId: slots[0].ID, PartySize: 2, Guest: guest(), Answers: &answers})
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold: %v %s", err, hold.Body)
		}
		id := hold.JSON201.Id
		want := `{"allergies":{"details":"Carries an EpiPen.","restrictions":["peanut_allergy"]},"occasion":"birthday"}`
		if got, _ := json.Marshal(hold.JSON201.Answers); string(got) != want {
			t.Fatalf("held answers: %s", got)
		}
		e.finalize(id)

		// The operator's view and the platform's payload carry them.
		var list operatorapi.OperatorReservationList
		status, _, body = e.do("GET", "/v1/operator/reservations", op, "")
		decode(t, status, http.StatusOK, body, &list)
		if got, _ := json.Marshal(list.Data[0].Answers); len(list.Data) != 1 || string(got) != want {
			t.Fatalf("operator view: %s", body)
		}
		payloads := e.venuePayloads(v.ID)
		if got, _ := json.Marshal(payloads[0]["answers"]); len(payloads) != 1 || string(got) != want {
			t.Fatalf("platform payload: %s", got)
		}

		// Answers change like other details before the cutoff, and reach the venue once.
		r := e.patch(id, client.UpdateReservationJSONRequestBody{Answers: &map[string]any{"occasion": "anniversary"}})
		if r.JSON200 == nil || (*r.JSON200.Answers)["occasion"] != "anniversary" || (*r.JSON200.Answers)["allergies"] == nil {
			t.Fatalf("change of answers: %d %s", r.StatusCode(), r.Body)
		}
		// Removing the required answer is refused.
		r = e.patch(id, client.UpdateReservationJSONRequestBody{Answers: &map[string]any{"allergies": nil}})
		if d := apiError(t, r.Body); r.StatusCode() != http.StatusBadRequest || d.Code != "parameter_missing" || deref(d.Param) != "answers.allergies" {
			t.Fatalf("removing the required answer: %d %s", r.StatusCode(), r.Body)
		}
		if n := e.venueUpdates(v.ID); n["reservation.confirmed"] != 1 || n["reservation.updated"] != 1 {
			t.Fatalf("venue notifications: %v", n)
		}
		payloads = e.venuePayloads(v.ID)
		if got := payloads[1]["answers"].(map[string]any)["occasion"]; got != "anniversary" {
			t.Fatalf("the change's payload: %v", payloads[1]["answers"])
		}
		h, err := e.client.ListReservationEventsWithResponse(context.Background(), id, &client.ListReservationEventsParams{})
		if err != nil || h.JSON200 == nil {
			t.Fatalf("history: %v", err)
		}
		last := h.JSON200.Data[len(h.JSON200.Data)-1]
		if c, ok := last.Changes["answers.occasion"]; !ok || deref(c.From) != `"birthday"` || deref(c.To) != `"anniversary"` {
			t.Fatalf("history of the change: %s", h.Body)
		}

		// After the modification cutoff (40 h before the start) a change of answers is
		// refused and changes nothing.
		offset.Store(int64(9 * time.Hour))
		r = e.patch(id, client.UpdateReservationJSONRequestBody{Answers: &map[string]any{"occasion": "business"}})
		if d := apiError(t, r.Body); r.StatusCode() != http.StatusConflict || d.Code != "modification_cutoff_passed" {
			t.Fatalf("change after the cutoff: %d %s", r.StatusCode(), r.Body)
		}
		if got := e.get(id); (*got.Answers)["occasion"] != "anniversary" {
			t.Fatalf("answers after a refused change: %v", got.Answers)
		}
		if n := e.venueUpdates(v.ID); n["reservation.updated"] != 1 {
			t.Fatalf("venue notifications after a refused change: %v", n)
		}
	})
}
