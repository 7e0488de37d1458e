// Command bench measures the PRIMA Partner API against the limits underneath it, on
// loopback only and bounded in time. `make bench` runs it (`go run ./cmd/bench`).
//
// It builds cmd/prima, creates fresh schemas in the PostgreSQL database named by
// PRIMA_BENCH_DATABASE_URL (or PRIMA_DATABASE_URL), seeds them with `prima seed --venues N
// --days D` (2,000 and 200 venues), starts `prima serve` processes on them, and measures:
//
//   - search: GET /v1/availability over a mix of 5,000 distinct city/date/party/time
//     searches drawn with a Zipf popularity, every tenth operation a hold and its cancel
//     (so caches see invalidations), beside the same SQL (store.SearchSlotsStatement) and
//     writes run by pgx at the same concurrency;
//   - booking: hold + finalize flows on distinct slots, beside the same statements and
//     transactions issued directly by pgx (see ceiling.go);
//   - contention: 500 concurrent holds on one 10-table slot over 2 server processes;
//   - growth: search p50/p99 at 200 and at 2,000 venues, and at 20,000 venues (7 days)
//     beside 2,000 on the same 7-day mix;
//   - across processes: a revocation until another process refuses the token, and a
//     hold through one process until another's search stops offering the table (p50/p99);
//     one partner limited to 20/s over 3 processes (shared through Redis with -redis or
//     PRIMA_BENCH_REDIS_URL);
//   - overhead: an authenticated GET /v1/venues/{id} beside a bare Echo handler.
//
// It prints a table, writes the figures to docs/benchmarks/results/latest.json and draws them in
// docs/benchmarks/results/latest.png. The schemas are dropped at the end unless -keep is given.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/store"
)

type options struct {
	venues, smallVenues, days int
	hugeVenues, hugeDays      int
	mix                       int
	tries                     int
	redisURL                  string
	concurrency               int
	duration                  time.Duration
	contenders, contendTables int
	out                       string
	keep                      bool
	// only names the phases to run (empty: all); reuse the suffix of schemas kept by an
	// earlier -keep run, used as they are instead of created and seeded.
	only, reuse string
}

// phases are the parts of a run -only can name.
var phases = []string{"search", "calendar", "booking", "contention", "across", "limit", "growth", "overhead"}

// runs reports whether phase is to run.
func (o options) runs(phase string) bool {
	if o.only == "" {
		return true
	}
	return slices.Contains(strings.Split(o.only, ","), phase)
}

// Report is everything the JSON file holds.
type Report struct {
	StartedAt   time.Time `json:"started_at"`
	GoVersion   string    `json:"go_version"`
	CPUs        int       `json:"cpus"`
	Postgres    string    `json:"postgres"`
	Venues      int       `json:"venues"`
	SmallVenues int       `json:"small_venues"`
	Days        int       `json:"days"`
	Slots       int64     `json:"slots"`
	SeedSeconds float64   `json:"seed_seconds"`
	// Mix is how many distinct searches the mix holds; Drawn how many of them the
	// search run's first 100,000 draws asked (Zipf popularity), and WriteEvery how
	// often a search run holds and cancels a table instead.
	Mix        int `json:"mix"`
	Drawn      int `json:"mix_drawn"`
	WriteEvery int `json:"write_every"`
	HugeVenues int `json:"huge_venues"`
	HugeDays   int `json:"huge_days"`

	Search        Result  `json:"search"`
	SearchCeiling Result  `json:"search_ceiling"`
	SearchRatio   float64 `json:"search_ratio"`
	// SearchCacheHits is the share of the API's searches in the measured search runs
	// that the server answered from its cache of search answers (its metrics, read
	// before and after them).
	SearchCacheHits float64 `json:"search_cache_hit_share"`
	// SearchCacheEntries is how many answers the cache held after those runs, and
	// ServerHeapMB the server's heap in use then (go_memstats_heap_inuse_bytes).
	SearchCacheEntries float64 `json:"search_cache_entries"`
	ServerHeapMB       float64 `json:"server_heap_inuse_mb"`
	// SearchPoolWaits and BookingPoolWaits are the waits for one of the server's primary
	// connections over the measured runs of the search mix and of booking (in the
	// ceiling's halves only the server's background work uses its pool).
	SearchPoolWaits  poolWaits `json:"search_pool_waits"`
	BookingPoolWaits poolWaits `json:"booking_pool_waits"`
	// SearchCeilingAuth runs the token lookup each API request makes before the search
	// statement, so it is every statement the server issues for a search.
	SearchCeilingAuth Result     `json:"search_ceiling_with_token_lookup"`
	SearchRatioAuth   float64    `json:"search_ratio_with_token_lookup"`
	Booking           Result     `json:"booking"`
	BookingCeiling    Result     `json:"booking_ceiling"`
	BookingRatio      float64    `json:"booking_ratio"`
	Contention        Contention `json:"contention"`
	GrowthSmall       Result     `json:"growth_small"`
	GrowthLarge       Result     `json:"growth_large"`
	GrowthP50Ratio    float64    `json:"growth_p50_ratio"`
	// GrowthHugeBase is the main catalogue searched with the huge catalogue's days;
	// GrowthHuge the huge catalogue.
	GrowthHugeBase     Result      `json:"growth_huge_base"`
	GrowthHuge         Result      `json:"growth_huge"`
	GrowthHugeP50Ratio float64     `json:"growth_huge_p50_ratio"`
	Revocation         Propagation `json:"revocation"`
	Freshness          Propagation `json:"search_freshness_after_hold"`
	Limit              Limit       `json:"limit_over_processes"`
	// SearchReads is the search mix without writes; Calendar the 31-day calendar of each
	// search's city; CalendarP50Ratio their p50s (calendar / search).
	SearchReads      Result   `json:"search_reads_only"`
	Calendar         Result   `json:"calendar_31_days"`
	CalendarP50Ratio float64  `json:"calendar_p50_ratio"`
	Overhead         Result   `json:"overhead_authenticated_get"`
	OverheadBare     Result   `json:"overhead_bare_echo"`
	Targets          []Target `json:"targets"`
	// SearchProfile is the server's CPU profile under the search mix, taken in a run
	// of its own after the measured ones.
	SearchProfile Profile `json:"search_profile"`
	// BookingProfile is the server's CPU profile under hold + finalize flows, taken
	// after the booking runs.
	BookingProfile Profile `json:"booking_profile"`
	// OverheadProfile is the server's under the authenticated GET.
	OverheadProfile Profile `json:"overhead_profile"`
}

// Contention is the outcome of many concurrent holds on one slot.
type Contention struct {
	Processes   int            `json:"processes"`
	Attempts    int            `json:"attempts"`
	Tables      int            `json:"tables"`
	Created     int            `json:"created_201"`
	Unavailable int            `json:"slot_unavailable_409"`
	Other       map[string]int `json:"other,omitempty"`
	TablesTaken int            `json:"db_tables_taken"`
	LiveRows    int            `json:"db_live_reservations"`
	Seconds     float64        `json:"seconds"`
	OK          bool           `json:"ok"`
}

// Target is one goal of the issue and whether this run met it.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Goal  string  `json:"goal"`
	Met   bool    `json:"met"`
}

func main() {
	var o options
	flag.IntVar(&o.venues, "venues", 2000, "venues in the main catalogue")
	flag.IntVar(&o.smallVenues, "small-venues", 200, "venues in the small catalogue (growth)")
	flag.IntVar(&o.days, "days", 60, "days of slots")
	flag.IntVar(&o.hugeVenues, "huge-venues", 20000, "venues in the huge catalogue (growth; 0 skips it)")
	flag.IntVar(&o.hugeDays, "huge-days", 7, "days of slots in the huge catalogue")
	flag.IntVar(&o.mix, "mix", 5000, "distinct searches in the search mix")
	flag.IntVar(&o.tries, "tries", 50, "changes timed for revocation and search freshness")
	flag.StringVar(&o.redisURL, "redis", os.Getenv("PRIMA_BENCH_REDIS_URL"), "Redis URL (loopback) for the shared rate limit over 3 processes; empty: the limit is measured per process")
	flag.IntVar(&o.concurrency, "c", 8, "concurrent clients")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "length of each timed run")
	flag.IntVar(&o.contenders, "contenders", 500, "concurrent holds on the contended slot")
	flag.IntVar(&o.contendTables, "contend-tables", 10, "tables of the contended slot")
	flag.StringVar(&o.out, "out", "docs/benchmarks/results", "directory for latest.json and latest.png")
	flag.BoolVar(&o.keep, "keep", false, "keep the benchmark schemas (their suffix is printed, for -reuse)")
	flag.StringVar(&o.only, "only", "", "comma-separated phases to run, of "+strings.Join(phases, ",")+" (empty: all); give -out a scratch directory with it")
	flag.StringVar(&o.reuse, "reuse", "", "the suffix of schemas kept by an earlier run with -keep: use them as they are (one missing is created and seeded), and keep them")
	serveBare := flag.Bool("serve-bare", false, "serve the overhead phase's bare Echo handler on loopback and print its URL (the phase runs this itself)")
	flag.Parse()
	if *serveBare {
		if err := serveBareEcho(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: bare Echo:", err)
			os.Exit(1)
		}
		return
	}
	for _, p := range strings.Split(o.only, ",") {
		if p != "" && !slices.Contains(phases, p) {
			fmt.Fprintf(os.Stderr, "bench: -only: unknown phase %q (phases: %s)\n", p, strings.Join(phases, ","))
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func bench(ctx context.Context, o options) (err error) {
	base := os.Getenv("PRIMA_BENCH_DATABASE_URL")
	if base == "" {
		base = os.Getenv("PRIMA_DATABASE_URL")
	}
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return errors.New("set PRIMA_BENCH_DATABASE_URL or PRIMA_DATABASE_URL to a postgres:// URL (loopback)")
	}
	if err := loopbackOnly(base); err != nil {
		return err
	}
	rep := &Report{StartedAt: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		Venues: o.venues, SmallVenues: o.smallVenues, Days: o.days, WriteEvery: writeEvery,
		HugeVenues: o.hugeVenues, HugeDays: o.hugeDays}

	tmp, err := os.MkdirTemp("", "prima-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "prima")
	logf("building cmd/prima")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/prima-dining/partner-api/cmd/prima") //nolint:gosec // G204: a fixed command; bin is this run's temp file
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if err := admin.QueryRow(ctx, "SHOW server_version").Scan(&rep.Postgres); err != nil {
		return err
	}
	var canCheckpoint bool
	if err := admin.QueryRow(ctx, "SELECT rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') FROM pg_roles WHERE rolname = current_user").Scan(&canCheckpoint); err != nil {
		return err
	}
	suffix := randomHex(4)
	if o.reuse != "" {
		suffix, o.keep = o.reuse, true
	}
	logf("schemas prima_bench_%s*", suffix)
	large, small, huge := "prima_bench_"+suffix, "prima_bench_"+suffix+"_small", "prima_bench_"+suffix+"_huge"
	var autovacuum string
	if err := admin.QueryRow(ctx, "SHOW autovacuum").Scan(&autovacuum); err != nil {
		return err
	}
	analyze := ""
	if autovacuum != "on" {
		// Autoanalyze's stand-in (see beforeRun): the tables the runs write, which start
		// empty.
		analyze = "ANALYZE " + large + "." + strings.Join(writtenTables, ", "+large+".")
		logf("PostgreSQL runs without autovacuum: each measured run starts with an ANALYZE of the tables the runs write, as autoanalyze would keep them")
	}
	if canCheckpoint {
		beforeRun = func(ctx context.Context) {
			if analyze != "" {
				if _, err := admin.Exec(ctx, analyze); err != nil {
					logf("analyze: %v", err)
				}
			}
			if _, err := admin.Exec(ctx, "CHECKPOINT"); err != nil {
				logf("checkpoint: %v", err)
			}
		}
	} else {
		logf("not allowed to CHECKPOINT (superuser or pg_checkpoint): runs may start in another state of PostgreSQL")
	}
	schemas := []string{large, small}
	if o.hugeVenues > 0 {
		schemas = append(schemas, huge)
	}
	fresh := map[string]bool{} // schemas created by this run, to seed
	for _, s := range schemas {
		if o.reuse != "" {
			var n int
			if err := admin.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", s).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
		}
		fresh[s] = true
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+s); err != nil {
			return fmt.Errorf("create schema %s: %w", s, err)
		}
		if !o.keep {
			defer func() {
				if _, derr := admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+s+" CASCADE"); derr != nil {
					logf("drop schema %s: %v", s, derr)
				}
			}()
		}
	}
	largeURL, err := withSearchPath(base, large)
	if err != nil {
		return err
	}
	smallURL, err := withSearchPath(base, small)
	if err != nil {
		return err
	}
	hugeURL, err := withSearchPath(base, huge)
	if err != nil {
		return err
	}

	if err := seedAll(ctx, o, bin, rep, fresh, largeURL, smallURL, hugeURL); err != nil {
		return err
	}

	db, err := store.Open(ctx, store.Config{URL: largeURL, MaxOpenConns: 4})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM slots").Scan(&rep.Slots); err != nil {
		return err
	}
	if err := settle(ctx, db); err != nil {
		return err
	}
	tokens, err := makeTokens(ctx, db, o.concurrency)
	if err != nil {
		return err
	}
	smallDB, err := store.Open(ctx, store.Config{URL: smallURL, MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer smallDB.Close()
	if err := settle(ctx, smallDB); err != nil {
		return err
	}
	smallTokens, err := makeTokens(ctx, smallDB, 1)
	if err != nil {
		return err
	}

	env := []string{"PRIMA_DATABASE_URL=" + largeURL}
	metricsAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	// Only the first process serves profiles (on its metrics listener).
	srv, err := startServer(ctx, bin, append(env, "PRIMA_METRICS_ADDR="+metricsAddr, "PRIMA_PPROF=1"))
	if err != nil {
		return err
	}
	defer srv.stop()
	hc := httpClient(max(o.concurrency, o.contenders))

	queries := searchMix(time.Now(), o.days, o.mix)
	draws := popularity(len(queries), 1_000_000)
	rep.Mix, rep.Drawn = len(queries), distinctDrawn(draws, 100_000)
	logf("search mix: %d distinct searches, %d of them in the first 100,000 draws; every %dth operation holds and cancels", rep.Mix, rep.Drawn, writeEvery)
	// Slots for the booking runs: half of them are booked (each once, by the API or by
	// pgx).
	slotIDs, err := freeSlots(ctx, db, 40000)
	if err != nil {
		return err
	}
	if len(slotIDs) < 400 {
		return fmt.Errorf("only %d free slots; seed more days or venues", len(slotIDs))
	}
	half := len(slotIDs) / 2
	// The search runs' writes hold what the mix's searches find (the same sequence in
	// every run, the API's and the ceiling's), and give it back.
	mixWrites, err := answerSlots(ctx, db, queries, draws, 4096)
	if err != nil {
		return err
	}
	writeSlots := func(int) []string { return mixWrites }
	tokenSQL, _ := db.TokenByHashStatement("")
	ceiling, err := newPgxWorkers(ctx, largeURL, o.concurrency, tokenSQL)
	if err != nil {
		return err
	}
	defer ceiling.close()
	if o.runs("search") {
		if err := benchSearch(ctx, o, rep, bin, metricsAddr, srv, hc, db, ceiling, tokens, queries, draws, writeSlots); err != nil {
			return err
		}
	}
	if o.runs("calendar") {
		// The 31-day city calendar beside one day's search, both reads only, the same mix,
		// both from the database (searchNoCache).
		logf("calendar: 31-day city calendars vs one day's search, reads only, from the database, %s each", o.duration/2)
		reads, err := startServer(ctx, bin, append(slices.Clone(env), searchNoCache))
		if err != nil {
			return err
		}
		readsOp := searchOp(hc, reads.url, tokens[0].secret, queries, draws)
		warmUp(ctx, o, readsOp)
		rep.SearchReads = measured(ctx, reads.pid(), "search API, reads only", o.concurrency, o.duration/2, 1<<30, readsOp)
		rep.Calendar = measured(ctx, reads.pid(), "calendar API, 31 days of a city", o.concurrency, o.duration/2, 1<<30, calendarOp(hc, reads.url, tokens[0].secret, queries, draws))
		reads.stop()
		rep.CalendarP50Ratio = ratio(rep.Calendar.P50ms, rep.SearchReads.P50ms)
	}
	if o.runs("booking") {
		// Booking on distinct slots: the API, then the same writes through pgx, then the
		// API again with a CPU profile of the server, on the slots the first run left.
		logf("booking: API hold+finalize and the same writes through pgx, at concurrency %d, interleaved, %s each", o.concurrency, o.duration)
		waits := primaryPoolWaits(ctx, metricsAddr)
		rep.Booking, rep.BookingCeiling = interleaved(ctx, srv.pid(), 0, "booking API", "booking SQL (pgx)", o.concurrency, o.duration,
			continued(half, bookingOp(hc, srv.url, tokens, slotIDs[:half])), continued(half, ceiling.bookingOp(tokens, slotIDs[half:2*half])))
		rep.BookingRatio = ratio(rep.Booking.PerSecond, rep.BookingCeiling.PerSecond)
		rep.BookingPoolWaits = primaryPoolWaits(ctx, metricsAddr).since(waits)
		logf("booking: the API again for %s, with a CPU profile of the server", o.duration)
		left := slotIDs[min(rep.Booking.Ops+rep.Booking.Errors, half):half]
		rep.BookingProfile, err = profileRun(ctx, bin, metricsAddr, o.out, "booking", o.concurrency, o.duration, len(left), bookingOp(hc, srv.url, tokens, left))
		if err != nil {
			return err
		}
	}
	var venueID string
	if err := db.SQL().QueryRowContext(ctx, "SELECT id FROM venues ORDER BY id LIMIT 1").Scan(&venueID); err != nil {
		return err
	}
	if o.runs("contention") || o.runs("across") {
		if err := benchTwoProcesses(ctx, o, rep, bin, env, srv, hc, db, tokens, venueID); err != nil {
			return err
		}
	}
	if o.runs("limit") {
		if err := benchLimit(ctx, o, rep, bin, env, hc, db, tokens, venueID); err != nil {
			return err
		}
	}
	if o.runs("growth") {
		if err := benchGrowth(ctx, o, rep, bin, env, hc, tokens, smallTokens, queries, draws, smallURL, hugeURL); err != nil {
			return err
		}
	}
	if o.runs("overhead") {
		// Overhead: an authenticated GET beside a bare Echo handler.
		logf("overhead: authenticated GET /v1/venues/{id} and a bare Echo handler")
		getVenue := getOp(hc, srv.url+"/v1/venues/"+venueID, tokens[0].secret)
		bare, err := startBareEcho(ctx)
		if err != nil {
			return err
		}
		defer bare.Close()
		rep.Overhead, rep.OverheadBare = interleaved(ctx, srv.pid(), bare.pid(), "GET /v1/venues/{id} (auth)", "bare Echo handler", o.concurrency, o.duration/2,
			continued(1<<30, getVenue), continued(1<<30, getOp(hc, bare.url, "")))
		logf("overhead: the authenticated GET again, with a CPU profile of the server")
		if rep.OverheadProfile, err = profileRun(ctx, bin, metricsAddr, o.out, "overhead", o.concurrency, o.duration/2, 1<<30, getVenue); err != nil {
			return err
		}
	}
	return finish(o, rep)
}

// benchTwoProcesses runs the contention and the across-processes phases with a second
// server process beside srv.
func benchTwoProcesses(ctx context.Context, o options, rep *Report, bin string, env []string, srv *server, hc *http.Client, db *store.DB, tokens []token, venueID string) error {
	srv2, err := startServer(ctx, bin, env)
	if err != nil {
		return err
	}
	defer srv2.stop()
	if o.runs("contention") {
		logf("contention: %d holds on one %d-table slot over 2 processes", o.contenders, o.contendTables)
		rep.Contention, err = contention(ctx, hc, db, []string{srv.url, srv2.url}, tokens, o.contenders, o.contendTables)
		if err != nil {
			return err
		}
	}
	if !o.runs("across") {
		return nil
	}
	// Across processes: a revocation through the database, a hold through one process,
	// each timed until the other process shows it.
	logf("revocation: %d tokens revoked, each timed until the other process refuses it", o.tries)
	if rep.Revocation, err = revocation(ctx, hc, db, srv2.url, venuePath(venueID), o.tries); err != nil {
		return err
	}
	logf("freshness: %d holds through one process, each timed until the other's search no longer offers the table", o.tries)
	fresh, err := freeSlots(ctx, db, 100000)
	if err != nil {
		return err
	}
	rep.Freshness, err = freshness(ctx, hc, db, srv.url, srv2.url, tokens, fresh[len(fresh)-o.tries:], o.tries)
	return err
}

// benchLimit measures one partner's limit over 3 processes.
func benchLimit(ctx context.Context, o options, rep *Report, bin string, env []string, hc *http.Client, db *store.DB, tokens []token, venueID string) error {
	var err error
	// One partner's limit over 3 processes, shared through Redis when -redis is given.
	logf("limit: one partner limited to 20/s, over 3 processes (redis %q)", o.redisURL)
	limitEnv := env
	if o.redisURL != "" {
		u, err := url.Parse(o.redisURL)
		if err != nil {
			return errors.New("-redis: invalid URL")
		}
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("the benchmark runs on loopback only; Redis host %q is not", u.Hostname())
		}
		limitEnv = append(slices.Clone(env), "PRIMA_REDIS_URL="+o.redisURL)
	}
	var limited []string
	for range 3 {
		p, err := startServer(ctx, bin, limitEnv)
		if err != nil {
			return err
		}
		defer p.stop()
		limited = append(limited, p.url)
	}
	if rep.Limit, err = limitAcross(ctx, hc, db, limited, tokens[len(tokens)-1], venuePath(venueID), 20, 10*time.Second, o.redisURL != ""); err != nil {
		return err
	}
	if o.redisURL != "" {
		rep.Limit.Shared = "redis"
	}
	return nil
}

// benchGrowth measures search at the small and the huge catalogues beside the main one.
func benchGrowth(ctx context.Context, o options, rep *Report, bin string, env []string, hc *http.Client, tokens, smallTokens []token, queries []query, draws []int, smallURL, hugeURL string) error {
	// Growth is the query's: every process here reads the database for each search
	// (searchNoCache), the same searches without writes on each catalogue.
	srv, err := startServer(ctx, bin, append(slices.Clone(env), searchNoCache))
	if err != nil {
		return err
	}
	defer srv.stop()
	srvSmall, err := startServer(ctx, bin, []string{"PRIMA_DATABASE_URL=" + smallURL, searchNoCache})
	if err != nil {
		return err
	}
	logf("growth: search at %d venues beside %d, reads only, from the database, interleaved, %s each", o.smallVenues, o.venues, o.duration)
	largeOp := searchOp(hc, srv.url, tokens[0].secret, queries, draws)
	smallOp := searchOp(hc, srvSmall.url, smallTokens[0].secret, queries, draws)
	warmUp(ctx, o, largeOp)
	warmUp(ctx, o, smallOp)
	rep.GrowthLarge, rep.GrowthSmall = interleaved(ctx, srv.pid(), srvSmall.pid(),
		fmt.Sprintf("search API, %d venues", o.venues), fmt.Sprintf("search API, %d venues", o.smallVenues),
		o.concurrency, o.duration, continued(1<<30, largeOp), continued(1<<30, smallOp))
	srvSmall.stop()
	rep.GrowthP50Ratio = ratio(rep.GrowthLarge.P50ms, rep.GrowthSmall.P50ms)
	if o.hugeVenues > 0 {
		hugeQueries := searchMix(time.Now(), o.hugeDays, o.mix)
		hugeDraws := popularity(len(hugeQueries), 1_000_000)
		hugeDB, err := store.Open(ctx, store.Config{URL: hugeURL, MaxOpenConns: 2})
		if err != nil {
			return err
		}
		defer hugeDB.Close()
		if err := settle(ctx, hugeDB); err != nil {
			return err
		}
		hugeTokens, err := makeTokens(ctx, hugeDB, 1)
		if err != nil {
			return err
		}
		srvHuge, err := startServer(ctx, bin, []string{"PRIMA_DATABASE_URL=" + hugeURL, searchNoCache})
		if err != nil {
			return err
		}
		logf("growth: search at %d venues (%d days) beside %d venues, the same mix, interleaved, %s each", o.hugeVenues, o.hugeDays, o.venues, o.duration)
		baseOp := searchOp(hc, srv.url, tokens[0].secret, hugeQueries, hugeDraws)
		hugeOp := searchOp(hc, srvHuge.url, hugeTokens[0].secret, hugeQueries, hugeDraws)
		warmUp(ctx, o, baseOp)
		warmUp(ctx, o, hugeOp)
		rep.GrowthHuge, rep.GrowthHugeBase = interleaved(ctx, srvHuge.pid(), srv.pid(),
			fmt.Sprintf("search API, %d venues", o.hugeVenues), fmt.Sprintf("search API, %d venues, %d-day mix", o.venues, o.hugeDays),
			o.concurrency, o.duration, continued(1<<30, hugeOp), continued(1<<30, baseOp))
		srvHuge.stop()
		rep.GrowthHugeP50Ratio = ratio(rep.GrowthHuge.P50ms, rep.GrowthHugeBase.P50ms)
	}
	return nil
}

// warmUp runs op unmeasured for a fifth of a run (at least 2 s), so that a process just
// started (its caches, its connections and their prepared statements) and the
// database's buffers for its catalogue are measured warm, as the main process is.
func warmUp(ctx context.Context, o options, op func(context.Context, int, int) error) {
	run(ctx, "warm-up", o.concurrency, max(o.duration/5, 2*time.Second), 1<<30, op)
}

// benchSearch runs the search mix through the API and through pgx (with and without the
// token lookup), then again through the API with a CPU profile of the server.
func benchSearch(ctx context.Context, o options, rep *Report, bin, metricsAddr string, srv *server, hc *http.Client, db *store.DB, ceiling *pgxWorkers, tokens []token, queries []query, draws []int, writeSlots func(int) []string) error {
	stmts, err := searchStatements(ctx, db, queries)
	if err != nil {
		return err
	}
	logf("search: API and the same SQL through pgx, at concurrency %d, interleaved, %s each", o.concurrency, o.duration)
	warmUp(ctx, o, searchOp(hc, srv.url, tokens[0].secret, queries, draws))
	before, waits := searchLookups(ctx, metricsAddr), primaryPoolWaits(ctx, metricsAddr)
	rep.Search, rep.SearchCeiling = interleaved(ctx, srv.pid(), 0, "search API", "search SQL (pgx)", o.concurrency, o.duration,
		continued(1<<30, mixed(searchOp(hc, srv.url, tokens[0].secret, queries, draws), holdCancelOp(hc, srv.url, tokens, writeSlots(0)))),
		continued(1<<30, mixed(ceiling.searchOp(stmts, draws), ceiling.holdCancelOp(tokens, writeSlots(1)))))
	rep.SearchRatio = ratio(rep.Search.PerSecond, rep.SearchCeiling.PerSecond)
	rep.SearchCacheHits = searchLookups(ctx, metricsAddr).since(before)
	rep.SearchPoolWaits = primaryPoolWaits(ctx, metricsAddr).since(waits)
	m := scrape(ctx, metricsAddr)
	rep.SearchCacheEntries, rep.ServerHeapMB = m[`prima_cache_entries{cache="searches"}`], m["go_memstats_heap_inuse_bytes"]/(1<<20)
	logf("search: the token lookup and the search SQL through pgx")
	rep.SearchCeilingAuth = measured(ctx, 0, "token + search SQL (pgx)", o.concurrency, o.duration, 1<<30,
		mixed(ceiling.searchWithTokenOp(tokens[0].hash, stmts, draws), ceiling.holdCancelOp(tokens, writeSlots(2))))
	rep.SearchRatioAuth = ratio(rep.Search.PerSecond, rep.SearchCeilingAuth.PerSecond)
	logf("search: the API again for %s, with a CPU profile of the server", o.duration)
	rep.SearchProfile, err = profileRun(ctx, bin, metricsAddr, o.out, "search", o.concurrency, o.duration, 1<<30,
		mixed(searchOp(hc, srv.url, tokens[0].secret, queries, draws), holdCancelOp(hc, srv.url, tokens, writeSlots(3))))
	return err
}

// finish prints the table of rep and writes its files to o.out.
func finish(o options, rep *Report) error {
	rep.Targets = targets(rep)
	printTable(os.Stdout, rep)
	if err := os.MkdirAll(o.out, 0o750); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "latest.json"), append(js, '\n'), 0o600); err != nil {
		return err
	}
	if err := writeChart(filepath.Join(o.out, "latest.png"), rep); err != nil {
		return err
	}
	logf("wrote %s and %s", filepath.Join(o.out, "latest.json"), filepath.Join(o.out, "latest.png"))
	if o.runs("contention") && !rep.Contention.OK {
		return errors.New("contention: the no-overbooking check failed")
	}
	return nil
}

// settle vacuums the seeded catalogue's tables and analyzes the schema, so that what
// follows a bulk load (autovacuum's first pass over millions of new rows, the hint bits
// the first reads of each page would set) is not done inside the first measured run,
// which is the API's.
func settle(ctx context.Context, db *store.DB) error {
	if _, err := db.SQL().ExecContext(ctx, "VACUUM (ANALYZE) slots, venues, slot_day_counts, city_zones"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	_, err := db.SQL().ExecContext(ctx, "ANALYZE")
	return err
}

// beforeRun, when set, runs before every measured run: a CHECKPOINT, so that each run
// starts from the same state of PostgreSQL. Otherwise a checkpoint (which the writes'
// WAL starts every few tens of seconds) lands inside one run, and the first run after it
// pays for the full-page images of every page it is first to change, leaving the pages
// cheap for the run that follows: the API's, as it runs first, against its ceiling's.
//
// Where PostgreSQL runs without autovacuum (this workplace's CI configuration), it also
// ANALYZEs the tables the runs write (writtenTables). They start empty, and a
// statement's cached generic plan, made while its table was empty, is a sequential scan
// that nothing replaces until the statistics change: in production autoanalyze changes
// them within a minute or so of the table's growth. Without it the API, whose server
// runs its statements first, on empty tables, kept such plans for the whole run (its
// reservation reads and updates, the history inserts, the hold count: 17 to 23 ms each
// in the slow-statement log at 14:42), while its ceiling's, prepared later, were not.
var beforeRun func(context.Context)

// writtenTables are the tables the measured runs write, in the main catalogue's schema.
var writtenTables = []string{"reservations", "reservation_events", "outbox", "idempotency_keys",
	"partner_events", "audit_events", "venue_notifications", "slot_changes"}

// seedAll seeds the catalogues of a run whose schemas it created (fresh, by name; a
// reused schema is used as it is).
func seedAll(ctx context.Context, o options, bin string, rep *Report, fresh map[string]bool, largeURL, smallURL, hugeURL string) error {
	if fresh[schemaOf(largeURL)] {
		logf("seeding %d venues × %d days", o.venues, o.days)
		t0 := time.Now()
		if err := seed(ctx, bin, largeURL, o.venues, o.days); err != nil {
			return err
		}
		rep.SeedSeconds = time.Since(t0).Seconds()
		logf("seeded in %.1fs", rep.SeedSeconds)
	}
	if fresh[schemaOf(smallURL)] {
		logf("seeding %d venues × %d days", o.smallVenues, o.days)
		if err := seed(ctx, bin, smallURL, o.smallVenues, o.days); err != nil {
			return err
		}
	}
	if o.hugeVenues > 0 && fresh[schemaOf(hugeURL)] {
		logf("seeding %d venues × %d days", o.hugeVenues, o.hugeDays)
		return seed(ctx, bin, hugeURL, o.hugeVenues, o.hugeDays)
	}
	return nil
}

// measured is run with the CPU time of the server process (pid 0: none), this process
// and the rest of the machine attributed per operation.
func measured(ctx context.Context, serverPID int, name string, conc int, d time.Duration, maxOps int, op func(context.Context, int, int) error) Result {
	if beforeRun != nil {
		beforeRun(ctx)
	}
	before := sampleCPU(serverPID)
	r := run(ctx, name, conc, d, maxOps, op)
	r.CPU = cpuPerOp(before, sampleCPU(serverPID), r.Ops)
	return r
}

// segment is an operation to time from its from-th call on (the calls before it were
// made by an earlier run), and how many calls it may still make.
type segment func(from int) (maxOps int, op func(context.Context, int, int) error)

// continued is the segment of op that carries on where an earlier run stopped: its
// sequence numbers go on from there, so a run's second half books the slots its first
// did not reach and draws the searches that follow the first's.
func continued(maxOps int, op func(context.Context, int, int) error) segment {
	return func(from int) (int, func(context.Context, int, int) error) {
		return maxOps - from, func(ctx context.Context, w, seq int) error { return op(ctx, w, from+seq) }
	}
}

// warmUpRounds is how many operations each client runs to warm a side up.
const warmUpRounds = 10

// interleaved measures the API's operation (its server's pid) beside its ceiling (ceilPID: the
// process serving it, if not this one; 0 for the ceilings run from here) in the
// order API, ceiling, ceiling, API, each for d/2, and merges each pair: whatever drifts
// over the four runs (PostgreSQL's tables and caches as the writes accumulate, a
// checkpoint's after-effects, the host) weighs on both alike, where running the API for d
// and then its ceiling for d charged any drift to one of them.
//
// Each side is first warmed up, unmeasured, with warmUpRounds operations per client, so
// that neither pays in its measured runs what a process pays once: the connections its
// pool opens up to the concurrency (a new PostgreSQL backend's first statements fill
// its catalog caches and are planned), the statements pgx prepares on each of them.
func interleaved(ctx context.Context, pid, ceilPID int, apiName, ceilName string, conc int, d time.Duration, api, ceil segment) (Result, Result) {
	seg := func(pid int, name string, s segment, from int) Result {
		n, op := s(from)
		return measured(ctx, pid, name, conc, d/2, n, op)
	}
	warm := func(s segment) int {
		n, op := s(0)
		w := run(ctx, "warm-up", conc, d/2, min(n, warmUpRounds*conc), op)
		return w.Ops + w.Errors
	}
	aw, cw := warm(api), warm(ceil)
	a1 := seg(pid, apiName, api, aw)
	c1 := seg(ceilPID, ceilName, ceil, cw)
	c2 := seg(ceilPID, ceilName, ceil, cw+c1.Ops+c1.Errors)
	a2 := seg(pid, apiName, api, aw+a1.Ops+a1.Errors)
	return merge(a1, a2), merge(c1, c2)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loopbackOnly refuses a database that is not on this machine.
func loopbackOnly(raw string) error {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return errors.New("invalid database URL")
	}
	if strings.HasPrefix(cfg.Host, "/") || cfg.Host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(cfg.Host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("the benchmark runs on loopback only; database host %q is not", cfg.Host)
}

// withSearchPath adds search_path=schema to a PostgreSQL URL; pgx sends it as a run-time
// setting of every connection.
// schemaOf is the schema a URL made by withSearchPath names.
func schemaOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Query().Get("search_path")
}

func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("invalid database URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func seed(ctx context.Context, bin, dbURL string, venues, days int) error {
	cmd := exec.CommandContext(ctx, bin, "seed", "--venues", fmt.Sprint(venues), "--days", fmt.Sprint(days)) //nolint:gosec // G204: bin is the binary this run built
	cmd.Env = append(os.Environ(), "PRIMA_DATABASE_URL="+dbURL, "PRIMA_LOG_LEVEL=warn")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("prima seed: %w", err)
	}
	return nil
}

type token struct {
	secret, partnerID, tokenID, hash string
}

// makeTokens issues n tokens, one partner each, with every scope, and lifts the
// partners' rate limits where the schema has them (the benchmark measures the server,
// not its limiter).
func makeTokens(ctx context.Context, db *store.DB, n int) ([]token, error) {
	svc := access.NewService(db)
	out := make([]token, 0, n)
	for i := range n {
		secret, t, err := svc.Create(ctx, access.CreateParams{Partner: fmt.Sprintf("bench-%d", i), Name: "bench"})
		if err != nil {
			return nil, err
		}
		tk := token{secret: secret, tokenID: t.ID}
		if err := db.SQL().QueryRowContext(ctx, "SELECT partner_id, hash FROM tokens WHERE id = $1", t.ID).Scan(&tk.partnerID, &tk.hash); err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	var has bool
	err := db.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'partners' AND column_name = 'rate_limit_per_second')`).Scan(&has)
	if err != nil {
		return nil, err
	}
	if has {
		if _, err := db.SQL().ExecContext(ctx, "UPDATE partners SET rate_limit_per_second = 1000000, rate_limit_burst = 1000000"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// server is one `prima serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// searchNoCache runs a server whose searches all read the database: the measures of the
// search query itself (the calendar's comparison, growth with the catalogue), where the
// cache of search answers, with no writes to drop its answers, would answer nearly every
// search and hide the query. The search mix, with its writes, measures the cache as
// partners get it.
const searchNoCache = "PRIMA_SEARCH_CACHE_TTL=0"

func startServer(ctx context.Context, bin string, env []string) (*server, error) {
	cmd := exec.Command(bin, "serve", "--migrate=false")
	cmd.Env = append(os.Environ(), env...)
	// The benchmark measures the server, not its rate limiter: each token's bucket is
	// made too large to matter (the bench partners' own limits are lifted too), and so is
	// the failed-authentication bucket, which the revocation runs' refusals would empty.
	cmd.Env = append(cmd.Env, "PRIMA_ADDR=127.0.0.1:0", "PRIMA_LOG_LEVEL=error", "PRIMA_RATE_LIMIT=1000000/s burst 1000000",
		"PRIMA_AUTH_FAILURE_LIMIT=1000000/s burst 1000000")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		buf := make([]byte, 0, 4096)
		chunk := make([]byte, 1024)
		sent := false
		for {
			n, err := stdout.Read(chunk)
			buf = append(buf, chunk[:n]...)
			if !sent {
				if i := strings.Index(string(buf), "PRIMA Partner API on "); i >= 0 {
					rest := string(buf[i+len("PRIMA Partner API on "):])
					if j := strings.IndexAny(rest, " \n"); j >= 0 {
						urls <- rest[:j]
						sent = true
					}
				}
			}
			if err != nil {
				break
			}
		}
		if !sent {
			close(urls)
		}
		s.done <- cmd.Wait()
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			return nil, errors.New("prima serve exited before its banner")
		}
		s.url = u
		return s, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, errors.New("prima serve printed no banner in 30s")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return nil, ctx.Err()
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop ends the process with SIGTERM (a graceful shutdown), killing it after 30 s.
func (s *server) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			logf("prima serve at %s: %v", s.url, err)
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		err := <-s.done
		logf("prima serve at %s killed after 30s: %v", s.url, err)
	}
	s.cmd.ProcessState = &os.ProcessState{}
}

func httpClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// bareServer is an Echo app with one handler and no middleware, on loopback, in a
// process of its own (this program, run again with -serve-bare), as prima serve is: the
// two are measured on equal terms, each across a process boundary from the load
// generator, with its own CPU counted as the server's. Inside the load generator, sharing
// its Go scheduler, the handler ran 14-19 % faster (docs/benchmarks.md).
type bareServer struct {
	url string
	cmd *exec.Cmd
}

func (b *bareServer) pid() int { return b.cmd.Process.Pid }

func (b *bareServer) Close() {
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
}

// startBareEcho runs this program with -serve-bare and reads the URL it prints.
func startBareEcho(ctx context.Context) (*bareServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-serve-bare") //nolint:gosec // G204: this program itself
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &bareServer{cmd: cmd}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case u, ok := <-line:
		if ok && strings.HasPrefix(u, "http://127.0.0.1:") {
			b.url = u
			return b, nil
		}
		b.Close()
		return nil, fmt.Errorf("bare Echo: unexpected first line %q", u)
	case <-time.After(30 * time.Second):
		b.Close()
		return nil, errors.New("bare Echo: no URL within 30 s")
	}
}

// serveBareEcho serves the bare handler on a loopback port and prints its URL.
func serveBareEcho() error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/ping", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"object": "ping", "ok": true})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("http://" + ln.Addr().String() + "/ping")
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}

func getOp(hc *http.Client, u, secret string) func(context.Context, int, int) error {
	return func(ctx context.Context, _, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		_, err = doJSON(hc, req, http.StatusOK, nil)
		return err
	}
}

// doJSON sends req, checks the status and decodes the body into out (when non-nil).
func doJSON(hc *http.Client, req *http.Request, want int, out any) (int, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != want {
		return resp.StatusCode, fmt.Errorf("%s %s: %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(body, out)
	}
	return resp.StatusCode, nil
}
