package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// The invalidation feed: what per-process caches of the database's rows (tokens, venues)
// rely on to drop an entry when its row changes, in this process and in every other.
//
// On PostgreSQL the database itself announces every change: triggers (migration 00013)
// run pg_notify('prima_invalidate', '<kind>:<id>') in the transaction of the change, so
// the notice is delivered on commit, and only then, whoever made the change (this
// server, another process, `prima` commands, psql). Each serving process LISTENs on a
// connection of its own (ListenInvalidations).
//
// On SQLite the store publishes its own changes in the process after they commit, and a
// watcher reads PRAGMA data_version, which moves when another connection (another
// process: a `prima` command on the same file) commits; then every cache is dropped.
//
// Caches are trusted only while the feed is known to be complete: from a successful
// LISTEN (or the first data_version read), for InvalidationLease after the listener last
// proved it was caught up. Otherwise (before the first subscription, while reconnecting,
// when the listener stalls) every lookup goes to the database. Each (re)subscription
// starts a new epoch: entries stored under an earlier one are never served, since
// notices sent while nobody listened are lost.

// InvalidationChannel is the PostgreSQL channel the triggers notify.
const InvalidationChannel = "prima_invalidate"

// Kinds of change, the first part of a notice's payload.
const (
	ChangeToken    = "token"    // a token's revocation, expiry, scopes or owner; ID is the token's id
	ChangePartner  = "partner"  // a partner's settings or venue grants; ID is the partner's id ("" = any)
	ChangeOperator = "operator" // an operator's account; ID is the operator's id
	ChangeVenue    = "venue"    // a venue's row; ID is the venue's id
	ChangeSlots    = "slots"    // a slot of a city and day (migration 00031); ID is "<city_key>/<local_date>", "" for slots anywhere
	// ChangeSlot is one slot's table taken, or given back to a pool that had one left, and
	// nothing else of it changed (migration 00032): only the search answers that list the
	// slot (or would list it next) change. ID is SlotChangeID's.
	ChangeSlot = "slot"
	ChangeAll  = "all" // anything (a table was truncated, a notice was not understood)
)

// Change names a row whose cached copies are stale.
type Change struct {
	Kind string
	ID   string
}

// parseChange reads a notice's payload, "<kind>:<id>". A payload it does not understand
// becomes ChangeAll: dropping too much is safe, dropping too little is not.
func parseChange(payload string) Change {
	kind, id, ok := strings.Cut(payload, ":")
	switch {
	case !ok:
		return Change{Kind: ChangeAll}
	case kind == ChangeToken, kind == ChangePartner, kind == ChangeOperator, kind == ChangeVenue, kind == ChangeSlots, kind == ChangeSlot, kind == ChangeAll:
		return Change{Kind: kind, ID: id}
	default:
		return Change{Kind: ChangeAll}
	}
}

// SlotChangeID is the ID of a ChangeSlot: "<local_date>/<slot_id>/<city_key>", the city
// last as the only part that may hold a slash.
func SlotChangeID(localDate, slotID, cityKey string) string {
	return localDate + "/" + slotID + "/" + cityKey
}

// ParseSlotChange reads a ChangeSlot's ID; ok is false if it is not one.
func ParseSlotChange(id string) (localDate, slotID, cityKey string, ok bool) {
	localDate, rest, ok1 := strings.Cut(id, "/")
	slotID, cityKey, ok2 := strings.Cut(rest, "/")
	return localDate, slotID, cityKey, ok1 && ok2 && localDate != "" && slotID != ""
}

// Defaults of ListenConfig.
const (
	DefaultCacheTTL    = time.Minute
	DefaultListenRetry = 500 * time.Millisecond
	// InvalidationHeartbeat is how often the listener proves its connection is alive and
	// caught up (a round trip on it); InvalidationLease is how long after such a proof
	// the caches are trusted without another.
	InvalidationHeartbeat = time.Second
	InvalidationLease     = 3 * time.Second
	// sqliteWatchEvery is how often PRAGMA data_version is read on SQLite.
	sqliteWatchEvery = 100 * time.Millisecond
	sqliteLease      = time.Second
	// listenerName is the application_name of the listener's connection, with the
	// process id after a slash, so an operator can find it in pg_stat_activity.
	listenerName = "prima-listener"
)

// ListenConfig tunes ListenInvalidations.
type ListenConfig struct {
	// TTL bounds how long a cached entry is served, notices or not: a safety net, not the
	// mechanism (default DefaultCacheTTL).
	TTL time.Duration
	// Retry is the first wait before reconnecting a lost listener; it doubles up to 30 s
	// (or Retry, if longer) while reconnecting fails (default DefaultListenRetry).
	Retry  time.Duration
	Logger *slog.Logger
}

// Invalidations is a process's feed of changes, and the state that says whether caches
// may trust it. It is safe for concurrent use.
type Invalidations struct {
	mu   sync.RWMutex
	subs []func(Change)

	// epoch moves at every (re)subscription; lease is when trust ends, in nanoseconds of
	// the monotonic clock since base (0: not trusted).
	epoch atomic.Uint64
	lease atomic.Int64
	base  time.Time
	ttl   atomic.Int64
	// running is set while ListenInvalidations runs; pid is the PostgreSQL backend of
	// its connection (0 when it has none).
	running atomic.Bool
	pid     atomic.Uint32

	reloads  atomic.Uint64
	received atomic.Uint64
	lost     atomic.Uint64
}

func newInvalidations() *Invalidations {
	inv := &Invalidations{base: time.Now()}
	inv.ttl.Store(int64(DefaultCacheTTL))
	return inv
}

// Invalidations returns the database's feed of changes.
func (db *DB) Invalidations() *Invalidations { return db.inv }

// Subscribe calls fn with every change, in order, from the goroutine that learnt of it:
// fn must be quick and must not call the store.
func (inv *Invalidations) Subscribe(fn func(Change)) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.subs = append(inv.subs, fn)
}

// publish hands changes to every subscriber.
func (inv *Invalidations) publish(changes ...Change) {
	if len(changes) == 0 {
		return
	}
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	for _, c := range changes {
		for _, fn := range inv.subs {
			fn(c)
		}
	}
}

// Epoch returns the current epoch and whether caches may be trusted now: an entry is
// served only if it was stored in this epoch and trusted is true.
func (inv *Invalidations) Epoch() (epoch uint64, trusted bool) {
	epoch = inv.epoch.Load()
	lease := inv.lease.Load()
	return epoch, lease != 0 && inv.now() < lease
}

// TTL is the longest a cached entry is served.
func (inv *Invalidations) TTL() time.Duration { return time.Duration(inv.ttl.Load()) }

func (inv *Invalidations) now() int64 { return int64(time.Since(inv.base)) }

// subscribed starts a new epoch, trusted until lease after start (the moment from which
// every change is known to be delivered).
func (inv *Invalidations) subscribed(start int64, lease time.Duration) {
	inv.epoch.Add(1)
	inv.reloads.Add(1)
	inv.lease.Store(start + int64(lease))
}

// renew extends the trust to lease after start, a moment up to which every change has
// been delivered; it never shortens it, nor revives a trust that was dropped.
func (inv *Invalidations) renew(start int64, lease time.Duration) {
	until := start + int64(lease)
	for {
		cur := inv.lease.Load()
		if cur == 0 || cur >= until || inv.lease.CompareAndSwap(cur, until) {
			return
		}
	}
}

// drop stops trusting the caches until the next subscription.
func (inv *Invalidations) drop() {
	if inv.lease.Swap(0) != 0 {
		inv.lost.Add(1)
	}
}

// ListenerPID is the PostgreSQL backend process of the listener's connection (as in
// pg_stat_activity.pid), 0 when it has none: for an operator or a test that needs to
// cut it.
func (inv *Invalidations) ListenerPID() uint32 { return inv.pid.Load() }

// InvalidationStats is the feed as metrics see it.
type InvalidationStats struct {
	Trusted  bool   // caches are trusted now
	Reloads  uint64 // new epochs: (re)subscriptions, and on SQLite other processes' commits
	Received uint64 // notices received from the database
	Lost     uint64 // times the feed was lost (connection dropped, listener stopped)
}

// Stats reports the feed's state and counters.
func (inv *Invalidations) Stats() InvalidationStats {
	_, trusted := inv.Epoch()
	return InvalidationStats{
		Trusted: trusted, Reloads: inv.reloads.Load(),
		Received: inv.received.Load(), Lost: inv.lost.Load(),
	}
}

// slotsChanged tells this process's subscribers that slots changed, somewhere (an
// operator's edit, made outside a transaction): the search answers are dropped at once
// rather than when the database's notice of the city and day arrives.
func (db *DB) slotsChanged() { db.inv.publish(Change{Kind: ChangeSlots}) }

// invalidate records that the transaction changes a cached row: subscribers in this
// process hear of it once the transaction commits (on PostgreSQL the triggers tell the
// other processes; this only spares this one the round trip).
func (tx *Tx) invalidate(kind, id string) {
	tx.changes = append(tx.changes, Change{Kind: kind, ID: id})
}

// ListenInvalidations keeps the feed of changes complete until ctx ends, and returns
// then: on PostgreSQL it LISTENs on a dedicated connection (reconnecting with backoff),
// on SQLite it watches PRAGMA data_version. Run it in one goroutine per process that
// serves requests; without it, caches are never trusted.
func (db *DB) ListenInvalidations(ctx context.Context, cfg ListenConfig) error {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultCacheTTL
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultListenRetry
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	inv := db.inv
	if !inv.running.CompareAndSwap(false, true) {
		return errors.New("store: the invalidation listener is already running")
	}
	defer inv.running.Store(false)
	defer inv.drop()
	inv.ttl.Store(int64(cfg.TTL))
	if db.dialect == DialectSQLite {
		db.watchSQLite(ctx, cfg)
		return nil
	}
	db.listenPostgres(ctx, cfg)
	return nil
}

// listenPostgres LISTENs until ctx ends, reconnecting whenever the connection fails.
func (db *DB) listenPostgres(ctx context.Context, cfg ListenConfig) {
	inv, log := db.inv, cfg.Logger
	wait := cfg.Retry
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, func() {
			wait = cfg.Retry // subscribed: the next loss starts from the first wait again
			log.Info("cache invalidation: listening; caches trusted", "channel", InvalidationChannel, "backend_pid", inv.ListenerPID())
		})
		inv.drop()
		if ctx.Err() != nil {
			return
		}
		log.Warn("cache invalidation: listener lost; caches bypassed until it is back", "error", err, "retry_in", wait.String())
		// Jittered, so processes that lost the database together do not all return at once.
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait + rand.N(wait/4+1)): //nolint:gosec // G404: jitter, not security
		}
		wait = min(2*wait, max(30*time.Second, cfg.Retry))
	}
}

// listenOnce connects, LISTENs, starts a new epoch, and then delivers notices and
// proves the connection caught up every InvalidationHeartbeat, until the connection
// fails or ctx ends.
func (db *DB) listenOnce(ctx context.Context, onSubscribed func()) error {
	inv := db.inv
	pcfg := db.pgConfig.Config.Copy()
	pcfg.RuntimeParams["application_name"] = fmt.Sprintf("%s/%d", listenerName, os.Getpid())
	// Every notice goes through here, in order, whether it arrives while waiting or
	// during a heartbeat.
	pcfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		if n.Channel != InvalidationChannel {
			return
		}
		inv.received.Add(1)
		inv.publish(parseChange(n.Payload))
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgconn.ConnectConfig(cctx, pcfg)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	inv.pid.Store(conn.PID())
	defer func() {
		inv.drop() // at once: the connection is gone or going, notices with it
		inv.pid.Store(0)
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	start := inv.now()
	if err := heartbeat(ctx, conn, "LISTEN "+InvalidationChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Every change committed from here on is delivered; entries of earlier epochs may
	// have missed some, so they are dropped (the caches reload on demand).
	inv.subscribed(start, InvalidationLease)
	onSubscribed()
	last := start
	for {
		next := last + int64(InvalidationHeartbeat)
		if wait := time.Duration(next - inv.now()); wait > 0 {
			wctx, cancel := context.WithTimeout(ctx, wait)
			err := conn.WaitForNotification(wctx)
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil && !pgconn.Timeout(err) {
				return fmt.Errorf("wait: %w", err)
			}
			continue
		}
		// The server sends every notice committed before this statement ahead of its
		// answer: once it answers, the feed is complete up to start.
		start := inv.now()
		if err := heartbeat(ctx, conn, "SELECT 1"); err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		inv.renew(start, InvalidationLease)
		last = start
	}
}

// heartbeat runs sql on the listener's connection, within InvalidationLease.
func heartbeat(ctx context.Context, conn *pgconn.PgConn, sql string) error {
	hctx, cancel := context.WithTimeout(ctx, InvalidationLease)
	defer cancel()
	_, err := conn.Exec(hctx, sql).ReadAll()
	return err
}

// watchSQLite reads PRAGMA data_version every sqliteWatchEvery: it moves when another
// connection (another process) commits, whose changes this process never heard of, so
// every cache is dropped (a new epoch). This process's own changes are published by the
// store as they commit.
func (db *DB) watchSQLite(ctx context.Context, cfg ListenConfig) {
	inv := db.inv
	var last int64
	known := false
	t := time.NewTicker(sqliteWatchEvery)
	defer t.Stop()
	for {
		start := inv.now()
		v, err := db.dataVersion(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if known {
				cfg.Logger.Warn("cache invalidation: cannot read data_version; caches bypassed", "error", err)
			}
			inv.drop()
			known = false
		case !known || v != last:
			inv.subscribed(start, sqliteLease)
			last, known = v, true
		default:
			inv.renew(start, sqliteLease)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dataVersion reads SQLite's PRAGMA data_version on the pool's one connection.
func (db *DB) dataVersion(ctx context.Context) (int64, error) {
	qctx, cancel := context.WithTimeout(ctx, sqliteLease)
	defer cancel()
	var v int64
	err := db.sql.QueryRowContext(qctx, "PRAGMA data_version").Scan(&v)
	return v, err
}
