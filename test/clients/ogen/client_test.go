package ogenclient_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/test/clients/later"
	"github.com/prima-dining/partner-api/test/clients/ogen/api"
)

type bearer string

func (b bearer) BearerAuth(context.Context, api.OperationName) (api.BearerAuth, error) {
	return api.BearerAuth{Token: string(b)}, nil
}

// TestFiveCalls books a prime table with the ogen client: search, hold, pay (the
// sandbox's confirm), finalize, get. Then it decodes the same answers as a later v1
// could send them.
func TestFiveCalls(t *testing.T) {
	base, token := later.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := api.NewClient(base, bearer(token))
	if err != nil {
		t.Fatal(err)
	}
	order := strconv.FormatInt(time.Now().UnixNano(), 36)

	// 1 Search: prime slots for two, tomorrow.
	found, err := c.SearchAvailability(ctx, api.SearchAvailabilityParams{
		Date: time.Now().AddDate(0, 0, 1), PartySize: 2,
		Type: api.NewOptSearchAvailabilityType(api.SearchAvailabilityTypePrime),
	})
	if err != nil {
		t.Fatal("1 search:", err)
	}
	slots, ok := found.(*api.SlotListHeaders)
	if !ok || len(slots.Response.Data) == 0 {
		t.Fatalf("1 search: %T %+v, want slots", found, found)
	}
	slot := slots.Response.Data[0]
	t.Logf("1 search: %s at %s (%s)", slot.ID, slot.StartsAt, slot.Type)

	// 2 Hold.
	held, err := c.CreateReservation(ctx, &api.CreateReservationRequest{
		SlotID: slot.ID, PartySize: 2,
		Guest: api.Guest{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+12125550143"},
	}, api.CreateReservationParams{IdempotencyKey: "ogen-" + order + "-hold"})
	if err != nil {
		t.Fatal("2 hold:", err)
	}
	res, ok := held.(*api.ReservationHeaders)
	if !ok || res.Response.Status != "held" || res.Response.Payment.Null {
		t.Fatalf("2 hold: %T %+v, want a held reservation with a payment", held, held)
	}
	hold := res.Response
	t.Logf("2 hold: %s %s, intent %s", hold.ID, hold.Status, hold.Payment.Value.PaymentIntentID)

	// 3 Pay: the sandbox confirms the intent as Stripe.js would.
	paid, err := c.ConfirmSandboxPaymentIntent(ctx, api.NewOptConfirmPaymentIntentRequest(api.ConfirmPaymentIntentRequest{
		Outcome: api.NewOptConfirmPaymentIntentRequestOutcome(api.ConfirmPaymentIntentRequestOutcomeSucceeded),
	}), api.ConfirmSandboxPaymentIntentParams{PaymentIntentID: hold.Payment.Value.PaymentIntentID})
	if err != nil {
		t.Fatal("3 pay:", err)
	}
	intent, ok := paid.(*api.PaymentIntentHeaders)
	if !ok || intent.Response.Status != "requires_capture" {
		t.Fatalf("3 pay: %T %+v, want requires_capture", paid, paid)
	}

	// 4 Finalize.
	done, err := c.FinalizeReservation(ctx, api.FinalizeReservationParams{ReservationID: hold.ID, IdempotencyKey: "ogen-" + order + "-finalize"})
	if err != nil {
		t.Fatal("4 finalize:", err)
	}
	confirmed, ok := done.(*api.ReservationHeaders)
	if !ok || confirmed.Response.Status != "confirmed" || confirmed.Response.ConfirmationCode.Null {
		t.Fatalf("4 finalize: %T %+v, want confirmed with a code", done, done)
	}

	// 5 Get.
	got, err := c.GetReservation(ctx, api.GetReservationParams{ReservationID: hold.ID})
	if err != nil {
		t.Fatal("5 get:", err)
	}
	booking, ok := got.(*api.GetReservationOKHeaders)
	if !ok || booking.Response.Status != "confirmed" || booking.Response.ConfirmationCode != confirmed.Response.ConfirmationCode || !booking.ETag.Set {
		t.Fatalf("5 get: %T %+v, want the confirmed booking with an ETag", got, got)
	}
	t.Logf("5 get: %s %s, code %s", booking.Response.ID, booking.Response.Status, booking.Response.ConfirmationCode.Value)

	// Revalidated with its ETag, the unchanged booking is 304 Not Modified.
	again, err := c.GetReservation(ctx, api.GetReservationParams{ReservationID: hold.ID, IfNoneMatch: booking.ETag})
	if err != nil {
		t.Fatal("5 get again:", err)
	}
	if _, ok := again.(*api.NotModified); !ok {
		t.Fatalf("5 get with If-None-Match %s: %T %+v, want 304", booking.ETag.Value, again, again)
	}

	t.Run("DecodesWhatV1MayAdd", func(t *testing.T) {
		decodesWhatV1MayAdd(t, base, token, hold.ID)
	})
}

// decodesWhatV1MayAdd decodes the server's real answers (the booking, and a search) as
// a later v1 could send them: a field added to every object, and enum values this
// client has never seen.
func decodesWhatV1MayAdd(t *testing.T, base, token, reservationID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tomorrow := time.Now().AddDate(0, 0, 1)
	url := later.Serve(t, base, token,
		later.Answer{Path: "/v1/reservations/" + reservationID, Values: map[string]string{
			"status": "waitlisted", "type": "counter", "venue_sync.status": "queued",
			"payment.status": "requires_reauthorization", "payment.provider": "adyen",
			"cancellation_policy.fee_type": "tiered",
		}},
		later.Answer{Path: "/v1/availability?type=prime&party_size=2&limit=1&date=" + tomorrow.Format(time.DateOnly), Values: map[string]string{
			"data.0.type": "counter", "data.0.price.per": "table",
		}},
	)
	c, err := api.NewClient(url, bearer(token))
	if err != nil {
		t.Fatal(err)
	}

	got, err := c.GetReservation(ctx, api.GetReservationParams{ReservationID: reservationID})
	if err != nil {
		t.Fatal("the extended reservation:", err)
	}
	r, ok := got.(*api.GetReservationOKHeaders)
	if !ok || r.Response.ID != reservationID || r.Response.Status != "waitlisted" || r.Response.Type != "counter" ||
		r.Response.VenueSync.Status != "queued" || r.Response.Payment.Value.Provider != "adyen" ||
		r.Response.Payment.Value.Status != "requires_reauthorization" || r.Response.CancellationPolicy.FeeType != "tiered" {
		t.Fatalf("the extended reservation decoded as %T %+v", got, got)
	}

	found, err := c.SearchAvailability(ctx, api.SearchAvailabilityParams{Date: tomorrow, PartySize: 2})
	if err != nil {
		t.Fatal("the extended search:", err)
	}
	s, ok := found.(*api.SlotListHeaders)
	if !ok || len(s.Response.Data) != 1 || s.Response.Data[0].Type != "counter" || s.Response.Data[0].Price.Value.Per != "table" {
		t.Fatalf("the extended search decoded as %T %+v", found, found)
	}
}
