package store_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// changeLog collects the changes a process hears of.
type changeLog struct {
	mu   sync.Mutex
	seen []store.Change
}

func listenChanges(db *store.DB) *changeLog {
	l := &changeLog{}
	db.Invalidations().Subscribe(func(c store.Change) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.seen = append(l.seen, c)
	})
	return l
}

func (l *changeLog) has(c store.Change) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.seen, c)
}

// waitFor waits until the change is heard of.
func (l *changeLog) waitFor(t *testing.T, c store.Change) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !l.has(c) {
		if time.Now().After(deadline) {
			t.Fatalf("%s:%s not announced within 20 s; heard %v", c.Kind, c.ID, l.seen)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustToken(t *testing.T, db *store.DB, id, partnerID string) {
	t.Helper()
	tk := store.Token{ID: id, PartnerID: partnerID, Name: id, Hash: "hash-" + id, Prefix: "prima_pat_xx", Scopes: "venues:read", CreatedAt: t0}
	if err := db.CreateToken(ctxT(t), &tk); err != nil {
		t.Fatalf("create token: %v", err)
	}
}

// The store's own changes are heard in the process as soon as they commit; another
// process's are heard through the database: its notices on PostgreSQL, data_version on
// SQLite (which drops every cache: a new epoch).
func TestChangesOfCachedRowsAreAnnounced(t *testing.T) {
	storetest.ForEachPair(t, func(t *testing.T, a, b *store.DB) {
		ctx := ctxT(t)
		storetest.Listen(t, a)
		heard := listenChanges(a)
		mustPartner(t, a, "ptn_c", false)
		mustVenues(t, a, venue("ven_c", "Cached", "NYC", "French"))
		mustToken(t, a, "tok_c1", "ptn_c")
		mustToken(t, a, "tok_c2", "ptn_c")

		// In this process: before the call returns.
		if err := a.RevokeToken(ctx, "tok_c1", t0); err != nil {
			t.Fatal(err)
		}
		if !heard.has(store.Change{Kind: store.ChangeToken, ID: "tok_c1"}) {
			t.Fatalf("revocation not heard in the process when RevokeToken returned: %v", heard.seen)
		}
		if err := a.GrantVenues(ctx, "ptn_c", []string{"ven_c"}); err != nil {
			t.Fatal(err)
		}
		if !heard.has(store.Change{Kind: store.ChangePartner, ID: "ptn_c"}) {
			t.Fatalf("grant not heard in the process: %v", heard.seen)
		}

		// From another process.
		epoch, _ := a.Invalidations().Epoch()
		if err := b.RevokeToken(ctx, "tok_c2", t0); err != nil {
			t.Fatal(err)
		}
		if a.Dialect() == store.DialectPostgres {
			heard.waitFor(t, store.Change{Kind: store.ChangeToken, ID: "tok_c2"})
		} else {
			deadline := time.Now().Add(20 * time.Second)
			for {
				if e, trusted := a.Invalidations().Epoch(); e > epoch && trusted {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("another connection's commit did not start a new epoch within 20 s")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	})
}

// On PostgreSQL the triggers announce every writer's changes, in commit order, and only
// committed ones; last_used_at, written often, announces nothing.
func TestPostgresTriggersAnnounceCommittedChangesOnly(t *testing.T) {
	a := storetest.OpenPostgres(t)
	storetest.Listen(t, a)
	heard := listenChanges(a)
	ctx := ctxT(t)
	mustPartner(t, a, "ptn_t", true)
	mustVenues(t, a, venue("ven_t", "Triggered", "NYC", "French"), venue("ven_u", "Untouched", "NYC", "French"))
	mustToken(t, a, "tok_t", "ptn_t")
	sqlDB := a.SQL()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := sqlDB.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Writers that bypass the store (psql, say).
	exec(`UPDATE tokens SET last_used_at = now() WHERE id = 'tok_t'`)
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE venues SET name = 'Rolled back' WHERE id = 'ven_u'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE venues SET name = 'Renamed' WHERE id = 'ven_t'`)
	exec(`UPDATE partners SET all_venues = false WHERE id = 'ptn_t'`)
	exec(`INSERT INTO partner_venues (partner_id, venue_id) VALUES ('ptn_t', 'ven_u')`)
	exec(`UPDATE tokens SET scopes = 'audit:read' WHERE id = 'tok_t'`)
	heard.waitFor(t, store.Change{Kind: store.ChangeToken, ID: "tok_t"}) // the last one
	heard.mu.Lock()
	defer heard.mu.Unlock()
	want := []store.Change{
		{Kind: store.ChangeVenue, ID: "ven_t"},
		{Kind: store.ChangePartner, ID: "ptn_t"},
		{Kind: store.ChangePartner, ID: "ptn_t"},
		{Kind: store.ChangeToken, ID: "tok_t"},
	}
	// Other tests' schemas share the channel: keep only this test's rows.
	var got []store.Change
	for _, c := range heard.seen {
		if c.ID == "ven_t" || c.ID == "ven_u" || c.ID == "ptn_t" || c.ID == "tok_t" {
			got = append(got, c)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("heard %v, want %v (no last_used_at, no rolled-back change)", got, want)
	}
}

// A listener whose backend is terminated stops trusting the caches at once, and trusts
// them again only after it has re-subscribed, in a new epoch.
func TestPostgresListenerLossBypassesCachesUntilResubscribed(t *testing.T) {
	a := storetest.OpenPostgres(t)
	storetest.ListenWith(t, a, store.ListenConfig{Retry: time.Second})
	inv := a.Invalidations()
	epoch, _ := inv.Epoch()
	pid := inv.ListenerPID()
	if pid == 0 {
		t.Fatal("no listener backend pid while subscribed")
	}
	var name string
	if err := a.SQL().QueryRowContext(ctxT(t), `SELECT application_name FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if want := "prima-listener/"; len(name) <= len(want) || name[:len(want)] != want {
		t.Fatalf("listener's application_name %q, want prima-listener/<pid>", name)
	}
	var ok bool
	if err := a.SQL().QueryRowContext(ctxT(t), `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate listener backend: %v %v", ok, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, trusted := inv.Epoch(); !trusted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("caches still trusted 20 s after the listener's backend was terminated")
		}
		time.Sleep(time.Millisecond)
	}
	storetest.WaitTrusted(t, a, 30*time.Second)
	st := inv.Stats()
	if e, _ := inv.Epoch(); e <= epoch || st.Lost != 1 || st.Reloads != 2 {
		t.Fatalf("after the loss: epoch %d (was %d), stats %+v; want a new epoch, 1 loss, 2 reloads", e, epoch, st)
	}
	if p := inv.ListenerPID(); p == 0 || p == pid {
		t.Fatalf("listener backend %d after reconnecting (was %d)", p, pid)
	}
}

// A table taken, or given back to a slot that had one left, is announced as that slot's
// change: by the store in its own process when the transaction commits, and on
// PostgreSQL by the trigger to every process, whoever wrote it. A full slot's table
// given back, and any other change of the slot, is its city and day's.
func TestSlotTablesAreAnnouncedBySlot(t *testing.T) {
	storetest.ForEachPair(t, func(t *testing.T, a, b *store.DB) {
		ctx := ctxT(t)
		mustVenues(t, a, venue("ven_sn", "Noticed", "Slash/Town", "French"))
		s := slot("slot_sn", "ven_sn", t0.Add(48*time.Hour), 2)
		mustSlots(t, a, s)
		one := store.Change{Kind: store.ChangeSlot, ID: store.SlotChangeID(s.LocalDate, "slot_sn", "slash/town")}
		day := store.Change{Kind: store.ChangeSlots, ID: "slash/town/" + s.LocalDate}

		// The store's own, heard in the process (b does not listen: nothing else reaches it).
		heardB := listenChanges(b)
		take := func() {
			t.Helper()
			if err := b.Transact(ctx, func(tx *store.Tx) error {
				took, err := tx.TakeTable("slot_sn", t0)
				if err == nil && !took {
					t.Fatal("no table taken")
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		release := func() {
			t.Helper()
			if err := b.Transact(ctx, func(tx *store.Tx) error { return tx.ReleaseTable("slot_sn", t0) }); err != nil {
				t.Fatal(err)
			}
		}
		take()
		if !heardB.has(one) || heardB.has(day) {
			t.Fatalf("a table taken: heard %v, want %v only", heardB.seen, one)
		}
		take() // now full
		release()
		if !heardB.has(day) {
			t.Fatalf("a full slot's table given back: heard %v, want %v", heardB.seen, day)
		}
		if d, _, city, ok := store.ParseSlotChange(one.ID); !ok || d != s.LocalDate || city != "slash/town" {
			t.Fatalf("ParseSlotChange(%q) = %q, %q, %v", one.ID, d, city, ok)
		}
		if a.Dialect() != store.DialectPostgres {
			return
		}

		// The trigger, for writers that bypass the store.
		storetest.Listen(t, a)
		heard := listenChanges(a)
		cases := []struct {
			update string
			want   store.Change
		}{
			{`UPDATE slots SET tables_taken = 0, updated_at = now() WHERE id = 'slot_sn'`, one},  // 1 -> 0, had room
			{`UPDATE slots SET tables_taken = tables_taken + 2 WHERE id = 'slot_sn'`, one},       // taken: full
			{`UPDATE slots SET tables_taken = tables_taken - 1 WHERE id = 'slot_sn'`, day},       // from full
			{`UPDATE slots SET tables_taken = 0, price_amount = 500 WHERE id = 'slot_sn'`, day},  // and an edit
			{`UPDATE slots SET tables_reserved = 1 WHERE id = 'slot_sn'`, day},                   // an allocation
			{`UPDATE slots SET tables_taken = 1, tables_reserved = 0 WHERE id = 'slot_sn'`, day}, // both
			{`UPDATE slots SET tables_taken = tables_taken + 1 WHERE id = 'slot_sn'`, one},       // taken again
		}
		for _, c := range cases {
			heard.mu.Lock()
			heard.seen = nil
			heard.mu.Unlock()
			if err := exec(t, a, c.update); err != nil {
				t.Fatal(err)
			}
			heard.waitFor(t, c.want)
			other := one
			if c.want == one {
				other = day
			}
			if heard.has(other) {
				t.Fatalf("%s: heard %v as well as %v", c.update, other, c.want)
			}
		}
	})
}
