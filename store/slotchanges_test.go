package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestSlotChangesJournalEveryCapacityChangeOnce: the trigger of migration 00016 counts
// each change of a slot's tables or tables taken in one journal row (and nothing for an
// update that changes neither); the feed's claim respects the gap since the last event;
// a settled row is forgotten after its minute, and a changed one is kept.
func TestSlotChangesJournalEveryCapacityChangeOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		now := time.Now().UTC()
		mustVenues(t, db, venue("ven_j", "Journal", "New York", "italian"))
		s := slot("slot_j", "ven_j", now.Add(48*time.Hour), 3)
		mustSlots(t, db, s)
		if _, err := db.SlotChangeOf(ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a new slot has a journal row: %v", err)
		}
		for range 3 {
			if err := db.Transact(ctx, func(tx *store.Tx) error {
				_, err := tx.TakeTable(s.ID, now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		// A fourth take finds no table: nothing changes, nothing is counted.
		if err := db.Transact(ctx, func(tx *store.Tx) error {
			took, err := tx.TakeTable(s.ID, now)
			if took {
				t.Error("took a fourth table of three")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c, err := db.SlotChangeOf(ctx, s.ID)
		if err != nil || c.Version != 3 || c.SentVersion != 0 {
			t.Fatalf("journal after 3 takes: %+v %v, want version 3", c, err)
		}
		claim := func(at time.Time) []store.SlotChange {
			var out []store.SlotChange
			if err := db.Transact(ctx, func(tx *store.Tx) error {
				var err error
				out, err = tx.ClaimSlotChanges(at, time.Second, 10)
				for _, c := range out {
					if err == nil {
						err = tx.MarkSlotChangeSent(c.SlotID, c.Version, at)
					}
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got := claim(now); len(got) != 1 || got[0].Version != 3 {
			t.Fatalf("first claim: %+v", got)
		}
		if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.ReleaseTable(s.ID, now) }); err != nil {
			t.Fatal(err)
		}
		if got := claim(now.Add(500 * time.Millisecond)); len(got) != 0 {
			t.Fatalf("claimed within the gap: %+v", got)
		}
		if got := claim(now.Add(1500 * time.Millisecond)); len(got) != 1 || got[0].Version != 4 {
			t.Fatalf("claim after the gap: %+v", got)
		}
		forget := func(before time.Time) int {
			var n int
			if err := db.Transact(ctx, func(tx *store.Tx) error {
				var err error
				n, err = tx.ForgetSlotChanges(before, 10)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := forget(now); n != 0 {
			t.Fatalf("forgot %d rows sent after the cut-off", n)
		}
		if n := forget(now.Add(time.Hour)); n != 1 {
			t.Fatalf("forgot %d settled rows, want 1", n)
		}
	})
}
