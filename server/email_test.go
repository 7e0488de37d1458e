package server_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/internal/webhooks/mailpittest"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

const venueInbox = "reservations@lupa.example"

// emailVenue switches the venue to the email connector through the operator API.
func (e *env) emailVenue(venueID string) {
	e.t.Helper()
	op := e.newOperatorToken("lupa-group", []string{venueID})
	status, _, body := e.do("PATCH", "/v1/operator/venues/"+venueID, op, `{"platform":{"kind":"email","email":"`+venueInbox+`"}}`)
	if status != http.StatusOK || !strings.Contains(string(body), `"kind":"email"`) || !strings.Contains(string(body), venueInbox) {
		e.t.Fatalf("switch to email: %d %s", status, body)
	}
}

// invite is a received email's iCalendar attachment, parsed back.
type invite struct {
	method, uid, status string
	sequence            int
	start               time.Time
}

func readInvite(t *testing.T, mp *mailpittest.Server, m mailpittest.Message) invite {
	t.Helper()
	i := slices.IndexFunc(m.Attachments, func(a mailpittest.Attachment) bool { return a.FileName == "reservation.ics" })
	if i < 0 {
		t.Fatalf("email %q has no reservation.ics: %+v", m.Subject, m.Attachments)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(mp.Part(m.ID, m.Attachments[i].PartID)))
	if err != nil {
		t.Fatalf("the .ics does not parse: %v", err)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("the .ics has %d events", len(events))
	}
	ev := events[0]
	prop := func(p ics.ComponentProperty) string {
		if v := ev.GetProperty(p); v != nil {
			return v.Value
		}
		return ""
	}
	var method string
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyMethod) {
			method = p.Value
		}
	}
	seq, err := strconv.Atoi(prop(ics.ComponentPropertySequence))
	if err != nil {
		t.Fatalf("SEQUENCE: %v", err)
	}
	start, err := ev.GetStartAt()
	if err != nil {
		t.Fatalf("DTSTART: %v", err)
	}
	return invite{method: method, uid: prop(ics.ComponentPropertyUniqueId), status: prop(ics.ComponentPropertyStatus), sequence: seq, start: start}
}

func TestEmailToTheVenueForBookingChangeAndCancellation(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mp := mailpittest.Run(t)
		smtp, err := webhooks.ParseSMTPURL(mp.SMTPURL("prima@prima.example"))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, db, withSMTP(smtp))
		v, slots := e.addVenue(slotSpec{tables: 2}, slotSpec{tables: 2})
		e.emailVenue(v.ID)
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		if status, _, body := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"questions":[{"id":"allergies","kind":"dietary","label":"Any allergies?","required":true}]}`); status != http.StatusOK {
			t.Fatalf("questions: %d %s", status, body)
		}
		answers := map[string]any{"allergies": map[string]any{"restrictions": []any{"peanut_allergy"}, "details": "EpiPen"}}

		g := guest()
		g.Language, g.RoomNumber = ptr("fr"), ptr("1204")
		hold, err := e.client.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: key()},
			client.CreateReservationJSONRequestBody{SlotId: slots[0].ID, PartySize: 2, Guest: g, Notes: ptr("Window table"), Answers: &answers})
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold: %v %s", err, hold.Body)
		}
		id := hold.JSON201.Id
		if fin := e.finalize(id); fin.JSON200 == nil || fin.JSON200.VenueSync.Status != client.VenueSyncStatusSynced {
			t.Fatalf("finalize: %s", fin.Body)
		}
		if r := e.patch(id, client.UpdateReservationJSONRequestBody{SlotId: &slots[1].ID, PartySize: ptr(3)}); r.JSON200 == nil {
			t.Fatalf("change: %d %s", r.StatusCode(), r.Body)
		}
		status, _, body := e.do("POST", "/v1/reservations/"+id+"/cancel", e.token, `{}`, "Idempotency-Key", key())
		if status != http.StatusOK {
			t.Fatalf("cancel: %d %s", status, body)
		}

		msgs := mp.WaitMessages(3, 30*time.Second)
		if len(msgs) != 3 {
			t.Fatalf("%d emails, want 3 (one per change)", len(msgs))
		}
		var invites []invite
		for _, m := range msgs {
			if len(m.To) != 1 || m.To[0].Address != venueInbox || m.From.Address != "prima@prima.example" {
				t.Fatalf("email %q from %v to %v", m.Subject, m.From, m.To)
			}
			// The booking's details, in the French guest's language.
			room := "Numéro de chambre: 1204" //nolint:misspell // French, not a misspelling of chamber
			if !strings.Contains(m.Text, room) || !strings.Contains(m.Text, "Ada Lovelace") || !strings.Contains(m.Text, "Window table") ||
				!strings.Contains(m.Text, "- Any allergies?: EpiPen; peanut_allergy") {
				t.Fatalf("email text:\n%s", m.Text)
			}
			invites = append(invites, readInvite(t, mp, m))
		}
		slices.SortFunc(invites, func(a, b invite) int { return a.sequence - b.sequence })
		for i, inv := range invites {
			if inv.uid != id+"@prima" || inv.sequence != i {
				t.Fatalf("invite %d: %+v", i, inv)
			}
		}
		if invites[0].method != "REQUEST" || !invites[0].start.Equal(slots[0].StartsAt) ||
			invites[1].method != "REQUEST" || !invites[1].start.Equal(slots[1].StartsAt) ||
			invites[2].method != "CANCEL" || invites[2].status != "CANCELLED" {
			t.Fatalf("invites: %+v", invites)
		}
		subjects := []string{msgs[2].Subject, msgs[1].Subject, msgs[0].Subject} // oldest first
		if !strings.HasPrefix(subjects[0], "Nouvelle réservation") || !strings.HasPrefix(subjects[1], "Réservation modifiée") || !strings.HasPrefix(subjects[2], "Réservation annulée") {
			t.Fatalf("subjects: %q", subjects)
		}
	})
}

func TestEmailConnectorNeedsTheVenuesAddress(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, _ := e.addVenue(slotSpec{tables: 1})
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		for _, body := range []string{`{"platform":{"kind":"email"}}`, `{"platform":{"kind":"email","email":null}}`} {
			status, _, resp := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, body)
			if d := apiError(t, resp); status != http.StatusBadRequest || d.Param == nil || *d.Param != "platform.email" {
				t.Fatalf("%s: %d %s", body, status, resp)
			}
		}
		if n := e.count(t, "SELECT count(*) FROM venues WHERE platform_kind NOT IN ('log', '') OR platform_email <> ''"); n != 0 {
			t.Fatalf("a refused change left %d venues changed", n)
		}
	})
}

func TestEmailWaitsForTheMailServerAndTheBookingStandsMeanwhile(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mp := mailpittest.New(t) // not started: the mail server is down
		smtp, err := webhooks.ParseSMTPURL(mp.SMTPURL("prima@prima.example"))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, db, withSMTP(smtp))
		v, slots := e.addVenue(slotSpec{tables: 2})
		e.emailVenue(v.ID)

		booked := e.book(slots[0].ID, 2)
		if booked.Status != client.ReservationStatusConfirmed || booked.VenueSync.Status != client.VenueSyncStatusPending {
			t.Fatalf("finalize with the mail server down: %s %s", booked.Status, booked.VenueSync.Status)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 1 || active != 1 {
			t.Fatalf("tables taken %d, active %d", taken, active)
		}

		mp.Start()
		deadline := time.Now().Add(30 * time.Second)
		for e.get(booked.Id).VenueSync.Status != client.VenueSyncStatusSynced {
			if time.Now().After(deadline) {
				t.Fatalf("venue sync after the mail server came back: %+v", e.get(booked.Id).VenueSync)
			}
			if _, err := e.outbox.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		msgs := mp.WaitMessages(1, 10*time.Second)
		if len(msgs) != 1 {
			t.Fatalf("%d emails, want 1", len(msgs))
		}
		if inv := readInvite(t, mp, msgs[0]); inv.method != "REQUEST" || inv.uid != booked.Id+"@prima" || inv.sequence != 0 {
			t.Fatalf("invite: %+v", inv)
		}
	})
}
