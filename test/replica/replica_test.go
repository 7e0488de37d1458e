package replica_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/demo"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// readWait is the servers' PRIMA_DATABASE_READ_WAIT.
const readWait = 300 * time.Millisecond

// TestServeWithReadReplica runs `prima serve` with PRIMA_DATABASE_URL and a real streaming
// replica in PRIMA_DATABASE_READ_URL, and checks:
//
//   - the five calls (search, hold of a prime slot, sandbox payment, finalize, get) and the
//     partner's list answer as they do without a replica, and the database ends in the
//     state they made;
//   - with the replica's replay paused, so that it misses every write after it: a partner
//     that wrote nothing searches the replica's stale availability (a slot an operator
//     withdrew is still offered: the replica served it), while the partner that just held
//     finds its write in its search, its list and its reservation by id (the primary
//     served them once the replica had not caught up within PRIMA_DATABASE_READ_WAIT),
//     and finds it too through a second process: in its list (which waits for everything
//     committed before it began) and by id (always the primary's);
//   - once replay resumes, the replica serves the searches again, withdrawal included;
//   - /readyz answers 200 throughout, and the metrics count the reads by where they went.
func TestServeWithReadReplica(t *testing.T) {
	primaryURL := storetest.PostgresURL(t)
	replicaURL := storetest.ReplicaURL(t, primaryURL)
	bin := buildPrima(t)
	f := seed(t, primaryURL)
	storetest.WaitReplica(t, primaryURL, replicaURL)

	p := startPrima(t, bin, primaryURL, replicaURL)
	q := startPrima(t, bin, primaryURL, replicaURL) // another process on the same databases
	a := &client{t: t, token: f.tokenA}
	b := &client{t: t, token: f.tokenB}

	// The five calls and the list, the replica caught up.
	id := fiveCalls(t, a, p.url, f)
	checkBooked(t, f, id)
	if n := p.metric(t, `prima_db_replica_reads_total{outcome="replica"}`); n < 1 {
		t.Errorf("reads served by the replica after the five calls = %v, want at least the search", n)
	}

	// Replay paused: the replica no longer sees the primary's writes.
	storetest.PauseReplay(t, replicaURL)
	if _, err := f.db.SQL().ExecContext(ctxT(t), `UPDATE slots SET status = 'withdrawn' WHERE id = $1`, f.withdrawn); err != nil {
		t.Fatal(err)
	}
	if got := b.search(p.url, f); !slices.Contains(got, f.withdrawn) {
		t.Errorf("partner B's search with replay paused = %v: want the replica's stale answer, which still offers %s", got, f.withdrawn)
	}
	lagging := p.metric(t, `prima_db_replica_reads_total{outcome="lagging"}`)
	st, hold := a.do(http.MethodPost, p.url+"/v1/reservations", holdBody(f.standard, "after-pause"))
	if st != http.StatusCreated || str(hold, "status") != "held" {
		t.Fatalf("hold with replay paused: %d %v", st, hold)
	}
	held := str(hold, "id")
	start := time.Now()
	if got := a.search(p.url, f); slices.Contains(got, f.withdrawn) {
		t.Errorf("partner A's search after its hold = %v: want the primary's answer, without %s", got, f.withdrawn)
	}
	if waited := time.Since(start); waited < readWait {
		t.Errorf("partner A's search took %v: it should have waited %v for the replica before the primary served it", waited, readWait)
	}
	if got := a.list(p.url); !slices.Contains(got, held) {
		t.Errorf("partner A's list after its hold = %v: want %s in it", got, held)
	}
	if st, got := a.do(http.MethodGet, p.url+"/v1/reservations/"+held, nil); st != http.StatusOK || str(got, "status") != "held" {
		t.Errorf("GET %s with replay paused: %d %v, want 200 held", held, st, got)
	}
	if n := p.metric(t, `prima_db_replica_reads_total{outcome="lagging"}`); n < lagging+2 {
		t.Errorf("reads served by the primary for a lagging replica: %v → %v, want A's search and list counted", lagging, n)
	}
	if got := b.search(p.url, f); !slices.Contains(got, f.withdrawn) {
		t.Errorf("partner B's search, replay still paused = %v: want the replica's stale answer with %s", got, f.withdrawn)
	}
	// Through the other process, which never saw the hold.
	if got := a.list(q.url); !slices.Contains(got, held) {
		t.Errorf("partner A's list through another process after its hold = %v: want %s in it", got, held)
	}
	if st, got := a.do(http.MethodGet, q.url+"/v1/reservations/"+held, nil); st != http.StatusOK || str(got, "status") != "held" {
		t.Errorf("GET %s through another process with replay paused: %d %v, want 200 held", held, st, got)
	}
	if n := q.metric(t, `prima_db_replica_reads_total{outcome="lagging"}`); n < 1 {
		t.Errorf("the other process's reads served by the primary for a lagging replica = %v, want its list counted", n)
	}
	p.ready(t)
	q.ready(t)

	// Replay resumed: the replica catches up and serves again.
	storetest.ResumeReplay(t, replicaURL)
	storetest.WaitReplica(t, primaryURL, replicaURL)
	served := p.metric(t, `prima_db_replica_reads_total{outcome="replica"}`)
	if got := b.search(p.url, f); slices.Contains(got, f.withdrawn) {
		t.Errorf("partner B's search after replay resumed = %v: %s was withdrawn", got, f.withdrawn)
	}
	if n := p.metric(t, `prima_db_replica_reads_total{outcome="replica"}`); n != served+1 {
		t.Errorf("reads served by the replica %v → %v: want partner B's search served by it", served, n)
	}
	if got := a.list(p.url); !slices.Contains(got, held) || !slices.Contains(got, id) {
		t.Errorf("partner A's list = %v: want %s and %s", got, id, held)
	}
	if n := p.metric(t, "prima_db_replica_up"); n != 1 {
		t.Errorf("prima_db_replica_up = %v, want 1", n)
	}
	p.ready(t)
	p.stop(t)
	q.stop(t)
}

// TestServeWithReadReplicaDown: with PRIMA_DATABASE_READ_URL naming a server that does not
// answer, `prima serve` starts, is ready, and the five calls and the list work: the
// primary serves every read, which the metrics and the log say.
func TestServeWithReadReplicaDown(t *testing.T) {
	primaryURL := storetest.PostgresURL(t)
	bin := buildPrima(t)
	f := seed(t, primaryURL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	u, err := url.Parse(primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = closed

	p := startPrima(t, bin, primaryURL, u.String())
	p.ready(t)
	id := fiveCalls(t, &client{t: t, token: f.tokenA}, p.url, f)
	checkBooked(t, f, id)
	if n := p.metric(t, `prima_db_replica_reads_total{outcome="unavailable"}`); n < 2 {
		t.Errorf("reads served by the primary for an unreachable replica = %v, want the search and the list", n)
	}
	if n := p.metric(t, `prima_db_replica_reads_total{outcome="replica"}`); n != 0 {
		t.Errorf("reads served by the replica = %v, want 0", n)
	}
	if n := p.metric(t, "prima_db_replica_up"); n != 0 {
		t.Errorf("prima_db_replica_up = %v, want 0", n)
	}
	if !strings.Contains(p.stderr.String(), "read replica unreachable") {
		t.Errorf("no log line says the replica is unreachable:\n%s", p.stderr.String())
	}
	p.ready(t)
	p.stop(t)
}

// fixture is a seeded schema: a venue and date with a prime slot and two standard ones,
// and two partners' tokens.
type fixture struct {
	db                         *store.DB
	venueID, date              string
	prime, standard, withdrawn string
	tokenA, tokenB             string
}

func seed(t *testing.T, primaryURL string) fixture {
	t.Helper()
	ctx := ctxT(t)
	db, err := store.Open(ctx, store.Config{URL: primaryURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Registered after PostgresURL's cleanup, so it runs before the schema is dropped.
	t.Cleanup(func() { _ = db.Close() })
	if _, _, err := demo.Seed(ctx, db, demo.Options{Venues: 3, Days: 3, Start: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f := fixture{db: db}
	const fits = `party_size_min <= 2 AND party_size_max >= 2 AND status = 'open'`
	err = db.SQL().QueryRowContext(ctx, `SELECT venue_id, local_date FROM slots WHERE `+fits+`
		GROUP BY venue_id, local_date
		HAVING count(*) FILTER (WHERE type = 'prime') >= 1 AND count(*) FILTER (WHERE type = 'standard') >= 2
		ORDER BY local_date, venue_id LIMIT 1`).Scan(&f.venueID, &f.date)
	if err != nil {
		t.Fatalf("a venue and date with a prime and two standard slots: %v", err)
	}
	pick := func(typ string, n int) []string {
		rows, err := db.SQL().QueryContext(ctx, `SELECT id FROM slots WHERE `+fits+` AND venue_id = $1 AND local_date = $2 AND type = $3 ORDER BY starts_at, id LIMIT $4`,
			f.venueID, f.date, typ, n)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}
	f.prime = pick("prime", 1)[0]
	std := pick("standard", 2)
	f.standard, f.withdrawn = std[0], std[1]
	tokens := access.NewService(db)
	if f.tokenA, _, err = tokens.Create(ctx, access.CreateParams{Partner: "replica-a", Name: "replica test"}); err != nil {
		t.Fatal(err)
	}
	if f.tokenB, _, err = tokens.Create(ctx, access.CreateParams{Partner: "replica-b", Name: "replica test"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// fiveCalls books f.prime for the partner of c: search, hold, sandbox payment, finalize,
// get; then lists the partner's reservations. It returns the reservation's id.
func fiveCalls(t *testing.T, c *client, base string, f fixture) string {
	t.Helper()
	if got := c.search(base, f); !slices.Contains(got, f.prime) {
		t.Fatalf("search: %v, want %s among the slots", got, f.prime)
	}
	st, r := c.do(http.MethodPost, base+"/v1/reservations", holdBody(f.prime, "five-calls"))
	if st != http.StatusCreated || str(r, "status") != "held" {
		t.Fatalf("hold: %d %v", st, r)
	}
	id := str(r, "id")
	pay, _ := r["payment"].(map[string]any)
	intent, _ := pay["payment_intent_id"].(string)
	if intent == "" {
		t.Fatalf("hold of a prime slot without a payment intent: %v", r)
	}
	if st, r := c.do(http.MethodPost, base+"/v1/sandbox/payment_intents/"+intent+"/confirm", map[string]any{"outcome": "succeeded"}); st != http.StatusOK {
		t.Fatalf("sandbox payment: %d %v", st, r)
	}
	if st, r := c.do(http.MethodPost, base+"/v1/reservations/"+id+"/finalize", nil); st != http.StatusOK || str(r, "status") != "confirmed" {
		t.Fatalf("finalize: %d %v", st, r)
	}
	if st, r := c.do(http.MethodGet, base+"/v1/reservations/"+id, nil); st != http.StatusOK || str(r, "status") != "confirmed" {
		t.Fatalf("get: %d %v", st, r)
	}
	st, list := c.do(http.MethodGet, base+"/v1/reservations?limit=100", nil)
	if st != http.StatusOK {
		t.Fatalf("list: %d %v", st, list)
	}
	data, _ := list["data"].([]any)
	found := false
	for _, d := range data {
		if m, _ := d.(map[string]any); str(m, "id") == id {
			found = true
			if str(m, "status") != "confirmed" {
				t.Errorf("list: %s is %s, want confirmed (the partner reads its own writes)", id, str(m, "status"))
			}
		}
	}
	if !found {
		t.Errorf("list: %s is missing (the partner reads its own writes): %v", id, list)
	}
	return id
}

// checkBooked checks the database after fiveCalls: the reservation confirmed, its payment
// captured, one table of the prime slot taken.
func checkBooked(t *testing.T, f fixture, id string) {
	t.Helper()
	var status, payment string
	var taken int
	if err := f.db.SQL().QueryRowContext(ctxT(t), `SELECT status, payment_status FROM reservations WHERE id = $1`, id).Scan(&status, &payment); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SQL().QueryRowContext(ctxT(t), `SELECT tables_taken FROM slots WHERE id = $1`, f.prime).Scan(&taken); err != nil {
		t.Fatal(err)
	}
	if status != "confirmed" || payment != "succeeded" || taken != 1 {
		t.Errorf("database: reservation %s, payment %s, prime slot tables_taken %d; want confirmed, succeeded, 1", status, payment, taken)
	}
}

func holdBody(slotID, ref string) map[string]any {
	return map[string]any{
		"slot_id": slotID, "party_size": 2, "partner_reference": ref,
		"guest": map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+12125550143"},
	}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// client calls the API with a partner token.
type client struct {
	t     *testing.T
	token string
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// do sends a request (a POST with a fresh Idempotency-Key) and decodes the JSON answer.
func (c *client) do(method, u string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		k := make([]byte, 12)
		_, _ = rand.Read(k)
		req.Header.Set("Idempotency-Key", hex.EncodeToString(k))
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", method, u, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// search is the availability at f's venue and date, as slot ids.
func (c *client) search(base string, f fixture) []string {
	c.t.Helper()
	st, r := c.do(http.MethodGet, base+"/v1/availability?date="+f.date+"&party_size=2&limit=100&venue_id="+f.venueID, nil)
	if st != http.StatusOK {
		c.t.Fatalf("search: %d %v", st, r)
	}
	return ids(r)
}

// list is the partner's reservations, as ids.
func (c *client) list(base string) []string {
	c.t.Helper()
	st, r := c.do(http.MethodGet, base+"/v1/reservations?limit=100", nil)
	if st != http.StatusOK {
		c.t.Fatalf("list: %d %v", st, r)
	}
	return ids(r)
}

func ids(list map[string]any) []string {
	data, _ := list["data"].([]any)
	out := make([]string, 0, len(data))
	for _, d := range data {
		m, _ := d.(map[string]any)
		out = append(out, str(m, "id"))
	}
	return out
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

var bannerRE = regexp.MustCompile(`PRIMA Partner API on (http://\S+)`)

// proc is one running `prima serve`.
type proc struct {
	cmd        *exec.Cmd
	url        string
	metricsURL string
	stderr     *syncBuffer
	exited     chan struct{}
	err        error
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

// startPrima starts `prima serve` on free loopback ports (the API's and /metrics') with
// the sandbox payment gateway, and waits for both to be announced.
func startPrima(t *testing.T, bin, primaryURL, replicaURL string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STRIPE_") { // the sandbox gateway
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"PRIMA_DATABASE_URL="+primaryURL, "PRIMA_DATABASE_READ_URL="+replicaURL,
		"PRIMA_DATABASE_READ_WAIT="+readWait.String(),
		// Paused replay must not make the replica "lagging" (every read to the primary)
		// while the test looks at which reads it serves.
		"PRIMA_DATABASE_READ_MAX_LAG=10m",
		"PRIMA_ADDR=127.0.0.1:0", "PRIMA_METRICS_ADDR=127.0.0.1:0",
		"PRIMA_LOG_LEVEL=info", "PRIMA_LOG_FORMAT=json", "PRIMA_SHUTDOWN_DELAY=10ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls, metrics := make(chan string, 1), make(chan string, 1)
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := bannerRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = p.stderr.Write(append(line, '\n'))
			var entry struct{ Msg, Addr string }
			if json.Unmarshal(line, &entry) == nil && entry.Msg == "metrics" && entry.Addr != "" {
				metrics <- "http://" + entry.Addr + "/metrics"
			}
		}
	}()
	go func() {
		pipes.Wait() // Wait closes the pipes: read them to the end first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	for p.url == "" || p.metricsURL == "" {
		select {
		case p.url = <-urls:
		case p.metricsURL = <-metrics:
		case <-p.exited:
			t.Fatalf("prima serve exited during start-up:\n%s", p.stderr.String())
		case <-time.After(60 * time.Second):
			t.Fatalf("prima serve did not announce its API and metrics addresses in 60s:\n%s", p.stderr.String())
		}
	}
	return p
}

// ready checks /readyz answers 200.
func (p *proc) ready(t *testing.T) {
	t.Helper()
	resp, err := httpClient.Get(p.url + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: %d, want 200 (readiness never depends on the replica)", resp.StatusCode)
	}
}

// metric reads one sample of the process's /metrics, by its name and labels as printed
// (`name{label="value"}`); a sample that is not there is a failure.
func (p *proc) metric(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := httpClient.Get(p.metricsURL)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", sample, err)
			}
			return n
		}
	}
	t.Fatalf("metric %s not exported", sample)
	return 0
}

// stop sends SIGTERM and checks the process exits 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("prima serve did not exit 0 after SIGTERM: %v\n%s", p.err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Errorf("prima serve did not stop within 60s of SIGTERM")
	}
}
