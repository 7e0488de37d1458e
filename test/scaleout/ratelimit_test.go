package scaleout_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/ratelimit/redistest"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// The partner's limit in this test, and the tolerance of the measured rate (the
// issue's target: 1.0 × the limit ± 10 %).
const (
	partnerRate  = 20
	partnerBurst = 5
	rateSlack    = 2
)

// limitAnswer is one request of the load: when its answer came, from which process, and
// what it was.
type limitAnswer struct {
	at     time.Time
	proc   int
	status int
	err    error
}

// limitLoad sends GET /v1/venues with one token, round robin over the processes, from
// workers that each send one request every interval (or as soon as the previous one is
// answered, if that is later), until it is stopped. It records every answer.
type limitLoad struct {
	mu      sync.Mutex
	answers []limitAnswer
	stop    chan struct{}
	stopped sync.Once
	done    sync.WaitGroup
}

func startLimitLoad(procs []*proc, token string, workers int, interval time.Duration) *limitLoad {
	l := &limitLoad{stop: make(chan struct{})}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for i := w; ; i += workers {
				p := i % len(procs)
				a := limitAnswer{proc: p}
				req, err := http.NewRequest(http.MethodGet, procs[p].url+"/v1/venues", nil)
				if err == nil {
					req.Header.Set("Authorization", "Bearer "+token)
					var resp *http.Response
					if resp, err = hc.Do(req); err == nil {
						a.status = resp.StatusCode
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
					}
				}
				a.at, a.err = time.Now(), err
				l.mu.Lock()
				l.answers = append(l.answers, a)
				l.mu.Unlock()
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	return l
}

func (l *limitLoad) finish() {
	l.stopped.Do(func() { close(l.stop) })
	l.done.Wait()
}

// waitForRefusal waits until a request sent after now has been refused (429): the
// bucket is empty, and what gets through from then on is the refill rate.
func (l *limitLoad) waitForRefusal(t *testing.T) {
	t.Helper()
	since := time.Now()
	deadline := since.Add(30 * time.Second)
	for l.window(since, time.Now().Add(time.Hour)).limited == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no request refused in 30s: the load does not reach the limit (%s)", l.window(since, time.Now()))
		}
		<-time.After(20 * time.Millisecond)
	}
}

// limitWindow counts the answers that came in [from, to).
type limitWindow struct {
	ok, limited, other int
	seconds            float64
	failures           []string
}

func (l *limitLoad) window(from, to time.Time) limitWindow {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := limitWindow{seconds: to.Sub(from).Seconds()}
	for _, a := range l.answers {
		if a.at.Before(from) || !a.at.Before(to) {
			continue
		}
		switch {
		case a.err != nil:
			w.other++
			w.failures = append(w.failures, fmt.Sprintf("process %d: %v", a.proc, a.err))
		case a.status == http.StatusOK:
			w.ok++
		case a.status == http.StatusTooManyRequests:
			w.limited++
		default:
			w.other++
			w.failures = append(w.failures, fmt.Sprintf("process %d: status %d", a.proc, a.status))
		}
	}
	return w
}

func (w limitWindow) rate() float64 { return float64(w.ok) / w.seconds }

func (w limitWindow) String() string {
	return fmt.Sprintf("%d answered 200 and %d answered 429 in %.1fs: %.1f requests/s let through (offered %.0f/s)",
		w.ok, w.limited, w.seconds, w.rate(), float64(w.ok+w.limited+w.other)/w.seconds)
}

// measure lets the load run for d from now and returns the window.
func (l *limitLoad) measure(d time.Duration) limitWindow {
	from := time.Now()
	<-time.After(d)
	return l.window(from, time.Now())
}

var redisUpRE = regexp.MustCompile(`(?m)^prima_rate_limit_redis_up (\S+)$`)
var localDecisionsRE = regexp.MustCompile(`(?m)^prima_rate_limit_local_decisions_total (\S+)$`)

// sharedLimitMetrics scrapes a process's /metrics for the shared rate limits' state.
func sharedLimitMetrics(metricsAddr string) (up, local float64, err error) {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	m, n := redisUpRE.FindSubmatch(b), localDecisionsRE.FindSubmatch(b)
	if m == nil || n == nil {
		return 0, 0, fmt.Errorf("no prima_rate_limit_redis_up or prima_rate_limit_local_decisions_total in /metrics")
	}
	up, _ = strconv.ParseFloat(string(m[1]), 64)
	local, _ = strconv.ParseFloat(string(n[1]), 64)
	return up, local, nil
}

// TestPartnerLimitHoldsAcrossThreeProcessesThroughRedis runs three `prima serve`
// processes on one PostgreSQL schema and one Redis (PRIMA_REDIS_URL), and a partner
// limited to 20 requests a second sending far more, spread round robin over the three:
// 20 ± 2 a second get through, not 60. Then Redis stops: every request is still answered
// (200 or 429, never an error), each process limits on its own and its metrics say so;
// Redis starts again and the one shared limit is back, without a restart.
func TestPartnerLimitHoldsAcrossThreeProcessesThroughRedis(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	redis := redistest.Start(t)
	bin := buildPrima(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	db, err := store.Open(ctx, store.Config{URL: dbURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	token, _, err := access.NewService(db).Create(ctx, access.CreateParams{Partner: "limited", Name: "rate-limit test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPartnerRateLimit(ctx, "limited", partnerRate, partnerBurst); err != nil {
		t.Fatal(err)
	}

	procs := make([]*proc, processes)
	metricsAddrs := make([]string, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range procs {
		metricsAddrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i], errs[i] = startPrima(t, bin, []string{
				"PRIMA_DATABASE_URL=" + dbURL,
				"PRIMA_REDIS_URL=" + redis.URL(),
				"PRIMA_METRICS_ADDR=" + metricsAddrs[i],
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}

	// 16 workers, a request every 100 ms each: about 160 requests a second offered, 8
	// times the limit, so the limit and not the load decides what gets through even on
	// a busy machine.
	l := startLimitLoad(procs, token, 16, 100*time.Millisecond)
	defer l.finish()

	// checkShared measures the load for 5 s, once the burst is spent.
	checkShared := func(when string) {
		t.Helper()
		l.waitForRefusal(t)
		w := l.measure(5 * time.Second)
		t.Logf("%s: %s", when, w)
		if w.other > 0 {
			t.Errorf("%s: %d answers neither 200 nor 429: %v", when, w.other, w.failures)
		}
		if w.limited == 0 {
			t.Fatalf("%s: no request was refused, so the load did not reach the limit: %s", when, w)
		}
		if r := w.rate(); r < partnerRate-rateSlack || r > partnerRate+rateSlack {
			t.Errorf("%s: %.1f requests/s got through a limit of %d/s over %d processes, want %d ± %d", when, r, partnerRate, processes, partnerRate, rateSlack)
		}
	}
	// waitForRedisUp waits until every process's metrics say whether Redis answers.
	waitForRedisUp := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for i, addr := range metricsAddrs {
			for {
				up, local, err := sharedLimitMetrics(addr)
				if err == nil && up == want && (want == 1 || local > 0) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("process %d: prima_rate_limit_redis_up %v, local decisions %v (%v), want up %v after 30s\n%s", i, up, local, err, want, procs[i].stderr.String())
				}
				<-time.After(50 * time.Millisecond)
			}
		}
	}

	checkShared("one limit over 3 processes")

	redis.Stop()
	stopped := time.Now()
	waitForRedisUp(0)
	// Every process limits on its own for a while; nothing fails.
	w := l.measure(3 * time.Second)
	t.Logf("Redis stopped: %s", w)
	if all := l.window(stopped, time.Now()); all.other > 0 {
		t.Errorf("with Redis stopped: %d answers neither 200 nor 429: %v", all.other, all.failures)
	}
	if w.ok == 0 {
		t.Errorf("with Redis stopped nothing got through: %s", w)
	}

	redis.Restart()
	restarted := time.Now()
	waitForRedisUp(1)
	t.Logf("every process uses Redis again %.1fs after it restarted", time.Since(restarted).Seconds())
	checkShared("Redis back")

	l.finish()
	for _, p := range procs {
		p.stop(t)
	}
}
