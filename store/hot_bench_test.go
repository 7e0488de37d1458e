package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// The statements below run once or more in every booking flow (hold and finalize): the
// idempotency key's claim, recovery points and completion, and the venue outbox's claim,
// delivery and sync. Each benchmark runs on SQLite and, when PRIMA_TEST_DATABASE_URL is
// set, on PostgreSQL.

// eachBackend runs fn as a sub-benchmark per backend, on a database holding one
// reservation (heldReservationOn's).
func eachBackend(b *testing.B, fn func(b *testing.B, db *store.DB, r store.Reservation)) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			db, r := heldReservationOn(b, be.Open)
			fn(b, db, r)
		})
	}
}

// BenchmarkClaimIdempotencyKey claims a new key, as every POST does first.
func BenchmarkClaimIdempotencyKey(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, _ store.Reservation) {
		ctx := b.Context()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_, ok, err := db.ClaimIdempotencyKey(ctx, "ptn_b", fmt.Sprintf("key_%d", i), "fp", t0, t0.Add(time.Minute))
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkRecordIdempotencyPoint advances a key's recovery point in a transaction, as
// a hold and a finalize do with their effect.
func BenchmarkRecordIdempotencyPoint(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		if _, _, err := db.ClaimIdempotencyKey(ctx, "ptn_b", "key", "fp", t0, t0.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		from := ""
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			to := fmt.Sprintf("point_%d", i)
			err := db.Transact(ctx, func(tx *store.Tx) error {
				ok, err := tx.RecordIdempotencyPoint("ptn_b", "key", from, to, r.ID)
				if err == nil && !ok {
					b.Fatal("not recorded")
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			from = to
		}
	})
}

// BenchmarkCompleteIdempotencyKey stores the response of a claimed key, as every POST
// does last.
func BenchmarkCompleteIdempotencyKey(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, _ store.Reservation) {
		ctx := b.Context()
		for i := range b.N {
			if _, _, err := db.ClaimIdempotencyKey(ctx, "ptn_b", fmt.Sprintf("key_%d", i), "fp", t0, t0.Add(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
		body := []byte(`{"id":"res_a","status":"held"}`)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := db.CompleteIdempotencyKey(ctx, "ptn_b", fmt.Sprintf("key_%d", i), 201, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// insertVenueMessage inserts msg_a, a venue message of r's confirmation.
func insertVenueMessage(b *testing.B, db *store.DB, r store.Reservation) {
	b.Helper()
	msg := store.OutboxMessage{ID: "msg_a", Kind: store.OutboxVenue, Type: "reservation.confirmed",
		ReservationID: r.ID, PartnerID: r.PartnerID, VenueID: r.VenueID, CreatedAt: t0}
	if err := db.Transact(b.Context(), func(tx *store.Tx) error { return tx.InsertOutbox([]store.OutboxMessage{msg}) }); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkClaimOutboxMessage leases a venue message and reads it back, as the finalize
// does to deliver its venue sync at once.
func BenchmarkClaimOutboxMessage(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		insertVenueMessage(b, db, r)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			// Each lease has run out by the next claim.
			now := t0.Add(time.Duration(2*i) * time.Second)
			_, ok, err := db.ClaimOutboxMessage(ctx, "msg_a", "wrk", now, now.Add(time.Second))
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkMarkOutboxDelivered ends a leased venue message as delivered and records the
// venue sync on its reservation, in one transaction, as the outbox worker does.
func BenchmarkMarkOutboxDelivered(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		until := t0.Add(time.Hour)
		msgs := make([]store.OutboxMessage, b.N)
		for i := range msgs {
			msgs[i] = store.OutboxMessage{ID: fmt.Sprintf("msg_%d", i), Kind: store.OutboxVenue,
				Type: "reservation.confirmed", ReservationID: r.ID, PartnerID: r.PartnerID, VenueID: r.VenueID,
				CreatedAt: t0, ClaimedBy: "wrk", ClaimedUntil: &until}
		}
		if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertOutbox(msgs) }); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			err := db.Transact(ctx, func(tx *store.Tx) error {
				ok, err := tx.MarkOutboxDelivered(msgs[i].ID, "wrk", 1, "ref", t0)
				if err == nil && !ok {
					b.Fatal("not held")
				}
				if err != nil {
					return err
				}
				return tx.SetVenueSynced(r.ID, "ref", 1, t0)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTakeTable takes a table of a slot's shared pool in a transaction, as every
// hold does.
func BenchmarkTakeTable(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		sl := slot("slot_big", r.VenueID, time.Date(2030, 6, 1, 23, 0, 0, 0, time.UTC), 1<<30)
		if err := db.InsertSlots(ctx, []store.Slot{sl}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			err := db.Transact(ctx, func(tx *store.Tx) error {
				_, took, err := tx.TakeTableFor(sl, "ptn_b", t0)
				if err == nil && !took {
					b.Fatal("no table taken")
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertReservation inserts a hold in a transaction, as every hold does.
func BenchmarkInsertReservation(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			n := r
			n.ID, n.ConfirmationCode, n.PaymentIntentID = fmt.Sprintf("res_%d", i), nil, nil
			if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertReservation(&n) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertReservationEvent records a reservation's change in a transaction, as
// every status change does.
func BenchmarkInsertReservationEvent(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			e := store.ReservationEvent{ID: fmt.Sprintf("rev_%d", i), ReservationID: r.ID, Type: "confirmed",
				TokenID: "tok_a", Changes: `{"status":{"from":"held","to":"confirmed"}}`, CreatedAt: t0}
			if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertReservationEvent(&e) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertVenueNotification keeps a notification of the "log" connector in a
// transaction, as every venue delivery to it does.
func BenchmarkInsertVenueNotification(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		payload := []byte(`{"type":"reservation.confirmed"}`)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			n := store.VenueNotification{ID: fmt.Sprintf("msg_%d", i), VenueID: r.VenueID, ReservationID: r.ID,
				Type: "reservation.confirmed", Payload: payload, CreatedAt: t0}
			if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertVenueNotification(n) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHoldReads runs the reads of a hold's transaction: the partner's lock, its
// slot's due holds, the slot with its venue, and the partner's webhook endpoints.
func BenchmarkHoldReads(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			err := db.Transact(ctx, func(tx *store.Tx) error {
				if err := tx.LockPartner(r.PartnerID); err != nil {
					return err
				}
				if _, err := tx.ExpireDueHolds(r.SlotID, t0, 0); err != nil {
					return err
				}
				if _, err := tx.GetSlot(store.Scope{PartnerID: r.PartnerID, AllVenues: true}, r.SlotID); err != nil {
					return err
				}
				_, err := tx.EnabledWebhookEndpoints(r.PartnerID)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetVenue reads a venue, as a hold and a venue lookup do.
func BenchmarkGetVenue(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.GetVenue(ctx, store.Scope{PartnerID: r.PartnerID, AllVenues: true}, r.VenueID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetOutboxMessage reads a message, as a claim of one does.
func BenchmarkGetOutboxMessage(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, r store.Reservation) {
		ctx := b.Context()
		insertVenueMessage(b, db, r)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.GetOutboxMessage(ctx, "msg_a"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertAuditEvents writes a full batch of the audit log (500 events, the
// audit writer's default batch), as a busy server does every few hundred requests.
func BenchmarkInsertAuditEvents(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b)
			ctx := b.Context()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				events := make([]store.AuditEvent, 500)
				for j := range events {
					events[j] = store.AuditEvent{
						ID: fmt.Sprintf("aud_%d_%d", i, j), OccurredAt: t0, PartnerID: "ptn_b", TokenID: "tok_b",
						Method: "GET", Route: "/v1/venues/:venue_id", Status: 200, RequestID: fmt.Sprintf("req_%d_%d", i, j),
						ClientAddr: "127.0.0.1", DurationMS: 0.4,
					}
				}
				if err := db.InsertAuditEvents(ctx, events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
