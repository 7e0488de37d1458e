package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	client "github.com/prima-dining/partner-api/sdk/go"
	operatorapi "github.com/prima-dining/partner-api/sdk/go/operator"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// A venue asks a deposit of USD 25.00 per guest by default; its operator gives one new
// slot a card guarantee of USD 40.00 per guest and takes the deposit off an existing
// slot. Search, the slot, the hold and the quote show each slot's own policy; a slot
// without one shows the venue's, and venue_default gives it back. Bad input (a deposit
// without an amount, a card guarantee without per, a negative amount, any policy on a
// prime slot, none with an amount) is 400 parameter_invalid and changes nothing: no slot
// is added and no column moves.
func TestSlotPaymentPolicyOverridesTheVenueDefault(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 2, in: 72 * time.Hour}, slotSpec{tables: 1, prime: true, in: 72 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		if s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"payment_policy":{"type":"deposit","amount":2500,"per":"cover"}}`, "Idempotency-Key", key()); s != http.StatusOK {
			t.Fatalf("venue deposit: %d %s", s, b)
		}
		slotsOfVenue := func() int { return e.count(t, "SELECT count(*) FROM slots WHERE venue_id = ?", v.ID) }
		newSlot := func(policy string) (int, []byte) {
			s, _, b := e.do("POST", "/v1/operator/venues/"+v.ID+"/slots", op, fmt.Sprintf(`{"local_date":%q,"local_time":"19:00","duration_minutes":120,
				"party_size_min":1,"party_size_max":4,"seating_area":"dining_room","type":"standard","tables":1%s}`, localDate(3), policy), "Idempotency-Key", key())
			return s, b
		}
		refused := func(what string, status int, body []byte, param string) {
			t.Helper()
			if d := apiError(t, body); status != http.StatusBadRequest || d.Code != "parameter_invalid" || d.Param == nil || *d.Param != param {
				t.Fatalf("%s: %d %s, want 400 parameter_invalid on %s", what, status, body, param)
			}
		}

		// Refused at creation: nothing is added.
		before := slotsOfVenue()
		for _, bad := range []struct{ policy, param string }{
			{`,"payment_policy":{"type":"deposit","per":"cover"}`, "payment_policy.amount"},
			{`,"payment_policy":{"type":"card_guarantee","amount":4000}`, "payment_policy.per"},
			{`,"payment_policy":{"type":"card_guarantee","amount":-5,"per":"cover"}`, "payment_policy.amount"},
			{`,"payment_policy":{"type":"none","amount":100}`, "payment_policy.amount"},
		} {
			s, b := newSlot(bad.policy)
			refused(bad.policy, s, b, bad.param)
		}
		if n := slotsOfVenue(); n != before {
			t.Fatalf("refused slots were added: %d slots, was %d", n, before)
		}

		// A one-off slot with a card guarantee of its own.
		s, b := newSlot(`,"payment_policy":{"type":"card_guarantee","amount":4000,"per":"cover"}`)
		var own operatorapi.OperatorSlot
		decode(t, s, http.StatusCreated, b, &own)
		if p := own.PaymentPolicy; p == nil || p.Type != "card_guarantee" || deref(p.Amount) != 4000 || deref(own.PaymentPolicySource) != "slot" {
			t.Fatalf("created slot's policy: %+v %v", p, own.PaymentPolicySource)
		}

		// Refused on an existing slot: the tables sent with it do not change either.
		for _, bad := range []struct {
			slot, body, param string
		}{
			{slots[1].ID, `{"payment_policy":{"type":"card_guarantee","amount":4000,"per":"cover"}}`, "payment_policy.type"},
			{slots[1].ID, `{"payment_policy":{"type":"none"}}`, "payment_policy.type"},
			{slots[0].ID, `{"tables":5,"payment_policy":{"type":"deposit","per":"booking"}}`, "payment_policy.amount"},
			{slots[0].ID, `{"tables":5,"payment_policy":{"type":"venue_default","amount":10}}`, "payment_policy.amount"},
		} {
			s, _, b := e.do("PATCH", "/v1/operator/slots/"+bad.slot, op, bad.body)
			refused(bad.body, s, b, bad.param)
		}
		if n := e.count(t, "SELECT count(*) FROM slots WHERE venue_id = ? AND (payment_policy <> '' OR payment_policy_amount <> 0 OR payment_policy_per <> '' OR tables = 5)", v.ID); n != 1 {
			t.Fatalf("%d slots with a policy of their own or 5 tables, want the one created with one", n)
		}
		// A prime slot may be given venue_default (it is prepaid either way).
		var prime operatorapi.OperatorSlot
		s, _, b = e.do("PATCH", "/v1/operator/slots/"+slots[1].ID, op, `{"payment_policy":{"type":"venue_default"}}`)
		decode(t, s, http.StatusOK, b, &prime)
		if prime.PaymentPolicy == nil || prime.PaymentPolicy.Type != "prepay" || deref(prime.PaymentPolicySource) != "venue" {
			t.Fatalf("prime slot: %+v", prime.PaymentPolicy)
		}

		// Search shows each slot's policy: its own, or the venue's deposit.
		search := func(date string) map[string]client.PaymentPolicy {
			t.Helper()
			day, _ := time.Parse(time.DateOnly, date)
			r, err := e.client.SearchAvailabilityWithResponse(ctx, &client.SearchAvailabilityParams{Date: openapi_types.Date{Time: day}, PartySize: 2, VenueId: &v.ID})
			if err != nil || r.JSON200 == nil {
				t.Fatalf("search: %v %s", err, r.Body)
			}
			out := map[string]client.PaymentPolicy{}
			for _, sl := range r.JSON200.Data {
				out[sl.Id] = *sl.PaymentPolicy
			}
			return out
		}
		if p := search(localDate(3))[own.Id]; p.Type != client.PaymentPolicyTypeCardGuarantee || deref(p.Amount) != 4000 || p.Summary == "" {
			t.Fatalf("search, the slot's own policy: %+v", p)
		}
		if p := search(slots[0].LocalDate)[slots[0].ID]; p.Type != client.PaymentPolicyTypeDeposit || deref(p.Amount) != 2500 {
			t.Fatalf("search, the venue's policy: %+v", p)
		}

		// The hold and the quote: a card guarantee, no deposit taken.
		h := e.hold(own.Id, 2)
		if h.Payment != nil || h.CardGuarantee == nil || h.CardGuarantee.SetupIntentId == "" || h.PaymentPolicy.Type != client.PaymentPolicyTypeCardGuarantee || deref(h.PaymentPolicy.Amount) != 4000 {
			t.Fatalf("hold of the card-guarantee slot: %+v", h)
		}
		q, _ := e.client.GetCancellationQuoteWithResponse(ctx, h.Id)
		if q.JSON200 == nil || q.JSON200.PaymentPolicy == nil || q.JSON200.PaymentPolicy.Type != client.PaymentPolicyTypeCardGuarantee || deref(q.JSON200.PaymentPolicy.Amount) != 4000 {
			t.Fatalf("quote: %s", q.Body)
		}
		row, err := e.db.GetReservation(ctx, "", h.Id)
		if err != nil || row.PaymentPolicy != "card_guarantee" || row.DepositAmount != 4000 || row.DepositPer != "cover" || row.PaymentIntentID != nil {
			t.Fatalf("held row: %v %+v", err, row)
		}

		// The operator takes the deposit off the venue-default slot: it holds for free;
		// venue_default gives the venue's deposit back.
		var edited operatorapi.OperatorSlot
		s, _, b = e.do("PATCH", "/v1/operator/slots/"+slots[0].ID, op, `{"payment_policy":{"type":"none"}}`)
		decode(t, s, http.StatusOK, b, &edited)
		if edited.PaymentPolicy == nil || edited.PaymentPolicy.Type != "none" || deref(edited.PaymentPolicySource) != "slot" {
			t.Fatalf("edited slot: %+v", edited.PaymentPolicy)
		}
		if p := search(slots[0].LocalDate)[slots[0].ID]; p.Type != client.PaymentPolicyTypeNone {
			t.Fatalf("search after none: %+v", p)
		}
		free := e.hold(slots[0].ID, 2)
		if free.Payment != nil || free.CardGuarantee != nil || free.PaymentPolicy.Type != client.PaymentPolicyTypeNone {
			t.Fatalf("hold of the slot without a deposit: %+v", free)
		}
		s, _, b = e.do("PATCH", "/v1/operator/slots/"+slots[0].ID, op, `{"payment_policy":{"type":"venue_default"}}`)
		decode(t, s, http.StatusOK, b, &edited)
		if edited.PaymentPolicy == nil || edited.PaymentPolicy.Type != "deposit" || deref(edited.PaymentPolicySource) != "venue" {
			t.Fatalf("slot back to the venue's: %+v", edited.PaymentPolicy)
		}
		deposit := e.hold(slots[0].ID, 2)
		if deposit.Payment == nil || deposit.Payment.Amount != 5000 || deposit.PaymentPolicy.Type != client.PaymentPolicyTypeDeposit {
			t.Fatalf("hold after venue_default: %+v", deposit)
		}
		// The booking held while the slot had no deposit keeps its policy.
		if got := e.get(free.Id); got.PaymentPolicy.Type != client.PaymentPolicyTypeNone || got.Payment != nil {
			t.Fatalf("earlier hold after the change: %+v", got.PaymentPolicy)
		}
	})
}
