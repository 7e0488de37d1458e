package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// flakyWriter fails its first failures writes; every other failed write first commits
// the batch, as when a connection dies after the commit and before its answer.
type flakyWriter struct {
	db       *store.DB
	failures atomic.Int64
	calls    atomic.Int64
}

func (w *flakyWriter) InsertAuditEvents(ctx context.Context, events []store.AuditEvent) error {
	n := w.calls.Add(1)
	if w.failures.Add(-1) >= 0 {
		if n%2 == 0 {
			if err := w.db.InsertAuditEvents(ctx, events); err != nil {
				return err
			}
			return errors.New("flaky: connection lost after the commit")
		}
		return errors.New("flaky: connection refused")
	}
	return w.db.InsertAuditEvents(ctx, events)
}

func countEvents(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM audit_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func recordMany(log *audit.Log, workers, each int) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				log.Record(audit.Event{OccurredAt: time.Now(), PartnerID: "ptn_a", TokenID: fmt.Sprintf("tok_%d", w),
					Method: "GET", Route: "/v1/venues", Status: 200, RequestID: fmt.Sprintf("req_%d_%d", w, i)})
			}
		}()
	}
	wg.Wait()
}

// scrape reads one counter of m as Prometheus exposes it.
func scrape(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	match := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(rec.Body.String())
	if match == nil {
		t.Fatalf("%s not exposed", name)
	}
	v, err := strconv.ParseFloat(match[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFailedBatchesAreRetriedUntilEveryEventIsWritten(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := &flakyWriter{db: db}
		w.failures.Store(7)
		m := metrics.New()
		log := audit.New(db, audit.Config{FlushEvery: 2 * time.Millisecond, BatchSize: 50, QueueSize: 5000,
			BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Writer: w, Metrics: m, Logger: quiet()})
		defer log.Close()
		recordMany(log, 4, 500)
		log.Flush()
		if n := countEvents(t, db); n != 2000 {
			t.Fatalf("%d events written, want 2000 (none lost, none twice)", n)
		}
		if got := scrape(t, m, "prima_audit_write_errors_total"); got != 7 {
			t.Errorf("write failures counted: %v, want 7", got)
		}
		if got := scrape(t, m, "prima_audit_events_dropped_total"); got != 0 {
			t.Errorf("dropped: %v, want 0", got)
		}
	})
}

// TestAuditSurvivesTerminatedConnections kills the log's PostgreSQL connections three
// times while events are recorded: every event is written once.
func TestAuditSurvivesTerminatedConnections(t *testing.T) {
	base := storetest.PostgresURL(t)
	app := fmt.Sprintf("prima_audit_test_%d", time.Now().UnixNano())
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
	defer db.Close()
	admin, err := store.Open(ctx, store.Config{URL: base, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	m := metrics.New()
	log := audit.New(db, audit.Config{FlushEvery: 2 * time.Millisecond, BatchSize: 20, QueueSize: 10_000,
		BaseBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Metrics: m, Logger: quiet()})
	defer log.Close()
	done := make(chan struct{})
	killed := 0
	go func() {
		defer close(done)
		for range 3 {
			time.Sleep(60 * time.Millisecond)
			var n int
			if err := admin.SQL().QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
				t.Error(err)
			}
			killed += n
		}
	}()
	for range 60 {
		recordMany(log, 4, 25)
		time.Sleep(5 * time.Millisecond)
	}
	<-done
	log.Flush()
	if n := countEvents(t, db); n != 6000 {
		t.Fatalf("%d events written, want 6000", n)
	}
	t.Logf("connections terminated: %d; failed writes retried: %v", killed, scrape(t, m, "prima_audit_write_errors_total"))
	if killed == 0 {
		t.Error("no connection was terminated: the test proved nothing")
	}
}

// blockedWriter holds every write until release is closed.
type blockedWriter struct {
	db      *store.DB
	release chan struct{}
}

func (w *blockedWriter) InsertAuditEvents(ctx context.Context, events []store.AuditEvent) error {
	<-w.release
	return w.db.InsertAuditEvents(ctx, events)
}

// logCounter counts log records whose message contains a word.
type logCounter struct {
	slog.Handler
	word string
	n    *atomic.Int64
}

func (h logCounter) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.word) {
		h.n.Add(1)
	}
	return nil
}

func TestFullQueueDropsCountsAndLogsOncePerInterval(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := &blockedWriter{db: db, release: make(chan struct{})}
		m := metrics.New()
		var drops atomic.Int64
		logger := slog.New(logCounter{Handler: slog.NewTextHandler(io.Discard, nil), word: "dropped", n: &drops})
		log := audit.New(db, audit.Config{FlushEvery: time.Millisecond, BatchSize: 5, QueueSize: 10,
			DropLogEvery: time.Hour, Writer: w, Metrics: m, Logger: logger})
		start := time.Now()
		for range 2 { // two waves of losses, several ticks apart: one log in the interval
			recordMany(log, 2, 50)
			time.Sleep(20 * time.Millisecond)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("recording into a full queue took %v: Record waited", took)
		}
		dropped := scrape(t, m, "prima_audit_events_dropped_total")
		if dropped < 200-10-5 {
			t.Errorf("dropped %v, want at least %d", dropped, 200-10-5)
		}
		if n := drops.Load(); n != 1 {
			t.Errorf("%d drop logs within one interval, want 1", n)
		}
		close(w.release)
		log.Close()
		if n := drops.Load(); n != 2 {
			t.Errorf("%d drop logs after Close, want 2 (the rest of the interval's count)", n)
		}
		if n := countEvents(t, db); n+int(dropped) != 200 {
			t.Errorf("written %d + dropped %v != recorded 200", n, dropped)
		}
	})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestRefusedAuthenticationsCannotFillTheQueue: events of no token (bad tokens) take at
// most half the queue, so the events of partners' requests still find room.
func TestRefusedAuthenticationsCannotFillTheQueue(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w := &blockedWriter{db: db, release: make(chan struct{})}
	// BatchSize 1: the writer takes one event and waits in its write; the rest queue.
	log := audit.New(db, audit.Config{FlushEvery: time.Hour, BatchSize: 1, QueueSize: 10, Writer: w, Logger: quiet()})
	for i := range 100 {
		log.Record(audit.Event{OccurredAt: time.Now(), Method: "GET", Route: "/v1/venues", Status: 401,
			ClientAddr: "203.0.113.9", RequestID: fmt.Sprint("req_anon_", i)})
	}
	for i := range 5 {
		log.Record(audit.Event{OccurredAt: time.Now(), PartnerID: "ptn_a", TokenID: "tok_a", Method: "GET",
			Route: "/v1/venues", Status: 200, RequestID: fmt.Sprint("req_tok_", i)})
	}
	close(w.release)
	log.Close()
	var anon, partner int
	if err := db.SQL().QueryRow("SELECT count(*) FROM audit_events WHERE token_id = ''").Scan(&anon); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRow("SELECT count(*) FROM audit_events WHERE token_id = 'tok_a'").Scan(&partner); err != nil {
		t.Fatal(err)
	}
	if partner != 5 || anon > 6 {
		t.Errorf("written: %d of the partner's 5 events, %d anonymous (at most 1 + 5)", partner, anon)
	}
}
