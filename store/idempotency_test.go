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

func TestClaimIdempotencyKeyConcurrentClaimersExactlyOneWins(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		const claimers = 20
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			wins  int
			rows  []store.IdempotencyKey
			errs  []error
			start = make(chan struct{})
		)
		ctx := ctxT(t)
		for i := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// Same key, some with another body: still one owner.
				fp := "fp-same"
				if i%5 == 0 {
					fp = fmt.Sprintf("fp-%d", i)
				}
				row, won, err := db.ClaimIdempotencyKey(ctx, "ptn_a", "key-1", fp, t0, t0.Add(time.Minute))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if won {
					wins++
				}
				rows = append(rows, row)
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("errors: %v", errs)
		}
		if wins != 1 {
			t.Fatalf("%d claimers won, want exactly 1", wins)
		}
		for _, r := range rows {
			if r.PartnerID != "ptn_a" || r.Key != "key-1" || r.State != store.IdempotencyInFlight {
				t.Fatalf("claim returned %+v", r)
			}
		}
		if n := countRows(t, db, "idempotency_keys", ""); n != 1 {
			t.Fatalf("%d rows, want 1", n)
		}
		// Keys are per partner.
		if _, won, err := db.ClaimIdempotencyKey(ctx, "ptn_b", "key-1", "fp-same", t0, t0.Add(time.Minute)); err != nil || !won {
			t.Fatalf("other partner's claim: won %v, %v", won, err)
		}
	})
}

func TestClaimIdempotencyKeyLifecycle(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		claim := func(fp string, now time.Time) (store.IdempotencyKey, bool) {
			t.Helper()
			row, won, err := db.ClaimIdempotencyKey(ctx, "ptn_a", "k", fp, now, now.Add(time.Minute))
			if err != nil {
				t.Fatalf("claim: %v", err)
			}
			return row, won
		}
		if _, won := claim("fp1", t0); !won {
			t.Fatal("first claim lost")
		}
		// In flight and not yet abandoned: nobody takes it.
		if row, won := claim("fp1", t0.Add(30*time.Second)); won || row.Fingerprint != "fp1" || row.State != store.IdempotencyInFlight {
			t.Fatalf("claim of a live key: won %v row %+v", won, row)
		}
		// Abandoned (locked_until passed), but another body: not taken over.
		if _, won := claim("fp2", t0.Add(2*time.Minute)); won {
			t.Fatal("abandoned key taken over by a different body")
		}
		// Abandoned, same body: taken over, with a new lock.
		later := t0.Add(2 * time.Minute)
		row, won := claim("fp1", later)
		if !won || !row.LockedUntil.Equal(later.Add(time.Minute)) {
			t.Fatalf("takeover: won %v row %+v", won, row)
		}
		var lockedUntil time.Time
		if err := db.SQL().QueryRowContext(ctx, rebind(db, "SELECT locked_until FROM idempotency_keys WHERE partner_id = ?"), "ptn_a").Scan(&lockedUntil); err != nil {
			t.Fatal(err)
		}
		if !lockedUntil.Equal(later.Add(time.Minute)) {
			t.Fatalf("locked_until = %v, want %v", lockedUntil, later.Add(time.Minute))
		}

		// Done: the response is replayed, never re-claimed, even after the lock passed.
		if err := db.CompleteIdempotencyKey(ctx, "ptn_a", "k", 201, []byte(`{"id":"res_1"}`)); err != nil {
			t.Fatal(err)
		}
		row, won = claim("fp1", t0.Add(time.Hour))
		if won || row.State != store.IdempotencyDone || row.ResponseStatus != 201 || string(row.ResponseBody) != `{"id":"res_1"}` {
			t.Fatalf("claim of a done key: won %v row %+v", won, row)
		}
		// A second completion keeps the first response.
		if err := db.CompleteIdempotencyKey(ctx, "ptn_a", "k", 500, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if row, _ = claim("fp1", t0.Add(time.Hour)); row.ResponseStatus != 201 {
			t.Fatalf("second completion overwrote the response: %+v", row)
		}
		// Older than 24 h: any body may claim it afresh.
		row, won = claim("fp9", later.Add(store.IdempotencyKeyTTL+time.Second))
		if !won || row.Fingerprint != "fp9" || row.State != store.IdempotencyInFlight || row.ResponseStatus != 0 || len(row.ResponseBody) != 0 {
			t.Fatalf("expired key: won %v row %+v", won, row)
		}
		if n := countRows(t, db, "idempotency_keys", "state = ? AND response_body IS NULL", store.IdempotencyInFlight); n != 1 {
			t.Fatalf("reclaimed row not reset in the database")
		}

		// Release frees an in-flight key; a done key stays.
		if err := db.ReleaseIdempotencyKey(ctx, "ptn_a", "k"); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, "idempotency_keys", ""); n != 0 {
			t.Fatalf("%d rows after release", n)
		}
		if err := db.CompleteIdempotencyKey(ctx, "ptn_a", "k", 200, nil); err == nil {
			t.Fatal("completing a released key succeeded")
		}
		claim("fp1", t0)
		_ = db.CompleteIdempotencyKey(ctx, "ptn_a", "k", 200, nil)
		if err := db.ReleaseIdempotencyKey(ctx, "ptn_a", "k"); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, "idempotency_keys", ""); n != 1 {
			t.Fatalf("release deleted a done key")
		}
	})
}

func TestPurgeIdempotencyKeysDeletesOnlyOldKeys(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		for i, age := range []time.Duration{48 * time.Hour, 25 * time.Hour, 23 * time.Hour, time.Millisecond, 0} {
			created := t0.Add(-age)
			if _, _, err := db.ClaimIdempotencyKey(ctx, "ptn_a", fmt.Sprintf("k%d", i), "fp", created, created.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.PurgeIdempotencyKeys(ctx, t0.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || countRows(t, db, "idempotency_keys", "") != 3 {
			t.Fatalf("purged %d, %d left; want 2 and 3", n, countRows(t, db, "idempotency_keys", ""))
		}
	})
}

// A recovery point moves only from the point the caller saw, inside the caller's
// transaction: with its resource, keeping the resource when none is named, cleared with
// it when the effect was undone, and never once the key is done.
func TestRecordIdempotencyPointMovesOnlyFromTheSeenPoint(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		if _, won, err := db.ClaimIdempotencyKey(ctx, "ptn_a", "k", "fp", t0, t0.Add(time.Minute)); err != nil || !won {
			t.Fatalf("claim: %v %v", won, err)
		}
		record := func(from, to, resource string, commit bool) bool {
			t.Helper()
			var moved bool
			errRollback := errors.New("rolled back")
			err := db.Transact(ctx, func(tx *store.Tx) error {
				var err error
				moved, err = tx.RecordIdempotencyPoint("ptn_a", "k", from, to, resource)
				if err == nil && !commit {
					return errRollback
				}
				return err
			})
			if err != nil && !errors.Is(err, errRollback) {
				t.Fatalf("record %q → %q: %v", from, to, err)
			}
			return moved
		}
		// The row as it is, read by a claim that cannot win (the key is live).
		row := func() store.IdempotencyKey {
			t.Helper()
			r, won, err := db.ClaimIdempotencyKey(ctx, "ptn_a", "k", "fp", t0, t0.Add(time.Minute))
			if err != nil || won {
				t.Fatalf("read: %v %v", won, err)
			}
			return r
		}
		point := func(want, wantResource string) {
			t.Helper()
			r := row()
			if got, res := deref(r.RecoveryPoint), deref(r.ResourceID); got != want || res != wantResource {
				t.Fatalf("recovery point %q resource %q; want %q %q", got, res, want, wantResource)
			}
		}
		record("", "held", "res_1", false)
		point("", "") // rolled back with the transaction
		if record("started", "held", "res_1", true) {
			t.Fatal("moved from a point the key is not at")
		}
		if !record("", "held", "res_1", true) {
			t.Fatal("first point not recorded")
		}
		point("held", "res_1")
		if record("", "paid", "", true) {
			t.Fatal("moved from none when the key has a point")
		}
		if !record("held", "paid", "", true) {
			t.Fatal("second point not recorded")
		}
		point("paid", "res_1")
		if !record("paid", "", "", true) {
			t.Fatal("point not cleared")
		}
		point("", "")
		if !record("", "held", "res_2", true) {
			t.Fatal("point not recorded after clearing")
		}
		if err := db.CompleteIdempotencyKey(ctx, "ptn_a", "k", 201, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if record("held", "paid", "", true) {
			t.Fatal("a done key's point moved")
		}
		if r := row(); r.State != store.IdempotencyDone || r.ResponseStatus != 201 || string(r.ResponseBody) != "{}" {
			t.Fatalf("completed key: %+v", r)
		}
		point("held", "res_2")
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
