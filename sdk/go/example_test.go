package client_test

// This file is hand-written (gen/ is otherwise generated): it shows partners the five
// calls with this package, against an in-process PRIMA server on a throwaway database.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/demo"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
)

// Example walks the five calls: search, hold, pay (the sandbox stands in for Stripe.js),
// finalize, and read the confirmed booking back.
func Example() {
	ctx := context.Background()
	baseURL, token, stop := demoServer(ctx)
	defer stop()

	c, _ := client.NewClientWithResponses(baseURL, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))

	// 1 Search: prime slots for two, the day after tomorrow.
	day := time.Now().AddDate(0, 0, 2)
	prime := client.Prime
	search, _ := c.SearchAvailabilityWithResponse(ctx, &client.SearchAvailabilityParams{
		Date: openapi_types.Date{Time: day}, PartySize: 2, Type: &prime,
	})
	slot := search.JSON200.Data[0]
	fmt.Println("1 search:", search.StatusCode(), slot.Type, slot.Price.Per)

	// 2 Hold, with an Idempotency-Key so a retry never holds twice.
	hold, _ := c.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: "order-1001-hold"},
		client.CreateReservationJSONRequestBody{
			SlotId: slot.Id, PartySize: 2,
			Guest: client.Guest{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+12125550143"},
		})
	res := hold.JSON201
	fmt.Println("2 hold:", hold.StatusCode(), res.Status, res.Payment.Status)

	// 3 Pay: your client confirms payment.client_secret with Stripe.js; in the sandbox:
	outcome := client.ConfirmPaymentIntentRequestOutcomeSucceeded
	pay, _ := c.ConfirmSandboxPaymentIntentWithResponse(ctx, res.Payment.PaymentIntentId, &client.ConfirmSandboxPaymentIntentParams{},
		client.ConfirmPaymentIntentRequest{Outcome: &outcome})
	fmt.Println("3 pay:", pay.StatusCode(), pay.JSON200.Status)

	// 4 Finalize: PRIMA checks and captures the payment, then confirms.
	fin, _ := c.FinalizeReservationWithResponse(ctx, res.Id, &client.FinalizeReservationParams{IdempotencyKey: "order-1001-finalize"})
	fmt.Println("4 finalize:", fin.StatusCode(), fin.JSON200.Status, fin.JSON200.Payment.Status, fin.JSON200.VenueSync.Status)

	// 5 Return: the booking, any time.
	got, _ := c.GetReservationWithResponse(ctx, res.Id)
	fmt.Println("5 get:", got.StatusCode(), got.JSON200.Status, *got.JSON200.ConfirmationCode != "")

	// Output:
	// 1 search: 200 prime cover
	// 2 hold: 201 held requires_payment_method
	// 3 pay: 200 requires_capture
	// 4 finalize: 200 confirmed succeeded pending
	// 5 get: 200 confirmed true
}

// demoServer starts PRIMA on a temporary SQLite database with the demo catalogue and
// returns its URL, a partner token, and a function that stops it.
func demoServer(ctx context.Context) (string, string, func()) {
	dir, _ := os.MkdirTemp("", "prima-example")
	db, err := store.Open(ctx, store.Config{URL: "sqlite:" + filepath.Join(dir, "prima.db")})
	if err != nil {
		panic(err)
	}
	if err := db.Migrate(ctx); err != nil {
		panic(err)
	}
	if _, _, err := demo.Seed(ctx, db, demo.Options{Days: 3}); err != nil {
		panic(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens := access.NewService(db)
	token, _, _ := tokens.Create(ctx, access.CreateParams{Partner: "example-partner"})
	svc := booking.New(db, payments.NewSandbox(db), booking.Config{Logger: quiet})
	h, err := server.New(server.Deps{
		Reservations:      svc.Reservations,
		Changes:           svc.Changes,
		Payments:          svc.Payments,
		VenueReservations: svc.VenueReservations,
		WebhookEndpoints:  webhooks.NewEndpoints(db, webhooks.EndpointsConfig{}),
		Tokens:            tokens,
		Idempotency:       idempotency.NewService(db),
		Database:          db,
		Logger:            quiet,
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	return srv.URL, token, func() { srv.Close(); _ = db.Close(); _ = os.RemoveAll(dir) }
}
