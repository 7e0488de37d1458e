package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names returned by (*DB).Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// DefaultSQLitePath is the database file used when Config.URL is empty.
const DefaultSQLitePath = "./data/prima.db"

// sqliteParams are appended to every SQLite DSN. busy_timeout makes a second process wait
// for the write lock instead of failing at once; WAL lets readers of other processes run
// beside the writer; foreign_keys is off by default in SQLite; synchronous(NORMAL) is safe
// with WAL; _txlock=immediate takes the write lock at BEGIN, so a transaction that reads
// and then writes never fails half-way with SQLITE_BUSY.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// DB is the application's database handle: PostgreSQL or SQLite behind GORM. It is safe
// for concurrent use.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	dialect string
	// inv is the feed of changes that per-process caches follow (invalidate.go);
	// pgConfig is what its PostgreSQL listener connects with.
	inv      *Invalidations
	pgConfig *pgx.ConnConfig
	// replica serves (*DB).Read when Config.ReadURL is set; nil otherwise.
	replica *replica
}

// Tx is a database transaction handed to the function given to (*DB).Transact. It is
// valid only while that function runs and must not be shared between goroutines.
type Tx struct {
	g       *gorm.DB
	dialect string
	// changes are the cached rows the transaction changed, published in the process once
	// it commits.
	changes []Change
}

// Open connects to the database cfg names. It does not migrate; call Migrate for that.
//
// A URL starting with postgres:// or postgresql:// opens PostgreSQL (pgx), with a pool of
// cfg.MaxOpenConns connections (default DefaultMaxOpenConns). Anything else is SQLite:
// "sqlite:PATH", "sqlite::memory:", a bare path, or "" for DefaultSQLitePath (whose
// directory is created). SQLite is opened with a single connection: see Transact.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	gcfg := gormConfig()
	u := strings.TrimSpace(cfg.URL)
	if !isPostgresURL(u) {
		if strings.TrimSpace(cfg.ReadURL) != "" {
			return nil, errors.New("store: a read replica (PRIMA_DATABASE_READ_URL) needs PostgreSQL, and the database is SQLite: unset it, or set PRIMA_DATABASE_URL to a postgres:// URL")
		}
		return openSQLite(ctx, u, gcfg)
	}
	db, err := openPostgres(ctx, u, cfg, gcfg)
	if err != nil || strings.TrimSpace(cfg.ReadURL) == "" {
		return db, err
	}
	if db.replica, err = openReplica(ctx, db, cfg); err != nil {
		_ = db.sql.Close()
		return nil, err
	}
	// Started only now: its probe reads db.replica, which the line above wrote.
	go db.replica.run(db)
	return db, nil
}

// gormConfig is the GORM configuration of every handle; GORM keeps state in it, so each
// handle gets its own.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		// Silent: GORM's logger prints SQL with its arguments, and the arguments include
		// guest names, e-mails and phone numbers. Errors are returned to the caller instead.
		Logger:                 logger.Default.LogMode(logger.Silent),
		PrepareStmt:            false,
		SkipDefaultTransaction: true,
		// GORM fills zero CreatedAt/UpdatedAt fields with NowFunc; keep those normalised too.
		NowFunc: func() time.Time { return dbTime(time.Now()) },
	}
}

// DefaultMaxOpenConns is a PostgreSQL pool's size when Config.MaxOpenConns is 0: four
// connections for each CPU this process may use, and at least 8. A request spends most
// of its time waiting for PostgreSQL, so a few connections per CPU keep the process
// busy; more only spread its statements over more backends, which then contend inside
// PostgreSQL (make bench on 2 CPUs: PostgreSQL's CPU a booking flow was 26 to 32 % over
// the same statements from 8 connections with a pool of 20, 15 to 18 % with 8).
func DefaultMaxOpenConns() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// isPostgresURL reports a URL that names a PostgreSQL database.
func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func openPostgres(ctx context.Context, u string, cfg Config, gcfg *gorm.Config) (*DB, error) {
	db, err := newPostgres(u, "database URL", cfg, gcfg, nil)
	if err != nil {
		return nil, err
	}
	if err := db.ping(ctx); err != nil {
		_ = db.sql.Close()
		return nil, err
	}
	return db, nil
}

// newPostgres makes a pool of cfg.MaxOpenConns connections to the PostgreSQL database at
// u (what names it in errors) without connecting yet; adjust, when set, may change pgx's
// configuration first.
func newPostgres(u, what string, cfg Config, gcfg *gorm.Config, adjust func(*pgx.ConnConfig)) (*DB, error) {
	pcfg, err := pgx.ParseConfig(u)
	if err != nil {
		// pgx's message can quote the URL, password included: keep only a generic reason.
		return nil, fmt.Errorf("store: open postgres: invalid %s", what)
	}
	if adjust != nil {
		adjust(pcfg)
	}
	// pgx returns timestamptz values in time.Local; the store hands out UTC everywhere so a
	// value read back equals (and formats like) the value written, whatever TZ the process has.
	sqlDB := stdlib.OpenDB(*pcfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}))
	n := cfg.MaxOpenConns
	if n <= 0 {
		n = DefaultMaxOpenConns()
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)

	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gcfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: open postgres: %w", markUnavailable(err))
	}
	if err := registerUnavailable(g); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return &DB{gorm: g, sql: sqlDB, dialect: DialectPostgres, inv: newInvalidations(), pgConfig: pcfg}, nil
}

// sqliteDSN turns a Config.URL into a glebarez/sqlite DSN, and reports the file's
// directory (empty for :memory:) so Open can create it.
func sqliteDSN(u string) (dsn, dir string) {
	path := u
	switch {
	case path == "":
		path = DefaultSQLitePath
	case strings.HasPrefix(path, "sqlite://"):
		path = strings.TrimPrefix(path, "sqlite://")
	case strings.HasPrefix(path, "sqlite:"):
		path = strings.TrimPrefix(path, "sqlite:")
	}
	if path == "" {
		path = DefaultSQLitePath
	}
	file := path
	if i := strings.IndexByte(file, '?'); i >= 0 {
		file = file[:i]
	}
	file = strings.TrimPrefix(file, "file:")
	if file != ":memory:" && !strings.Contains(path, "mode=memory") {
		dir = filepath.Dir(file)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + sqliteParams, dir
}

func openSQLite(ctx context.Context, u string, gcfg *gorm.Config) (*DB, error) {
	dsn, dir := sqliteDSN(u)
	if dir != "" && dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: open sqlite: create directory: %w", err)
		}
	}
	g, err := gorm.Open(sqlite.Open(dsn), gcfg)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// One connection: SQLite has one writer anyway, and :memory: is a separate database per
	// connection. Never expire it (that would drop a :memory: database).
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	if err := registerUnavailable(g); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	db := &DB{gorm: g, sql: sqlDB, dialect: DialectSQLite, inv: newInvalidations()}
	if err := db.ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the connection pool, and the read replica's.
func (db *DB) Close() error {
	if db.replica != nil {
		db.replica.close()
	}
	if err := db.sql.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// A Step is a caller's further write that must commit in the same transaction as the
// write of the store method it is given to: an idempotency key's recovery point, say.
type Step func(tx *Tx) error

// run runs steps in tx, in order, stopping at the first error.
func (tx *Tx) run(steps []Step) error {
	for _, step := range steps {
		if step == nil {
			continue
		}
		if err := step(tx); err != nil {
			return err
		}
	}
	return nil
}

// Dialect is "postgres" or "sqlite".
func (db *DB) Dialect() string { return db.dialect }

// ProbeTimeout bounds Ping and MigrationStatus: readiness probes call them, and a
// database that takes longer to answer is not ready (a probe must not hang with it).
const ProbeTimeout = time.Second

// Ping checks that the database answers within ProbeTimeout.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	return db.ping(ctx)
}

// ping checks that the database answers, as long as ctx allows: Open's first connection
// may take longer than a probe's.
func (db *DB) ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.dialect, markUnavailable(err))
	}
	return nil
}

// SQL returns the underlying *sql.DB, for tests and operator tools. With SQLite it has a
// single connection: do not hold one (a *sql.Conn, *sql.Rows or *sql.Tx) while calling
// other methods of db.
func (db *DB) SQL() *sql.DB { return db.sql }

// q starts a GORM statement bound to ctx.
func (db *DB) q(ctx context.Context) *gorm.DB { return db.gorm.WithContext(ctx) }

// maxTxAttempts bounds Transact's retries of serialization failures and deadlocks.
const maxTxAttempts = 5

// Transact runs fn in a transaction: committed when fn returns nil, rolled back when it
// returns an error (which Transact returns, wrapped no further unless the database could
// not be reached: then it matches ErrUnavailable) or panics.
//
// On PostgreSQL (READ COMMITTED) a serialization failure or deadlock (SQLSTATE 40001,
// 40P01) rolls back and runs fn again, up to 5 times with a small jittered backoff: fn must
// therefore have no effects outside the transaction that cannot be repeated. So does a
// confirmation code another reservation already has, in either dialect (codeTaken): fn
// draws the code at random, and draws another when it runs again. On SQLite the
// transaction starts with BEGIN IMMEDIATE, so it holds the database's write lock from its
// first statement and transactions run one after the other.
//
// Inside fn use only tx, never db: on SQLite the pool has exactly one connection, which the
// transaction holds, so any call on db from inside fn waits for it forever (a deadlock).
func (db *DB) Transact(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		var tx *Tx
		err = db.q(ctx).Transaction(func(g *gorm.DB) error {
			tx = &Tx{g: g, dialect: db.dialect}
			return fn(tx)
		})
		if err == nil && tx != nil {
			db.inv.publish(tx.changes...)
		}
		again := codeTaken(err) || (db.dialect == DialectPostgres && retryable(err))
		if err == nil || !again || attempt >= maxTxAttempts {
			// BEGIN and COMMIT run outside GORM's statement callbacks: a connection lost
			// there is classified here.
			return markUnavailable(err)
		}
		// 5–15 ms, 10–30 ms, … : enough for the other transaction to finish.
		base := time.Duration(attempt) * 10 * time.Millisecond
		wait := base/2 + rand.N(base) //nolint:gosec // G404: jitter, not security
		select {
		case <-ctx.Done():
			return markUnavailable(errors.Join(err, ctx.Err()))
		case <-time.After(wait):
		}
	}
}

// Dialect is "postgres" or "sqlite".
func (tx *Tx) Dialect() string { return tx.dialect }

// withPgx runs fn with the pgx connection under one of the pool's connections
// (PostgreSQL only), for a read whose rows pgx scans itself: database/sql converts every
// value to a driver.Value and then again to its destination, which for a search's 21
// rows of 36 columns cost more than reading them. fn must close what it opens before
// it returns; the connection goes back to the pool then.
func (db *DB) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: a %T is not a pgx connection", dc)
		}
		return fn(c.Conn())
	})
}

// planEachTime has PostgreSQL plan the transaction's statements for their arguments and
// the tables' size at each execution (plan_cache_mode = force_custom_plan), instead of
// reusing a connection's generic plan. For a background poll of a table that starts
// empty and grows between its statistics' updates (the outbox): a generic plan made
// while the table was empty scans it whole, and its NOT EXISTS scans it whole again for
// each row, for as long as the connection lives, and the statistics that would replace
// the plan come only from (auto)analyze. make bench, whose PostgreSQL runs without
// autovacuum, saw the outbox worker's claim take 27 ms, then 2.4 s twenty seconds into
// the booking run, about one of the machine's two CPUs. Planning a poll costs well
// under a millisecond.
func (tx *Tx) planEachTime() error {
	if tx.dialect != DialectPostgres {
		return nil
	}
	return tx.g.Exec("SET LOCAL plan_cache_mode = force_custom_plan").Error
}

// sqlState is implemented by pgconn.PgError, and by any error that carries a
// PostgreSQL SQLSTATE.
type sqlState interface{ SQLState() string }

// sqliteCode is implemented by glebarez/go-sqlite's *Error.
type sqliteCode interface{ Code() int }

// retryable reports a PostgreSQL serialization failure or deadlock.
func retryable(err error) bool {
	var se sqlState
	if errors.As(err, &se) {
		switch se.SQLState() {
		case "40001", "40P01":
			return true
		}
	}
	return false
}

// codeTaken reports a write refused because another reservation has the confirmation
// code it gave (the reservations_confirmation_code_key constraint of both dialects).
func codeTaken(err error) bool {
	if err == nil || !isUniqueViolation(err) {
		return false
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.ConstraintName == "reservations_confirmation_code_key"
	}
	return strings.Contains(err.Error(), "reservations.confirmation_code") // SQLite's "UNIQUE constraint failed: …"
}

// SQLite result codes (https://www.sqlite.org/rescode.html).
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// isUniqueViolation reports a unique or primary-key constraint refusing a write.
func isUniqueViolation(err error) bool {
	var se sqlState
	if errors.As(err, &se) {
		return se.SQLState() == "23505"
	}
	var sc sqliteCode
	if errors.As(err, &sc) {
		switch sc.Code() {
		case sqliteConstraintPrimaryKey, sqliteConstraintUnique:
			return true
		}
	}
	return errors.Is(err, gorm.ErrDuplicatedKey) || strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// wrap maps driver errors to the store's own (ErrNotFound, ErrConflict, ErrUnavailable) and adds context.
// The driver's error stays in the chain for logs; neither driver puts row values in its
// message, so it never carries guest data.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict):
		return fmt.Errorf("store: %s: %w", op, err)
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("store: %s: %w: %w", op, ErrConflict, err)
	case unavailable(err):
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	default:
		return fmt.Errorf("store: %s: %w", op, err)
	}
}

// idIn is the condition, for GORM's Where, that column holds one of ids, and its
// argument: on PostgreSQL "column = ANY(?)" with the ids as one text[] (textArray), so
// the statement's text is the same for any number of ids (spelt out as IN (…), each
// length is a statement of its own that every connection prepares and PostgreSQL plans
// anew, and that takes a place in each connection's statement cache); on SQLite
// "column IN ?".
func idIn(dialect, column string, ids []string) (string, any) {
	if dialect == DialectPostgres {
		return column + " = ANY(?)", textArray(ids)
	}
	return column + " IN ?", ids
}

// textArray is a list of strings bound as one PostgreSQL text[] parameter (for = ANY(?)),
// where GORM spreads a slice into one parameter per element, so that a statement has one
// text whatever the list's length. PostgreSQL only.
type textArray []string

// Value is the array's text form, {"a","b"}, each element quoted.
func (a textArray) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, c := range []byte(s) {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// dbTime normalises every time the store writes or compares: UTC, truncated to the
// microsecond (PostgreSQL's precision). On SQLite, glebarez/sqlite stores times as text
// ("2006-01-02 15:04:05.999999999-07:00"), and WHERE clauses compare that text: with one
// offset (+00:00) everywhere the text sorts like the instants it names (the fraction's
// trailing zeros are dropped, but '+' and '.' both sort before every digit), and a value
// read back and bound again is the same text, so keyset paging and equality hold.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTimePtr is dbTime for nullable columns.
func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// escapeLike escapes LIKE's wildcards in s, for use with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// pageLimit is Page.Limit with a default.
func pageLimit(p Page) int {
	if p.Limit <= 0 {
		return 20
	}
	return p.Limit
}
