package client_test

// Hand-written examples of partner self-service with this package: catching up on
// missed events, rotating a webhook secret and a token, and a month's settlement.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	client "github.com/prima-dining/partner-api/sdk/go"
)

// newClient is a client for PRIMA_URL with PRIMA_TOKEN.
func newClient() (*client.ClientWithResponses, error) {
	return client.NewClientWithResponses(os.Getenv("PRIMA_URL"), client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+os.Getenv("PRIMA_TOKEN"))
		return nil
	}))
}

// Catch up after an outage: page back from the newest event to the last one handled,
// then handle the missed ones oldest first, deduplicating by id as for webhook-id.
func ExampleClientWithResponses_ListEventsWithResponse() {
	ctx := context.Background()
	prima, err := newClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	lastHandled := os.Getenv("LAST_EVENT_ID")
	var missed []client.AnyEvent
	limit := 100
	params := &client.ListEventsParams{Limit: &limit}
pages:
	for {
		page, err := prima.ListEventsWithResponse(ctx, params)
		if err != nil || page.JSON200 == nil {
			fmt.Println("list events:", err)
			return
		}
		for _, ev := range page.JSON200.Data {
			if ev.Id == lastHandled {
				break pages
			}
			missed = append(missed, ev)
			params.StartingAfter = &ev.Id
		}
		if !page.JSON200.HasMore {
			break
		}
	}
	for i := len(missed) - 1; i >= 0; i-- {
		// data.object is a reservation, a watch or an availability update, by its object
		// member; each carries its id.
		fmt.Println(missed[i].Id, missed[i].Type, missed[i].Data.Object.Object, missed[i].Data.Object.AdditionalProperties["id"])
	}
}

// Rotate a webhook endpoint's secret with one hour during which deliveries are signed
// under both secrets; deploy the new one within the hour.
func ExampleClientWithResponses_RotateWebhookEndpointSecretWithResponse() {
	prima, err := newClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	hour := 3600
	key := fmt.Sprintf("rotate-%d", time.Now().UnixNano())
	r, err := prima.RotateWebhookEndpointSecretWithResponse(context.Background(), os.Getenv("PRIMA_WEBHOOK_ENDPOINT_ID"),
		&client.RotateWebhookEndpointSecretParams{IdempotencyKey: &key}, client.RotateWebhookSecretRequest{OverlapSeconds: &hour})
	if err != nil || r.JSON200 == nil || r.JSON200.Secret == nil {
		fmt.Println("rotate:", err)
		return
	}
	fmt.Println("deploy the new secret before", r.JSON200.PreviousSecretExpiresAt)
}

// Rotate an API token (with a tokens:write token): the old one works for a day more.
func ExampleClientWithResponses_RotateTokenWithResponse() {
	prima, err := newClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	day := 86400
	key := fmt.Sprintf("rotate-token-%d", time.Now().UnixNano())
	r, err := prima.RotateTokenWithResponse(context.Background(), os.Getenv("PRIMA_TOKEN_ID"),
		&client.RotateTokenParams{IdempotencyKey: &key}, client.RotateTokenRequest{OverlapSeconds: &day})
	if err != nil || r.JSON201 == nil || r.JSON201.Secret == nil {
		fmt.Println("rotate token:", err)
		return
	}
	fmt.Println("new token", r.JSON201.Id, "; the old one stops working after a day")
}

// A month's settlement totals per currency.
func ExampleClientWithResponses_GetSettlementReportWithResponse() {
	prima, err := newClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	from := openapi_types.Date{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	to := openapi_types.Date{Time: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	r, err := prima.GetSettlementReportWithResponse(context.Background(), &client.GetSettlementReportParams{From: from, To: to})
	if err != nil || r.JSON200 == nil {
		fmt.Println("report:", err)
		return
	}
	for _, t := range r.JSON200.Totals {
		fmt.Printf("%s: %d reservations, captured %d, refunded %d, fees %d, net %d\n",
			t.Currency, t.Reservations, t.Captured, t.Refunded, t.Fees, t.Net)
	}
}
