package scaleout_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/demo"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

const processes = 3

var bannerRE = regexp.MustCompile(`PRIMA Partner API on (http://\S+)`)

// proc is one running `prima serve`.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// seededDB opens the database at dbURL (closed when t ends, before PostgresURL's
// cleanup drops the schema) and seeds it with venues generated venues and days days of
// slots from tomorrow.
func seededDB(ctx context.Context, t *testing.T, dbURL string, venues, days int) *store.DB {
	t.Helper()
	db, err := store.Open(ctx, store.Config{URL: dbURL, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, _, err := demo.Seed(ctx, db, demo.Options{Venues: venues, Days: days, Start: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return db
}

// buildPrima builds cmd/prima into a temporary directory.
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

// startPrima starts `prima serve` on a free loopback port and waits for its banner. It
// may run off the test goroutine: it returns an error rather than failing t.
func startPrima(t *testing.T, bin string, env []string) (*proc, error) {
	cmd := exec.Command(bin, "serve")
	// env comes last, so a caller may name the address (a restart on the same port).
	cmd.Env = append(os.Environ(), "PRIMA_ADDR=127.0.0.1:0", "PRIMA_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start prima serve: %w", err)
	}
	urls := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if m := bannerRE.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				urls <- m[1]
			}
		}
		close(urls)
		p.done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// A process the test did not stop (it failed early) is killed.
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case u, ok := <-urls:
		if !ok {
			return nil, fmt.Errorf("prima serve exited before its banner:\n%s", p.stderr.String())
		}
		p.url = u
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("prima serve printed no banner in 30s:\n%s", p.stderr.String())
	}
	return p, nil
}

// stop sends SIGTERM and checks the process shuts down gracefully (exit status 0).
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM %s: %v", p.url, err)
		return
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("prima serve at %s did not exit 0 after SIGTERM: %v\n%s", p.url, err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		err := <-p.done
		t.Errorf("prima serve at %s did not stop within 30s of SIGTERM (killed: %v)", p.url, err)
	}
}

// receiver is a venue platform and a partner webhook endpoint: it counts every accepted
// delivery by webhook-id, after checking its signature.
type receiver struct {
	mu      sync.Mutex
	secrets map[string]string // path → whsec_ secret
	seen    map[string]int    // webhook-id → accepted deliveries
	bad     []string
}

func (rc *receiver) setSecret(path, secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets[path] = secret
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get(webhooks.HeaderWebhookID)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	secret, ok := rc.secrets[r.URL.Path]
	if !ok {
		rc.bad = append(rc.bad, "unknown path "+r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var ts int64
	_, _ = fmt.Sscan(r.Header.Get(webhooks.HeaderWebhookTimestamp), &ts)
	want, err := webhooks.Sign(secret, id, time.Unix(ts, 0), body)
	if err != nil || want != r.Header.Get(webhooks.HeaderWebhookSignature) {
		rc.bad = append(rc.bad, "bad signature on "+id)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.seen[id]++
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"reference":"ext_%s"}`, id)
}

// client calls the API with a partner token.
type client struct {
	t     *testing.T
	token string
	http  *http.Client
}

func randomKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// do sends a request and returns the status and decoded JSON body.
func (c *client) do(method, url string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		req.Header.Set("Idempotency-Key", randomKey())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %d, not JSON: %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out, nil
}

func holdBody(slotID string, i int) map[string]any {
	return map[string]any{
		"slot_id":    slotID,
		"party_size": 2,
		"guest": map[string]any{
			"first_name": "Guest", "last_name": fmt.Sprintf("N%d", i),
			"email": fmt.Sprintf("guest%d@example.com", i), "phone": "+12125550143",
		},
	}
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// TestThreeProcessesOnOnePostgres runs three `prima serve` processes on one PostgreSQL
// schema and checks, across them, the no-overbooking rule (concurrent holds on one slot)
// and that every outbox message (venue platform and partner webhooks) is accepted by its
// receiver exactly once.
func TestThreeProcessesOnOnePostgres(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	bin := buildPrima(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	db := seededDB(ctx, t, dbURL, 2, 3)
	rc := &receiver{secrets: map[string]string{}, seen: map[string]int{}}
	hooks := httptest.NewServer(rc)
	defer hooks.Close()
	venueSecret, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	rc.setSecret("/venue", venueSecret)
	sqlDB := db.SQL()
	var venueID string
	if err := sqlDB.QueryRowContext(ctx, `SELECT id FROM venues ORDER BY id LIMIT 1`).Scan(&venueID); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, `UPDATE venues SET platform_kind = 'webhook', platform_url = $1, platform_secret = $2 WHERE id = $3`,
		hooks.URL+"/venue", venueSecret, venueID); err != nil {
		t.Fatal(err)
	}
	// The contended slot: 5 tables.
	const tables = 5
	var hotSlot string
	if err := sqlDB.QueryRowContext(ctx, `SELECT id FROM slots WHERE venue_id = $1 AND type = 'standard' AND party_size_min <= 2 ORDER BY starts_at, id LIMIT 1`, venueID).Scan(&hotSlot); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, `UPDATE slots SET tables = $1 WHERE id = $2`, tables, hotSlot); err != nil {
		t.Fatal(err)
	}
	secret, _, err := access.NewService(db).Create(ctx, access.CreateParams{Partner: "scaleout", Name: "scale-out test"})
	if err != nil {
		t.Fatal(err)
	}

	env := []string{
		"PRIMA_DATABASE_URL=" + dbURL,
		"PRIMA_WEBHOOK_ALLOW_PRIVATE=1",
		// Every process's outbox worker polls often, so they compete for every message.
		"PRIMA_OUTBOX_INTERVAL=50ms",
		"PRIMA_SWEEP_INTERVAL=200ms",
	}
	procs := make([]*proc, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i], errs[i] = startPrima(t, bin, env)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	c := &client{t: t, token: secret, http: &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}

	// A partner webhook endpoint for every event, registered through one process.
	status, body, err := c.do(http.MethodPost, procs[0].url+"/v1/webhook_endpoints",
		map[string]any{"url": hooks.URL + "/partner", "events": []string{"*"}})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create webhook endpoint: %d %v %v", status, body, err)
	}
	endpointSecret, _ := body["secret"].(string)
	rc.setSecret("/partner", endpointSecret)

	t.Run("no overbooking across processes", func(t *testing.T) {
		const attempts = 60
		type answer struct {
			status int
			code   string
			err    error
		}
		answers := make([]answer, attempts)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range attempts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, b, err := c.do(http.MethodPost, procs[i%processes].url+"/v1/reservations", holdBody(hotSlot, i))
				answers[i] = answer{st, errorCode(b), err}
			}()
		}
		close(start)
		wg.Wait()
		held := 0
		for i, a := range answers {
			switch {
			case a.err != nil:
				t.Errorf("hold %d: %v", i, a.err)
			case a.status == http.StatusCreated:
				held++
			case a.status == http.StatusConflict && a.code == "slot_unavailable":
			default:
				t.Errorf("hold %d: %d %s, want 201 or 409 slot_unavailable", i, a.status, a.code)
			}
		}
		if held != tables {
			t.Errorf("%d holds succeeded on a slot of %d tables over %d processes, want exactly %d", held, tables, processes, tables)
		}
		var taken, rows int
		if err := sqlDB.QueryRowContext(ctx, `SELECT tables_taken FROM slots WHERE id = $1`, hotSlot).Scan(&taken); err != nil {
			t.Fatal(err)
		}
		if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM reservations WHERE slot_id = $1 AND status IN ('held', 'confirmed')`, hotSlot).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if taken != tables || rows != tables {
			t.Errorf("database: tables_taken %d and %d live reservations, want %d and %d", taken, rows, tables, tables)
		}
	})

	t.Run("outbox delivered exactly once across processes", func(t *testing.T) {
		// Distinct slots of the webhook venue, each held on one process and finalized on
		// the next.
		rows, err := sqlDB.QueryContext(ctx, `SELECT id FROM slots WHERE venue_id = $1 AND id <> $2 AND type = 'standard' AND party_size_min <= 2 ORDER BY starts_at, id LIMIT 24`, venueID, hotSlot)
		if err != nil {
			t.Fatal(err)
		}
		var slots []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			slots = append(slots, id)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		confirmed := 0
		for i, slot := range slots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, b, err := c.do(http.MethodPost, procs[i%processes].url+"/v1/reservations", holdBody(slot, 1000+i))
				if err != nil || st != http.StatusCreated {
					t.Errorf("hold %s: %d %v %v", slot, st, b, err)
					return
				}
				id, _ := b["id"].(string)
				st, b, err = c.do(http.MethodPost, procs[(i+1)%processes].url+"/v1/reservations/"+id+"/finalize", nil)
				if err != nil || st != http.StatusOK {
					t.Errorf("finalize %s: %d %v %v", id, st, b, err)
					return
				}
				mu.Lock()
				confirmed++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if confirmed != len(slots) {
			t.Fatalf("%d of %d bookings confirmed", confirmed, len(slots))
		}
		// Every message is delivered; the receiver accepted each exactly once.
		deadline := time.Now().Add(20 * time.Second)
		for {
			var pending int
			if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE status <> 'delivered'`).Scan(&pending); err != nil {
				t.Fatal(err)
			}
			if pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d outbox messages still not delivered after 20s", pending)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// A partner delivery's webhook-id is its event's id (one endpoint: one message per
		// event). A redelivery, if there were one, could still be in flight: wait two polls.
		time.Sleep(200 * time.Millisecond)
		type msg struct{ id, kind string }
		var msgs []msg
		mrows, err := sqlDB.QueryContext(ctx, `SELECT CASE WHEN event_id <> '' THEN event_id ELSE id END, kind FROM outbox WHERE (kind = 'venue' AND venue_id = $1) OR kind = 'partner'`, venueID)
		if err != nil {
			t.Fatal(err)
		}
		for mrows.Next() {
			var m msg
			if err := mrows.Scan(&m.id, &m.kind); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		if err := mrows.Close(); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, b := range rc.bad {
			t.Errorf("receiver: %s", b)
		}
		for _, m := range msgs {
			kinds[m.kind]++
			if n := rc.seen[m.id]; n != 1 {
				t.Errorf("%s message %s accepted %d times, want exactly once", m.kind, m.id, n)
			}
		}
		if len(rc.seen) != len(msgs) {
			t.Errorf("receiver saw %d distinct webhook-ids, the outbox has %d messages for it", len(rc.seen), len(msgs))
		}
		// One venue notification and at least one partner event (reservation.confirmed)
		// per booking.
		if kinds["venue"] != len(slots) || kinds["partner"] < len(slots) {
			t.Errorf("outbox messages by kind %v for %d bookings, want %d venue and at least %d partner", kinds, len(slots), len(slots), len(slots))
		}
		t.Logf("%d bookings over %d processes: %d venue and %d partner deliveries, each accepted once", len(slots), processes, kinds["venue"], kinds["partner"])
	})

	for _, p := range procs {
		p.stop(t)
	}
}
