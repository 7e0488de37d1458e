package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// BenchmarkGetReservation reads a reservation with its venue, as every reservation call
// does (three times in a finalize), on PostgreSQL.
func BenchmarkGetReservation(b *testing.B) {
	db, _ := heldReservation(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		got, err := db.GetReservation(ctx, "ptn_b", "res_a")
		if err != nil || got.Venue.Name != "Alpha" {
			b.Fatalf("%+v %v", got.Venue, err)
		}
	}
}

// BenchmarkUpdateReservation writes a reservation's every column in a transaction, as
// every change of a reservation does, on PostgreSQL.
func BenchmarkUpdateReservation(b *testing.B) {
	db, r := heldReservation(b)
	ctx := b.Context()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Notes = fmt.Sprintf("note %d", i)
		err := db.Transact(ctx, func(tx *store.Tx) error {
			ok, err := tx.UpdateReservation(&r, "held")
			if err == nil && !ok {
				b.Fatal("not updated")
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// heldReservation is a PostgreSQL database holding one reservation, res_a of partner
// ptn_b, at venue ven_a ("Alpha").
func heldReservation(b *testing.B) (*store.DB, store.Reservation) {
	b.Helper()
	return heldReservationOn(b, storetest.OpenPostgres)
}

// heldReservationOn is heldReservation on the database open returns.
func heldReservationOn(b *testing.B, open func(testing.TB) *store.DB) (*store.DB, store.Reservation) {
	b.Helper()
	db := open(b)
	ctx := b.Context()
	p := store.Partner{ID: "ptn_b", Name: "Partner", AllVenues: true, CreatedAt: t0}
	if err := db.CreatePartner(ctx, &p); err != nil {
		b.Fatal(err)
	}
	if err := db.InsertVenues(ctx, []store.Venue{venue("ven_a", "Alpha", "Lisbon", "French")}); err != nil {
		b.Fatal(err)
	}
	sl := slot("slot_a", "ven_a", time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC), 3)
	if err := db.InsertSlots(ctx, []store.Slot{sl}); err != nil {
		b.Fatal(err)
	}
	r := hold("res_a", "ptn_b", sl, t0.Add(10*time.Minute))
	if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertReservation(&r) }); err != nil {
		b.Fatal(err)
	}
	return db, r
}
