package client_test

// This file is hand-written (client.gen.go is generated): the five calls with this
// package, against a running PRIMA server. CI runs it against `prima serve` with the
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
	return nil
}

// testWriter prints the example's lines in the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
