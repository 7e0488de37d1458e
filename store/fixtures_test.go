package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// t0 is the tests' "now": a fixed instant, so nothing depends on the wall clock.
var t0 = time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustPartner(t *testing.T, db *store.DB, id string, all bool) store.Partner {
	t.Helper()
	p := store.Partner{ID: id, Name: "Partner " + id, AllVenues: all, CreatedAt: t0}
	if err := db.CreatePartner(ctxT(t), &p); err != nil {
		t.Fatalf("create partner %s: %v", id, err)
	}
	return p
}

func venue(id, name, city, cuisine string) store.Venue {
	return store.Venue{
		ID: id, Name: name, NameKey: strings.ToLower(name),
		City: city, CityKey: strings.ToLower(city),
		Cuisine: cuisine, CuisineKey: strings.ToLower(cuisine),
		Country: "US", TimeZone: "America/New_York", Currency: "USD",
		SeatingAreas: "indoor,patio", PolicyFreeHours: 24, PolicyFeeType: "none",
		CreatedAt: t0,
	}
}

func mustVenues(t *testing.T, db *store.DB, vs ...store.Venue) {
	t.Helper()
	if err := db.InsertVenues(ctxT(t), vs); err != nil {
		t.Fatalf("insert venues: %v", err)
	}
}

func slot(id, venueID string, startsAt time.Time, tables int) store.Slot {
	local := startsAt.In(time.FixedZone("EDT", -4*3600))
	return store.Slot{
		ID: id, VenueID: venueID, StartsAt: startsAt,
		LocalDate: local.Format("2006-01-02"), LocalTime: local.Format("15:04"),
		DurationMinutes: 90, PartySizeMin: 1, PartySizeMax: 6, SeatingArea: "indoor",
		Type: "standard", Tables: tables, Status: "open", CreatedAt: t0, UpdatedAt: t0,
	}
}

func mustSlots(t *testing.T, db *store.DB, ss ...store.Slot) {
	t.Helper()
	if err := db.InsertSlots(ctxT(t), ss); err != nil {
		t.Fatalf("insert slots: %v", err)
	}
}

func hold(id, partnerID string, s store.Slot, expiresAt time.Time) store.Reservation {
	maxAt := expiresAt.Add(20 * time.Minute)
	return store.Reservation{
		ID: id, PartnerID: partnerID, TokenID: "tok_test", SlotID: s.ID, VenueID: s.VenueID,
		Status: "held", PartySize: 2, GuestFirstName: "Ada", GuestLastName: "Lovelace",
		GuestEmail: "ada@example.com", ExpiresAt: &expiresAt, HoldMaxAt: &maxAt,
		StartsAt: s.StartsAt, LocalDate: s.LocalDate, DurationMinutes: s.DurationMinutes,
		SeatingArea: s.SeatingArea, SlotType: s.Type, CreatedAt: t0, UpdatedAt: t0,
	}
}

// mustHold takes a table and inserts the hold in one transaction, as booking does.
func mustHold(t *testing.T, db *store.DB, r store.Reservation) store.Reservation {
	t.Helper()
	err := db.Transact(ctxT(t), func(tx *store.Tx) error {
		ok, err := tx.TakeTable(r.SlotID, t0)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("slot %s is full", r.SlotID)
		}
		return tx.InsertReservation(&r)
	})
	if err != nil {
		t.Fatalf("hold %s: %v", r.ID, err)
	}
	return r
}

func tablesTaken(t *testing.T, db *store.DB, slotID string) int {
	t.Helper()
	s, err := db.GetSlot(ctxT(t), store.Scope{AllVenues: true}, slotID)
	if err != nil {
		t.Fatalf("get slot %s: %v", slotID, err)
	}
	return s.TablesTaken
}

func reservationStatus(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	r, err := db.GetReservation(ctxT(t), "", id)
	if err != nil {
		t.Fatalf("get reservation %s: %v", id, err)
	}
	return r.Status
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func ids[T any](rows []T, id func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

func venueID(v store.Venue) string     { return v.ID }
func slotID(s store.Slot) string       { return s.ID }
func resID(r store.Reservation) string { return r.ID }
func tokenID(tk store.Token) string    { return tk.ID }
func ptr[T any](v T) *T                { return &v }

// rebind turns ? placeholders into PostgreSQL's $n.
func rebind(db *store.DB, q string) string {
	if db.Dialect() != store.DialectPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// exec runs raw SQL (with ? placeholders) outside the store, as an operator or an
// attacker would.
func exec(t *testing.T, db *store.DB, q string, args ...any) error {
	t.Helper()
	_, err := db.SQL().ExecContext(ctxT(t), rebind(db, q), args...)
	return err
}

// countRows counts a table's rows matching where (with ? placeholders; "" = all).
func countRows(t *testing.T, db *store.DB, table, where string, args ...any) int {
	t.Helper()
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := db.SQL().QueryRowContext(ctxT(t), rebind(db, q), args...).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
