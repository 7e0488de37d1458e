// Package audit keeps the audit log: one event per authenticated request (and per
// refused authentication), queued by the request in memory and written to the database
// in batches by a background loop, so recording costs a request a channel send.
//
// A batch whose write fails is kept and retried with capped exponential backoff until
// it is written; meanwhile new events wait in the bounded queue. When the queue is full,
// Record drops the event rather than block the request, counts it in
// prima_audit_events_dropped_total and logs the losses once per DropLogEvery. Close
// writes what is still queued, retrying for at most CloseTimeout.
package audit

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/store"
)

// Event is one authenticated request, or one refused authentication (then TokenID is
// the token's when it was recognised, or empty, and ClientAddr says who asked).
type Event struct {
	ID             string
	OccurredAt     time.Time
	PartnerID      string
	TokenID        string
	Method         string
	Route          string // the route template, e.g. /v1/reservations/:reservation_id
	Status         int
	RequestID      string
	IdempotencyKey string
	ClientAddr     string
	Duration       time.Duration
}

// Writer stores batches of events: the store, or a stand-in that fails in tests.
type Writer interface {
	InsertAuditEvents(ctx context.Context, events []store.AuditEvent) error
}

// Config tunes the batching and the retries.
type Config struct {
	// FlushEvery is the longest an event waits in memory (default 1 s).
	FlushEvery time.Duration
	// BatchSize writes at once when this many are queued (default 500).
	BatchSize int
	// QueueSize bounds the memory queue (default 10,000); when it is full, Record drops
	// the event (counted and logged) rather than make a request wait. Events of no token
	// (refused authentications) are dropped once it is half full.
	QueueSize int
	// BaseBackoff and MaxBackoff bound the wait before a failed batch is written again:
	// doubling from BaseBackoff (default 100 ms) up to MaxBackoff (default 30 s), with
	// jitter.
	BaseBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds one write attempt (default 10 s).
	WriteTimeout time.Duration
	// CloseTimeout is how long Close keeps retrying what is unwritten (default 10 s).
	CloseTimeout time.Duration
	// DropLogEvery is the least time between two logs of dropped events (default 10 s).
	DropLogEvery time.Duration
	// Writer stores the batches (default: the store given to New).
	Writer  Writer
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Log records and lists audit events.
type Log struct {
	db      *store.DB
	cfg     Config
	queue   chan store.AuditEvent
	flush   chan chan struct{}
	done    chan struct{}
	once    sync.Once
	stop    context.CancelFunc
	dropped atomic.Int64 // events Record could not queue since the last drop log
	lastLog atomic.Int64 // when drops were last logged, in Unix nanoseconds
}

// New starts the log's writer; call Close to stop it after the last Record.
func New(db *store.DB, cfg Config) *Log {
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10_000
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.BaseBackoff {
		cfg.MaxBackoff = max(cfg.BaseBackoff, 30*time.Second)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 10 * time.Second
	}
	if cfg.DropLogEvery <= 0 {
		cfg.DropLogEvery = 10 * time.Second
	}
	if cfg.Writer == nil {
		cfg.Writer = db
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	l := &Log{db: db, cfg: cfg, queue: make(chan store.AuditEvent, cfg.QueueSize),
		flush: make(chan chan struct{}), done: make(chan struct{}), stop: stop}
	go l.run(ctx)
	return l
}

// Record queues e; it never touches the database and never waits: when the queue is
// full, e is dropped and counted.
func (l *Log) Record(e Event) {
	if e.ID == "" {
		e.ID = ids.New("aud")
	}
	row := store.AuditEvent{
		ID: e.ID, OccurredAt: e.OccurredAt, PartnerID: text(e.PartnerID), TokenID: text(e.TokenID),
		Method: text(e.Method), Route: text(e.Route), Status: e.Status, RequestID: text(e.RequestID),
		IdempotencyKey: text(e.IdempotencyKey), ClientAddr: text(e.ClientAddr),
		DurationMS: float64(e.Duration.Microseconds()) / 1000,
	}
	if row.TokenID == "" && len(l.queue) >= cap(l.queue)/2 {
		// An event of no token (a refused authentication) may fill only half the queue,
		// so a flood of bad tokens cannot push out the events of partners' requests.
		l.dropped.Add(1)
		l.cfg.Metrics.AuditDropped(1)
		l.logDrops(false)
		return
	}
	select {
	case l.queue <- row:
	default:
		l.dropped.Add(1)
		l.cfg.Metrics.AuditDropped(1)
		l.logDrops(false)
	}
}

// text makes s storable in any text column: a header such as Idempotency-Key may carry
// invalid UTF-8, which PostgreSQL refuses, and one such row must not block its batch
// forever.
func text(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Flush writes every event recorded before it and returns when they are written (it
// waits through failed writes and their retries), or when the log is closed.
func (l *Log) Flush() {
	ack := make(chan struct{})
	select {
	case l.flush <- ack:
		<-ack
	case <-l.done:
	}
}

// Close writes what is queued and stops the writer. Record must not be called after.
func (l *Log) Close() {
	l.once.Do(func() {
		l.stop()
		<-l.done
	})
}

// writer is the loop's state: the batch in hand and how often its write has failed.
type writer struct {
	l        *Log
	batch    []store.AuditEvent
	failures int
}

// write tries the batch once; on failure the batch is kept for the next attempt.
func (w *writer) write() bool {
	if len(w.batch) == 0 {
		return true
	}
	// Not the loop's ctx: the last batch is written after it is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), w.l.cfg.WriteTimeout)
	defer cancel()
	err := w.l.cfg.Writer.InsertAuditEvents(ctx, w.batch)
	if err != nil {
		w.failures++
		w.l.cfg.Metrics.AuditWriteFailed()
		w.l.cfg.Logger.Warn("write audit events: will retry", "count", len(w.batch), "attempt", w.failures, "error", err)
		return false
	}
	if w.failures > 0 {
		w.l.cfg.Logger.Info("write audit events: written after retrying", "count", len(w.batch), "attempts", w.failures+1)
	}
	w.failures = 0
	w.batch = w.batch[:0]
	return true
}

// backoff is the wait before the next attempt: exponential in the failures so far,
// capped at MaxBackoff, with "equal jitter" (half fixed, half random) so that several
// processes do not retry in step.
func (w *writer) backoff() time.Duration {
	d := w.l.cfg.MaxBackoff
	if shift := w.failures - 1; shift < 30 {
		d = min(d, w.l.cfg.BaseBackoff<<shift)
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
}

// writeRetrying writes the batch, retrying with backoff until it is written or ctx ends.
func (w *writer) writeRetrying(ctx context.Context) bool {
	for !w.write() {
		t := time.NewTimer(w.backoff())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	return true
}

// drain moves every queued event into batches and writes them, retrying until ctx ends.
func (w *writer) drain(ctx context.Context) bool {
	for {
		select {
		case e := <-w.l.queue:
			w.batch = append(w.batch, e)
			if len(w.batch) >= w.l.cfg.BatchSize && !w.writeRetrying(ctx) {
				return false
			}
		default:
			return w.writeRetrying(ctx)
		}
	}
}

func (l *Log) run(ctx context.Context) {
	defer close(l.done)
	tick := time.NewTicker(l.cfg.FlushEvery)
	defer tick.Stop()
	w := &writer{l: l, batch: make([]store.AuditEvent, 0, l.cfg.BatchSize)}
	var (
		retry  *time.Timer
		retryC <-chan time.Time
	)
	attempt := func() {
		if w.write() {
			retryC = nil
			return
		}
		retry = time.NewTimer(w.backoff())
		retryC = retry.C
	}
	for {
		// While a batch waits for its retry, new events stay in the bounded queue.
		in := l.queue
		if retryC != nil {
			in = nil
		}
		select {
		case e := <-in:
			w.batch = append(w.batch, e)
			if len(w.batch) >= l.cfg.BatchSize {
				attempt()
			}
		case <-tick.C:
			l.logDrops(false)
			if retryC == nil {
				attempt()
			}
		case <-retryC:
			attempt()
		case ack := <-l.flush:
			if retry != nil {
				retry.Stop()
			}
			retryC = nil
			w.drain(ctx)
			close(ack)
		case <-ctx.Done():
			if retry != nil {
				retry.Stop()
			}
			closing, cancel := context.WithTimeout(context.Background(), l.cfg.CloseTimeout)
			if !w.drain(closing) {
				lost := len(w.batch) + len(l.queue)
				l.cfg.Metrics.AuditDropped(lost)
				l.cfg.Logger.Error("audit events lost at shutdown: the database did not accept them", "count", lost)
			}
			cancel()
			l.logDrops(true)
			return
		}
	}
}

// logDrops logs the events dropped since the last log, at most once per DropLogEvery
// (or now, when final): the first loss is logged at once, later ones add up until the
// interval has passed. Record calls it too, so losses are logged even while the writer
// is stuck in a slow write.
func (l *Log) logDrops(final bool) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if !final && (now-last < int64(l.cfg.DropLogEvery) || !l.lastLog.CompareAndSwap(last, now)) {
		return
	}
	if n := l.dropped.Swap(0); n > 0 {
		l.cfg.Logger.Error("audit events dropped: the audit queue was full", "count", n, "queue_size", l.cfg.QueueSize)
	}
}

// Filter narrows List.
type Filter struct {
	PartnerID string // "" = every partner's: operators only, never from the API
	TokenID   string
	Status    int
	Since     time.Time
}

// ErrUnknownCursor is List's answer to a starting_after that is not in the list.
var ErrUnknownCursor = store.ErrNotFound

// List returns events newest first, a page at a time. The read replica may serve it
// (store.OwnWrites): events are written in batches, off the requests' path, so the list
// trails the requests a moment anyway.
func (l *Log) List(ctx context.Context, f Filter, page store.Page) ([]Event, bool, error) {
	var (
		rows []store.AuditEvent
		more bool
	)
	err := l.db.Read(ctx, f.PartnerID, store.OwnWrites, func(r *store.DB) (err error) {
		rows, more, err = r.ListAuditEvents(ctx, store.AuditFilter{PartnerID: f.PartnerID, TokenID: f.TokenID, Status: f.Status, Since: f.Since}, page)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		out = append(out, Event{
			ID: r.ID, OccurredAt: r.OccurredAt, PartnerID: r.PartnerID, TokenID: r.TokenID,
			Method: r.Method, Route: r.Route, Status: r.Status, RequestID: r.RequestID,
			IdempotencyKey: r.IdempotencyKey, ClientAddr: r.ClientAddr,
			Duration: time.Duration(r.DurationMS * float64(time.Millisecond)),
		})
	}
	return out, more, nil
}
