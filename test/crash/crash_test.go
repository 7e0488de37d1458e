// Package crash_test kills `prima serve` with SIGKILL in the middle of booking flows and
// checks, through the real binary and a real database, that a partner retrying every
// request with its original Idempotency-Key gets exactly one reservation per key (issue 14).
package crash_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/demo"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

const (
	flows = 50
	// lease is PRIMA_IDEMPOTENCY_LEASE: how long a dead request's key stays in flight.
	lease = 2 * time.Second
)

var bannerRE = regexp.MustCompile(`PRIMA Partner API on (http://\S+)`)

// proc is one running `prima serve`.
type proc struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
	stderr bytes.Buffer
}

func buildPrima(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "prima")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/prima-dining/partner-api/cmd/prima").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/prima: %v\n%s", err, out)
	}
	return bin
}

// start runs `prima serve` on a free loopback port and waits for its banner.
func start(t *testing.T, bin string, env []string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "PRIMA_ADDR=127.0.0.1:0", "PRIMA_LOG_LEVEL=error")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := bannerRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	select {
	case p.url = <-urls:
	case <-p.exited:
		t.Fatalf("prima serve exited before its banner:\n%s", p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("prima serve printed no banner in 30s")
	}
	return p
}

// kill sends SIGKILL: no shutdown, no answer stored after this instant.
func (p *proc) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// answer is one response: status and body.
type answer struct {
	status int
	body   map[string]any
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// flow is one partner booking: a hold, a sandbox confirmation of a prime hold, a
// finalize, each with its own key, kept across crashes.
type flow struct {
	i                         int
	slotID                    string
	holdKey, payKey, finalKey string
	// firstOK are the first 2xx answers of each step, whenever they came.
	mu                           sync.Mutex
	holdOK, finalOK              *answer
	reservationID, intentID      string
	prime                        bool
	holdSent, paySent, finalSent bool
}

type client struct {
	token string
	http  *http.Client
}

func (c *client) do(url, method, key string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		return a, fmt.Errorf("%s %s: %d, not JSON: %s", method, url, resp.StatusCode, raw)
	}
	return a, nil
}

// run drives f as far as it goes against base: every step it has sent before is sent
// again with its original key. It stops at the first transport error (the process was
// killed) or at an in-flight key (409 idempotency_key_in_use: its first run's lease has
// not ended), and reports whether the flow is complete.
func (f *flow) run(t *testing.T, c *client, base string, holds, finals *atomic.Int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holdSent = true
	a, err := c.do(base+"/v1/reservations", http.MethodPost, f.holdKey, map[string]any{
		"slot_id": f.slotID, "party_size": 2, "partner_reference": fmt.Sprintf("flow-%d", f.i),
		"guest": map[string]any{"first_name": "Guest", "last_name": fmt.Sprintf("N%d", f.i),
			"email": fmt.Sprintf("guest%d@example.com", f.i), "phone": "+12125550143"},
	})
	if err != nil || a.code() == "idempotency_key_in_use" {
		return false
	}
	if a.status != http.StatusCreated {
		t.Errorf("flow %d: hold answered %d %v", f.i, a.status, a.body)
		return false
	}
	holds.Add(1)
	id := a.str("id")
	if f.holdOK == nil {
		f.holdOK, f.reservationID = &a, id
	} else if id != f.reservationID {
		t.Errorf("flow %d: hold key %s answered reservation %s, then %s", f.i, f.holdKey, f.reservationID, id)
	}
	if pay, _ := a.body["payment"].(map[string]any); pay != nil {
		f.prime = true
		f.intentID, _ = pay["payment_intent_id"].(string)
		if f.intentID == "" {
			t.Errorf("flow %d: prime hold without payment intent: %v", f.i, a.body)
			return false
		}
		f.paySent = true
		a, err := c.do(base+"/v1/sandbox/payment_intents/"+f.intentID+"/confirm", http.MethodPost, f.payKey, map[string]any{"outcome": "succeeded"})
		if err != nil || a.code() == "idempotency_key_in_use" {
			return false
		}
		// A confirmation that moved the sandbox intent but died before its answer was
		// stored is refused when resent (the intent is no longer confirmable), as Stripe.js
		// would be: the finalize that follows says whether the card was authorised.
		if a.status != http.StatusOK {
			t.Logf("flow %d: confirm answered %d %s", f.i, a.status, a.code())
		}
	}
	f.finalSent = true
	a, err = c.do(base+"/v1/reservations/"+f.reservationID+"/finalize", http.MethodPost, f.finalKey, nil)
	if err != nil || a.code() == "idempotency_key_in_use" {
		return false
	}
	if a.status != http.StatusOK || a.str("status") != "confirmed" {
		t.Errorf("flow %d: finalize answered %d %v", f.i, a.status, a.body)
		return false
	}
	finals.Add(1)
	if f.finalOK == nil {
		f.finalOK = &a
	}
	return true
}

// TestKill9DuringHoldsAndFinalizesBooksEachKeyOnce kills `prima serve` twice during 50
// concurrent hold (+ sandbox confirm) + finalize flows: once after some holds were
// answered, once after some finalizes were. After each restart every request is sent
// again with its original key, at once and after the in-flight lease, until every flow
// completes. Each key then has exactly one reservation, every earlier 2xx still holds, no
// table is held by a reservation no key answered, and each reservation's payment intent
// was created and captured at most once.
func TestKill9DuringHoldsAndFinalizesBooksEachKeyOnce(t *testing.T) {
	bin := buildPrima(t)
	t.Run("postgres", func(t *testing.T) { crashFlows(t, bin, storetest.PostgresURL(t)) })
	t.Run("sqlite", func(t *testing.T) {
		crashFlows(t, bin, "sqlite:"+filepath.Join(t.TempDir(), "prima.db"))
	})
}

func crashFlows(t *testing.T, bin, dbURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: dbURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := demo.Seed(ctx, db, demo.Options{Venues: 2, Days: 2, Start: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Three standard and three prime slots with a table for every flow, so nothing is
	// refused for want of a table and every table taken is accounted for.
	var slots []string
	for _, typ := range []string{"standard", "prime"} {
		rows, err := db.SQL().QueryContext(ctx, `SELECT id FROM slots WHERE type = '`+typ+`' AND party_size_min <= 2 AND party_size_max >= 2 ORDER BY starts_at, id LIMIT 3`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			slots = append(slots, id)
		}
		_ = rows.Close()
	}
	if len(slots) != 6 {
		t.Fatalf("want 3 standard and 3 prime slots, found %d", len(slots))
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE slots SET tables = 100`); err != nil {
		t.Fatal(err)
	}
	secret, _, err := access.NewService(db).Create(ctx, access.CreateParams{Partner: "crash", Name: "crash test"})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close() // SQLite: one writer, and it is the server

	env := []string{
		"PRIMA_DATABASE_URL=" + dbURL,
		"PRIMA_IDEMPOTENCY_LEASE=" + lease.String(),
		"PRIMA_MAX_ACTIVE_HOLDS=-1",
		"PRIMA_RATE_LIMIT=100000/s burst 100000", // the resends come in bursts of 50 flows
	}
	c := &client{token: secret, http: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: flows}}}
	fs := make([]*flow, flows)
	for i := range fs {
		fs[i] = &flow{i: i, slotID: slots[i%len(slots)],
			holdKey: fmt.Sprintf("hold-%d-%d", i, time.Now().UnixNano()), payKey: fmt.Sprintf("pay-%d", i), finalKey: fmt.Sprintf("final-%d", i)}
	}
	var holds, finals atomic.Int64

	// round runs every unfinished flow concurrently against p, killing p once the
	// counter reaches killAt (0: never); it returns how many flows completed.
	round := func(p *proc, counter *atomic.Int64, killAt int64) int {
		counter.Store(0)
		var (
			wg   sync.WaitGroup
			done atomic.Int64
			once sync.Once
		)
		stop := make(chan struct{})
		if killAt > 0 {
			go func() {
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if counter.Load() >= killAt {
							once.Do(p.kill)
							return
						}
					}
				}
			}()
		}
		for _, f := range fs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if f.run(t, c, p.url, &holds, &finals) {
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		close(stop)
		return int(done.Load())
	}

	// Crash 1: after 15 holds were answered, while the other holds and the first
	// confirmations and finalizes are in flight.
	p := start(t, bin, env)
	if n := round(p, &holds, 15); n == flows {
		t.Logf("every flow completed before the first kill")
	}
	p.kill()
	// Crash 2: after a restart, resending everything at once (keys of requests that
	// died are still in flight: 409), then after the lease, killed after 10 finalizes.
	p = start(t, bin, env)
	round(p, &finals, 0)
	untilDone(t, p, func() bool { return round(p, &finals, 10) == flows || p.dead() })
	p.kill()
	// Restart and resend until every flow completes.
	p = start(t, bin, env)
	untilDone(t, p, func() bool { return round(p, &finals, 0) == flows })
	// Once more: every key replays its first answer.
	if n := round(p, &finals, 0); n != flows {
		t.Fatalf("replay completed %d of %d flows", n, flows)
	}
	p.kill()
	for _, f := range fs {
		if f.finalOK == nil || f.finalOK.str("id") != f.reservationID {
			t.Errorf("flow %d: finalize answered another reservation: %v", f.i, f.finalOK)
		}
	}
	check(t, dbURL, fs)
}

// untilDone runs try every quarter lease until it reports true, for at most a minute:
// keys of requests that died stay in flight (409) until their lease ends.
func untilDone(t *testing.T, p *proc, try func() bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	tick := time.NewTicker(lease / 4)
	defer tick.Stop()
	for !try() {
		if t.Failed() {
			t.FailNow()
		}
		select {
		case <-deadline:
			t.Fatalf("flows did not complete within a minute (process at %s)", p.url)
		case <-tick.C:
		}
	}
}

func (p *proc) dead() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// check asserts the database's final state.
func check(t *testing.T, dbURL string, fs []*flow) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: dbURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := db.SQL()
	// Exactly one reservation per key, the one the key answered, confirmed.
	rows, err := q.QueryContext(ctx, `SELECT partner_reference, id, status, COALESCE(payment_intent_id, '') FROM reservations`)
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string][]string{}
	status := map[string]string{}
	intentOf := map[string]string{}
	for rows.Next() {
		var ref, id, st, pi string
		if err := rows.Scan(&ref, &id, &st, &pi); err != nil {
			t.Fatal(err)
		}
		byRef[ref] = append(byRef[ref], id)
		status[id], intentOf[id] = st, pi
	}
	_ = rows.Close()
	if len(byRef) != len(fs) {
		t.Errorf("%d partner references in reservations, want %d", len(byRef), len(fs))
	}
	primes := 0
	for _, f := range fs {
		got := byRef[fmt.Sprintf("flow-%d", f.i)]
		if len(got) != 1 || got[0] != f.reservationID {
			t.Errorf("flow %d (hold key %s): reservations %v, want exactly [%s]", f.i, f.holdKey, got, f.reservationID)
		}
		if status[f.reservationID] != "confirmed" {
			t.Errorf("flow %d: reservation %s is %s after a 200 finalize", f.i, f.reservationID, status[f.reservationID])
		}
		if f.prime {
			primes++
			if intentOf[f.reservationID] != f.intentID {
				t.Errorf("flow %d: reservation has intent %q, the hold answered %q", f.i, intentOf[f.reservationID], f.intentID)
			}
		}
	}
	// No table held by an orphan: every slot's taken tables are its live reservations.
	var drift int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM slots s WHERE s.tables_taken <>
		(SELECT COUNT(*) FROM reservations r WHERE r.slot_id = s.id AND r.status IN ('held', 'confirmed'))`).Scan(&drift); err != nil {
		t.Fatal(err)
	}
	if drift != 0 {
		t.Errorf("%d slots count taken tables that no held or confirmed reservation holds", drift)
	}
	// One payment intent per prime reservation, captured once, for its amount.
	rows, err = q.QueryContext(ctx, `SELECT idempotency_key, data FROM sandbox_payment_intents`)
	if err != nil {
		t.Fatal(err)
	}
	intents := 0
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			t.Fatal(err)
		}
		intents++
		var in struct {
			ID                     string
			Status                 string
			Amount, AmountCaptured int64
		}
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatal(err)
		}
		if in.Status != "succeeded" || in.AmountCaptured != in.Amount {
			t.Errorf("intent %s (%s): %s, captured %d of %d", in.ID, key, in.Status, in.AmountCaptured, in.Amount)
		}
	}
	_ = rows.Close()
	if intents != primes {
		t.Errorf("%d payment intents for %d prime reservations", intents, primes)
	}
	t.Logf("%d keys, %d reservations (%d prime, %d intents), 2 kills", len(fs), len(status), primes, intents)
}
