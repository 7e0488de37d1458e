package store_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// replicaFixture is a migrated schema on the primary, seen through the streaming replica
// of scripts/ci/replica.sh: two partners, a venue and two slots of 2 tables.
type replicaFixture struct {
	primaryURL, replicaURL string
	seed                   *store.DB // the primary alone
	slots                  []store.Slot
}

func newReplicaFixture(t *testing.T) replicaFixture {
	t.Helper()
	f := replicaFixture{primaryURL: storetest.PostgresURL(t)}
	f.replicaURL = storetest.ReplicaURL(t, f.primaryURL)
	db, err := store.Open(ctxT(t), store.Config{URL: f.primaryURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	f.seed = db
	mustPartner(t, db, "ptn_a", true)
	mustPartner(t, db, "ptn_b", true)
	mustVenues(t, db, venue("ven_1", "Replica Bistro", "New York", "French"))
	f.slots = []store.Slot{
		slot("slot_1", "ven_1", t0.Add(48*time.Hour), 2),
		slot("slot_2", "ven_1", t0.Add(50*time.Hour), 2),
	}
	mustSlots(t, db, f.slots...)
	storetest.WaitReplica(t, f.primaryURL, f.replicaURL)
	return f
}

// open opens the primary with the replica as its read replica.
func (f replicaFixture) open(t *testing.T, readURL string, wait time.Duration) *store.DB {
	t.Helper()
	db, err := store.Open(ctxT(t), store.Config{
		URL: f.primaryURL, ReadURL: readURL, ReadWait: wait, ReadMaxLag: 10 * time.Minute, MaxOpenConns: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// search is the availability search, routed as booking routes it.
func search(t *testing.T, db *store.DB, partnerID string) []string {
	t.Helper()
	var rows []store.Slot
	err := db.Read(ctxT(t), partnerID, store.OwnWrites, func(r *store.DB) (err error) {
		rows, _, err = r.SearchSlots(ctxT(t), store.Scope{PartnerID: partnerID, AllVenues: true},
			store.SlotQuery{LocalDate: "2030-05-03", PartySize: 2, Now: t0}, store.Page{Limit: 10})
		return err
	})
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	return ids(rows, slotID)
}

// listReservations is a partner's reservation list, routed as booking routes it.
func listReservations(t *testing.T, db *store.DB, partnerID string) []string {
	t.Helper()
	var rows []store.Reservation
	err := db.Read(ctxT(t), partnerID, store.Latest, func(r *store.DB) (err error) {
		rows, _, err = r.ListReservations(ctxT(t), partnerID, store.ReservationFilter{}, store.Page{Limit: 10})
		return err
	})
	if err != nil {
		t.Fatalf("list reservations: %v", err)
	}
	return ids(rows, resID)
}

func reads(t *testing.T, db *store.DB) store.ReplicaReads {
	t.Helper()
	st, ok := db.ReplicaStats()
	if !ok {
		t.Fatal("ReplicaStats: no replica configured")
	}
	return st.Reads
}

// TestReadReplicaServesSearchAndPartnersReadTheirWrites proves the routing with the
// replica's replay paused: a write on the primary is then invisible on the replica. A
// search by a partner that has not written is served by the (stale) replica; the
// partner that wrote finds its write in its search and its list (the primary serves them
// once the replica has not caught up within ReadWait), and in the reservation read by id.
// Once replay resumes, the replica serves them all again, write included.
func TestReadReplicaServesSearchAndPartnersReadTheirWrites(t *testing.T) {
	f := newReplicaFixture(t)
	const wait = 300 * time.Millisecond
	db := f.open(t, f.replicaURL, wait)

	if got := strings.Join(search(t, db, "ptn_a"), ","); got != "slot_1,slot_2" {
		t.Fatalf("search before any write = %s, want slot_1,slot_2", got)
	}
	if r := reads(t, db); r.Replica != 1 || r.Lagging != 0 || r.Unavailable != 0 {
		t.Fatalf("reads after one search = %+v, want 1 served by the replica", r)
	}

	storetest.PauseReplay(t, f.replicaURL)
	// ptn_a holds slot_1's last... one of its tables; an operator withdraws slot_2.
	mustHold(t, db, hold("res_a1", "ptn_a", f.slots[0], t0.Add(10*time.Minute)))
	db.NoteWrite(ctxT(t), "ptn_a")
	if err := exec(t, f.seed, `UPDATE slots SET status = 'withdrawn' WHERE id = ?`, "slot_2"); err != nil {
		t.Fatal(err)
	}

	// ptn_b wrote nothing: its search is the replica's, which has not seen the withdrawal.
	if got := strings.Join(search(t, db, "ptn_b"), ","); got != "slot_1,slot_2" {
		t.Errorf("ptn_b's search with replay paused = %s, want the replica's stale slot_1,slot_2", got)
	}
	if r := reads(t, db); r.Replica != 2 {
		t.Errorf("reads = %+v, want ptn_b's search served by the replica", r)
	}
	// ptn_a wrote: its search waits for the replica, then the primary serves it.
	start := time.Now()
	if got := strings.Join(search(t, db, "ptn_a"), ","); got != "slot_1" {
		t.Errorf("ptn_a's search after its hold = %s, want the primary's slot_1", got)
	}
	if waited := time.Since(start); waited < wait {
		t.Errorf("ptn_a's search took %v: it should have waited ReadWait (%v) for the replica first", waited, wait)
	}
	if got := listReservations(t, db, "ptn_a"); len(got) != 1 || got[0] != "res_a1" {
		t.Errorf("ptn_a's list after its hold = %v, want [res_a1]", got)
	}
	// Lists see every committed write (Latest): ptn_b's too waits for the replica.
	if got := listReservations(t, db, "ptn_b"); len(got) != 0 {
		t.Errorf("ptn_b's list = %v, want none", got)
	}
	if r := reads(t, db); r.Replica != 2 || r.Lagging != 3 || r.Unavailable != 0 {
		t.Errorf("reads = %+v, want 2 by the replica and 3 by the primary for a lagging replica", r)
	}
	if got, err := db.GetReservation(ctxT(t), "ptn_a", "res_a1"); err != nil || got.Status != "held" {
		t.Errorf("GetReservation(res_a1) = %v, %v; want the held reservation, from the primary", got.Status, err)
	}

	storetest.ResumeReplay(t, f.replicaURL)
	storetest.WaitReplica(t, f.primaryURL, f.replicaURL)
	if got := strings.Join(search(t, db, "ptn_a"), ","); got != "slot_1" {
		t.Errorf("ptn_a's search after replay resumed = %s, want slot_1", got)
	}
	if got := strings.Join(search(t, db, "ptn_b"), ","); got != "slot_1" {
		t.Errorf("ptn_b's search after replay resumed = %s, want slot_1", got)
	}
	if got := listReservations(t, db, "ptn_a"); len(got) != 1 || got[0] != "res_a1" {
		t.Errorf("ptn_a's list after replay resumed = %v, want [res_a1]", got)
	}
	if r := reads(t, db); r.Replica != 5 || r.Lagging != 3 {
		t.Errorf("reads = %+v, want the last 3 served by the replica", r)
	}
	if err := db.Ping(ctxT(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestReadReplicaDownFallsBackToThePrimary cuts the network between the store and the
// replica (a TCP relay in front of the real replica): reads are served by the primary and
// counted, the primary's Ping stays fine, and once the relay carries traffic again the
// probe brings the replica back into use.
func TestReadReplicaDownFallsBackToThePrimary(t *testing.T) {
	f := newReplicaFixture(t)
	u, err := parseHostPort(f.replicaURL)
	if err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, u.host)
	db := f.open(t, strings.Replace(f.replicaURL, u.host, r.addr(), 1), time.Second)

	if got := strings.Join(search(t, db, "ptn_a"), ","); got != "slot_1,slot_2" {
		t.Fatalf("search = %s, want slot_1,slot_2", got)
	}
	if got := reads(t, db); got.Replica != 1 {
		t.Fatalf("reads = %+v, want the search served by the replica", got)
	}

	r.cut()
	if got := strings.Join(search(t, db, "ptn_a"), ","); got != "slot_1,slot_2" {
		t.Errorf("search with the replica cut off = %s, want slot_1,slot_2 from the primary", got)
	}
	if got := listReservations(t, db, "ptn_a"); len(got) != 0 {
		t.Errorf("list with the replica cut off = %v, want none", got)
	}
	if st, _ := db.ReplicaStats(); st.Up || st.Reads.Unavailable != 2 || st.Reads.Replica != 1 {
		t.Errorf("stats with the replica cut off = %+v, want down, 2 reads by the primary", st)
	}
	if err := db.Ping(ctxT(t)); err != nil {
		t.Errorf("Ping with the replica cut off: %v (readiness must not depend on the replica)", err)
	}

	r.restore()
	deadline := time.Now().Add(30 * time.Second)
	for st, _ := db.ReplicaStats(); !st.Up; st, _ = db.ReplicaStats() {
		if time.Now().After(deadline) {
			t.Fatal("the replica is not back in use 30 s after the relay was restored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := reads(t, db).Replica
	if got := strings.Join(search(t, db, "ptn_a"), ","); got != "slot_1,slot_2" {
		t.Errorf("search after the replica came back = %s, want slot_1,slot_2", got)
	}
	if got := reads(t, db).Replica; got != before+1 {
		t.Errorf("replica reads %d → %d: the search after it came back should be the replica's", before, got)
	}
}

// TestReadReplicaUnreachableAtStartUp: a replica that does not answer when the store opens
// is no reason not to serve: reads go to the primary.
func TestReadReplicaUnreachableAtStartUp(t *testing.T) {
	f := newReplicaFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	u, err := parseHostPort(f.replicaURL)
	if err != nil {
		t.Fatal(err)
	}
	db := f.open(t, strings.Replace(f.replicaURL, u.host, closed, 1), time.Second)
	if got := strings.Join(search(t, db, "ptn_a"), ","); got != "slot_1,slot_2" {
		t.Errorf("search = %s, want slot_1,slot_2 from the primary", got)
	}
	if st, _ := db.ReplicaStats(); st.Up || st.Reads.Unavailable != 1 {
		t.Errorf("stats = %+v, want down and the search served by the primary", st)
	}
}

// TestReadReplicaConfigErrors: a read replica with SQLite, a URL that is not PostgreSQL's
// and a server that is not a copy of the primary are refused at start-up.
func TestReadReplicaConfigErrors(t *testing.T) {
	ctx := ctxT(t)
	_, err := store.Open(ctx, store.Config{URL: "sqlite::memory:", ReadURL: "postgres://postgres@127.0.0.1:15433/x"})
	if err == nil || !strings.Contains(err.Error(), "needs PostgreSQL") {
		t.Errorf("SQLite with a read replica: %v, want a refusal that says it needs PostgreSQL", err)
	}
	f := newReplicaFixture(t)
	_, err = store.Open(ctx, store.Config{URL: f.primaryURL, ReadURL: "mysql://127.0.0.1/x"})
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("a read replica URL that is not PostgreSQL's: %v, want a refusal", err)
	}
	// The primary itself is no copy of another database: name another database on it.
	other := strings.Replace(f.primaryURL, "/"+dbName(t, f.primaryURL)+"?", "/postgres?", 1)
	_, err = store.Open(ctx, store.Config{URL: f.primaryURL, ReadURL: other})
	if err == nil || !strings.Contains(err.Error(), "same one") {
		t.Errorf("a read replica of another database: %v, want a refusal", err)
	}
}

type hostPort struct{ host string }

func parseHostPort(u string) (hostPort, error) {
	rest, ok := strings.CutPrefix(u, "postgres://")
	if !ok {
		return hostPort{}, errors.New("not a postgres:// URL")
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	host, _, _ := strings.Cut(rest, "/")
	return hostPort{host: host}, nil
}

func dbName(t *testing.T, u string) string {
	t.Helper()
	rest, _ := strings.CutPrefix(u, "postgres://")
	_, path, _ := strings.Cut(rest, "/")
	name, _, _ := strings.Cut(path, "?")
	return name
}

// relay forwards TCP connections to target until cut, which drops every connection and
// refuses new ones until restore: a network partition between the store and the replica.
type relay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = ln.Close(); r.cut() })
	go r.serve()
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.forward(c)
	}
}

func (r *relay) forward(c net.Conn) {
	r.mu.Lock()
	if r.down {
		r.mu.Unlock()
		_ = c.Close()
		return
	}
	r.mu.Unlock()
	d := net.Dialer{Timeout: 5 * time.Second}
	up, err := d.DialContext(context.Background(), "tcp", r.target)
	if err != nil {
		_ = c.Close()
		return
	}
	r.mu.Lock()
	if r.down {
		r.mu.Unlock()
		_ = c.Close()
		_ = up.Close()
		return
	}
	r.conns[c], r.conns[up] = struct{}{}, struct{}{}
	r.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, up)
	r.mu.Unlock()
}

func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = true
	for c := range r.conns {
		_ = c.Close()
	}
}

func (r *relay) restore() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = false
}
