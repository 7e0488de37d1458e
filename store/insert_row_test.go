package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// The booking flow's inserts run GORM's INSERT built once, not GORM's per call, on
// every backend: a model whose insert GORM must build each time (a column the database
// fills, say) would fall back silently, and slowly.
func TestHotInsertsRunTheBuiltStatement(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		for _, c := range []struct {
			model     any
			doNothing bool
		}{
			{&store.Reservation{ID: "res_x"}, false},
			{&store.ReservationEvent{ID: "rev_x"}, false},
			{&store.VenueNotification{ID: "msg_x"}, true},
		} {
			if !db.InsertBuilt(c.model, c.doNothing) {
				t.Errorf("%T: GORM builds every insert", c.model)
			}
		}
	})
}

// InsertReservation writes every column of the reservation, zero values and NULLs as
// they are: a reservation with every field set reads back as written, and one with
// only the required fields reads back with the rest empty.
func TestInsertReservationWritesEveryColumn(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_u", true)
		mustVenues(t, db, venue("ven_a", "Alpha", "Lisbon", "French"))
		sl := slot("slot_a", "ven_a", time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC), 3)
		mustSlots(t, db, sl)
		base := hold("res_u", "ptn_u", sl, t0.Add(10*time.Minute))
		full := base
		fillEveryField(t, reflect.ValueOf(&full).Elem(), map[string]bool{
			"ID": true, "PartnerID": true, "Venue": true, "Payments": true,
			"VenueID": true, "SlotID": true, "ExtraPayments": true,
			// References to rows this test has not made.
			"AllocationID": true, "PendingPaymentID": true,
		})
		sparse := store.Reservation{ID: "res_v", PartnerID: base.PartnerID, SlotID: base.SlotID, VenueID: base.VenueID,
			TokenID: "tok_x", Status: "held", CreatedAt: t0, UpdatedAt: t0, StartsAt: base.StartsAt, LocalDate: base.LocalDate}
		for _, want := range []store.Reservation{full, sparse} {
			r := want
			if err := db.Transact(ctxT(t), func(tx *store.Tx) error { return tx.InsertReservation(&r) }); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetReservation(ctxT(t), "", want.ID)
			if err != nil {
				t.Fatal(err)
			}
			got.Venue, want.Venue, got.Payments, want.Payments = store.Venue{}, store.Venue{}, nil, nil
			gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
			for i := range gv.NumField() {
				if a, b := gv.Field(i).Interface(), wv.Field(i).Interface(); !sameValue(a, b) {
					t.Errorf("%s %s: read back %#v, wrote %#v", want.ID, gv.Type().Field(i).Name, a, b)
				}
			}
		}
	})
}

// LockPartner finds the partner inside the transaction; ErrNotFound for none.
func TestLockPartner(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_l", false)
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			if err := tx.LockPartner("ptn_l"); err != nil {
				t.Errorf("lock of a partner: %v", err)
			}
			wantErr(t, tx.LockPartner("ptn_nope"), store.ErrNotFound)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// The store's own reads (readBuilt: GORM's statement, scanned straight into the fields
// on PostgreSQL) read every column as GORM's Take does: a message with every field set,
// a slot with its venue, a venue.
func TestBuiltReadsReadWhatGORMReads(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		r := outboxFixture(t, db)
		m := store.OutboxMessage{ID: "msg_full"}
		fillEveryField(t, reflect.ValueOf(&m).Elem(), map[string]bool{"ID": true, "Payload": true})
		m.ReservationID, m.PartnerID, m.VenueID, m.Kind, m.Status = r.ID, r.PartnerID, r.VenueID, store.OutboxVenue, store.OutboxPending
		m.Payload = []byte(`{"a":1}`)
		insertOutbox(t, db, m)
		var same func(what string, got, want any)
		same = func(what string, got, want any) {
			t.Helper()
			gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
			for i := range gv.NumField() {
				a, b := gv.Field(i).Interface(), wv.Field(i).Interface()
				if gv.Field(i).Kind() == reflect.Struct && gv.Field(i).Type() != reflect.TypeFor[time.Time]() {
					same(what+"."+gv.Type().Field(i).Name, a, b)
					continue
				}
				if !sameValue(a, b) && !reflect.DeepEqual(a, b) {
					t.Errorf("%s.%s: store read %#v, GORM %#v", what, gv.Type().Field(i).Name, a, b)
				}
			}
		}
		got, err := db.GetOutboxMessage(ctx, m.ID)
		var want store.OutboxMessage
		if err != nil || db.TakeWithGORM(ctx, &want, false, "id = ?", m.ID) != nil {
			t.Fatal(err)
		}
		same("outbox message", got, want)
		if string(got.Payload) != `{"a":1}` || got.ClaimedUntil == nil {
			t.Fatalf("message read back %+v", got)
		}
		sl, err := db.GetSlot(ctx, store.Scope{PartnerID: "ptn_a", AllVenues: true}, r.SlotID)
		var wantSlot store.Slot
		if err != nil || db.TakeWithGORM(ctx, &wantSlot, true, "slots.id = ?", r.SlotID) != nil {
			t.Fatal(err)
		}
		same("slot", sl, wantSlot)
		if sl.Venue.Name != "Alpha" {
			t.Fatalf("slot's venue %+v", sl.Venue)
		}
		v, err := db.GetVenue(ctx, store.Scope{PartnerID: "ptn_a", AllVenues: true}, r.VenueID)
		var wantVenue store.Venue
		if err != nil || db.TakeWithGORM(ctx, &wantVenue, false, "id = ?", r.VenueID) != nil {
			t.Fatal(err)
		}
		same("venue", v, wantVenue)
	})
}
