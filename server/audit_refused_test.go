package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestAuditRecordsRateLimitedAndRefusedRequests: a 429 of a known token is the token's;
// a bad token's 401 and the 429 of its address's failure bucket belong to the address.
func TestAuditRecordsRateLimitedAndRefusedRequests(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		slow := 1.0 / 3600
		e := newEnv(t, db, withRateLimit(server.RateLimit{PerSecond: slow, Burst: 1}),
			withAuthFailureLimit(server.RateLimit{PerSecond: slow, Burst: 2}))
		if status, _, body := e.do("GET", "/v1/venues", e.token, ""); status != http.StatusOK {
			t.Fatalf("first call: %d %s", status, body)
		}
		status, limited, body := e.do("GET", "/v1/venues", e.token, "")
		if status != http.StatusTooManyRequests {
			t.Fatalf("second call: %d %s", status, body)
		}
		bad := "prima_pat_" + "0000000000000000000000000000000000000000"
		var refused []string
		for _, want := range []int{401, 401, 429} {
			status, h, body := e.do("GET", "/v1/venues/ven_x", bad, "")
			if status != want {
				t.Fatalf("bad token: %d %s, want %d", status, body, want)
			}
			refused = append(refused, h.Get("Request-Id"))
		}
		e.audit.Flush()

		ctx := context.Background()
		events, _, err := e.audit.List(ctx, audit.Filter{}, store.Page{Limit: 100}) // what `prima audit` lists
		if err != nil {
			t.Fatal(err)
		}
		byRequest := map[string]audit.Event{}
		for _, ev := range events {
			byRequest[ev.RequestID] = ev
		}
		ok := events[len(events)-1] // the first call, oldest
		if ok.Status != 200 || ok.TokenID == "" {
			t.Fatalf("first call's event: %+v", ok)
		}
		if ev, found := byRequest[limited.Get("Request-Id")]; !found || ev.Status != 429 || ev.TokenID != ok.TokenID ||
			ev.PartnerID != ok.PartnerID || ev.Route != "/v1/venues" {
			t.Errorf("token's 429: %+v (found %v), want token %s", ev, found, ok.TokenID)
		}
		for i, id := range refused {
			ev, found := byRequest[id]
			if !found || ev.Status != []int{401, 401, 429}[i] || ev.TokenID != "" || ev.PartnerID != "" ||
				ev.ClientAddr != "127.0.0.1" || ev.Route != "/v1/venues/:venue_id" {
				t.Errorf("refused call %d: %+v (found %v), want the client address only", i, ev, found)
			}
		}
		if got, _, _ := e.audit.List(ctx, audit.Filter{Status: 429}, store.Page{Limit: 10}); len(got) != 2 {
			t.Errorf("status 429 lists %d events, want 2", len(got))
		}
		// A partner's own list shows its token's 429, not the anonymous ones.
		if got, _, _ := e.audit.List(ctx, audit.Filter{PartnerID: ok.PartnerID, Status: 429}, store.Page{Limit: 10}); len(got) != 1 {
			t.Errorf("the partner's 429s: %d, want 1", len(got))
		}
	})
}

// stuckWriter never finishes a write until released: the database is down.
type stuckWriter struct {
	db      *store.DB
	release chan struct{}
}

func (w *stuckWriter) InsertAuditEvents(ctx context.Context, events []store.AuditEvent) error {
	<-w.release
	return w.db.InsertAuditEvents(ctx, events)
}

func TestFullAuditQueueServesTheRequestAndCountsTheLoss(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w := &stuckWriter{db: db, release: make(chan struct{})}
	defer close(w.release)
	m := metrics.New()
	e := newEnv(t, db, withMetrics(m), withAudit(audit.Config{QueueSize: 2, BatchSize: 1, FlushEvery: time.Millisecond, Writer: w}))
	for i := range 10 {
		start := time.Now()
		if status, _, body := e.do("GET", "/v1/venues", e.token, ""); status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, status, body)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("call %d took %v: it waited for the audit log", i, took)
		}
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	match := regexp.MustCompile(`(?m)^prima_audit_events_dropped_total (\S+)$`).FindStringSubmatch(rec.Body.String())
	if match == nil {
		t.Fatal("prima_audit_events_dropped_total is not exposed")
	}
	// One event in the stuck write, two in the queue: the other seven are lost, counted.
	if n, _ := strconv.ParseFloat(match[1], 64); n < 7 {
		t.Errorf("dropped %v, want at least 7", n)
	}
}

// TestAuditKeepsEveryAnswerThroughTerminatedConnections: 8 clients call the API while
// every database connection of the server is terminated three times; every answer
// below 500 (their authentication succeeded) has its audit event, once.
func TestAuditKeepsEveryAnswerThroughTerminatedConnections(t *testing.T) {
	base := storetest.PostgresURL(t)
	app := fmt.Sprintf("prima_audit_srv_%d", time.Now().UnixNano())
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	admin, err := store.Open(ctx, store.Config{URL: base, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	e := newEnv(t, db, withRateLimit(server.RateLimit{PerSecond: 1e6, Burst: 1e6}),
		withAudit(audit.Config{BatchSize: 20, BaseBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}))

	var (
		mu       sync.Mutex
		answered = map[string]int{} // request id → status
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", e.srv.URL+"/v1/venues?limit=1", nil)
				req.Header.Set("Authorization", "Bearer "+e.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
				mu.Lock()
				answered[resp.Header.Get("Request-Id")] = resp.StatusCode
				mu.Unlock()
			}
		}()
	}
	killed := 0
	for range 3 {
		time.Sleep(300 * time.Millisecond)
		var n int
		if err := admin.SQL().QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		killed += n
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	e.audit.Flush()

	events, err := db.SQL().Query("SELECT request_id, count(*) FROM audit_events GROUP BY request_id")
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]int{}
	for events.Next() {
		var id string
		var n int
		if err := events.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		audited[id] = n
	}
	events.Close()
	statuses := map[int]int{}
	missing := 0
	for id, status := range answered {
		statuses[status]++
		if status < 500 && audited[id] != 1 {
			missing++
		}
	}
	for id, n := range audited {
		if n != 1 {
			t.Errorf("request %s audited %d times", id, n)
		}
	}
	t.Logf("%d answers %v, %d connections terminated, %d events audited", len(answered), statuses, killed, len(audited))
	if missing > 0 {
		t.Errorf("%d answers below 500 have no audit event", missing)
	}
	if killed == 0 {
		t.Error("no connection was terminated: the test proved nothing")
	}
}
