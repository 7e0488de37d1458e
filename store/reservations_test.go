package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

var errFull = errors.New("slot full")

func TestTakeTableUnderContentionNeverOverbooks(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s := slot("slot_1", "ven_1", t0.Add(48*time.Hour), 3)
		mustSlots(t, db, s)

		const workers = 50
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			won     int
			full    int
			unknown []error
		)
		ctx := ctxT(t)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := hold(fmt.Sprintf("res_%03d", i), "ptn_a", s, t0.Add(10*time.Minute))
				err := db.Transact(ctx, func(tx *store.Tx) error {
					ok, err := tx.TakeTable(s.ID, t0)
					if err != nil {
						return err
					}
					if !ok {
						return errFull
					}
					return tx.InsertReservation(&r)
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, errFull):
					full++
				default:
					unknown = append(unknown, err)
				}
			}()
		}
		wg.Wait()
		if len(unknown) > 0 {
			t.Fatalf("unexpected errors: %v", unknown)
		}
		if won != 3 || full != workers-3 {
			t.Fatalf("won %d, full %d; want 3 and %d", won, full, workers-3)
		}
		if got := tablesTaken(t, db, s.ID); got != 3 {
			t.Fatalf("tables_taken = %d, want 3", got)
		}
		if n := countRows(t, db, "reservations", "slot_id = ? AND status = ?", s.ID, "held"); n != 3 {
			t.Fatalf("%d held reservations, want 3", n)
		}
	})
}

func TestTakeTableRefusesWithdrawnSlotAndReleaseStopsAtZero(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		open := slot("slot_open", "ven_1", t0.Add(time.Hour), 1)
		gone := slot("slot_gone", "ven_1", t0.Add(time.Hour), 1)
		gone.Status = "withdrawn"
		mustSlots(t, db, open, gone)
		ctx := ctxT(t)
		err := db.Transact(ctx, func(tx *store.Tx) error {
			if ok, err := tx.TakeTable(gone.ID, t0); err != nil || ok {
				return fmt.Errorf("take withdrawn = %v, %w", ok, err)
			}
			if ok, err := tx.TakeTable(open.ID, t0); err != nil || !ok {
				return fmt.Errorf("take open = %v, %w", ok, err)
			}
			if ok, err := tx.TakeTable(open.ID, t0); err != nil || ok {
				return fmt.Errorf("take full = %v, %w", ok, err)
			}
			for range 3 {
				if err := tx.ReleaseTable(open.ID, t0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := tablesTaken(t, db, open.ID); got != 0 {
			t.Fatalf("tables_taken = %d, want 0", got)
		}
	})
}

func TestCheckConstraintRefusesDirectOverbooking(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		mustSlots(t, db, slot("slot_1", "ven_1", t0.Add(time.Hour), 2))
		if err := exec(t, db, "UPDATE slots SET tables_taken = tables + 1 WHERE id = ?", "slot_1"); err == nil {
			t.Fatal("UPDATE tables_taken = tables + 1 succeeded; the CHECK constraint is missing")
		}
		if err := exec(t, db, "UPDATE slots SET tables_taken = -1 WHERE id = ?", "slot_1"); err == nil {
			t.Fatal("UPDATE tables_taken = -1 succeeded; the CHECK constraint is missing")
		}
		if err := exec(t, db, "UPDATE slots SET tables_taken = tables WHERE id = ?", "slot_1"); err != nil {
			t.Fatalf("UPDATE tables_taken = tables refused: %v", err)
		}
		if got := tablesTaken(t, db, "slot_1"); got != 2 {
			t.Fatalf("tables_taken = %d, want 2", got)
		}
	})
}

func TestRollbackUndoesTheTransaction(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s := slot("slot_1", "ven_1", t0.Add(time.Hour), 2)
		mustSlots(t, db, s)
		boom := errors.New("boom")
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			if _, err := tx.TakeTable(s.ID, t0); err != nil {
				return err
			}
			r := hold("res_1", "ptn_a", s, t0.Add(time.Minute))
			if err := tx.InsertReservation(&r); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, err, boom)
		if got := tablesTaken(t, db, s.ID); got != 0 {
			t.Fatalf("tables_taken = %d after rollback", got)
		}
		if n := countRows(t, db, "reservations", ""); n != 0 {
			t.Fatalf("%d reservations after rollback", n)
		}
	})
}

// sqlStateErr mimics pgconn.PgError for Transact's retry test.
type sqlStateErr string

func (e sqlStateErr) Error() string    { return "SQLSTATE " + string(e) }
func (e sqlStateErr) SQLState() string { return string(e) }

func TestTransactRetriesSerializationFailuresOnPostgres(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		attempts := 0
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			attempts++
			if attempts == 1 {
				return fmt.Errorf("wrapped: %w", sqlStateErr("40001"))
			}
			return nil
		})
		if db.Dialect() == store.DialectPostgres {
			if err != nil || attempts != 2 {
				t.Fatalf("postgres: err %v after %d attempts; want a retry that succeeds", err, attempts)
			}
			// Other errors are not retried, and retries are bounded.
			attempts = 0
			_ = db.Transact(ctxT(t), func(tx *store.Tx) error { attempts++; return sqlStateErr("40P01") })
			if attempts != 5 {
				t.Fatalf("deadlock retried %d times, want 5 attempts", attempts)
			}
			attempts = 0
			_ = db.Transact(ctxT(t), func(tx *store.Tx) error { attempts++; return sqlStateErr("23505") })
			if attempts != 1 {
				t.Fatalf("unique violation attempted %d times, want 1", attempts)
			}
			return
		}
		if err == nil || attempts != 1 {
			t.Fatalf("sqlite: err %v after %d attempts; want no retry", err, attempts)
		}
	})
}

func TestExpireDueHoldsReleasesExactlyTheDueHolds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s1 := slot("slot_1", "ven_1", t0.Add(24*time.Hour), 5)
		s2 := slot("slot_2", "ven_1", t0.Add(25*time.Hour), 5)
		mustSlots(t, db, s1, s2)
		now := t0.Add(30 * time.Minute)
		mustHold(t, db, hold("res_past", "ptn_a", s1, now.Add(-time.Minute)))
		mustHold(t, db, hold("res_now", "ptn_a", s1, now))
		mustHold(t, db, hold("res_future", "ptn_a", s1, now.Add(time.Second)))
		mustHold(t, db, hold("res_other", "ptn_a", s2, now.Add(-time.Hour)))
		// A confirmed booking past its hold time is never expired.
		confirmed := mustHold(t, db, hold("res_confirmed", "ptn_a", s1, now.Add(-time.Hour)))
		confirmed.Status = "confirmed"
		confirmed.UpdatedAt = t0
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			ok, err := tx.UpdateReservation(&confirmed, "held")
			if err == nil && !ok {
				err = errors.New("confirm refused")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// Only slot_1's holds first.
		var got []store.Reservation
		err = db.Transact(ctxT(t), func(tx *store.Tx) error {
			var err error
			got, err = tx.ExpireDueHolds("slot_1", now, 100)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ids := ids(got, resID); !sameSet(ids, []string{"res_past", "res_now"}) {
			t.Fatalf("expired %v, want res_past and res_now", ids)
		}
		for _, r := range got {
			if r.Status != "expired" || !r.UpdatedAt.Equal(now) || r.Venue.ID != "ven_1" {
				t.Fatalf("returned %s with status %q, updated_at %v, venue %q", r.ID, r.Status, r.UpdatedAt, r.Venue.ID)
			}
		}
		for id, want := range map[string]string{
			"res_past": "expired", "res_now": "expired", "res_future": "held",
			"res_other": "held", "res_confirmed": "confirmed",
		} {
			if got := reservationStatus(t, db, id); got != want {
				t.Fatalf("%s status = %q, want %q", id, got, want)
			}
		}
		if got := tablesTaken(t, db, s1.ID); got != 2 {
			t.Fatalf("slot_1 tables_taken = %d, want 2 (future hold + confirmed)", got)
		}
		if got := tablesTaken(t, db, s2.ID); got != 1 {
			t.Fatalf("slot_2 tables_taken = %d, want 1", got)
		}

		// Then every slot; a second pass finds nothing.
		for pass, want := range []int{1, 0} {
			err = db.Transact(ctxT(t), func(tx *store.Tx) error {
				var err error
				got, err = tx.ExpireDueHolds("", now, 0)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != want {
				t.Fatalf("pass %d expired %v, want %d", pass, ids(got, resID), want)
			}
		}
		if got := tablesTaken(t, db, s2.ID); got != 0 {
			t.Fatalf("slot_2 tables_taken = %d, want 0", got)
		}
	})
}

func TestExpireDueHoldsIsSafeWhenTransactionsRace(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		const holds = 12
		s := slot("slot_1", "ven_1", t0.Add(24*time.Hour), holds)
		mustSlots(t, db, s)
		for i := range holds {
			mustHold(t, db, hold(fmt.Sprintf("res_%02d", i), "ptn_a", s, t0.Add(time.Duration(i)*time.Second)))
		}
		now := t0.Add(time.Hour)
		const sweepers = 8
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			seen  = map[string]int{}
			errs  []error
			start = make(chan struct{})
		)
		ctx := ctxT(t)
		for i := range sweepers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				slotArg := ""
				if i%2 == 0 {
					slotArg = s.ID // the hold path sweeps its own slot
				}
				var got []store.Reservation
				err := db.Transact(ctx, func(tx *store.Tx) error {
					var err error
					got, err = tx.ExpireDueHolds(slotArg, now, 100)
					return err
				})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, r := range got {
					seen[r.ID]++
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("sweeper errors: %v", errs)
		}
		if len(seen) != holds {
			t.Fatalf("%d holds expired, want %d", len(seen), holds)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s expired %d times", id, n)
			}
		}
		if got := tablesTaken(t, db, s.ID); got != 0 {
			t.Fatalf("tables_taken = %d, want 0", got)
		}
		if n := countRows(t, db, "reservations", "status = ?", "expired"); n != holds {
			t.Fatalf("%d expired rows, want %d", n, holds)
		}
	})
}

func TestUpdateReservationWithStaleFromChangesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s := slot("slot_1", "ven_1", t0.Add(24*time.Hour), 2)
		mustSlots(t, db, s)
		orig := hold("res_1", "ptn_a", s, t0.Add(10*time.Minute))
		orig.Notes = "window seat"
		orig.PaymentStatus = "requires_capture"
		orig = mustHold(t, db, orig)

		later := t0.Add(5 * time.Minute)
		upd := orig
		upd.Status = "confirmed"
		upd.ConfirmationCode = ptr("ABC123")
		upd.ConfirmedAt = &later
		upd.ExpiresAt = nil    // zero values must be written too
		upd.Notes = ""         // …
		upd.PaymentStatus = "" // …
		upd.UpdatedAt = later
		upd.PartnerID = "ptn_other" // never written
		upd.CreatedAt = later       // never written

		run := func(from string) bool {
			t.Helper()
			var ok bool
			err := db.Transact(ctxT(t), func(tx *store.Tx) error {
				r := upd
				var err error
				ok, err = tx.UpdateReservation(&r, from)
				return err
			})
			if err != nil {
				t.Fatalf("update from %q: %v", from, err)
			}
			return ok
		}
		if run("confirmed") {
			t.Fatal("update from a stale status reported success")
		}
		got, err := db.GetReservation(ctxT(t), "ptn_a", "res_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "held" || got.Notes != "window seat" || got.ExpiresAt == nil ||
			got.ConfirmationCode != nil || !got.UpdatedAt.Equal(t0) || got.PaymentStatus != "requires_capture" {
			t.Fatalf("stale update changed the row: %+v", got)
		}

		if !run("held") {
			t.Fatal("update from the current status refused")
		}
		got, err = db.GetReservation(ctxT(t), "ptn_a", "res_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "confirmed" || got.Notes != "" || got.ExpiresAt != nil || got.PaymentStatus != "" ||
			got.ConfirmationCode == nil || *got.ConfirmationCode != "ABC123" ||
			got.ConfirmedAt == nil || !got.ConfirmedAt.Equal(later) || !got.UpdatedAt.Equal(later) {
			t.Fatalf("update not written as given: %+v", got)
		}
		if got.PartnerID != "ptn_a" || !got.CreatedAt.Equal(t0) {
			t.Fatalf("update wrote partner_id/created_at: %q %v", got.PartnerID, got.CreatedAt)
		}
		if got.Venue.Name != "Alpha" {
			t.Fatalf("venue not filled: %+v", got.Venue)
		}
		if n := countRows(t, db, "venues", ""); n != 1 {
			t.Fatalf("update touched venues: %d rows", n)
		}
	})
}

func TestInsertReservationMapsUniqueViolationsToConflict(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s := slot("slot_1", "ven_1", t0.Add(24*time.Hour), 10)
		mustSlots(t, db, s)
		insert := func(r store.Reservation) error {
			return db.Transact(ctxT(t), func(tx *store.Tx) error { return tx.InsertReservation(&r) })
		}
		a := hold("res_a", "ptn_a", s, t0)
		a.ConfirmationCode, a.PaymentIntentID = ptr("CODE1"), ptr("pi_1")
		if err := insert(a); err != nil {
			t.Fatal(err)
		}
		// NULL codes and intents never collide.
		for _, id := range []string{"res_b", "res_c"} {
			if err := insert(hold(id, "ptn_a", s, t0)); err != nil {
				t.Fatalf("insert %s: %v", id, err)
			}
		}
		dupID := hold("res_a", "ptn_a", s, t0)
		dupCode := hold("res_d", "ptn_a", s, t0)
		dupCode.ConfirmationCode = ptr("CODE1")
		dupIntent := hold("res_e", "ptn_a", s, t0)
		dupIntent.PaymentIntentID = ptr("pi_1")
		for name, r := range map[string]store.Reservation{"id": dupID, "code": dupCode, "intent": dupIntent} {
			if err := insert(r); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate %s: error %v, want ErrConflict", name, err)
			}
		}
		if n := countRows(t, db, "reservations", ""); n != 3 {
			t.Fatalf("%d reservations, want 3", n)
		}
	})
}

func TestReservationReadsAreScopedToThePartner(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		mustPartner(t, db, "ptn_a", true)
		mustPartner(t, db, "ptn_b", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"), venue("ven_2", "Beta", "NYC", "Thai"))
		s1 := slot("slot_1", "ven_1", t0.Add(24*time.Hour), 50)
		s2 := slot("slot_2", "ven_2", t0.Add(48*time.Hour), 50)
		mustSlots(t, db, s1, s2)
		var mine []string
		for i := range 7 {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			r := hold(fmt.Sprintf("res_%02d", i), "ptn_a", s, t0.Add(time.Hour))
			r.PartnerReference = fmt.Sprintf("ref-%d", i%3)
			mustHold(t, db, r)
			mine = append([]string{r.ID}, mine...) // newest first
		}
		theirs := hold("res_99", "ptn_b", s1, t0.Add(time.Hour))
		theirs.PaymentIntentID = ptr("pi_theirs")
		mustHold(t, db, theirs)

		// Paging visits every row once, newest first, and hides the other partner's.
		var got []string
		after := ""
		for {
			page, more, err := db.ListReservations(ctx, "ptn_a", store.ReservationFilter{}, store.Page{Limit: 3, StartingAfter: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				if r.Venue.ID != r.VenueID {
					t.Fatalf("%s venue not filled", r.ID)
				}
			}
			got = append(got, ids(page, resID)...)
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		if !sameIDs(got, mine) {
			t.Fatalf("paged %v, want %v", got, mine)
		}
		// Filters.
		page, _, err := db.ListReservations(ctx, "ptn_a", store.ReservationFilter{
			VenueID: "ven_2", PartnerReference: "ref-1", Status: "held",
			DateFrom: s2.LocalDate, DateTo: s2.LocalDate,
		}, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(ids(page, resID), []string{"res_01"}) {
			t.Fatalf("filtered %v, want [res_01]", ids(page, resID))
		}
		// Another partner's id is not found, as a cursor or a read.
		if _, _, err := db.ListReservations(ctx, "ptn_a", store.ReservationFilter{}, store.Page{Limit: 3, StartingAfter: "res_99"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("foreign cursor: %v, want ErrNotFound", err)
		}
		if _, err := db.GetReservation(ctx, "ptn_a", "res_99"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("foreign read: %v, want ErrNotFound", err)
		}
		if r, err := db.GetReservation(ctx, "", "res_99"); err != nil || r.PartnerID != "ptn_b" {
			t.Fatalf("internal read: %v %v", r.PartnerID, err)
		}
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if _, err := tx.GetReservation("ptn_a", "res_99"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("tx foreign read: %w", err)
			}
			r, err := tx.GetReservation("ptn_b", "res_99")
			if err == nil && r.Venue.Name != "Alpha" {
				err = fmt.Errorf("tx read venue %q", r.Venue.Name)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := db.GetReservationByIntent(ctx, "pi_theirs"); err != nil || r.ID != "res_99" || r.Venue.ID != "ven_1" {
			t.Fatalf("by intent: %v %v", r.ID, err)
		}
		if _, err := db.GetReservationByIntent(ctx, "pi_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown intent: %v", err)
		}
	})
}

func TestEndedHoldsWithOpenPaymentsFindsOnlyChargeableEndedHolds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s := slot("slot_1", "ven_1", t0.Add(24*time.Hour), 50)
		mustSlots(t, db, s)
		cases := []struct {
			id, status, payment string
			intent              bool
			want                bool
		}{
			{"res_1", "expired", "requires_capture", true, true},
			{"res_2", "released", "requires_payment_method", true, true},
			{"res_3", "expired", "canceled", true, false},
			{"res_4", "held", "requires_capture", true, false},
			{"res_5", "expired", "", false, false},
			{"res_6", "confirmed", "succeeded", true, false},
			{"res_7", "released", "processing", true, true},
		}
		var want []string
		for _, c := range cases {
			r := hold(c.id, "ptn_a", s, t0)
			r.Status, r.PaymentStatus = c.status, c.payment
			if c.intent {
				r.PaymentIntentID = ptr("pi_" + c.id)
			}
			if err := db.Transact(ctxT(t), func(tx *store.Tx) error { return tx.InsertReservation(&r) }); err != nil {
				t.Fatal(err)
			}
			if c.want {
				want = append(want, c.id)
			}
		}
		got, err := db.EndedHoldsWithOpenPayments(ctxT(t), t0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(ids(got, resID), want) {
			t.Fatalf("got %v, want %v", ids(got, resID), want)
		}
		if got, _ := db.EndedHoldsWithOpenPayments(ctxT(t), t0, 2); len(got) != 2 {
			t.Fatalf("limit 2 gave %d rows", len(got))
		}
	})
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	m := map[string]bool{}
	for _, g := range got {
		m[g] = true
	}
	for _, w := range want {
		if !m[w] {
			return false
		}
	}
	return true
}

func sameIDs(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// A failed provider call backs the reservation off until retryAt, and moves its attempt
// on only when the failure was stored under the key, once per attempt however many
// processes record it; success clears the backoff and keeps the attempt.
func TestRecordPaymentFailureBacksOffAndMovesTheAttemptOnlyWhenSpent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s := slot("slot_1", "ven_1", t0.Add(24*time.Hour), 50)
		mustSlots(t, db, s)
		r := hold("res_1", "ptn_a", s, t0)
		r.Status, r.PaymentStatus, r.PaymentIntentID = "expired", "requires_capture", ptr("pi_1")
		if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertReservation(&r) }); err != nil {
			t.Fatal(err)
		}
		at := func(d time.Duration) func(int) time.Time {
			return func(int) time.Time { return t0.Add(d) }
		}
		if n, err := db.RecordPaymentFailure(ctx, "res_1", 0, false, at(time.Minute)); err != nil || n != 1 {
			t.Fatalf("first failure: %d %v", n, err)
		}
		// Two processes record the same spent attempt: it moves on once.
		for range 2 {
			if _, err := db.RecordPaymentFailure(ctx, "res_1", 0, true, at(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.GetReservation(ctx, "", "res_1")
		if err != nil || got.PaymentAttempt != 1 || got.PaymentFailures != 3 || got.PaymentRetryAt == nil || !got.PaymentRetryAt.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("attempt %d failures %d retry %v (%v)", got.PaymentAttempt, got.PaymentFailures, got.PaymentRetryAt, err)
		}
		if due, _ := db.EndedHoldsWithOpenPayments(ctx, t0.Add(time.Minute), 10); len(due) != 0 {
			t.Fatalf("backed-off hold listed before its retry time: %v", ids(due, resID))
		}
		if due, _ := db.EndedHoldsWithOpenPayments(ctx, t0.Add(2*time.Minute), 10); len(due) != 1 {
			t.Fatalf("backed-off hold not listed at its retry time")
		}
		// UpdateReservation never writes these columns back from a stale row.
		stale := r
		if err := db.Transact(ctx, func(tx *store.Tx) error { _, err := tx.UpdateReservation(&stale, "expired"); return err }); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordPaymentSuccess(ctx, "res_1"); err != nil {
			t.Fatal(err)
		}
		got, _ = db.GetReservation(ctx, "", "res_1")
		if got.PaymentAttempt != 1 || got.PaymentFailures != 0 || got.PaymentRetryAt != nil {
			t.Fatalf("after success: attempt %d failures %d retry %v", got.PaymentAttempt, got.PaymentFailures, got.PaymentRetryAt)
		}
	})
}

// A confirmation code another reservation already has is drawn again: Transact runs the
// transaction once more (the code is random, so the next run draws another), on both
// dialects. Any other conflict is the caller's, at once.
func TestTransactDrawsAgainAConfirmationCodeTaken(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_codes", true)
		mustVenues(t, db, venue("ven_codes", "Codes", "New York", "french"))
		s := slot("slot_codes", "ven_codes", t0.Add(48*time.Hour), 4)
		mustSlots(t, db, s)
		mustHold(t, db, hold("res_code_a", "ptn_codes", s, t0.Add(time.Hour)))
		mustHold(t, db, hold("res_code_b", "ptn_codes", s, t0.Add(time.Hour)))
		if err := exec(t, db, "UPDATE reservations SET confirmation_code = 'PRM-TAKEN2' WHERE id = 'res_code_a'"); err != nil {
			t.Fatal(err)
		}
		codes := []string{"PRM-TAKEN2", "PRM-FRESH3"}
		runs := 0
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			code := codes[min(runs, len(codes)-1)]
			runs++
			r, err := tx.GetReservation("ptn_codes", "res_code_b")
			if err != nil {
				return err
			}
			r.Status, r.ConfirmationCode = "confirmed", &code
			_, err = tx.UpdateReservation(&r, "held")
			return err
		})
		if err != nil || runs != 2 {
			t.Fatalf("Transact: %v after %d runs, want success on the second", err, runs)
		}
		var got string
		if err := db.SQL().QueryRowContext(ctxT(t), rebind(db, "SELECT confirmation_code FROM reservations WHERE id = ?"), "res_code_b").Scan(&got); err != nil || got != "PRM-FRESH3" {
			t.Fatalf("res_code_b's code %q (%v), want PRM-FRESH3", got, err)
		}

		runs = 0
		err = db.Transact(ctxT(t), func(tx *store.Tx) error {
			runs++
			dup := hold("res_code_a", "ptn_codes", s, t0.Add(time.Hour))
			return tx.InsertReservation(&dup)
		})
		if !errors.Is(err, store.ErrConflict) || runs != 1 {
			t.Fatalf("a duplicate id: %v after %d runs, want ErrConflict after one", err, runs)
		}
	})
}
