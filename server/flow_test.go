package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestFiveCallsStandardSlot(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 2})

		// 1 Search.
		date, _ := time.Parse(time.DateOnly, slots[0].LocalDate)
		search, err := e.client.SearchAvailabilityWithResponse(ctx, &client.SearchAvailabilityParams{
			Date: openapi_types.Date{Time: date}, PartySize: 2, VenueId: &v.ID,
		})
		if err != nil || search.JSON200 == nil {
			t.Fatalf("search: %v %s", err, search.Body)
		}
		if len(search.JSON200.Data) != 1 || search.JSON200.Data[0].Id != slots[0].ID || search.JSON200.Data[0].TablesLeft != 2 {
			t.Fatalf("search found %+v", search.JSON200.Data)
		}
		if _, off := search.JSON200.Data[0].StartsAt.Zone(); off == 0 {
			t.Errorf("starts_at should carry New York's offset, got %s", search.JSON200.Data[0].StartsAt)
		}

		// 2 Hold.
		hold, err := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold: %v %d %s", err, hold.StatusCode(), hold.Body)
		}
		r := hold.JSON201
		if r.Status != client.ReservationStatusHeld || r.ExpiresAt == nil || r.Payment != nil || r.ConfirmationCode != nil {
			t.Fatalf("hold answered %+v", r)
		}

		// 4 Finalize (3 is for prime only).
		fin, err := e.client.FinalizeReservationWithResponse(ctx, r.Id, &client.FinalizeReservationParams{IdempotencyKey: key()})
		if err != nil || fin.JSON200 == nil {
			t.Fatalf("finalize: %v %d %s", err, fin.StatusCode(), fin.Body)
		}
		if fin.JSON200.Status != client.ReservationStatusConfirmed || fin.JSON200.ConfirmationCode == nil || fin.JSON200.ExpiresAt != nil {
			t.Fatalf("finalize answered %+v", fin.JSON200)
		}

		// 5 Return.
		got, err := e.client.GetReservationWithResponse(ctx, r.Id, nil)
		if err != nil || got.JSON200 == nil || got.JSON200.Status != client.ReservationStatusConfirmed ||
			*got.JSON200.ConfirmationCode != *fin.JSON200.ConfirmationCode {
			t.Fatalf("get: %v %s", err, got.Body)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 1 || active != 1 {
			t.Fatalf("database: tables_taken=%d active=%d, want 1 and 1", taken, active)
		}
	})
}

func TestFiveCallsPrimeSlotPaidThroughSandbox(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true})

		hold, err := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 3))
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold: %v %s", err, hold.Body)
		}
		p := hold.JSON201.Payment
		if p == nil || p.Amount != 3*7500 || p.Currency != "usd" || p.ClientSecret == "" || p.Status != client.PaymentIntentStatusRequiresPaymentMethod || p.Provider != client.PaymentProviderSandbox {
			t.Fatalf("hold payment %+v", p)
		}

		// Finalizing before the client paid is refused and leaves the hold as it was.
		early, _ := e.client.FinalizeReservationWithResponse(ctx, hold.JSON201.Id, &client.FinalizeReservationParams{IdempotencyKey: key()})
		if early.StatusCode() != http.StatusPaymentRequired || early.JSON402.Error.Code != "payment_required" ||
			*early.JSON402.Error.NextStep != client.ErrorDetailNextStepConfirmPayment || *early.JSON402.Error.PaymentIntentStatus != client.PaymentIntentStatusRequiresPaymentMethod {
			t.Fatalf("early finalize: %d %s", early.StatusCode(), early.Body)
		}

		// Every sandbox outcome: a declined card is a 402 with the decline; 3-D Secure
		// leaves the payment waiting, and finalize says to handle the next action.
		declined := client.ConfirmPaymentIntentRequestOutcomeDeclined
		dec, _ := e.client.ConfirmSandboxPaymentIntentWithResponse(ctx, p.PaymentIntentId, &client.ConfirmSandboxPaymentIntentParams{},
			client.ConfirmPaymentIntentRequest{Outcome: &declined})
		if dec.StatusCode() != http.StatusPaymentRequired || dec.JSON402.Error.Code != "card_declined" || *dec.JSON402.Error.DeclineCode != "generic_decline" {
			t.Fatalf("declined confirm: %d %s", dec.StatusCode(), dec.Body)
		}
		action := client.ConfirmPaymentIntentRequestOutcomeRequiresAction
		if r, _ := e.client.ConfirmSandboxPaymentIntentWithResponse(ctx, p.PaymentIntentId, &client.ConfirmSandboxPaymentIntentParams{},
			client.ConfirmPaymentIntentRequest{Outcome: &action}); r.JSON200 == nil || r.JSON200.Status != client.PaymentIntentStatusRequiresAction {
			t.Fatalf("requires_action confirm: %s", r.Body)
		}
		if fin, _ := e.client.FinalizeReservationWithResponse(ctx, hold.JSON201.Id, &client.FinalizeReservationParams{IdempotencyKey: key()}); fin.JSON402 == nil || *fin.JSON402.Error.NextStep != client.ErrorDetailNextStepHandleNextAction {
			t.Fatalf("finalize awaiting 3-D Secure: %s", fin.Body)
		}

		// 3 Pay, as Stripe.js would on the client.
		succeeded := client.ConfirmPaymentIntentRequestOutcomeSucceeded
		conf, err := e.client.ConfirmSandboxPaymentIntentWithResponse(ctx, p.PaymentIntentId, &client.ConfirmSandboxPaymentIntentParams{},
			client.ConfirmPaymentIntentRequest{Outcome: &succeeded})
		if err != nil || conf.JSON200 == nil || conf.JSON200.Status != client.PaymentIntentStatusRequiresCapture {
			t.Fatalf("confirm: %v %s", err, conf.Body)
		}

		// 4 Finalize captures and confirms.
		fin, err := e.client.FinalizeReservationWithResponse(ctx, hold.JSON201.Id, &client.FinalizeReservationParams{IdempotencyKey: key()})
		if err != nil || fin.JSON200 == nil {
			t.Fatalf("finalize: %v %s", err, fin.Body)
		}
		if fin.JSON200.Status != client.ReservationStatusConfirmed || fin.JSON200.Payment.Status != client.PaymentIntentStatusSucceeded || fin.JSON200.Payment.AmountCaptured != 3*7500 {
			t.Fatalf("finalize answered %+v %+v", fin.JSON200, fin.JSON200.Payment)
		}

		// 5 Return; a second finalize charges nothing more.
		again, _ := e.client.FinalizeReservationWithResponse(ctx, hold.JSON201.Id, &client.FinalizeReservationParams{IdempotencyKey: key()})
		if again.JSON200 == nil || again.JSON200.Payment.AmountCaptured != 3*7500 {
			t.Fatalf("second finalize: %s", again.Body)
		}
		got, _ := e.client.GetReservationWithResponse(ctx, hold.JSON201.Id, nil)
		if got.JSON200 == nil || got.JSON200.Status != client.ReservationStatusConfirmed || got.JSON200.Payment.Status != client.PaymentIntentStatusSucceeded {
			t.Fatalf("get: %s", got.Body)
		}
	})
}

// holdConcurrently fires n holds at once, spread over the given servers' clients, and
// counts the answers by status and error code.
func holdConcurrently(t *testing.T, clients []*client.ClientWithResponses, slotID string, n int) map[string]int {
	t.Helper()
	var (
		mu      sync.Mutex
		answers = map[string]int{}
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(c *client.ClientWithResponses) {
			defer wg.Done()
			<-start
			resp, err := c.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slotID, 2))
			label := "transport error"
			switch {
			case err != nil:
			case resp.JSON201 != nil:
				label = "201"
			case resp.JSON409 != nil:
				label = "409 " + resp.JSON409.Error.Code
			default:
				label = statusOf(resp) + " " + string(resp.Body)
			}
			mu.Lock()
			answers[label]++
			mu.Unlock()
		}(clients[i%len(clients)])
	}
	close(start)
	wg.Wait()
	return answers
}

func TestHoldLastTablesUnderContention(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 3})
		answers := holdConcurrently(t, []*client.ClientWithResponses{e.client}, slots[0].ID, 100)
		if answers["201"] != 3 || answers["409 slot_unavailable"] != 97 || len(answers) != 2 {
			t.Fatalf("answers: %v, want 3 × 201 and 97 × 409 slot_unavailable", answers)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 3 || active != 3 {
			t.Fatalf("database: tables_taken=%d active=%d, want 3 and 3", taken, active)
		}
	})
}

func TestHoldContentionAcrossTwoServersOnOnePostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(context.Background(), store.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	a := newEnv(t, open())
	b := newEnv(t, open())
	_, slots := a.addVenue(slotSpec{tables: 3})
	answers := holdConcurrently(t, []*client.ClientWithResponses{a.client, b.clientFor(a.token)}, slots[0].ID, 100)
	if answers["201"] != 3 || answers["409 slot_unavailable"] != 97 || len(answers) != 2 {
		t.Fatalf("answers: %v, want 3 × 201 and 97 × 409 slot_unavailable", answers)
	}
	if taken, active, _ := a.counts(slots[0].ID); taken != 3 || active != 3 {
		t.Fatalf("database: tables_taken=%d active=%d, want 3 and 3", taken, active)
	}
}

func TestSlotUnavailableOffersAlternatives(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1}, slotSpec{tables: 2}, slotSpec{tables: 1, minP: 5, maxP: 8})
		ctx := context.Background()
		if r, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2)); r.JSON201 == nil {
			t.Fatalf("first hold: %s", r.Body)
		}
		r, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if r.JSON409 == nil || r.JSON409.Error.Code != "slot_unavailable" || r.JSON409.Error.Alternatives == nil {
			t.Fatalf("second hold: %d %s", r.StatusCode(), r.Body)
		}
		alts := *r.JSON409.Error.Alternatives
		if len(alts) != 1 || alts[0].Id != slots[1].ID {
			t.Fatalf("alternatives %+v, want only %s (the third slot seats 5–8)", alts, slots[1].ID)
		}
	})
}

func TestExpiredHoldCannotBeFinalizedAndFreesTheTable(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withHoldTTL(time.Second))
		ctx := context.Background()
		_, slots := e.addVenue(slotSpec{tables: 1})
		first, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if first.JSON201 == nil {
			t.Fatalf("hold: %s", first.Body)
		}
		time.Sleep(1100 * time.Millisecond)

		fin, _ := e.client.FinalizeReservationWithResponse(ctx, first.JSON201.Id, &client.FinalizeReservationParams{IdempotencyKey: key()})
		if fin.JSON409 == nil || fin.JSON409.Error.Code != "hold_expired" {
			t.Fatalf("finalize after expiry: %d %s", fin.StatusCode(), fin.Body)
		}
		second, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if second.JSON201 == nil {
			t.Fatalf("hold on the freed table: %d %s", second.StatusCode(), second.Body)
		}
		got, _ := e.client.GetReservationWithResponse(ctx, first.JSON201.Id, nil)
		if got.JSON200 == nil || got.JSON200.Status != client.ReservationStatusExpired {
			t.Fatalf("first hold now: %s", got.Body)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 1 || active != 1 {
			t.Fatalf("database: tables_taken=%d active=%d, want 1 and 1", taken, active)
		}
	})
}

func TestExpiredHoldNeverBlocksANewHoldEvenBeforeTheSweeper(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withHoldTTL(time.Second))
		_, slots := e.addVenue(slotSpec{tables: 1})
		ctx := context.Background()
		if r, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2)); r.JSON201 == nil {
			t.Fatalf("hold: %s", r.Body)
		}
		time.Sleep(1100 * time.Millisecond)
		// No sweeper runs in this test: the hold itself releases the overdue table.
		r, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if r.JSON201 == nil {
			t.Fatalf("new hold: %d %s", r.StatusCode(), r.Body)
		}
	})
}

func TestSweeperExpiresHoldsAndCancelsTheirPaymentIntents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withHoldTTL(time.Second))
		ctx := context.Background()
		_, slots := e.addVenue(slotSpec{tables: 2, prime: true})
		r, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if r.JSON201 == nil {
			t.Fatalf("hold: %s", r.Body)
		}
		time.Sleep(1100 * time.Millisecond)
		n, err := e.booking.Payments.Sweep(ctx)
		if err != nil || n != 1 {
			t.Fatalf("sweep expired %d (%v), want 1", n, err)
		}
		got, _ := e.client.GetReservationWithResponse(ctx, r.JSON201.Id, nil)
		if got.JSON200.Status != client.ReservationStatusExpired || got.JSON200.Payment.Status != client.PaymentIntentStatusCanceled {
			t.Fatalf("after sweep: %s", got.Body)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 0 || active != 0 {
			t.Fatalf("database: tables_taken=%d active=%d, want 0 and 0", taken, active)
		}
	})
}

func TestExtendIsCappedAndCancelReleasesTheTable(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withHoldTTL(2*time.Second)) // cap: 4 s in all
		ctx := context.Background()
		_, slots := e.addVenue(slotSpec{tables: 1})
		h, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[0].ID, 2))
		if h.JSON201 == nil {
			t.Fatalf("hold: %s", h.Body)
		}
		time.Sleep(1500 * time.Millisecond)
		ext, _ := e.client.ExtendReservationWithResponse(ctx, h.JSON201.Id, &client.ExtendReservationParams{})
		if ext.JSON200 == nil || !ext.JSON200.ExpiresAt.After(*h.JSON201.ExpiresAt) || ext.JSON200.ExpiresAt.After(*h.JSON201.HoldExpiresAtMax) {
			t.Fatalf("extend: %s", ext.Body)
		}
		time.Sleep(1000 * time.Millisecond)
		ext2, _ := e.client.ExtendReservationWithResponse(ctx, h.JSON201.Id, &client.ExtendReservationParams{})
		if ext2.JSON200 == nil || !ext2.JSON200.ExpiresAt.Equal(*h.JSON201.HoldExpiresAtMax) {
			t.Fatalf("second extend should reach the cap: %s", ext2.Body)
		}
		ext3, _ := e.client.ExtendReservationWithResponse(ctx, h.JSON201.Id, &client.ExtendReservationParams{})
		if ext3.JSON409 == nil || ext3.JSON409.Error.Code != "hold_extension_limit" {
			t.Fatalf("extend past the cap: %d %s", ext3.StatusCode(), ext3.Body)
		}

		c, _ := e.client.CancelReservationWithResponse(ctx, h.JSON201.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusReleased || c.JSON200.CancelledAt == nil {
			t.Fatalf("cancel: %s", c.Body)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 0 || active != 0 {
			t.Fatalf("database: tables_taken=%d active=%d, want 0 and 0", taken, active)
		}
		fin, _ := e.client.FinalizeReservationWithResponse(ctx, h.JSON201.Id, &client.FinalizeReservationParams{IdempotencyKey: key()})
		if fin.JSON409 == nil || fin.JSON409.Error.Code != "reservation_state_invalid" {
			t.Fatalf("finalize a released hold: %d %s", fin.StatusCode(), fin.Body)
		}
	})
}

func TestListReservationsFiltersAndPages(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		_, slots := e.addVenue(slotSpec{tables: 10})
		var ids []string
		for i := 0; i < 5; i++ {
			body := holdBody(slots[0].ID, 2)
			ref := "order-" + string(rune('a'+i))
			body.PartnerReference = &ref
			r, _ := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, body)
			if r.JSON201 == nil {
				t.Fatalf("hold: %s", r.Body)
			}
			ids = append(ids, r.JSON201.Id)
		}
		limit := 2
		var seen []string
		var after *string
		for {
			page, _ := e.client.ListReservationsWithResponse(ctx, &client.ListReservationsParams{Limit: &limit, StartingAfter: after})
			if page.JSON200 == nil {
				t.Fatalf("list: %s", page.Body)
			}
			for _, r := range page.JSON200.Data {
				seen = append(seen, r.Id)
			}
			if !page.JSON200.HasMore {
				break
			}
			last := page.JSON200.Data[len(page.JSON200.Data)-1].Id
			after = &last
		}
		if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
			t.Fatalf("paged %v, want newest first %v", seen, ids)
		}
		ref := "order-c"
		one, _ := e.client.ListReservationsWithResponse(ctx, &client.ListReservationsParams{PartnerReference: &ref})
		if one.JSON200 == nil || len(one.JSON200.Data) != 1 || one.JSON200.Data[0].Id != ids[2] {
			t.Fatalf("filter by partner_reference: %s", one.Body)
		}
	})
}

func TestVenuesAreListedFilteredAndScopedToThePartner(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v, _ := e.addVenue(slotSpec{tables: 1})
		city, other := "new york", "Paris"
		list, _ := e.client.ListVenuesWithResponse(ctx, &client.ListVenuesParams{City: &city})
		if list.JSON200 == nil || len(list.JSON200.Data) != 1 || list.JSON200.Data[0].Id != v.ID || list.JSON200.Data[0].CancellationPolicy.Summary == "" {
			t.Fatalf("list by city: %s", list.Body)
		}
		none, _ := e.client.ListVenuesWithResponse(ctx, &client.ListVenuesParams{City: &other})
		if none.JSON200 == nil || len(none.JSON200.Data) != 0 {
			t.Fatalf("list by another city: %s", none.Body)
		}
		got, _ := e.client.GetVenueWithResponse(ctx, v.ID, nil)
		if got.JSON200 == nil || got.JSON200.TimeZone != "America/New_York" || got.JSON200.Currency != "usd" {
			t.Fatalf("get: %s", got.Body)
		}
		if missing, _ := e.client.GetVenueWithResponse(ctx, "ven_nope", nil); missing.JSON404 == nil || missing.JSON404.Error.Code != "resource_missing" {
			t.Fatalf("unknown venue: %s", missing.Body)
		}
	})
}
