package client_test

// This file is hand-written (client.gen.go is generated): the five calls with this
// package, then a calendar, a batch lookup and a watch, against a running PRIMA server. CI runs it against `prima serve` with the
// sandbox payment gateway (scripts/ci/sdk-e2e.sh):
//
//	PRIMA_URL=http://127.0.0.1:8080 PRIMA_TOKEN=prima_pat_… go test ./...

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	client "github.com/prima-dining/partner-api/sdk/go"
)

// Example walks the five calls: search, hold, pay (the sandbox stands in for Stripe.js),
// finalize, and read the confirmed booking back.
func Example() {
	err := fiveCalls(context.Background(), os.Getenv("PRIMA_URL"), os.Getenv("PRIMA_TOKEN"), os.Stdout)
	if err != nil {
		fmt.Println(err)
	}
}

// TestFiveCalls runs the example against PRIMA_URL with PRIMA_TOKEN. Without them it is
// skipped, unless PRIMA_REQUIRE_INTEGRATION=1 (CI), where it fails.
func TestFiveCalls(t *testing.T) {
	base, token := os.Getenv("PRIMA_URL"), os.Getenv("PRIMA_TOKEN")
	if base == "" || token == "" {
		if os.Getenv("PRIMA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("PRIMA_REQUIRE_INTEGRATION=1 but PRIMA_URL and PRIMA_TOKEN are not set")
		}
		t.Skip("set PRIMA_URL and PRIMA_TOKEN to a running server with the sandbox gateway to run the five calls")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fiveCalls(ctx, base, token, testWriter{t}); err != nil {
		t.Fatal(err)
	}
}

func fiveCalls(ctx context.Context, baseURL, token string, out io.Writer) error {
	c, err := client.NewClientWithResponses(baseURL, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		return err
	}
	orderID := time.Now().UnixNano() // one order of yours: its keys make every retry safe

	// 1 Search: prime slots for two, tomorrow.
	prime := client.SearchAvailabilityParamsTypePrime
	search, err := c.SearchAvailabilityWithResponse(ctx, &client.SearchAvailabilityParams{
		Date: openapi_types.Date{Time: time.Now().AddDate(0, 0, 1)}, PartySize: 2, Type: &prime,
	})
	if err != nil {
		return err
	}
	if search.JSON200 == nil || len(search.JSON200.Data) == 0 {
		return fmt.Errorf("1 search: %d %s", search.StatusCode(), search.Body)
	}
	slot := search.JSON200.Data[0]
	fmt.Fprintln(out, "1 search:", search.StatusCode(), slot.Id, slot.Price.Summary)

	// 2 Hold, with an Idempotency-Key so a retry never holds twice.
	hold, err := c.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: fmt.Sprintf("order-%d-hold", orderID)},
		client.CreateReservationJSONRequestBody{
			SlotId: slot.Id, PartySize: 2,
			Guest: client.Guest{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+12125550143"},
		})
	if err != nil {
		return err
	}
	res := hold.JSON201
	if res == nil || res.Payment == nil {
		return fmt.Errorf("2 hold: %d %s", hold.StatusCode(), hold.Body)
	}
	fmt.Fprintln(out, "2 hold:", hold.StatusCode(), res.Status, res.Payment.Status)

	// 3 Pay: your client confirms payment.client_secret with Stripe.js; in the sandbox:
	outcome := client.ConfirmPaymentIntentRequestOutcomeSucceeded
	pay, err := c.ConfirmSandboxPaymentIntentWithResponse(ctx, res.Payment.PaymentIntentId,
		&client.ConfirmSandboxPaymentIntentParams{}, client.ConfirmPaymentIntentRequest{Outcome: &outcome})
	if err != nil {
		return err
	}
	if pay.JSON200 == nil {
		return fmt.Errorf("3 pay: %d %s", pay.StatusCode(), pay.Body)
	}
	fmt.Fprintln(out, "3 pay:", pay.StatusCode(), pay.JSON200.Status)

	// 4 Finalize: PRIMA checks and captures the payment, then confirms.
	fin, err := c.FinalizeReservationWithResponse(ctx, res.Id, &client.FinalizeReservationParams{IdempotencyKey: fmt.Sprintf("order-%d-finalize", orderID)})
	if err != nil {
		return err
	}
	if fin.JSON200 == nil || fin.JSON200.Status != client.ReservationStatusConfirmed {
		return fmt.Errorf("4 finalize: %d %s", fin.StatusCode(), fin.Body)
	}
	fmt.Fprintln(out, "4 finalize:", fin.StatusCode(), fin.JSON200.Status, fin.JSON200.Payment.Status)

	// 5 Return: the booking, any time.
	got, err := c.GetReservationWithResponse(ctx, res.Id, nil)
	if err != nil {
		return err
	}
	if got.JSON200 == nil || got.JSON200.ConfirmationCode == nil {
		return errors.New("5 get: no confirmed booking with a confirmation code")
	}
	fmt.Fprintln(out, "5 get:", got.StatusCode(), got.JSON200.Status, *got.JSON200.ConfirmationCode)
	return cacheAndWatch(ctx, c, slot, orderID, out)
}

// cacheAndWatch goes past the five calls: a week's calendar of the slot's city, a batch
// lookup of saved slot ids, and a watch for a table at the slot's venue and time.
func cacheAndWatch(ctx context.Context, c *client.ClientWithResponses, slot client.Slot, orderID int64, out io.Writer) error {
	// Calendar: per local date, whether a search would find a table for two.
	from := time.Now().AddDate(0, 0, 1)
	city := slot.Venue.City
	cal, err := c.GetAvailabilityCalendarWithResponse(ctx, &client.GetAvailabilityCalendarParams{
		City: &city, PartySize: 2,
		From: openapi_types.Date{Time: from}, To: openapi_types.Date{Time: from.AddDate(0, 0, 6)},
	})
	if err != nil {
		return err
	}
	if cal.JSON200 == nil || len(cal.JSON200.Data) != 7 {
		return fmt.Errorf("6 calendar: %d %s", cal.StatusCode(), cal.Body)
	}
	first := cal.JSON200.Data[0]
	fmt.Fprintln(out, "6 calendar:", cal.StatusCode(), len(cal.JSON200.Data), "days;", first.Date, first.Status, first.BookableSlots, "slots")

	// Batch lookup: saved slot ids answered one by one; an unknown id is not_found.
	look, err := c.LookupSlotsWithResponse(ctx, client.LookupSlotsJSONRequestBody{PartySize: 2, SlotIds: []string{slot.Id, "slot_unknown"}})
	if err != nil {
		return err
	}
	if look.JSON200 == nil || len(look.JSON200.Data) != 2 || look.JSON200.Data[1].Status != "not_found" {
		return fmt.Errorf("7 lookup: %d %s", look.StatusCode(), look.Body)
	}
	fmt.Fprintln(out, "7 lookup:", look.StatusCode(), look.JSON200.Data[0].SlotId, look.JSON200.Data[0].Status, look.JSON200.Data[0].TablesLeft, "left;", look.JSON200.Data[1].Status)

	// Watch: tell me when a table for two frees up at this venue and time (auto_hold
	// would hold it for the guest at once).
	venueID, autoHold := slot.Venue.Id, false
	w, err := c.CreateWatchWithResponse(ctx, &client.CreateWatchParams{IdempotencyKey: fmt.Sprintf("order-%d-watch", orderID)},
		client.CreateWatchJSONRequestBody{
			VenueId: &venueID, Date: slot.LocalDate, TimeFrom: slot.LocalTime, TimeTo: slot.LocalTime, PartySize: 2,
			Guest:    client.Guest{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+12125550143"},
			AutoHold: &autoHold,
		})
	if err != nil {
		return err
	}
	if w.JSON201 == nil {
		return fmt.Errorf("8 watch: %d %s", w.StatusCode(), w.Body)
	}
	fmt.Fprintln(out, "8 watch:", w.StatusCode(), w.JSON201.Id, w.JSON201.Status)
	if w.JSON201.Status != client.WatchStatusActive {
		return nil // a table was already free: matched at once
	}
	stop, err := c.CancelWatchWithResponse(ctx, w.JSON201.Id, &client.CancelWatchParams{IdempotencyKey: fmt.Sprintf("order-%d-unwatch", orderID)})
	if err != nil {
		return err
	}
	if stop.JSON200 == nil || stop.JSON200.Status != client.WatchStatusCancelled {
		return fmt.Errorf("8 cancel watch: %d %s", stop.StatusCode(), stop.Body)
	}
	fmt.Fprintln(out, "8 cancel watch:", stop.StatusCode(), stop.JSON200.Status)
	return nil
}

// testWriter prints the example's lines in the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
