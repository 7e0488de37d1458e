package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/prima-dining/partner-api/payments/stripetest"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// patch changes a reservation through the generated client.
func (e *env) patch(id string, body client.UpdateReservationJSONRequestBody) *client.UpdateReservationResponse {
	e.t.Helper()
	r, err := e.client.UpdateReservationWithResponse(context.Background(), id, &client.UpdateReservationParams{IdempotencyKey: key()}, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// book holds and finalizes a standard table (prime ones need their payment first).
func (e *env) book(slotID string, party int) client.Reservation {
	e.t.Helper()
	h := e.hold(slotID, party)
	fin := e.finalize(h.Id)
	if fin.JSON200 == nil {
		e.t.Fatalf("finalize: %s", fin.Body)
	}
	return *fin.JSON200
}

// venueUpdates counts the notifications the venue's platform received, by type.
func (e *env) venueUpdates(venueID string) map[string]int {
	e.t.Helper()
	ns, err := e.db.ListVenueNotifications(context.Background(), venueID, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, n := range ns {
		out[n.Type]++
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestChangeGuestDetailsPartyAndNotesInPlace(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 2})
		booked := e.book(slots[0].ID, 2)
		r := e.patch(booked.Id, client.UpdateReservationJSONRequestBody{
			PartySize:        ptr(4),
			Notes:            ptr("Two more guests; one vegetarian."),
			PartnerReference: ptr("order-2"),
			Guest:            &client.GuestUpdate{Email: ptr(openapi_types.Email("grace@example.com"))},
		})
		if r.JSON200 == nil {
			t.Fatalf("patch: %d %s", r.StatusCode(), r.Body)
		}
		got := r.JSON200
		if got.PartySize != 4 || *got.Notes != "Two more guests; one vegetarian." || *got.PartnerReference != "order-2" ||
			got.Guest.Email != "grace@example.com" || got.Guest.FirstName != "Ada" || got.Status != client.ReservationStatusConfirmed || got.SlotId != slots[0].ID {
			t.Fatalf("changed reservation: %s", r.Body)
		}
		if got.VenueSync.Status != client.VenueSyncStatusSynced {
			t.Fatalf("venue sync after the change: %+v", got.VenueSync)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 1 || active != 1 {
			t.Fatalf("slot: taken %d, active %d; want 1, 1", taken, active)
		}
		if n := e.venueUpdates(v.ID); n["reservation.updated"] != 1 || n["reservation.confirmed"] != 1 {
			t.Fatalf("venue notifications: %v", n)
		}
		// The history names every change, and the token that made it.
		h, err := e.client.ListReservationEventsWithResponse(context.Background(), booked.Id, &client.ListReservationEventsParams{})
		if err != nil || h.JSON200 == nil {
			t.Fatalf("history: %v %s", err, h.Body)
		}
		var types []string
		for _, ev := range h.JSON200.Data {
			types = append(types, string(ev.Type))
			if ev.TokenId == nil {
				t.Fatalf("history entry without its token: %s", h.Body)
			}
		}
		if fmt.Sprint(types) != "[reservation.held reservation.confirmed reservation.updated]" {
			t.Fatalf("history types: %v", types)
		}
		last := h.JSON200.Data[2].Changes
		if c := last["party_size"]; *c.From != "2" || *c.To != "4" {
			t.Fatalf("party_size change: %s", h.Body)
		}
		if c := last["guest.email"]; *c.From != "ada@example.com" || *c.To != "grace@example.com" {
			t.Fatalf("guest.email change: %s", h.Body)
		}
	})
}

func TestMoveToAnotherSlotTakesTheNewTableAndReleasesTheOld(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 1}, slotSpec{tables: 1}, slotSpec{tables: 1})
		_, other := e.addVenue(slotSpec{tables: 1})
		held := e.hold(slots[0].ID, 2)
		booked := e.book(slots[2].ID, 2) // fills slot 2

		r := e.patch(held.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(slots[1].ID)})
		if r.JSON200 == nil || r.JSON200.SlotId != slots[1].ID || r.JSON200.Status != client.ReservationStatusHeld ||
			!r.JSON200.StartsAt.Equal(slots[1].StartsAt) {
			t.Fatalf("move: %d %s", r.StatusCode(), r.Body)
		}
		for i, want := range []int{0, 1, 1} {
			if taken, active, _ := e.counts(slots[i].ID); taken != want || active != want {
				t.Fatalf("slot %d: taken %d, active %d; want %d", i, taken, active, want)
			}
		}
		// A full slot: 409 with alternatives, and nothing changes.
		r = e.patch(held.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(slots[2].ID)})
		if r.JSON409 == nil || r.JSON409.Error.Code != "slot_unavailable" || r.JSON409.Error.Alternatives == nil {
			t.Fatalf("move to a full slot: %d %s", r.StatusCode(), r.Body)
		}
		if got := e.get(held.Id); got.SlotId != slots[1].ID {
			t.Fatalf("after a refused move the booking is in %s", got.SlotId)
		}
		// Another venue's slot, and a party outside the range, are refused.
		r = e.patch(held.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(other[0].ID)})
		if r.JSON400 == nil || r.JSON400.Error.Code != "parameter_invalid" || *r.JSON400.Error.Param != "slot_id" {
			t.Fatalf("move to another venue: %d %s", r.StatusCode(), r.Body)
		}
		r = e.patch(booked.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(9)})
		if r.JSON400 == nil || r.JSON400.Error.Code != "party_size_out_of_range" {
			t.Fatalf("party of 9: %d %s", r.StatusCode(), r.Body)
		}
		for i, want := range []int{0, 1, 1} {
			if taken, _, _ := e.counts(slots[i].ID); taken != want {
				t.Fatalf("slot %d after refusals: taken %d, want %d", i, taken, want)
			}
		}
		if n := e.venueUpdates(v.ID); n["reservation.updated"] != 0 {
			t.Fatalf("a hold's change or a refusal reached the venue: %v", n)
		}
	})
}

func TestFiftyConcurrentMovesOntoFiveTables(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		specs := make([]slotSpec, 11)
		for i := range 10 {
			specs[i] = slotSpec{tables: 5}
		}
		specs[10] = slotSpec{tables: 5, in: 96 * time.Hour}
		_, slots := e.addVenue(specs...)
		target := slots[10]
		from := map[string]string{} // reservation → its slot
		for i := range 50 {
			b := e.book(slots[i/5].ID, 2)
			from[b.Id] = b.SlotId
		}
		var (
			mu    sync.Mutex
			codes = map[string]int{}
			moved = map[string]bool{}
			wg    sync.WaitGroup
		)
		for id := range from {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.client.UpdateReservationWithResponse(context.Background(), id,
					&client.UpdateReservationParams{IdempotencyKey: key()}, client.UpdateReservationJSONRequestBody{SlotId: ptr(target.ID)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					codes[err.Error()]++
				case r.JSON200 != nil:
					codes["200"]++
					moved[id] = true
				case r.JSON409 != nil:
					codes["409 "+r.JSON409.Error.Code]++
				default:
					codes[fmt.Sprint(r.StatusCode())]++
				}
			}()
		}
		wg.Wait()
		if codes["200"] != 5 || codes["409 slot_unavailable"] != 45 {
			t.Fatalf("answers: %v", codes)
		}
		if taken, active, _ := e.counts(target.ID); taken != 5 || active != 5 {
			t.Fatalf("target slot: taken %d, active %d; want 5", taken, active)
		}
		left := map[string]int{}
		for id, slotID := range from {
			got := e.get(id)
			want := slotID
			if moved[id] {
				want = target.ID
			} else {
				left[slotID]++
			}
			if got.SlotId != want || got.Status != client.ReservationStatusConfirmed {
				t.Fatalf("%s: in %s (%s), want %s", id, got.SlotId, got.Status, want)
			}
		}
		for i := range 10 {
			if taken, active, _ := e.counts(slots[i].ID); taken != left[slots[i].ID] || active != taken {
				t.Fatalf("slot %d: taken %d, active %d, bookings left %d", i, taken, active, left[slots[i].ID])
			}
		}
	})
}

func TestChangesAfterTheModificationCutoffAreRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 1, in: 90 * time.Minute}, slotSpec{tables: 1, in: 3 * time.Hour})
		if _, err := db.SQL().Exec(fmt.Sprintf("UPDATE venues SET policy_modify_until_hours = 2 WHERE id = '%s'", v.ID)); err != nil {
			t.Fatal(err)
		}
		booked := e.book(slots[0].ID, 2)
		before := snapshot(t, db)
		r := e.patch(booked.Id, client.UpdateReservationJSONRequestBody{Notes: ptr("late"), SlotId: ptr(slots[1].ID)})
		if r.JSON409 == nil || r.JSON409.Error.Code != "modification_cutoff_passed" {
			t.Fatalf("change after the cutoff: %d %s", r.StatusCode(), r.Body)
		}
		if after := snapshot(t, db); after != before {
			t.Fatalf("a refused change changed the database:\n%s\n---\n%s", before, after)
		}
		if got := e.get(booked.Id); got.ModificationPolicy.AllowedUntilHoursBefore != 2 || got.Notes != nil {
			t.Fatalf("reservation after refusal: %+v", got)
		}
	})
}

func TestChangeRequestsAreValidatedAndIdempotent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 2})
		booked := e.book(slots[0].ID, 2)
		path := "/v1/reservations/" + booked.Id
		before := snapshot(t, db)
		for _, c := range []struct{ body, code string }{
			{`{}`, "parameter_missing"},
			{`{"guest":{}}`, "parameter_invalid"},
			{`{"colour":"red"}`, "parameter_unknown"},
			{`{"party_size":0}`, "parameter_invalid"},
			{`{"guest":{"email":"not-an-email"}}`, "parameter_invalid"},
			{`{"status":"cancelled"}`, "parameter_unknown"},
		} {
			status, _, body := e.do("PATCH", path, e.token, c.body, "Idempotency-Key", key())
			if status != http.StatusBadRequest || apiError(t, body).Code != c.code {
				t.Fatalf("%s: %d %s", c.body, status, body)
			}
		}
		if status, _, body := e.do("PATCH", path, e.token, `{"notes":"x"}`); status != http.StatusBadRequest || apiError(t, body).Code != "idempotency_key_missing" {
			t.Fatalf("without Idempotency-Key: %d %s", status, body)
		}
		if after := snapshot(t, db); after != before {
			t.Fatalf("refused requests changed the database")
		}
		// The same key replays; the venue hears of the change once.
		k := key()
		s1, _, b1 := e.do("PATCH", path, e.token, `{"notes":"window"}`, "Idempotency-Key", k)
		s2, h2, b2 := e.do("PATCH", path, e.token, `{"notes":"window"}`, "Idempotency-Key", k)
		if s1 != http.StatusOK || s2 != http.StatusOK || string(b1) != string(b2) || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %d %s", s1, s2, h2)
		}
		if n := e.venueUpdates(v.ID); n["reservation.updated"] != 1 {
			t.Fatalf("venue updates after a replayed change: %v", n)
		}
		// A cancelled booking cannot change.
		if c, _ := e.client.CancelReservationWithResponse(context.Background(), booked.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{}); c.JSON200 == nil {
			t.Fatalf("cancel: %s", c.Body)
		}
		r := e.patch(booked.Id, client.UpdateReservationJSONRequestBody{Notes: ptr("again")})
		if r.JSON409 == nil || r.JSON409.Error.Code != "reservation_state_invalid" {
			t.Fatalf("change of a cancelled booking: %d %s", r.StatusCode(), r.Body)
		}
	})
}

func TestPrimePartySizeUpAndDownAuthorisesCapturesAndRefundsTheDifference(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 2, prime: true, in: 72 * time.Hour}) // 75.00 per cover, 50% kept within 24 h
		h := e.hold(slots[0].ID, 2)
		srv.Authorize(h.Payment.PaymentIntentId)
		if fin := e.finalize(h.Id); fin.JSON200 == nil || fin.JSON200.Payment.AmountCaptured != 15000 {
			t.Fatalf("finalize: %s", fin.Body)
		}

		// Up to 4: the difference waits for its payment; the booking is unchanged.
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(4)})
		if r.JSON200 == nil || r.JSON200.PendingChange == nil || r.JSON200.PartySize != 2 {
			t.Fatalf("dearer change: %d %s", r.StatusCode(), r.Body)
		}
		pc := r.JSON200.PendingChange
		if pc.Payment.Amount != 15000 || pc.Payment.Purpose != client.ReservationPaymentPurposeChange || *pc.Requested.PartySize != 4 || pc.Payment.ClientSecret == "" {
			t.Fatalf("pending change: %+v", pc)
		}
		// Finalizing before the guest confirmed: 402, nothing changes.
		if fin := e.finalize(h.Id); fin.JSON402 == nil || fin.JSON402.Error.Code != "payment_required" {
			t.Fatalf("finalize an unpaid change: %d %s", fin.StatusCode(), fin.Body)
		}
		srv.Authorize(pc.Payment.PaymentIntentId)
		fin := e.finalize(h.Id)
		if fin.JSON200 == nil || fin.JSON200.PartySize != 4 || fin.JSON200.PendingChange != nil || len(fin.JSON200.Payments) != 2 {
			t.Fatalf("finalize the change: %d %s", fin.StatusCode(), fin.Body)
		}
		if p := fin.JSON200.Payments[1]; p.AmountCaptured != 15000 || p.Status != client.PaymentIntentStatusSucceeded {
			t.Fatalf("change payment after finalize: %+v", p)
		}
		if got := srv.Intent(pc.Payment.PaymentIntentId); got.AmountCaptured != 15000 {
			t.Fatalf("Stripe captured %d of the change, want 15000", got.AmountCaptured)
		}

		// Down to 3, outside the fee window: 75.00 goes back, from the newest payment.
		r = e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(3)})
		if r.JSON200 == nil || r.JSON200.PartySize != 3 || r.JSON200.PendingChange != nil {
			t.Fatalf("cheaper change: %d %s", r.StatusCode(), r.Body)
		}
		if got := srv.Intent(pc.Payment.PaymentIntentId).AmountRefunded; got != 7500 {
			t.Fatalf("Stripe refunded %d of the change payment, want 7500", got)
		}
		if got := srv.Intent(h.Payment.PaymentIntentId).AmountRefunded; got != 0 {
			t.Fatalf("Stripe refunded %d of the hold's payment, want 0", got)
		}
		// Cancelling refunds the rest (72 h ahead: in full), across both payments.
		q, _ := e.client.GetCancellationQuoteWithResponse(context.Background(), h.Id)
		if q.JSON200 == nil || q.JSON200.RefundAmount != 22500 || q.JSON200.FeeAmount != 0 {
			t.Fatalf("quote: %s", q.Body)
		}
		c, _ := e.client.CancelReservationWithResponse(context.Background(), h.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusCancelled {
			t.Fatalf("cancel: %s", c.Body)
		}
		refunded := srv.Intent(h.Payment.PaymentIntentId).AmountRefunded + srv.Intent(pc.Payment.PaymentIntentId).AmountRefunded
		captured := srv.Intent(h.Payment.PaymentIntentId).AmountCaptured + srv.Intent(pc.Payment.PaymentIntentId).AmountCaptured
		if captured != 30000 || refunded != 30000 {
			t.Fatalf("Stripe: captured %d, refunded %d; want 30000 each", captured, refunded)
		}
		if n := e.venueUpdates(v.ID); n["reservation.updated"] != 2 || n["reservation.cancelled"] != 1 {
			t.Fatalf("venue notifications: %v", n)
		}
	})
}

func TestCheaperChangeInsideTheFeeWindowRefundsWhatThePolicyAllows(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 3 * time.Hour}) // inside 24 h: 50% kept
		h := e.hold(slots[0].ID, 2)
		srv.Authorize(h.Payment.PaymentIntentId)
		e.finalize(h.Id)
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(1)})
		if r.JSON200 == nil || r.JSON200.Payment.AmountRefunded != 3750 || r.JSON200.Payment.AmountRefundPending != 0 {
			t.Fatalf("cheaper change inside the window: %d %s", r.StatusCode(), r.Body)
		}
		if got := srv.Intent(h.Payment.PaymentIntentId).AmountRefunded; got != 3750 {
			t.Fatalf("Stripe refunded %d, want 3750", got)
		}
	})
}

func TestHeldPrimeChangeReplacesItsPaymentIntent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour}, slotSpec{tables: 1, in: 73 * time.Hour})
		h := e.hold(slots[0].ID, 2)
		srv.Authorize(h.Payment.PaymentIntentId)
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(3)})
		if r.JSON200 == nil || r.JSON200.Payment == nil || r.JSON200.Payment.Amount != 22500 || r.JSON200.Payment.PaymentIntentId == h.Payment.PaymentIntentId {
			t.Fatalf("held change: %d %s", r.StatusCode(), r.Body)
		}
		if len(r.JSON200.Payments) != 2 || r.JSON200.Payments[0].PaymentIntentId != h.Payment.PaymentIntentId {
			t.Fatalf("payments: %s", r.Body)
		}
		if got := srv.Intent(h.Payment.PaymentIntentId).Status; got != "canceled" {
			t.Fatalf("the replaced intent is %s, want canceled", got)
		}
		// The old authorisation does not pay for the new amount.
		if fin := e.finalize(h.Id); fin.JSON402 == nil {
			t.Fatalf("finalize before the new intent is confirmed: %d %s", fin.StatusCode(), fin.Body)
		}
		next := r.JSON200.Payment.PaymentIntentId
		srv.Authorize(next)
		if fin := e.finalize(h.Id); fin.JSON200 == nil || fin.JSON200.Payment.AmountCaptured != 22500 {
			t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
		}
		if srv.Intent(next).AmountCaptured != 22500 || srv.Intent(h.Payment.PaymentIntentId).AmountCaptured != 0 {
			t.Fatal("captured the wrong intent")
		}
		// Moving a confirmed prime booking to a standard slot refunds it (72 h ahead).
		r = e.patch(h.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(slots[1].ID)})
		if r.JSON200 == nil || r.JSON200.Type != client.SlotTypeStandard || r.JSON200.Payment.AmountRefunded != 22500 {
			t.Fatalf("move to a standard slot: %d %s", r.StatusCode(), r.Body)
		}
	})
}

func TestPendingChangeExpiresAndItsIntentIsCancelled(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		now := time.Now()
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		e, srv := stripeEnv(t, db, withClock(clock))
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour}, slotSpec{tables: 1, prime: true, in: 74 * time.Hour})
		h := e.hold(slots[0].ID, 2)
		srv.Authorize(h.Payment.PaymentIntentId)
		e.finalize(h.Id)
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(slots[1].ID), PartySize: ptr(4)})
		if r.JSON200 == nil || r.JSON200.PendingChange == nil {
			t.Fatalf("dearer move: %d %s", r.StatusCode(), r.Body)
		}
		intent := r.JSON200.PendingChange.Payment.PaymentIntentId
		srv.Authorize(intent)
		mu.Lock()
		now = now.Add(11 * time.Minute) // past the hold TTL the change waited with
		mu.Unlock()
		if fin := e.finalize(h.Id); fin.JSON409 == nil || fin.JSON409.Error.Code != "change_expired" {
			t.Fatalf("finalize an expired change: %d %s", fin.StatusCode(), fin.Body)
		}
		got := e.get(h.Id)
		if got.SlotId != slots[0].ID || got.PartySize != 2 || got.PendingChange != nil {
			t.Fatalf("booking after an expired change: %+v", got)
		}
		if st := srv.Intent(intent).Status; st != "canceled" {
			t.Fatalf("expired change's intent is %s, want canceled", st)
		}
		if taken, _, _ := e.counts(slots[1].ID); taken != 0 {
			t.Fatalf("the new slot kept %d tables", taken)
		}
	})
}

// A change made directly (cheaper: no payment to wait for) while a dearer change waits
// for its payment replaces the waiting one: the booking has no pending change any more,
// the waiting payment is marked replaced and its intent cancelled, and finalize has
// nothing to apply.
func TestDirectChangeReplacesAPendingDearerChange(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour}, slotSpec{tables: 1, in: 73 * time.Hour})
		h := e.hold(slots[0].ID, 2)
		srv.Authorize(h.Payment.PaymentIntentId)
		e.finalize(h.Id)
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(4)})
		if r.JSON200 == nil || r.JSON200.PendingChange == nil {
			t.Fatalf("dearer change: %d %s", r.StatusCode(), r.Body)
		}
		pending := r.JSON200.PendingChange.Payment.PaymentIntentId
		srv.Authorize(pending)
		moved := e.patch(h.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(slots[1].ID)})
		if moved.JSON200 == nil || moved.JSON200.PendingChange != nil || moved.JSON200.SlotId != slots[1].ID || moved.JSON200.PartySize != 2 {
			t.Fatalf("direct move with a change pending: %d %s", moved.StatusCode(), moved.Body)
		}
		if n := e.count(t, "SELECT count(*) FROM reservations WHERE pending_payment_id IS NOT NULL"); n != 0 {
			t.Fatalf("%d reservations with a pending payment after the direct change", n)
		}
		row, err := db.GetReservationPaymentByIntent(context.Background(), pending)
		if err != nil || row.ChangeStatus != store.ChangeReplaced {
			t.Fatalf("the waiting change payment: %+v (%v)", row, err)
		}
		if st := srv.Intent(pending).Status; st != "canceled" {
			t.Fatalf("the replaced change's intent is %s, want canceled", st)
		}
		if fin := e.finalize(h.Id); fin.JSON200 != nil && (fin.JSON200.PartySize != 2 || fin.JSON200.SlotId != slots[1].ID) {
			t.Fatalf("finalize applied the replaced change: %s", fin.Body)
		}
		if taken, _, _ := e.counts(slots[0].ID); taken != 0 {
			t.Fatalf("the old slot kept %d tables", taken)
		}
	})
}

func TestEachChangeReachesTheVenuePlatformAndThePartnerOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 1}, slotSpec{tables: 1})
		platform := newReceiver(t, 1, `{"reference":"SR-1"}`) // every delivery fails once first
		platform.secret = e.usePlatform(v.ID, platform.srv.URL)
		partner := newReceiver(t, 0, "ok")
		created, err := e.client.CreateWebhookEndpointWithResponse(ctx, &client.CreateWebhookEndpointParams{}, client.CreateWebhookEndpointRequest{
			Url: partner.srv.URL, Events: []client.CreateWebhookEndpointRequestEvents{client.CreateWebhookEndpointRequestEventsReservationUpdated},
		})
		if err != nil || created.JSON201 == nil {
			t.Fatalf("create endpoint: %v %s", err, created.Body)
		}
		partner.secret = *created.JSON201.Secret

		b := e.book(slots[0].ID, 2)
		e.drain()
		for _, body := range []client.UpdateReservationJSONRequestBody{
			{Notes: ptr("window")}, {PartySize: ptr(3)}, {SlotId: ptr(slots[1].ID)},
		} {
			if r := e.patch(b.Id, body); r.JSON200 == nil {
				t.Fatalf("patch: %d %s", r.StatusCode(), r.Body)
			}
			e.drain()
		}
		types := func(r *receiver) map[string]int {
			r.mu.Lock()
			defer r.mu.Unlock()
			out := map[string]int{}
			for id, n := range r.accepted {
				if n != 1 {
					t.Fatalf("%s accepted %d times", id, n)
				}
				var ev struct {
					Type string `json:"type"`
				}
				_ = json.Unmarshal([]byte(r.bodies[id][0]), &ev)
				out[ev.Type]++
			}
			return out
		}
		if got := types(platform); got["reservation.updated"] != 3 || got["reservation.confirmed"] != 1 || len(got) != 2 {
			t.Fatalf("venue platform accepted %v", got)
		}
		if got := types(partner); got["reservation.updated"] != 3 || len(got) != 1 {
			t.Fatalf("partner accepted %v", got)
		}
		if got := e.get(b.Id); got.VenueSync.Status != client.VenueSyncStatusSynced || got.SlotId != slots[1].ID || got.PartySize != 3 {
			t.Fatalf("after the changes: %+v", got)
		}
	})
}

// A change payment's capture that failed is retried by the sweeper after a backoff (not
// at every sweep), with a new key after each failure the provider keeps under its key.
func TestChangeCaptureThatFailsIsRetriedByTheSweeper(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now()}
		e, srv := stripeEnv(t, db, withClock(clock.now))
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour})
		h := e.hold(slots[0].ID, 2)
		srv.Authorize(h.Payment.PaymentIntentId)
		e.finalize(h.Id)
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(3)})
		if r.JSON200 == nil || r.JSON200.PendingChange == nil {
			t.Fatalf("dearer change: %d %s", r.StatusCode(), r.Body)
		}
		intent := r.JSON200.PendingChange.Payment.PaymentIntentId
		srv.Authorize(intent)
		srv.FailNext(stripetest.CaptureIntent, 1)
		fin := e.finalize(h.Id)
		if fin.JSON200 == nil || fin.JSON200.PartySize != 3 || fin.JSON200.Payments[1].Status != client.PaymentIntentStatusRequiresCapture {
			t.Fatalf("finalize with a failing capture: %d %s", fin.StatusCode(), fin.Body)
		}
		sweep := func() {
			t.Helper()
			if _, err := e.booking.Payments.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		// Within the backoff (2 s after the first failure) the sweeper sends nothing.
		before := srv.Calls(stripetest.CaptureIntent)
		sweep()
		clock.advance(1900 * time.Millisecond)
		sweep()
		if n := srv.Calls(stripetest.CaptureIntent); n != before {
			t.Fatalf("%d captures within the backoff", n-before)
		}
		// Both failures are ones Stripe keeps under the key: each next try has a new one.
		srv.ErrorNext(stripetest.CaptureIntent, 1, stripetest.Error{Status: http.StatusInternalServerError, Type: "api_error", Message: "stripetest: stored failure", Stored: true})
		clock.advance(200 * time.Millisecond)
		sweep()
		clock.advance(4100 * time.Millisecond)
		sweep()
		row, err := db.GetReservationPaymentByIntent(context.Background(), intent)
		if err != nil {
			t.Fatal(err)
		}
		pay := row.ID
		want := []string{"prima-capture-" + pay + "-0", "prima-capture-" + pay + "-1", "prima-capture-" + pay + "-2"}
		if keys := keysSent(srv, stripetest.CaptureIntent); !slices.Equal(keys[1:], want) {
			t.Fatalf("change capture keys %v, want %v: one try per backoff, a new key after each failure Stripe keeps", keys[1:], want)
		}
		if got := srv.Intent(intent); got.AmountCaptured != 7500 {
			t.Fatalf("after the sweep Stripe captured %d, want 7500", got.AmountCaptured)
		}
		if p := e.get(h.Id).Payments[1]; p.AmountCaptured != 7500 || p.Status != client.PaymentIntentStatusSucceeded {
			t.Fatalf("change payment after the sweep: %+v", p)
		}
	})
}

func TestConcurrentChangesRefundExactlyWhatTheFinalPartyNoLongerCosts(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour})
		h := e.hold(slots[0].ID, 4)
		srv.Authorize(h.Payment.PaymentIntentId)
		if fin := e.finalize(h.Id); fin.JSON200 == nil || fin.JSON200.Payment.AmountCaptured != 30000 {
			t.Fatalf("finalize: %s", fin.Body)
		}
		var wg sync.WaitGroup
		for _, n := range []int{3, 2, 1, 2, 3, 1} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.client.UpdateReservationWithResponse(context.Background(), h.Id,
					&client.UpdateReservationParams{IdempotencyKey: key()}, client.UpdateReservationJSONRequestBody{PartySize: ptr(n)})
				if err != nil || (r.JSON200 == nil && r.JSON409 == nil) {
					t.Errorf("party %d: %v %s", n, err, r.Body)
				}
			}()
		}
		wg.Wait()
		if _, err := e.booking.Payments.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := e.get(h.Id)
		want := int64(30000 - 7500*got.PartySize)
		if refunded := srv.Intent(h.Payment.PaymentIntentId).AmountRefunded; refunded != want || got.Payment.AmountRefunded != want {
			t.Fatalf("final party %d: Stripe refunded %d, the reservation shows %d; want %d", got.PartySize, refunded, got.Payment.AmountRefunded, want)
		}
	})
}

func TestSweeperWithdrawsAPendingChangeThatWaitedTooLong(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		now := time.Now()
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		e, srv := stripeEnv(t, db, withClock(clock))
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour})
		h := e.hold(slots[0].ID, 2)
		srv.Authorize(h.Payment.PaymentIntentId)
		e.finalize(h.Id)
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(3)})
		if r.JSON200 == nil || r.JSON200.PendingChange == nil {
			t.Fatalf("dearer change: %d %s", r.StatusCode(), r.Body)
		}
		intent := r.JSON200.PendingChange.Payment.PaymentIntentId
		srv.Authorize(intent)
		mu.Lock()
		now = now.Add(11 * time.Minute)
		mu.Unlock()
		if _, err := e.booking.Payments.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := e.get(h.Id)
		if got.PendingChange != nil || got.PartySize != 2 || got.Payments[1].Status != client.PaymentIntentStatusCanceled {
			t.Fatalf("after the sweep: %+v", got)
		}
		if st := srv.Intent(intent).Status; st != "canceled" || srv.Intent(intent).AmountCaptured != 0 {
			t.Fatalf("the lapsed change's intent is %s", st)
		}
		// Finalizing now answers the booking as it is, and charges nothing more.
		if fin := e.finalize(h.Id); fin.JSON200 == nil || fin.JSON200.PartySize != 2 {
			t.Fatalf("finalize after the sweep: %d %s", fin.StatusCode(), fin.Body)
		}
	})
}

func TestMovesTakeAndGiveBackAllocatedTables(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2, in: 72 * time.Hour}, slotSpec{tables: 2, in: 74 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
		rival := e.newToken("rival-concierge")
		// The second slot: one table kept for this partner, one in the shared pool.
		e.allocate(t, op, slots[1].ID, partnerID(t, db, "acme-rewards"), 1)
		b := e.book(slots[0].ID, 2)
		if r := e.patch(b.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(slots[1].ID)}); r.JSON200 == nil {
			t.Fatalf("move onto the allocated slot: %d %s", r.StatusCode(), r.Body)
		}
		// The move used the allocation, so the rival still finds the shared table.
		if left := e.tablesLeft(t, rival, slots[1]); left != 1 {
			t.Fatalf("the rival sees %d tables left, want the shared pool's 1", left)
		}
		var allocTaken int
		if err := db.SQL().QueryRow("SELECT tables_taken FROM slot_allocations").Scan(&allocTaken); err != nil {
			t.Fatal(err)
		}
		if allocTaken != 1 {
			t.Fatalf("allocation tables_taken %d, want 1", allocTaken)
		}
		// Moving back gives the allocated table back to the allocation.
		if r := e.patch(b.Id, client.UpdateReservationJSONRequestBody{SlotId: ptr(slots[0].ID)}); r.JSON200 == nil {
			t.Fatalf("move back: %d %s", r.StatusCode(), r.Body)
		}
		if err := db.SQL().QueryRow("SELECT tables_taken FROM slot_allocations").Scan(&allocTaken); err != nil {
			t.Fatal(err)
		}
		if taken, _, _ := e.counts(slots[1].ID); allocTaken != 0 || taken != 0 {
			t.Fatalf("after moving back: allocation taken %d, slot taken %d; want 0, 0", allocTaken, taken)
		}
		if left := e.tablesLeft(t, e.token, slots[1]); left != 2 {
			t.Fatalf("this partner sees %d tables left, want 2 (its allocation and the pool)", left)
		}
	})
}
