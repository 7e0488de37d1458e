package server_test

import (
	"context"
	"net/http"
	"testing"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestSummariesInTheGuestsLanguageOrAcceptLanguageElseEnglish(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 4}) // free until 24 h before, then 50 %
		holdAs := func(lang string) client.Reservation {
			g := guest()
			if lang != "" {
				g.Language = ptr(lang)
			}
			r, err := e.client.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: key()},
				client.CreateReservationJSONRequestBody{SlotId: slots[0].ID, PartySize: 2, Guest: g})
			if err != nil || r.JSON201 == nil {
				t.Fatalf("hold: %v %s", err, r.Body)
			}
			e.finalize(r.JSON201.Id)
			return *r.JSON201
		}
		quote := func(id, accept string) client.CancellationQuote {
			var q client.CancellationQuote
			status, _, body := e.do("GET", "/v1/reservations/"+id+"/cancellation_quote", e.token, "", "Accept-Language", accept)
			decode(t, status, http.StatusOK, body, &q)
			return q
		}

		// A French guest (fr-CA is French): the quote and the policies are in French,
		// whatever the caller's Accept-Language.
		french := holdAs("fr-CA")
		if q := quote(french.Id, "de"); q.Summary != "Annuler maintenant est gratuit." {
			t.Fatalf("French guest's quote: %q", q.Summary)
		}
		if french.CancellationPolicy.Summary != "Annulation gratuite jusqu'à 24 heures avant la réservation ; ensuite, 50 % du montant prépayé est conservé." ||
			french.ModificationPolicy.Summary != "Les modifications sont acceptées jusqu'au début de la réservation." {
			t.Fatalf("French guest's policies: %q / %q", french.CancellationPolicy.Summary, french.ModificationPolicy.Summary)
		}

		// No language given: the caller's Accept-Language, else English.
		unknown := holdAs("")
		if q := quote(unknown.Id, "it;q=1, de-AT;q=0.8"); q.Summary != "Eine Stornierung jetzt ist kostenlos." {
			t.Fatalf("Accept-Language de-AT: %q", q.Summary)
		}
		if q := quote(unknown.Id, "ja, it"); q.Summary != "Cancelling now is free." {
			t.Fatalf("no language PRIMA writes: %q", q.Summary)
		}
		// A guest language PRIMA does not write falls back to Accept-Language.
		japanese := holdAs("ja")
		if q := quote(japanese.Id, "fr"); q.Summary != "Annuler maintenant est gratuit." {
			t.Fatalf("Japanese guest, French caller: %q", q.Summary)
		}

		// Venue text follows Accept-Language, and the cached answer varies on it.
		var venue client.Venue
		status, h, body := e.do("GET", "/v1/venues/"+v.ID, e.token, "", "Accept-Language", "de")
		decode(t, status, http.StatusOK, body, &venue)
		if venue.CancellationPolicy.Summary != "Kostenlose Stornierung bis 24 Stunden vor der Reservierung; danach werden 50 % des vorausbezahlten Betrags einbehalten." {
			t.Fatalf("venue in German: %q", venue.CancellationPolicy.Summary)
		}
		if h.Get("Vary") != "Authorization, Accept-Language" {
			t.Fatalf("Vary: %q", h.Get("Vary"))
		}
	})
}
