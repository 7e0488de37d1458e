package scaleout_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/store/storetest"
)

// haproxyBinary is Debian's haproxy (PRIMA_TEST_HAPROXY names another). Without it the
// test skips, unless PRIMA_REQUIRE_INTEGRATION=1 (CI installs it), where it fails.
func haproxyBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PRIMA_TEST_HAPROXY"); p != "" {
		return p
	}
	for _, p := range []string{"haproxy", "/usr/sbin/haproxy"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv(storetest.EnvRequireIntegration) == "1" {
		t.Fatal("PRIMA_REQUIRE_INTEGRATION=1 but haproxy is not installed (apt-get install haproxy; .ci/run's haproxy phase does)")
	}
	t.Skip("haproxy is not installed (apt-get install haproxy), or set PRIMA_TEST_HAPROXY")
	return ""
}

var haproxyBlockRE = regexp.MustCompile("(?s)```haproxy\n(.*?)```")

// haproxyConfig is the configuration docs/scale-out.md documents, with this test's
// listener, servers and admin socket in place of the example's: every setting that
// matters (checks, timeouts, retries) is the documented one.
func haproxyConfig(t *testing.T, port int, servers []string, socket string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/scale-out.md")
	if err != nil {
		t.Fatal(err)
	}
	m := haproxyBlockRE.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/scale-out.md has no ```haproxy block")
	}
	var out []string
	replaced := map[string]bool{}
	for _, line := range strings.Split(string(m[1]), "\n") {
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		switch f := strings.Fields(line); {
		case len(f) >= 2 && f[0] == "stats" && f[1] == "socket":
			out = append(out, indent+"stats socket "+socket+" mode 600 level admin")
			replaced["stats socket"] = true
		case len(f) >= 1 && f[0] == "bind":
			out = append(out, fmt.Sprintf("%sbind 127.0.0.1:%d", indent, port))
			replaced["bind"] = true
		case len(f) >= 1 && f[0] == "server":
			if !replaced["server"] {
				for i, addr := range servers {
					out = append(out, fmt.Sprintf("%sserver %s %s", indent, serverName(i), addr))
				}
			}
			replaced["server"] = true
		default:
			out = append(out, line)
		}
	}
	for _, want := range []string{"stats socket", "bind", "server"} {
		if !replaced[want] {
			t.Fatalf("docs/scale-out.md's haproxy block has no %q line to replace", want)
		}
	}
	return strings.Join(out, "\n")
}

func serverName(i int) string { return fmt.Sprintf("prima%d", i+1) }

// haproxy is a running haproxy with its admin socket.
type haproxy struct {
	url    string
	socket string
	log    *syncBuffer
	exited chan struct{} // closed when it exits, with exit set
	exit   error
}

func startHAProxy(t *testing.T, bin, config, socket string, port int) *haproxy {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, config)
	}
	h := &haproxy{url: fmt.Sprintf("http://127.0.0.1:%d", port), socket: socket, log: &syncBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(bin, "-db", "-f", cfg) // -db: in the foreground
	cmd.Stdout, cmd.Stderr = h.log, h.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	go func() {
		h.exit = cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		// SIGTERM is haproxy's hard stop: it ends by the signal, so its exit is no news.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-h.exited
		}
		if t.Failed() {
			t.Logf("haproxy's log:\n%s", h.log.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := h.servers(); err == nil {
			return h
		}
		select {
		case <-h.exited:
			t.Fatalf("haproxy exited (%v):\n%s", h.exit, h.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy's admin socket did not answer within 15s:\n%s", h.log.String())
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline above
	}
}

// serverStat is one backend server's row of haproxy's `show stat`.
type serverStat struct {
	status        string // UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (coming up), ...
	answered2xx   int    // hrsp_2xx: answers from this server
	retries       int    // wretr
	redispatches  int    // wredis
	checksFailed  int    // chkfail
	downtransfers int    // chkdown: UP to DOWN transitions
}

// servers asks haproxy's admin socket for the backend's servers.
func (h *haproxy) servers() (map[string]serverStat, error) {
	conn, err := net.DialTimeout("unix", h.socket, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "# "))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("show stat: %w: %q", err, raw)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("show stat: no server rows: %q", raw)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"pxname", "svname", "status", "hrsp_2xx", "wretr", "wredis", "chkfail", "chkdown"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("show stat has no %s column: %q", name, rows[0])
		}
	}
	num := func(row []string, name string) int {
		n, _ := strconv.Atoi(row[col[name]])
		return n
	}
	out := map[string]serverStat{}
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) || row[col["pxname"]] != "prima" || row[col["svname"]] == "BACKEND" {
			continue
		}
		out[row[col["svname"]]] = serverStat{
			status:      row[col["status"]],
			answered2xx: num(row, "hrsp_2xx"), retries: num(row, "wretr"), redispatches: num(row, "wredis"),
			checksFailed: num(row, "chkfail"), downtransfers: num(row, "chkdown"),
		}
	}
	return out, nil
}

// waitFor polls haproxy until cond holds for the server, or fails the test at the deadline.
func (h *haproxy) waitFor(t *testing.T, server, what string, within time.Duration, cond func(serverStat) bool) serverStat {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		all, err := h.servers()
		if err == nil && cond(all[server]) {
			return all[server]
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy: %s not %s within %v (last: %+v, %v)", server, what, within, all[server], err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline above
	}
}

// load is the steady booking traffic: workers that search, hold, finalize and read
// back, each on its own slot so that every request must succeed.
type load struct {
	mu        sync.Mutex
	requests  int
	failures  []string
	confirmed map[string]string // reservation id → slot id
	bySlot    map[string]int
}

// record counts one answer, and a failure unless it is the wanted status.
func (l *load) record(what string, status, want int, body map[string]any, err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if err != nil || status != want {
		l.failures = append(l.failures, fmt.Sprintf("%s: %d %s %v", what, status, errorCode(body), err))
		return false
	}
	return true
}

func (l *load) run(ctx context.Context, c *client, base, venueID, slotID, date string, worker int) {
	for i := 0; ctx.Err() == nil; i++ {
		st, b, err := c.do(http.MethodGet, base+"/v1/availability?date="+date+"&party_size=2&venue_id="+venueID, nil)
		l.record("search", st, http.StatusOK, b, err)
		st, b, err = c.do(http.MethodPost, base+"/v1/reservations", holdBody(slotID, worker*100000+i))
		if !l.record("hold", st, http.StatusCreated, b, err) {
			continue
		}
		id, _ := b["id"].(string)
		st, b, err = c.do(http.MethodPost, base+"/v1/reservations/"+id+"/finalize", nil)
		if !l.record("finalize "+id, st, http.StatusOK, b, err) {
			continue
		}
		l.mu.Lock()
		l.confirmed[id] = slotID
		l.bySlot[slotID]++
		l.mu.Unlock()
		st, b, err = c.do(http.MethodGet, base+"/v1/reservations/"+id, nil)
		if l.record("get "+id, st, http.StatusOK, b, err) && b["status"] != "confirmed" {
			l.mu.Lock()
			l.failures = append(l.failures, fmt.Sprintf("get %s: status %v after its finalize, want confirmed", id, b["status"]))
			l.mu.Unlock()
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRollingRestartBehindHAProxyLosesNoRequest puts Debian's haproxy, configured as
// docs/scale-out.md says (health checks on /readyz), in front of three `prima serve`
// processes on one PostgreSQL schema, and restarts them one at a time (SIGTERM, exit 0,
// start again on the same port) under steady booking traffic through haproxy. haproxy
// must take each process out while it still runs (its /readyz turns 503 at SIGTERM) and
// put it back once it is up; every request must succeed, and the database must hold
// exactly the confirmed bookings.
func TestRollingRestartBehindHAProxyLosesNoRequest(t *testing.T) {
	haproxyBin := haproxyBinary(t)
	dbURL := storetest.PostgresURL(t)
	bin := buildPrima(t)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	db := seededDB(ctx, t, dbURL, 1, 2)
	// One standard slot per worker, with more tables than the test can book.
	const workers = 4
	sqlDB := db.SQL()
	var venueID string
	if err := sqlDB.QueryRowContext(ctx, `SELECT id FROM venues LIMIT 1`).Scan(&venueID); err != nil {
		t.Fatal(err)
	}
	rows, err := sqlDB.QueryContext(ctx, `SELECT id, local_date FROM slots WHERE venue_id = $1 AND type = 'standard'
		AND party_size_min <= 2 AND party_size_max >= 2 ORDER BY starts_at, id LIMIT $2`, venueID, workers)
	if err != nil {
		t.Fatal(err)
	}
	var slots, dates []string
	for rows.Next() {
		var id, date string
		if err := rows.Scan(&id, &date); err != nil {
			t.Fatal(err)
		}
		slots, dates = append(slots, id), append(dates, date)
	}
	if err := rows.Close(); err != nil || len(slots) != workers {
		t.Fatalf("%d standard slots for 2 (%v), want %d", len(slots), err, workers)
	}
	if _, err := sqlDB.ExecContext(ctx, `UPDATE slots SET tables = 100000 WHERE id = ANY($1)`, "{"+strings.Join(slots, ",")+"}"); err != nil {
		t.Fatal(err)
	}
	secret, _, err := access.NewService(db).Create(ctx, access.CreateParams{Partner: "haproxy", Name: "rolling restart test"})
	if err != nil {
		t.Fatal(err)
	}

	env := []string{
		"PRIMA_DATABASE_URL=" + dbURL,
		// Per process; the load must never meet it (a 429 would be a failed request).
		"PRIMA_RATE_LIMIT=100000/s",
	}
	procs := make([]*proc, processes)
	addrs := make([]string, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() { procs[i], errs[i] = startPrima(t, bin, env) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		u, err := url.Parse(procs[i].url)
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = u.Host
	}

	sockDir, err := os.MkdirTemp("", "prima-haproxy-") // short: a unix socket path has ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	socket := filepath.Join(sockDir, "admin.sock")
	port := freePort(t)
	lb := startHAProxy(t, haproxyBin, haproxyConfig(t, port, addrs, socket), socket, port)
	for i := range procs {
		lb.waitFor(t, serverName(i), "UP", 15*time.Second, func(s serverStat) bool { return s.status == "UP" })
	}

	c := &client{t: t, token: secret, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
	}}
	l := &load{confirmed: map[string]string{}, bySlot: map[string]int{}}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadDone sync.WaitGroup
	for w := range workers {
		loadDone.Go(func() { l.run(loadCtx, c, lb.url, venueID, slots[w], dates[w], w) })
	}
	stopped := false
	defer func() {
		if !stopped {
			stopLoad()
			loadDone.Wait()
		}
	}()
	// Traffic reaches every process before the first restart.
	for i := range procs {
		lb.waitFor(t, serverName(i), "serving", 30*time.Second, func(s serverStat) bool { return s.answered2xx >= 10 })
	}

	type restart struct {
		drainedBeforeExit time.Duration // haproxy saw it DOWN this long before it exited
		downAfter         time.Duration // SIGTERM to DOWN in haproxy
		upAfter           time.Duration // SIGTERM to UP again
	}
	restarts := make([]restart, processes)
	upAt2xx := make([]int, processes)
	for i, p := range procs {
		name := serverName(i)
		signalled := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM %s: %v", name, err)
		}
		// haproxy takes it out while it still serves (the shutdown delay, 2 s).
		var exitErr error
		exited := false
		deadline := time.Now().Add(10 * time.Second)
		for {
			all, err := lb.servers()
			if err == nil && all[name].status == "DOWN" {
				break
			}
			select {
			case exitErr = <-p.done:
				exited = true
			default:
			}
			if exited {
				t.Fatalf("%s exited (%v) %v after SIGTERM, before haproxy marked it DOWN (%+v)", name, exitErr, time.Since(signalled), all[name])
			}
			if time.Now().After(deadline) {
				t.Fatalf("haproxy did not mark %s DOWN within 10s of SIGTERM: %+v %v", name, all[name], err)
			}
			time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline above
		}
		down := time.Now()
		restarts[i].downAfter = down.Sub(signalled)
		select {
		case exitErr = <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not exit within 30s of SIGTERM", name)
		}
		restarts[i].drainedBeforeExit = time.Since(down)
		if exitErr != nil {
			t.Fatalf("%s did not exit 0 after SIGTERM: %v\n%s", name, exitErr, p.stderr.String())
		}
		np, err := startPrima(t, bin, append(env, "PRIMA_ADDR="+addrs[i]))
		if err != nil {
			t.Fatalf("restart %s on %s: %v", name, addrs[i], err)
		}
		procs[i] = np
		st := lb.waitFor(t, name, "UP again", 15*time.Second, func(s serverStat) bool { return s.status == "UP" })
		restarts[i].upAfter = time.Since(signalled)
		upAt2xx[i] = st.answered2xx
	}
	// Every restarted process takes traffic again.
	for i := range procs {
		lb.waitFor(t, serverName(i), "serving after its restart", 30*time.Second,
			func(s serverStat) bool { return s.answered2xx >= upAt2xx[i]+10 })
	}
	stopLoad()
	loadDone.Wait()
	stopped = true
	stats, err := lb.servers()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		p.stop(t)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) > 0 {
		t.Errorf("%d of %d requests through haproxy failed during the rolling restart; the first ones:\n%s",
			len(l.failures), l.requests, strings.Join(l.failures[:min(len(l.failures), 30)], "\n"))
	}
	if len(l.confirmed) == 0 {
		t.Fatal("no booking confirmed")
	}
	// The database holds exactly the confirmed bookings: a request haproxy retried did
	// not book twice, and none was lost after its answer.
	var live, confirmedRows int
	if err := sqlDB.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'confirmed') FROM reservations WHERE slot_id = ANY($1)`,
		"{"+strings.Join(slots, ",")+"}").Scan(&live, &confirmedRows); err != nil {
		t.Fatal(err)
	}
	if live != len(l.confirmed) || confirmedRows != len(l.confirmed) {
		t.Errorf("database: %d reservations on the workers' slots, %d confirmed; the load confirmed %d", live, confirmedRows, len(l.confirmed))
	}
	ids := make([]string, 0, len(l.confirmed))
	for id := range l.confirmed {
		ids = append(ids, id)
	}
	var found int
	if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM reservations WHERE id = ANY($1) AND status = 'confirmed'`,
		"{"+strings.Join(ids, ",")+"}").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != len(ids) {
		t.Errorf("%d of the %d confirmed bookings are confirmed in the database", found, len(ids))
	}
	for _, slot := range slots {
		var taken int
		if err := sqlDB.QueryRowContext(ctx, `SELECT tables_taken FROM slots WHERE id = $1`, slot).Scan(&taken); err != nil {
			t.Fatal(err)
		}
		if taken != l.bySlot[slot] {
			t.Errorf("slot %s: tables_taken %d, %d bookings confirmed on it", slot, taken, l.bySlot[slot])
		}
	}

	spread := make([]string, processes)
	retries, redispatches := 0, 0
	for i := range processes {
		s := stats[serverName(i)]
		spread[i] = fmt.Sprintf("%s %d (%d checks failed, %d times DOWN)", serverName(i), s.answered2xx, s.checksFailed, s.downtransfers)
		retries += s.retries
		redispatches += s.redispatches
	}
	t.Logf("%d requests through haproxy, %d failed, %d bookings confirmed, over %d workers; 2xx by server: %s; haproxy retries %d, redispatches %d",
		l.requests, len(l.failures), len(l.confirmed), workers, strings.Join(spread, ", "), retries, redispatches)
	for i, r := range restarts {
		t.Logf("%s: DOWN in haproxy %v after SIGTERM, %v before it exited; UP again %v after SIGTERM",
			serverName(i), r.downAfter.Round(time.Millisecond), r.drainedBeforeExit.Round(time.Millisecond), r.upAfter.Round(time.Millisecond))
	}
	t.Logf("test took %v after the build", time.Since(began).Round(100*time.Millisecond))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the test ran into its 2-minute context deadline")
	}
}
