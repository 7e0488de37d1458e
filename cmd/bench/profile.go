package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The search's CPU profile: where the server's own time per search goes, for the
// floor of the search ratio. It is taken in a run of its own, after the measured ones,
// so profiling never slows the figures in the table.

// Profile names the files of the server's CPU profile under the search mix.
type Profile struct {
	Seconds float64 `json:"seconds"`
	Raw     string  `json:"pprof"` // the profile itself, for go tool pprof
	Top     string  `json:"top"`   // go tool pprof -top -cum of it
}

// freeLoopbackAddr returns a loopback address with a port that was free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// profileRun runs op (at most maxOps times) for d while the server at metricsAddr
// (PRIMA_PPROF=1) records a CPU profile, and writes the profile and its top list to dir
// as NAME-cpu.pprof and NAME-cpu.txt.
func profileRun(ctx context.Context, bin, metricsAddr, dir, name string, conc int, d time.Duration, maxOps int, op func(context.Context, int, int) error) (Profile, error) {
	seconds := max(int(d.Seconds())-1, 1)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Profile{}, err
	}
	got := make(chan error, 1)
	raw := filepath.Join(dir, name+"-cpu.pprof")
	go func() {
		got <- fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", metricsAddr, seconds), raw)
	}()
	time.Sleep(200 * time.Millisecond) // the profile starts before the load
	run(ctx, name+" API (profiled)", conc, d, maxOps, op)
	if err := <-got; err != nil {
		return Profile{}, err
	}
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=45", bin, raw).Output() //nolint:gosec // G204: fixed command; bin and raw are this run's files
	if err != nil {
		return Profile{}, fmt.Errorf("go tool pprof: %w", err)
	}
	topFile := filepath.Join(dir, name+"-cpu.txt")
	if err := os.WriteFile(topFile, top, 0o644); err != nil { //nolint:gosec // G306: a report meant to be read
		return Profile{}, err
	}
	return Profile{Seconds: float64(seconds), Raw: raw, Top: topFile}, nil
}

func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("cpu profile: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	f, err := os.Create(path) //nolint:gosec // G304: this run's output file
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// lookups counts a cache's lookups by result, as the server's metrics report them.
type lookups struct{ hits, others float64 }

// since is the share of the lookups after before that were hits (0 when there were none).
func (l lookups) since(before lookups) float64 {
	hits, all := l.hits-before.hits, l.hits+l.others-before.hits-before.others
	if all <= 0 {
		return 0
	}
	return hits / all
}

// searchLookups reads the search answers cache's lookups from the server's metrics at
// metricsAddr (zero when they cannot be read: the share is then reported as 0).
func searchLookups(ctx context.Context, metricsAddr string) lookups {
	var l lookups
	for name, v := range scrape(ctx, metricsAddr) {
		switch name {
		case `prima_cache_lookups_total{cache="searches",result="hit"}`:
			l.hits += v
		case `prima_cache_lookups_total{cache="searches",result="miss"}`, `prima_cache_lookups_total{cache="searches",result="bypass"}`:
			l.others += v
		}
	}
	return l
}

// poolWaits is what the server's primary pool reports of requests for a connection that
// had to wait for one (database/sql's DBStats, go_sql_wait_*): how many, and their
// summed wait.
type poolWaits struct {
	Count   float64 `json:"count"`
	Seconds float64 `json:"seconds"`
}

func primaryPoolWaits(ctx context.Context, metricsAddr string) poolWaits {
	m := scrape(ctx, metricsAddr)
	return poolWaits{Count: m[`go_sql_wait_count_total{db_name="postgres"}`], Seconds: m[`go_sql_wait_duration_seconds_total{db_name="postgres"}`]}
}

func (w poolWaits) since(before poolWaits) poolWaits {
	return poolWaits{Count: w.Count - before.Count, Seconds: w.Seconds - before.Seconds}
}

// scrape reads the server's metrics at metricsAddr, by name and labels as written
// (none when they cannot be read).
func scrape(ctx context.Context, metricsAddr string) map[string]float64 {
	out := map[string]float64{}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
	if err != nil {
		return out
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return out
	}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
