package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// UpdateReservation writes every column but the fixed ones, zero values included, and
// only while the row is in the expected status: a reservation with every field set
// reads back as written, then with every field cleared reads back cleared.
func TestUpdateReservationWritesEveryColumn(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_u", true)
		mustVenues(t, db, venue("ven_a", "Alpha", "Lisbon", "French"))
		sl := slot("slot_a", "ven_a", time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC), 3)
		mustSlots(t, db, sl)
		r := mustHold(t, db, hold("res_u", "ptn_u", sl, t0.Add(10*time.Minute)))

		full := r
		fillEveryField(t, reflect.ValueOf(&full).Elem(), map[string]bool{
			"ID": true, "PartnerID": true, "CreatedAt": true, "Venue": true, "Payments": true,
			"VenueID": true, "SlotID": true, "ExtraPayments": true,
			// Written only by RecordPaymentFailure and RecordPaymentSuccess.
			"PaymentAttempt": true, "PaymentFailures": true, "PaymentRetryAt": true,
			"RefundClaimedUntil": true,
			// References to rows this test has not made.
			"AllocationID": true, "PendingPaymentID": true,
		})
		update := func(want store.Reservation, from string) {
			t.Helper()
			err := db.Transact(ctxT(t), func(tx *store.Tx) error {
				ok, err := tx.UpdateReservation(&want, from)
				if err == nil && !ok {
					t.Fatalf("update from %s: no row in that status", from)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.GetReservation(ctxT(t), "", want.ID)
			if err != nil {
				t.Fatal(err)
			}
			got.Venue, want.Venue, got.Payments, want.Payments = store.Venue{}, store.Venue{}, nil, nil
			// Only the columns UpdateReservation leaves alone may differ.
			for _, name := range []string{"PaymentAttempt", "PaymentFailures", "PaymentRetryAt", "RefundClaimedUntil"} {
				if f := reflect.ValueOf(&got).Elem().FieldByName(name); f.IsValid() {
					f.Set(reflect.ValueOf(&want).Elem().FieldByName(name))
				}
			}
			gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
			for i := range gv.NumField() {
				a, b := gv.Field(i).Interface(), wv.Field(i).Interface()
				if !sameValue(a, b) {
					t.Errorf("%s: read back %#v, wrote %#v", gv.Type().Field(i).Name, a, b)
				}
			}
		}
		update(full, "held")
		// Refused from a status the row is not in: nothing changes.
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			other := full
			other.Notes = "must not land"
			ok, err := tx.UpdateReservation(&other, "cancelled")
			if ok {
				t.Error("an update from a status the row is not in was applied")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		cleared := store.Reservation{ID: r.ID, PartnerID: r.PartnerID, SlotID: r.SlotID, VenueID: r.VenueID,
			TokenID: "tok_x", Status: "released", CreatedAt: r.CreatedAt, UpdatedAt: t0.Add(time.Hour),
			StartsAt: r.StartsAt, LocalDate: r.LocalDate}
		update(cleared, full.Status)
	})
}

// fillEveryField sets every settable field of v not in skip to a value of its kind that
// is not the zero value.
func fillEveryField(t *testing.T, v reflect.Value, skip map[string]bool) {
	t.Helper()
	at := t0.Add(3 * time.Hour)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if skip[name] || !f.CanSet() {
			continue
		}
		switch f.Interface().(type) {
		case string:
			f.SetString("v_" + name)
		case *string:
			s := "p_" + name
			f.Set(reflect.ValueOf(&s))
		case int, int64:
			f.SetInt(int64(7 + i))
		case bool:
			f.SetBool(true)
		case time.Time:
			f.Set(reflect.ValueOf(at))
		case *time.Time:
			a := at.Add(time.Duration(i) * time.Minute)
			f.Set(reflect.ValueOf(&a))
		default:
			t.Fatalf("fillEveryField: no value for %s (%s)", name, f.Type())
		}
	}
	if s := v.FieldByName("Status"); s.IsValid() {
		s.SetString("confirmed")
	}
}

// sameValue compares two field values, times by instant.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		return x.Equal(b.(time.Time))
	case *time.Time:
		y := b.(*time.Time)
		return (x == nil) == (y == nil) && (x == nil || x.Equal(*y))
	}
	return reflect.DeepEqual(a, b)
}
