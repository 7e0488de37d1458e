package scaleout_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/store/storetest"
)

// The per-process caches across processes (issue 16, item 1): three `prima serve` on one
// PostgreSQL, each caching tokens and venues and LISTENing for the database's notices.

// cacheListenRetry is the processes' first wait before re-subscribing a lost listener:
// long enough for the test to act and observe inside the gap on a busy machine.
const cacheListenRetry = 5 * time.Second

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// cacheProc is a serving process and its metrics address.
type cacheProc struct {
	*proc
	metrics string
}

// scrape reads the process's prima_cache_* metrics: name{labels} → value.
func (p cacheProc) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", p.metrics, err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "prima_cache_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

const tokenHits = `prima_cache_lookups_total{cache="tokens",result="hit"}`

// waitMetric waits until the process's metric satisfies ok.
func (p cacheProc) waitMetric(t *testing.T, name string, within time.Duration, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		// The metrics listener may come up a moment after the API answers: a refused
		// connection is waited out like a value not yet reached.
		if resp, err := http.Get("http://" + p.metrics + "/metrics"); err == nil {
			_ = resp.Body.Close()
			m := p.scrape(t)
			if ok(m[name]) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s on %s: %v after %s", name, p.url, m[name], within)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("%s on %s: %v after %s", name, p.url, err, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getVenue answers GET /v1/venues/{id} with the token: its status and error code.
func getVenue(httpc *http.Client, base, token, venueID string) (int, string, error) {
	c := &client{token: token, http: httpc}
	status, body, err := c.do(http.MethodGet, base+"/v1/venues/"+venueID, nil)
	return status, errorCode(body), err
}

// warm uses the token on the process until a request is served from its cache.
func warm(t *testing.T, httpc *http.Client, p cacheProc, token, venueID string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		before := p.scrape(t)[tokenHits]
		status, code, err := getVenue(httpc, p.url, token, venueID)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET venue on %s: %d %s %v", p.url, status, code, err)
		}
		if p.scrape(t)[tokenHits] > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request served from the token cache of %s in 20 s", p.url)
		}
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// TestCachedTokensRevokedAcrossProcesses: a token used on every process (so each has it
// cached) and then revoked from outside them (the CLI's path) is refused by all three,
// within 1 s at the 99th percentile; and a process whose listener's backend is
// terminated refuses a token revoked during the gap, before it has re-subscribed and
// after.
func TestCachedTokensRevokedAcrossProcesses(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	bin := buildPrima(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	db := seededDB(ctx, t, dbURL, 1, 1)
	var venueID string
	if err := db.SQL().QueryRowContext(ctx, `SELECT id FROM venues LIMIT 1`).Scan(&venueID); err != nil {
		t.Fatal(err)
	}
	tokens := access.NewService(db) // no listener: the test's own checks read the database

	procs := make([]cacheProc, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range procs {
		procs[i].metrics = freeAddr(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i].proc, errs[i] = startPrima(t, bin, []string{
				"PRIMA_DATABASE_URL=" + dbURL,
				"PRIMA_METRICS_ADDR=" + procs[i].metrics,
				"PRIMA_CACHE_LISTEN_RETRY=" + cacheListenRetry.String(),
				// Every poll after a revocation is a failed authentication.
				"PRIMA_AUTH_FAILURE_LIMIT=100000/s burst 100000",
				"PRIMA_RATE_LIMIT=100000/s burst 100000",
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	for _, p := range procs {
		p.waitMetric(t, "prima_cache_listener_up", 30*time.Second, func(v float64) bool { return v == 1 })
	}
	httpc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	t.Run("revocation reaches every process", func(t *testing.T) {
		const tries = 20
		var delays []time.Duration
		for try := range tries {
			secret, tok, err := tokens.Create(ctx, access.CreateParams{Partner: "cache-scaleout", Name: fmt.Sprintf("try %d", try)})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range procs {
				warm(t, httpc, p, secret, venueID)
			}
			start := time.Now()
			if try == 0 {
				// Once through the real CLI, a process of its own.
				cmd := exec.CommandContext(ctx, bin, "token", "revoke", tok.ID)
				cmd.Env = append(cmd.Environ(), "PRIMA_DATABASE_URL="+dbURL)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("prima token revoke: %v\n%s", err, out)
				}
			} else if err := tokens.Revoke(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
			committed := time.Since(start)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, p := range procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					deadline := time.Now().Add(20 * time.Second)
					for {
						status, code, err := getVenue(httpc, p.url, secret, venueID)
						if err != nil {
							t.Errorf("%s: %v", p.url, err)
							return
						}
						if status == http.StatusUnauthorized && code == "token_revoked" {
							break
						}
						if status != http.StatusOK {
							t.Errorf("%s: %d %s while waiting for the revocation", p.url, status, code)
							return
						}
						if time.Now().After(deadline) {
							t.Errorf("%s still accepts a token revoked 20 s ago", p.url)
							return
						}
						time.Sleep(time.Millisecond)
					}
					// From the revocation's commit (the CLI's start-up excluded).
					d := max(time.Since(start)-committed, 0)
					mu.Lock()
					delays = append(delays, d)
					mu.Unlock()
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
		}
		slices.Sort(delays)
		p50, p99 := percentile(delays, 0.50), percentile(delays, 0.99)
		t.Logf("revocation refused by each of %d processes: %d samples, p50 %s, p99 %s, max %s",
			processes, len(delays), p50, p99, delays[len(delays)-1])
		if p99 > time.Second {
			t.Errorf("p99 of the revocation's propagation %s, want at most 1 s", p99)
		}
	})

	t.Run("revocation during a listener gap", func(t *testing.T) {
		b := procs[1]
		secret, tok, err := tokens.Create(ctx, access.CreateParams{Partner: "cache-scaleout", Name: "gap"})
		if err != nil {
			t.Fatal(err)
		}
		warm(t, httpc, b, secret, venueID)
		var backend int
		appName := fmt.Sprintf("prima-listener/%d", b.cmd.Process.Pid)
		if err := db.SQL().QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&backend); err != nil {
			t.Fatalf("find the listener backend of %s (%s): %v", b.url, appName, err)
		}
		before := b.scrape(t)
		var ok bool
		if err := db.SQL().QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, backend).Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d): %v %v", backend, ok, err)
		}
		b.waitMetric(t, "prima_cache_listener_up", 10*time.Second, func(v float64) bool { return v == 0 })

		// Revoked while nobody on b listens: its notice never reaches b.
		if err := tokens.Revoke(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		status, code, err := getVenue(httpc, b.url, secret, venueID)
		if err != nil || status != http.StatusUnauthorized || code != "token_revoked" {
			t.Fatalf("in the gap: %d %s %v, want 401 token_revoked", status, code, err)
		}
		during := b.scrape(t)
		if during["prima_cache_listener_up"] != 0 || during["prima_cache_reloads_total"] != before["prima_cache_reloads_total"] {
			t.Fatalf("b re-subscribed before the check (up %v, reloads %v → %v): raise cacheListenRetry",
				during["prima_cache_listener_up"], before["prima_cache_reloads_total"], during["prima_cache_reloads_total"])
		}
		if during["prima_cache_listener_lost_total"] != before["prima_cache_listener_lost_total"]+1 {
			t.Errorf("listener losses %v → %v, want one more", before["prima_cache_listener_lost_total"], during["prima_cache_listener_lost_total"])
		}
		bypass := `prima_cache_lookups_total{cache="tokens",result="bypass"}`
		if during[bypass] <= before[bypass] {
			t.Errorf("the request in the gap did not bypass the cache (%v → %v)", before[bypass], during[bypass])
		}

		// Back: re-subscribed (a new backend), the revocation still holds, caching resumes.
		b.waitMetric(t, "prima_cache_listener_up", cacheListenRetry+30*time.Second, func(v float64) bool { return v == 1 })
		after := b.scrape(t)
		if after["prima_cache_reloads_total"] != before["prima_cache_reloads_total"]+1 {
			t.Errorf("reloads %v → %v, want one more", before["prima_cache_reloads_total"], after["prima_cache_reloads_total"])
		}
		var again int
		if err := db.SQL().QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&again); err != nil || again == backend {
			t.Errorf("listener backend after re-subscribing: %d %v (was %d)", again, err, backend)
		}
		for range 2 {
			status, code, err := getVenue(httpc, b.url, secret, venueID)
			if err != nil || status != http.StatusUnauthorized || code != "token_revoked" {
				t.Fatalf("after re-subscribing: %d %s %v, want 401 token_revoked", status, code, err)
			}
		}
		fresh, _, err := tokens.Create(ctx, access.CreateParams{Partner: "cache-scaleout", Name: "after the gap"})
		if err != nil {
			t.Fatal(err)
		}
		warm(t, httpc, b, fresh, venueID)
	})

	for _, p := range procs {
		p.stop(t)
	}
}
