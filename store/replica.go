package store

// Read routing to a PostgreSQL streaming replica (Config.ReadURL).
//
// Callers hand the reads that tolerate a little lag to (*DB).Read: search, venue reads,
// a partner's lists. Everything else (writes, reads inside a write's transaction, a
// reservation read by id) uses the primary, as it always has.
//
// A partner reads its own writes. Each read says what it must see:
//
//   - OwnWrites: every write this process noted for the partner (NoteWrite). After a
//     partner's write commits, NoteWrite asks the primary for its WAL insert position
//     (pg_current_wal_insert_lsn(), which lies past the write's commit record) and keeps
//     it in this process's memory, one position per partner. A read for that partner
//     waits until the replica has replayed that far (pg_last_wal_replay_lsn()), or, after
//     ReadWait, is served by the primary. The position is forgotten once the replica has
//     passed it. It costs the primary nothing per read, but another process does not know
//     the position: there, the read is as old as the replica's lag, which ReadMaxLag
//     bounds.
//   - Latest: every write committed, by any process, before the read began. The read asks
//     the primary for its insert position (one trivial query, no table touched) and waits
//     for the replica to replay it, or after ReadWait is served by the primary.
//
// The replica is probed every second: its replay position and, against samples of the
// primary's position, its lag. A replica that does not answer, or lags by more than
// ReadMaxLag, gets no reads until it is back (one log line at each change, and the
// counters of ReplicaStats); a read the replica fails (connection lost, a query cancelled
// by a conflict with recovery, a table a migration has not yet brought) is run again on
// the primary. The primary's readiness never depends on the replica.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults of Config.ReadWait and Config.ReadMaxLag.
const (
	// DefaultReadWait: a streaming replica on the same network replays a commit within
	// milliseconds; a read that has waited this long is better served by the primary.
	DefaultReadWait = 100 * time.Millisecond
	// DefaultReadMaxLag bounds how old a read served by the replica can be.
	DefaultReadMaxLag = 5 * time.Second
)

// replicaProbeEvery is how often the replica's state and lag are measured.
const replicaProbeEvery = time.Second

// Freshness is what a read routed by (*DB).Read must see.
type Freshness int

const (
	// OwnWrites: the writes this process noted for the read's partner (NoteWrite).
	OwnWrites Freshness = iota
	// Latest: every write committed on the primary before the read began.
	Latest
)

// ReplicaStats is the read replica as metrics see it.
type ReplicaStats struct {
	// Up: the replica answered its last probe (or read).
	Up bool
	// Lagging: its lag is over Config.ReadMaxLag, so reads go to the primary.
	Lagging bool
	// Lag is how long the oldest write the replica has not replayed has waited, measured
	// to about a second; 0 when it is caught up.
	Lag time.Duration
	// Reads counts the reads routed by (*DB).Read so far.
	Reads ReplicaReads
}

// ReplicaReads counts reads routed by (*DB).Read by where they went.
type ReplicaReads struct {
	// Replica: served by the replica.
	Replica uint64
	// Lagging: served by the primary because the replica had not replayed what the read
	// must see within ReadWait, lagged by more than ReadMaxLag, or failed the query for
	// want of WAL it had not replayed (a conflict with recovery, a missing table).
	Lagging uint64
	// Unavailable: served by the primary because the replica could not be reached.
	Unavailable uint64
}

// replica is the read replica of a primary DB and what is known of it.
type replica struct {
	db     *DB // reads only: the server is a hot standby
	wait   time.Duration
	maxLag time.Duration
	wal    walGeometry
	log    *slog.Logger

	up       atomic.Bool
	lagging  atomic.Bool
	lag      atomic.Int64  // nanoseconds
	replayed atomic.Uint64 // the highest replay position seen

	served, lagged, unreachable atomic.Uint64

	mu    sync.Mutex
	marks map[string]uint64 // partner → WAL position its reads must see

	// samples of the primary's position, oldest first, kept while the replica has not
	// replayed them; only the probe goroutine touches them.
	samples []walSample

	stop chan struct{}
	done chan struct{}
}

type walSample struct {
	pos uint64
	at  time.Time
}

// markUnknown is the mark of a partner whose write's position could not be read: its
// next read asks the primary for the current one (as a Latest read does).
const markUnknown = math.MaxUint64

// maxWALSamples bounds the probe's samples; past it the oldest unreplayed one stays, so
// the lag measured is never too small.
const maxWALSamples = 600

// openReplica opens the replica at cfg.ReadURL for primary. A replica that does not answer
// yet is not an error (reads go to the primary until it does); a URL that does not parse,
// or a server that answers but is not a copy of the primary's database, is.
func openReplica(ctx context.Context, primary *DB, cfg Config) (*replica, error) {
	u := strings.TrimSpace(cfg.ReadURL)
	if !isPostgresURL(u) {
		return nil, errors.New("store: the read replica URL (PRIMA_DATABASE_READ_URL) must be a postgres:// URL")
	}
	gcfg := gormConfig()
	gcfg.DisableAutomaticPing = true // a replica that does not answer yet is no error
	rdb, err := newPostgres(u, "read replica URL (PRIMA_DATABASE_READ_URL)", cfg, gcfg, func(c *pgx.ConnConfig) {
		// A replica that does not answer must not hold a read for longer than the
		// primary would take to serve it.
		if c.ConnectTimeout == 0 {
			c.ConnectTimeout = 2 * time.Second
		}
	})
	if err != nil {
		return nil, err
	}
	rp := &replica{
		db: rdb, wait: cfg.ReadWait, maxLag: cfg.ReadMaxLag, log: cfg.Logger,
		marks: map[string]uint64{}, stop: make(chan struct{}), done: make(chan struct{}),
	}
	if rp.wait <= 0 {
		rp.wait = DefaultReadWait
	}
	if rp.maxLag <= 0 {
		rp.maxLag = DefaultReadMaxLag
	}
	if rp.log == nil {
		rp.log = slog.Default()
	}
	if rp.wal, err = primary.walGeometry(ctx); err != nil {
		_ = rdb.sql.Close()
		return nil, err
	}
	if err := rp.check(ctx, primary); err != nil {
		_ = rdb.sql.Close()
		return nil, err
	}
	// Open starts rp.run once the primary handle points at rp: the probe reads it.
	return rp, nil
}

// check connects to the replica once at start-up. When it answers, it must be a copy of
// the primary (the same system identifier) and the same database: anything else would
// serve reads from other data. When it does not answer, reads go to the primary until
// it does.
func (rp *replica) check(ctx context.Context, primary *DB) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, standby, err := rp.position(ctx)
	if err != nil {
		rp.log.Warn("read replica unreachable at start-up: reads go to the primary until it answers", "error", err)
		return nil
	}
	type identity struct {
		system   int64
		database string
	}
	id := func(db *DB) (identity, bool, error) {
		var v identity
		err := db.sql.QueryRowContext(ctx, `SELECT system_identifier, current_database() FROM pg_control_system()`).Scan(&v.system, &v.database)
		var se sqlState
		if errors.As(err, &se) && se.SQLState() == "42501" { // insufficient privilege: cannot tell
			return v, false, nil
		}
		return v, err == nil, err
	}
	p, pok, err := id(primary)
	if err != nil {
		return fmt.Errorf("store: read replica: identify the primary: %w", markUnavailable(err))
	}
	r, rok, err := id(rp.db)
	if err != nil {
		if err = markUnavailable(err); errors.Is(err, ErrUnavailable) {
			rp.log.Warn("read replica unreachable at start-up: reads go to the primary until it answers", "error", err)
			return nil
		}
		return fmt.Errorf("store: read replica: identify the replica: %w", err)
	}
	if pok && rok {
		if p.system != r.system {
			return errors.New("store: the read replica (PRIMA_DATABASE_READ_URL) is not a copy of the primary (PRIMA_DATABASE_URL): their system identifiers differ")
		}
		if p.database != r.database {
			return fmt.Errorf("store: the read replica (PRIMA_DATABASE_READ_URL) names database %q, the primary %q: they must name the same one", r.database, p.database)
		}
	}
	rp.up.Store(true)
	if !standby {
		rp.log.Warn("read replica is not a standby (pg_is_in_recovery() is false): it serves reads as a second primary would")
	}
	return nil
}

func (rp *replica) close() {
	close(rp.stop)
	<-rp.done
	_ = rp.db.sql.Close()
}

// Read runs fn with the handle to read from: the replica when one is configured, answers,
// lags less than Config.ReadMaxLag and has replayed what freshness f requires for
// partnerID (see replica.go), and the primary otherwise. fn must only read, and may run
// twice: when the replica fails its query (connection lost, a conflict with recovery),
// fn runs again on the primary. Its error is returned as fn returned it.
func (db *DB) Read(ctx context.Context, partnerID string, f Freshness, fn func(r *DB) error) error {
	rp := db.replica
	if rp == nil {
		return fn(db)
	}
	if !rp.up.Load() {
		rp.unreachable.Add(1)
		return fn(db)
	}
	if rp.lagging.Load() {
		rp.lagged.Add(1)
		return fn(db)
	}
	target := rp.mark(partnerID)
	if f == Latest || target == markUnknown {
		pos, err := db.walPosition(ctx)
		if err != nil {
			// The primary cannot say what the read must see: it serves the read itself
			// (or fails it, as it would without a replica).
			return fn(db)
		}
		if target == markUnknown {
			rp.note(partnerID, pos, true)
		}
		target = pos // past any mark
	}
	if target > 0 {
		ok, err := rp.await(ctx, target)
		switch {
		case err != nil && ctx.Err() != nil:
			return fn(db) // the caller gave up: fn fails as it would have
		case err != nil:
			rp.setUp(false, err)
			rp.unreachable.Add(1)
			return fn(db)
		case !ok:
			rp.lagged.Add(1)
			return fn(db)
		}
	}
	err := fn(rp.db)
	if err == nil || ctx.Err() != nil {
		rp.served.Add(1)
		return err
	}
	switch {
	case errors.Is(err, ErrUnavailable) || unavailable(err):
		rp.setUp(false, err)
		rp.unreachable.Add(1)
		return fn(db)
	case replicaBehind(err):
		rp.lagged.Add(1)
		return fn(db)
	}
	rp.served.Add(1)
	return err
}

// replicaBehind reports an error of the replica that the primary would not return: a
// query cancelled by a conflict with recovery (40001), or a table or column that a
// migration applied on the primary has not yet brought (42P01, 42703).
func replicaBehind(err error) bool {
	var se sqlState
	if errors.As(err, &se) {
		switch se.SQLState() {
		case "40001", "42P01", "42703":
			return true
		}
	}
	return false
}

// NoteWrite records that partnerID has just written (its writes have committed), so that
// this process's reads for it see the write (OwnWrites). Without a replica it does
// nothing. It must run before the caller answers the request that wrote.
func (db *DB) NoteWrite(ctx context.Context, partnerID string) {
	rp := db.replica
	if rp == nil || partnerID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ProbeTimeout)
	defer cancel()
	pos, err := db.walPosition(ctx)
	if err != nil {
		pos = markUnknown
	}
	rp.note(partnerID, pos, false)
}

// note raises partnerID's mark to pos; replace sets it to pos whatever it was.
func (rp *replica) note(partnerID string, pos uint64, replace bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if cur, ok := rp.marks[partnerID]; ok && !replace && cur >= pos {
		return
	}
	rp.marks[partnerID] = pos
}

// mark is the position partnerID's reads must see (0: none); a mark the replica has
// passed is forgotten.
func (rp *replica) mark(partnerID string) uint64 {
	if partnerID == "" {
		return 0
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	pos, ok := rp.marks[partnerID]
	if ok && pos != markUnknown && pos <= rp.replayed.Load() {
		delete(rp.marks, partnerID)
		return 0
	}
	return pos
}

// prune forgets the marks the replica has passed.
func (rp *replica) prune(replayed uint64) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for p, pos := range rp.marks {
		if pos != markUnknown && pos <= replayed {
			delete(rp.marks, p)
		}
	}
}

// await waits until the replica has replayed up to target, for at most ReadWait: true
// when it has.
func (rp *replica) await(ctx context.Context, target uint64) (bool, error) {
	if rp.replayed.Load() >= target {
		return true, nil
	}
	deadline := time.Now().Add(rp.wait)
	pause := time.Millisecond
	for {
		replayed, standby, err := rp.position(ctx)
		if err != nil {
			return false, err
		}
		if !standby || replayed >= target {
			return true, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 16*time.Millisecond)
	}
}

// position asks the replica how far it has replayed the primary's WAL, and whether it is
// a standby at all (a server that is not replays nothing and is as fresh as it gets).
func (rp *replica) position(ctx context.Context) (uint64, bool, error) {
	var (
		standby bool
		pos     int64
	)
	err := rp.db.sql.QueryRowContext(ctx,
		`SELECT pg_is_in_recovery(), COALESCE((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0)`).Scan(&standby, &pos)
	if err != nil {
		return 0, false, markUnavailable(err)
	}
	if !standby {
		return math.MaxUint64, false, nil
	}
	storeMax(&rp.replayed, uint64(pos))
	return uint64(pos), true, nil
}

// storeMax raises a to v unless it is higher already.
func storeMax(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if cur >= v || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// walPosition is the primary's WAL insert position, as the end of a record: a replica
// that has replayed that far has replayed every transaction committed before it was read.
func (db *DB) walPosition(ctx context.Context) (uint64, error) {
	var pos int64
	err := db.sql.QueryRowContext(ctx, `SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&pos)
	if err != nil {
		return 0, markUnavailable(err)
	}
	if db.replica != nil {
		return db.replica.wal.recordEnd(uint64(pos)), nil
	}
	return uint64(pos), nil
}

// walGeometry is the WAL's page and segment sizes.
type walGeometry struct{ block, segment uint64 }

// The sizes of a WAL page's header on 64-bit builds: MAXALIGN(sizeof(XLogPageHeaderData))
// and, on a segment's first page, MAXALIGN(sizeof(XLogLongPageHeaderData)).
const (
	walShortHeader = 24
	walLongHeader  = 40
)

// recordEnd maps an insert position to the record end a replica reports. When the last
// record ends exactly at a page boundary, pg_current_wal_insert_lsn() points past the next
// page's header, where no record can end: a replica that replayed everything reports the
// boundary, and would never seem to reach the position.
func (g walGeometry) recordEnd(pos uint64) uint64 {
	switch {
	case g.segment > 0 && pos%g.segment == walLongHeader:
		return pos - walLongHeader
	case g.block > 0 && pos%g.block == walShortHeader:
		return pos - walShortHeader
	}
	return pos
}

func (db *DB) walGeometry(ctx context.Context) (walGeometry, error) {
	var g walGeometry
	var block, segment int64
	err := db.sql.QueryRowContext(ctx,
		`SELECT current_setting('wal_block_size')::bigint, (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')`).Scan(&block, &segment)
	if err != nil {
		return g, fmt.Errorf("store: read replica: the primary's WAL sizes: %w", markUnavailable(err))
	}
	g.block, g.segment = uint64(block), uint64(segment)
	return g, nil
}

// setUp records whether the replica answers, logging a change.
func (rp *replica) setUp(up bool, err error) {
	if rp.up.Swap(up) == up {
		return
	}
	if up {
		rp.log.Info("read replica answers again: reads go to it")
		return
	}
	// What it had replayed is forgotten: the server that answers next may be another one.
	rp.replayed.Store(0)
	rp.log.Warn("read replica unreachable: reads go to the primary until it answers", "error", err)
}

// run probes the replica until close.
func (rp *replica) run(primary *DB) {
	defer close(rp.done)
	t := time.NewTicker(replicaProbeEvery)
	defer t.Stop()
	for {
		rp.probe(primary, time.Now())
		select {
		case <-rp.stop:
			return
		case <-t.C:
		}
	}
}

// probe samples the primary's position, then reads the replica's, and from them its lag.
func (rp *replica) probe(primary *DB, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	if pos, err := primary.walPosition(ctx); err == nil {
		if n := len(rp.samples); n < maxWALSamples && (n == 0 || pos > rp.samples[n-1].pos) {
			rp.samples = append(rp.samples, walSample{pos: pos, at: now})
		}
	}
	replayed, _, err := rp.position(ctx)
	if err != nil {
		rp.setUp(false, err)
		return
	}
	rp.setUp(true, nil)
	i := 0
	for i < len(rp.samples) && rp.samples[i].pos <= replayed {
		i++
	}
	rp.samples = append(rp.samples[:0], rp.samples[i:]...)
	var lag time.Duration
	if len(rp.samples) > 0 {
		lag = now.Sub(rp.samples[0].at)
	}
	rp.lag.Store(int64(lag))
	lagging := lag > rp.maxLag
	if rp.lagging.Swap(lagging) != lagging {
		if lagging {
			rp.log.Warn("read replica lags: reads go to the primary until it catches up", "lag", lag.String(), "max_lag", rp.maxLag.String())
		} else {
			rp.log.Info("read replica caught up: reads go to it")
		}
	}
	rp.prune(replayed)
}

// ReplicaStats reports the read replica's state and the reads routed so far; ok is false
// when no replica is configured.
func (db *DB) ReplicaStats() (s ReplicaStats, ok bool) {
	rp := db.replica
	if rp == nil {
		return ReplicaStats{}, false
	}
	return ReplicaStats{
		Up: rp.up.Load(), Lagging: rp.lagging.Load(), Lag: time.Duration(rp.lag.Load()),
		Reads: ReplicaReads{Replica: rp.served.Load(), Lagging: rp.lagged.Load(), Unavailable: rp.unreachable.Load()},
	}, true
}

// ReplicaSQL is the read replica's *sql.DB, for pool metrics; nil without a replica.
func (db *DB) ReplicaSQL() *sql.DB {
	if db.replica == nil {
		return nil
	}
	return db.replica.db.sql
}

// HasReadReplica reports whether reads may go to a read replica (Config.ReadURL).
func (db *DB) HasReadReplica() bool { return db.replica != nil }
