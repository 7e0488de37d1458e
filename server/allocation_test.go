package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	operatorapi "github.com/prima-dining/partner-api/sdk/go/operator"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// Partner allocations: tables of a slot kept for one partner until a release time.

// allocate keeps tables of the slot for the partner through the API.
func (e *env) allocate(t *testing.T, op, slotID, partnerID string, tables int) operatorapi.Allocation {
	t.Helper()
	var a operatorapi.Allocation
	status, _, body := e.do("POST", "/v1/operator/slots/"+slotID+"/allocations", op,
		fmt.Sprintf(`{"partner_id":%q,"tables":%d,"release_hours_before":24}`, partnerID, tables), "Idempotency-Key", key())
	decode(t, status, http.StatusCreated, body, &a)
	return a
}

// tablesLeft is the slot's tables_left in the partner's search, or -1 when not listed.
func (e *env) tablesLeft(t *testing.T, token string, slot store.Slot) int {
	t.Helper()
	var out client.SlotList
	status, _, body := e.do("GET", "/v1/availability?party_size=2&date="+slot.LocalDate+"&venue_id="+slot.VenueID, token, "")
	decode(t, status, http.StatusOK, body, &out)
	for _, s := range out.Data {
		if s.Id == slot.ID {
			return s.TablesLeft
		}
	}
	return -1
}

func TestAllocationRaceNeverOverbooksTheSlotOrThePool(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withMaxActiveHolds(-1), withRateLimit(server.RateLimit{PerSecond: 1e6, Burst: 1e6}))
		_, slots := e.addVenue(slotSpec{tables: 5, prime: true})
		op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
		tokenA, tokenB := e.token, e.newToken("rival-concierge")
		a := e.allocate(t, op, slots[0].ID, partnerID(t, db, "acme-rewards"), 2)
		if a.ReleaseAt.After(slots[0].StartsAt.Add(-23*time.Hour)) || a.Released {
			t.Fatalf("allocation: %+v", a)
		}
		if left := e.tablesLeft(t, tokenB, slots[0]); left != 3 {
			t.Fatalf("B sees %d tables left, want the shared pool's 3", left)
		}
		if left := e.tablesLeft(t, tokenA, slots[0]); left != 5 {
			t.Fatalf("A sees %d tables left, want 5 (its 2 and the pool's 3)", left)
		}
		// No more than the pool can be allocated.
		status, _, body := e.do("POST", "/v1/operator/slots/"+slots[0].ID+"/allocations", op,
			fmt.Sprintf(`{"partner_id":%q,"tables":4}`, partnerID(t, db, "rival-concierge")), "Idempotency-Key", key())
		if status != http.StatusConflict || apiError(t, body).Code != "allocation_unavailable" {
			t.Fatalf("allocating 4 of a pool of 3: %d %s", status, body)
		}

		const each = 100
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			got     = map[string]int{}
			refused = map[string]int{}
			start   = make(chan struct{})
		)
		for i := range 2 * each {
			who, token := "A", tokenA
			if i%2 == 1 {
				who, token = "B", tokenB
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				status, _, body := e.do("POST", "/v1/reservations", token, holdJSON(slots[0].ID), "Idempotency-Key", key())
				mu.Lock()
				defer mu.Unlock()
				switch {
				case status == http.StatusCreated:
					got[who]++
				case status == http.StatusConflict && apiError(t, body).Code == "slot_unavailable":
					refused[who]++
				default:
					t.Errorf("%s hold: %d %s", who, status, body)
				}
			}()
		}
		close(start)
		wg.Wait()
		if got["A"] > 5 || got["A"] < 2 || got["B"] > 3 || got["A"]+got["B"] != 5 || refused["A"]+refused["B"] != 2*each-5 {
			t.Fatalf("holds: A %d, B %d (refused %v); want A 2 to 5, B at most 3, 5 in all", got["A"], got["B"], refused)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 5 || active != 5 {
			t.Fatalf("database: tables_taken=%d active=%d, want 5 and 5", taken, active)
		}
		if n := e.count(t, "SELECT tables_reserved FROM slots WHERE id = ?", slots[0].ID); n != 0 {
			t.Fatalf("tables_reserved = %d after the allocation sold out", n)
		}
		if n := e.count(t, "SELECT tables_taken FROM slot_allocations WHERE id = ?", a.Id); n != 2 {
			t.Fatalf("the allocation's tables_taken = %d, want 2", n)
		}
		if n := e.count(t, "SELECT count(*) FROM reservations WHERE allocation_id = ? AND status = 'held'", a.Id); n != 2 {
			t.Fatalf("%d held reservations name the allocation, want 2", n)
		}
	})
}

func TestAllocationReleaseOpensUnsoldTablesToEveryPartner(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var (
			mu    sync.Mutex
			clock = time.Now()
		)
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		e := newEnv(t, db, withClock(now))
		_, slots := e.addVenue(slotSpec{tables: 5})
		op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
		tokenA, tokenB := e.token, e.newToken("rival-concierge")
		a := e.allocate(t, op, slots[0].ID, partnerID(t, db, "acme-rewards"), 2)
		hold := func(token string) (int, string) {
			status, _, body := e.do("POST", "/v1/reservations", token, holdJSON(slots[0].ID), "Idempotency-Key", key())
			if status != http.StatusCreated {
				return status, apiError(t, body).Code
			}
			var r client.Reservation
			decode(t, status, status, body, &r)
			return status, r.Id
		}
		for range 3 { // booked, so they outlive the clock's jump below
			s, id := hold(tokenB)
			if s != http.StatusCreated {
				t.Fatalf("B's shared hold: %d", s)
			}
			if status, _, body := e.do("POST", "/v1/reservations/"+id+"/finalize", tokenB, "", "Idempotency-Key", key()); status != http.StatusOK {
				t.Fatalf("finalize: %d %s", status, body)
			}
		}
		if s, code := hold(tokenB); s != http.StatusConflict || code != "slot_unavailable" {
			t.Fatalf("B's fourth hold: %d %s", s, code)
		}
		if left := e.tablesLeft(t, tokenB, slots[0]); left != -1 {
			t.Fatalf("B's search lists the slot with %d left", left)
		}
		// A takes one allocated table and lets it go: it is A's again, not the pool's.
		_, id := hold(tokenA)
		if status, _, body := e.do("POST", "/v1/reservations/"+id+"/cancel", tokenA, `{}`, "Idempotency-Key", key()); status != http.StatusOK {
			t.Fatalf("cancel: %d %s", status, body)
		}
		if s, _ := hold(tokenB); s != http.StatusConflict {
			t.Fatalf("B took A's released allocated table: %d", s)
		}
		if left := e.tablesLeft(t, tokenA, slots[0]); left != 2 {
			t.Fatalf("A sees %d left, want its 2", left)
		}

		// Past the release time the unsold tables are everyone's.
		mu.Lock()
		clock = clock.Add(25 * time.Hour)
		mu.Unlock()
		if _, err := e.booking.Payments.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if left := e.tablesLeft(t, tokenB, slots[0]); left != 2 {
			t.Fatalf("after the release B sees %d left, want 2", left)
		}
		if n := e.count(t, "SELECT tables_reserved FROM slots WHERE id = ?", slots[0].ID); n != 0 {
			t.Fatalf("tables_reserved = %d after the release", n)
		}
		for range 2 {
			if s, code := hold(tokenB); s != http.StatusCreated {
				t.Fatalf("B's hold after the release: %d %s", s, code)
			}
		}
		if s, code := hold(tokenA); s != http.StatusConflict || code != "slot_unavailable" {
			t.Fatalf("A's hold on a full slot: %d %s", s, code)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 5 || active != 5 {
			t.Fatalf("database: tables_taken=%d active=%d, want 5 and 5", taken, active)
		}
		var list operatorapi.AllocationList
		status, _, body := e.do("GET", "/v1/operator/slots/"+slots[0].ID+"/allocations", op, "")
		decode(t, status, http.StatusOK, body, &list)
		if len(list.Data) != 1 || list.Data[0].Id != a.Id || !list.Data[0].Released || list.Data[0].TablesTaken != 0 {
			t.Fatalf("allocations: %s", body)
		}
		// The operator cannot lower the tables below what is taken.
		status, _, body = e.do("PATCH", "/v1/operator/slots/"+slots[0].ID, op, `{"tables":4}`)
		if status != http.StatusConflict || apiError(t, body).Code != "tables_below_taken" {
			t.Fatalf("lowering a full slot: %d %s", status, body)
		}
	})
}

func TestAllocationForAPartnerThatMayNotSellTheVenueIsRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 4, prime: true})
		op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
		e.newToken("restricted-concierge")
		if _, err := db.SQL().Exec("UPDATE partners SET all_venues = false WHERE name = 'restricted-concierge'"); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, db)
		status, _, body := e.do("POST", "/v1/operator/slots/"+slots[0].ID+"/allocations", op,
			fmt.Sprintf(`{"partner_id":%q,"tables":1}`, partnerID(t, db, "restricted-concierge")), "Idempotency-Key", key())
		if status != http.StatusBadRequest {
			t.Fatalf("allocation for a partner that may not sell the venue: %d %s", status, body)
		}
		if d := apiError(t, body); d.Code != "parameter_invalid" || d.Param == nil || *d.Param != "partner_id" {
			t.Fatalf("error: %s", body)
		}
		if after := snapshot(t, db); after != before {
			t.Fatal("a refused allocation changed the database")
		}
		var n int
		if err := db.SQL().QueryRow("SELECT count(*) FROM slot_allocations").Scan(&n); err != nil || n != 0 {
			t.Fatalf("allocations: %d %v", n, err)
		}
	})
}
