// Package audit keeps the audit log: one event per authenticated request, queued by
// the request in memory and written to the database in batches by a background loop,
// so recording costs a request a channel send; Close writes what is still queued.
package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/store"
)

// Event is one authenticated request.
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

// Config tunes the batching.
type Config struct {
	// FlushEvery is the longest an event waits in memory (default 1 s).
	FlushEvery time.Duration
	// BatchSize writes at once when this many are queued (default 500).
	BatchSize int
	// QueueSize bounds the memory queue (default 10,000); when it is full, Record
	// waits for room rather than lose an event.
	QueueSize int
	Logger    *slog.Logger
}

// Log records and lists audit events.
type Log struct {
	db    *store.DB
	cfg   Config
	queue chan store.AuditEvent
	flush chan chan struct{}
	done  chan struct{}
	once  sync.Once
	stop  context.CancelFunc
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
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	l := &Log{db: db, cfg: cfg, queue: make(chan store.AuditEvent, cfg.QueueSize),
		flush: make(chan chan struct{}), done: make(chan struct{}), stop: stop}
	go l.run(ctx)
	return l
}

// Record queues e; it does not touch the database.
func (l *Log) Record(e Event) {
	if e.ID == "" {
		e.ID = ids.New("aud")
	}
	l.queue <- store.AuditEvent{
		ID: e.ID, OccurredAt: e.OccurredAt, PartnerID: e.PartnerID, TokenID: e.TokenID,
		Method: e.Method, Route: e.Route, Status: e.Status, RequestID: e.RequestID,
		IdempotencyKey: e.IdempotencyKey, ClientAddr: e.ClientAddr,
		DurationMS: float64(e.Duration.Microseconds()) / 1000,
	}
}

// Flush writes every event recorded before it and returns when they are written.
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

func (l *Log) run(ctx context.Context) {
	defer close(l.done)
	tick := time.NewTicker(l.cfg.FlushEvery)
	defer tick.Stop()
	batch := make([]store.AuditEvent, 0, l.cfg.BatchSize)
	write := func() {
		if len(batch) == 0 {
			return
		}
		// Not the loop's ctx: the last batch is written after it is cancelled.
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.db.InsertAuditEvents(wctx, batch); err != nil {
			l.cfg.Logger.Error("write audit events", "count", len(batch), "error", err)
		}
		batch = batch[:0]
	}
	drain := func() {
		for {
			select {
			case e := <-l.queue:
				batch = append(batch, e)
				if len(batch) >= l.cfg.BatchSize {
					write()
				}
			default:
				write()
				return
			}
		}
	}
	for {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
			if len(batch) >= l.cfg.BatchSize {
				write()
			}
		case <-tick.C:
			write()
		case ack := <-l.flush:
			drain()
			close(ack)
		case <-ctx.Done():
			drain()
			return
		}
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

// List returns events newest first, a page at a time.
func (l *Log) List(ctx context.Context, f Filter, page store.Page) ([]Event, bool, error) {
	rows, more, err := l.db.ListAuditEvents(ctx, store.AuditFilter{PartnerID: f.PartnerID, TokenID: f.TokenID, Status: f.Status, Since: f.Since}, page)
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
