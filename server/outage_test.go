package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// dbProxy is a loopback TCP proxy in front of PostgreSQL that a test can take down
// (connections refused, open ones cut) and bring back on the same port, or turn into a
// black hole (connections accepted, nothing answered).
type dbProxy struct {
	t        *testing.T
	target   string
	addr     string
	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]bool
	blackout bool
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	p := &dbProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *dbProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns[c] = true
			hole := p.blackout
			p.mu.Unlock()
			if hole {
				continue // accepted, never answered
			}
			go p.pipe(c)
		}
	}()
}

func (p *dbProxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[up] = true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
	_, _ = io.Copy(c, up)
	_ = c.Close()
}

// down closes the listener and every open connection: new connections are refused.
func (p *dbProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// up listens again on the same port.
func (p *dbProxy) up(blackout bool) {
	p.t.Helper()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("listen again on %s: %v", p.addr, err)
		}
		time.Sleep(10 * time.Millisecond) // the port is being released: retry until the deadline
	}
	p.mu.Lock()
	p.blackout = blackout
	p.mu.Unlock()
	p.serve(ln)
}

// withApplicationName returns u with the connection's application_name set, so a test
// can find (and terminate) its own server's backends and no one else's.
func withApplicationName(t *testing.T, u, name string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("application_name", name)
	pu.RawQuery = q.Encode()
	return pu.String()
}

// holdResult is one answer to a hold.
type holdResult struct {
	status     int
	code       string
	retryAfter string
	id         string
	err        error
}

func postHold(ctx context.Context, hc *http.Client, base, token, slotID string) holdResult {
	body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slotID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/reservations", strings.NewReader(body))
	if err != nil {
		return holdResult{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key())
	resp, err := hc.Do(req)
	if err != nil {
		return holdResult{err: err}
	}
	defer resp.Body.Close()
	var out struct {
		ID    string `json:"id"`
		Error struct {
			Type string `json:"type"`
			Code string `json:"code"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		return holdResult{status: resp.StatusCode, err: fmt.Errorf("body %q: %w", b, err)}
	}
	return holdResult{status: resp.StatusCode, code: out.Error.Code, retryAfter: resp.Header.Get("Retry-After"), id: out.ID}
}

// checkUnavailable fails unless r is a 503 service_unavailable envelope with Retry-After.
func checkUnavailable(t *testing.T, what string, r holdResult) {
	t.Helper()
	if r.err != nil || r.status != http.StatusServiceUnavailable || r.code != "service_unavailable" || r.retryAfter == "" {
		t.Errorf("%s: %d %q Retry-After %q (%v), want 503 service_unavailable with Retry-After", what, r.status, r.code, r.retryAfter, r.err)
	}
}

// TestTerminatedConnectionsDuringHoldsAnswer503 terminates the server's database
// connections three times while 8 clients hold tables: every answer is a 2xx or a 503
// service_unavailable envelope with Retry-After (never a 500), and every 2xx hold is stored.
func TestTerminatedConnectionsDuringHoldsAnswer503(t *testing.T) {
	u := storetest.PostgresURL(t)
	app := "prima_outage_" + strings.TrimPrefix(key(), "key_")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: withApplicationName(t, u, app), MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	admin, err := store.Open(ctx, store.Config{URL: u, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	e := newEnv(t, db, withMaxActiveHolds(100000), withRateLimit(server.RateLimit{PerSecond: 100000, Burst: 100000}))
	_, slots := e.addVenue(slotSpec{tables: 100000})

	const clients, total = 8, 480
	var sent, answered atomic.Int64
	results := make(chan holdResult, total)
	hc := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for sent.Add(1) <= total && ctx.Err() == nil {
				results <- postHold(ctx, hc, e.srv.URL, e.token, slots[0].ID)
				answered.Add(1)
			}
		})
	}
	terminated := 0
	for round := 1; round <= 3; round++ {
		// Terminate after a quarter, a half and three quarters of the answers.
		want := int64(round * total / 4)
		for answered.Load() < want {
			select {
			case <-ctx.Done():
				t.Fatalf("only %d of %d answers before the deadline", answered.Load(), total)
			case <-time.After(time.Millisecond):
			}
		}
		var n int
		if err := admin.SQL().QueryRowContext(ctx,
			"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		terminated += n
	}
	wg.Wait()
	close(results)

	var ok, unavailable int
	for r := range results {
		switch {
		case r.err == nil && r.status == http.StatusCreated:
			ok++
			if row, err := db.GetReservation(ctx, "", r.id); err != nil || row.Status != "held" {
				t.Errorf("hold %s answered 201 but stored as %q (%v)", r.id, row.Status, err)
			}
		case r.status == http.StatusServiceUnavailable:
			unavailable++
			checkUnavailable(t, "hold during terminations", r)
		default:
			t.Errorf("hold during terminations: %d %q (%v), want 201 or 503", r.status, r.code, r.err)
		}
	}
	if terminated == 0 {
		t.Error("no backend was terminated: is the application_name filter right?")
	}
	if ok+unavailable != total {
		t.Errorf("%d answers, want %d", ok+unavailable, total)
	}
	// Nothing but the stored holds took a table.
	if taken, _, _ := e.counts(slots[0].ID); taken != ok {
		t.Errorf("tables taken %d, 2xx holds %d", taken, ok)
	}
	// The audit log holds one event per answer, whatever the terminations did to its
	// writes (failed batches are retried): 201s and 503s alike.
	audited := func(status int) int {
		return e.count(t, "SELECT count(*) FROM audit_events WHERE method = 'POST' AND route = '/v1/reservations' AND status = ?", status)
	}
	for deadline := time.Now().Add(30 * time.Second); audited(http.StatusCreated)+audited(http.StatusServiceUnavailable) < total; {
		if time.Now().After(deadline) {
			break
		}
		e.audit.Flush()
		time.Sleep(20 * time.Millisecond)
	}
	if created, refused := audited(http.StatusCreated), audited(http.StatusServiceUnavailable); created != ok || refused != unavailable {
		t.Errorf("audit events: %d for 201 and %d for 503, want %d and %d", created, refused, ok, unavailable)
	}
	t.Logf("%d holds from %d clients, %d backends terminated in 3 rounds: %d answered 201, %d answered 503", total, clients, terminated, ok, unavailable)
}

// TestUnreachableDatabaseAnswers503AndRecoversWithoutRestart takes the database away
// (connections refused, then accepted and never answered) and brings it back: requests
// answer 503 service_unavailable with Retry-After, /readyz 503 "unreachable" within its
// 1 s probe timeout, and once the database is back the same server answers 2xx again.
func TestUnreachableDatabaseAnswers503AndRecoversWithoutRestart(t *testing.T) {
	u := storetest.PostgresURL(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newDBProxy(t, pu.Host)
	pu.Host = proxy.addr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: pu.String(), MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	const requestTimeout = 3 * time.Second
	e := newEnv(t, db, withRequestTimeout(requestTimeout))
	_, slots := e.addVenue(slotSpec{tables: 10})
	hc := &http.Client{Timeout: 4 * requestTimeout}
	if r := postHold(ctx, hc, e.srv.URL, e.token, slots[0].ID); r.status != http.StatusCreated {
		t.Fatalf("hold before the outage: %d %q %v", r.status, r.code, r.err)
	}

	proxy.down()
	for i := range 3 {
		checkUnavailable(t, fmt.Sprintf("hold %d with the database down", i), postHold(ctx, hc, e.srv.URL, e.token, slots[0].ID))
	}
	code, _, body := e.do(http.MethodGet, "/v1/reservations", e.token, "")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"service_unavailable"`) {
		t.Errorf("list with the database down: %d %s", code, body)
	}
	code, r, took, err := probeReadiness(e.srv.URL + "/readyz")
	if err != nil || code != http.StatusServiceUnavailable || r.Checks.Database != "unreachable" {
		t.Errorf("/readyz with the database refusing connections: %d %+v %v", code, r, err)
	}
	t.Logf("/readyz, connections refused: %v", took)

	// Connections accepted but never answered: the probe gives up after store.ProbeTimeout.
	proxy.up(true)
	code, r, took, err = probeReadiness(e.srv.URL + "/readyz")
	if err != nil || code != http.StatusServiceUnavailable || r.Checks.Database != "unreachable" {
		t.Errorf("/readyz with the database not answering: %d %+v %v", code, r, err)
	}
	if took > store.ProbeTimeout+500*time.Millisecond {
		t.Errorf("/readyz with the database not answering took %v, want about %v", took, store.ProbeTimeout)
	}
	t.Logf("/readyz, database not answering: %v", took)
	// A request waits for the database no longer than its deadline, then answers 503.
	start := time.Now()
	checkUnavailable(t, "hold with the database not answering", postHold(ctx, hc, e.srv.URL, e.token, slots[0].ID))
	held := time.Since(start)
	if held > 2*requestTimeout {
		t.Errorf("a hold with the database not answering took %v, want about %v", held, requestTimeout)
	}
	t.Logf("hold, database not answering: %v", held)

	proxy.down()
	proxy.up(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := postHold(ctx, hc, e.srv.URL, e.token, slots[0].ID)
		if r.status == http.StatusCreated {
			break
		}
		checkUnavailable(t, "hold while recovering", r)
		if time.Now().After(deadline) || t.Failed() {
			t.Fatalf("no 201 within 15 s of the database's return: last %d %q %v", r.status, r.code, r.err)
		}
	}
	if code, r, _, err := probeReadiness(e.srv.URL + "/readyz"); err != nil || code != http.StatusOK || r.Checks.Database != "ok" {
		t.Errorf("/readyz after recovery: %d %+v %v", code, r, err)
	}
}
