package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/internal/ratelimit"
	"github.com/prima-dining/partner-api/internal/ratelimit/redistest"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// withSharedRateLimits keeps the env's buckets in the Redis at url (PRIMA_REDIS_URL).
func withSharedRateLimits(t testing.TB, url string) envOption {
	r, err := ratelimit.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return func(c *envConfig) { c.server.SharedRateLimits = r }
}

// Two servers on one database and one Redis are two processes: a token's burst and an
// address's failed authentications are spent once, wherever the requests land, and the
// answers carry the same headers as the in-process buckets give.
func TestRateLimitsAreSharedAcrossServersThroughRedis(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		redis := redistest.Start(t)
		limits := []envOption{
			withRateLimit(server.RateLimit{PerSecond: slow, Burst: 4}),
			withAuthFailureLimit(server.RateLimit{PerSecond: slow, Burst: 3}),
		}
		a := newEnv(t, db, append(limits, withSharedRateLimits(t, redis.URL()))...)
		b := newEnv(t, db, append(limits, withSharedRateLimits(t, redis.URL()))...)
		servers := []*env{a, b}

		for i := range 4 {
			e := servers[i%2]
			status, h, body := e.do("GET", "/v1/venues", a.token, "")
			if status != http.StatusOK {
				t.Fatalf("request %d in quota: %d %s", i+1, status, body)
			}
			if got := h.Get("RateLimit-Policy"); got != `"default";q=4;w=14400` {
				t.Fatalf("RateLimit-Policy = %q", got)
			}
			if r := remaining(t, h); r != 3-i {
				t.Fatalf("request %d: RateLimit r=%d, want %d: the servers do not share the bucket", i+1, r, 3-i)
			}
		}
		for _, e := range servers {
			status, h, body := e.do("GET", "/v1/venues", a.token, "")
			if status != http.StatusTooManyRequests || apiError(t, body).Code != "rate_limited" {
				t.Fatalf("over the shared quota: %d %s", status, body)
			}
			if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 3590 || ra > 3600 {
				t.Fatalf("Retry-After = %q, want about an hour (one token an hour)", h.Get("Retry-After"))
			}
			if r := remaining(t, h); r != 0 || h.Get("RateLimit-Policy") != `"default";q=4;w=14400` {
				t.Fatalf("429 headers: RateLimit %q, RateLimit-Policy %q", h.Get("RateLimit"), h.Get("RateLimit-Policy"))
			}
		}

		// Failed authentications from one address, spread over both servers.
		for i, tok := range []string{"prima_pat_guess1", "", "not-a-token"} {
			if status, _, body := servers[i%2].do("GET", "/v1/venues", tok, ""); status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d %s", i+1, status, body)
			}
		}
		other := a.newToken("other-partner")
		for _, e := range servers {
			status, h, body := e.do("GET", "/v1/venues", other, "")
			if status != http.StatusTooManyRequests || h.Get("RateLimit-Policy") != `"auth_failures";q=3;w=10800` || h.Get("Retry-After") == "" {
				t.Fatalf("after 3 failures over two servers: %d %q %q %s", status, h.Get("RateLimit-Policy"), h.Get("Retry-After"), body)
			}
		}
	})
}

// metricValue reads an unlabelled sample from a scrape; -1 when it is absent.
func metricValue(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	sample := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(scrape(t, m))
	if sample == nil {
		return -1
	}
	v, err := strconv.ParseFloat(sample[1], 64)
	if err != nil {
		t.Fatalf("%s = %q", name, sample[1])
	}
	return v
}

// Redis stopping is no outage: requests are limited by the process's own buckets, the
// metrics and the log say so, and once Redis is back the limits are shared again without
// a restart.
func TestRateLimitsFallBackToTheProcessWhileRedisIsDown(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		redis := redistest.Start(t)
		m := metrics.New()
		var logs syncBuffer
		e := newEnv(t, db,
			withRateLimit(server.RateLimit{PerSecond: slow, Burst: 3}),
			withSharedRateLimits(t, redis.URL()),
			withMetrics(m),
			withLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		secret, tok, err := e.tokens.Create(context.Background(), access.CreateParams{Partner: "acme-rewards"})
		if err != nil {
			t.Fatal(err)
		}
		key := "rate:prima:token:" + tok.ID // redis_rate's prefix, then PRIMA's
		if v := metricValue(t, m, "prima_rate_limit_redis_up"); v != 1 {
			t.Fatalf("prima_rate_limit_redis_up = %v before any request, want 1", v)
		}

		// Two of the three requests of the burst, spent in Redis.
		for range 2 {
			if status, _, body := e.do("GET", "/v1/venues", secret, ""); status != http.StatusOK {
				t.Fatalf("%d %s", status, body)
			}
		}
		if !redisHasKey(t, redis.Addr(), key) {
			t.Fatalf("Redis holds no bucket %s", key)
		}

		redis.Stop()
		// The process's own bucket, full: three answers, then 429, never a 5xx.
		for i := range 3 {
			status, h, body := e.do("GET", "/v1/venues", secret, "")
			if status != http.StatusOK || remaining(t, h) != 2-i || h.Get("RateLimit-Policy") != `"default";q=3;w=10800` {
				t.Fatalf("request %d with Redis down: %d %q %q %s", i+1, status, h.Get("RateLimit"), h.Get("RateLimit-Policy"), body)
			}
		}
		status, h, body := e.do("GET", "/v1/venues", secret, "")
		if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Fatalf("past the local burst with Redis down: %d %s", status, body)
		}
		if v := metricValue(t, m, "prima_rate_limit_redis_up"); v != 0 {
			t.Errorf("prima_rate_limit_redis_up = %v with Redis down, want 0", v)
		}
		if v := metricValue(t, m, "prima_rate_limit_local_decisions_total"); v < 4 {
			t.Errorf("prima_rate_limit_local_decisions_total = %v, want at least 4", v)
		}
		if n := strings.Count(logs.String(), "Redis does not answer"); n != 1 {
			t.Errorf("%d warnings that Redis does not answer, want 1 (then one a minute at most):\n%s", n, logs.String())
		}

		redis.Restart()
		// Requests keep coming; one a second tries Redis again, and the first that
		// succeeds brings the shared buckets back.
		deadline := time.Now().Add(30 * time.Second)
		for metricValue(t, m, "prima_rate_limit_redis_up") != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("prima_rate_limit_redis_up still 0 30s after Redis restarted; logs:\n%s", logs.String())
			}
			if status, _, body := e.do("GET", "/v1/venues", secret, ""); status != http.StatusOK && status != http.StatusTooManyRequests {
				t.Fatalf("while Redis comes back: %d %s", status, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(logs.String(), "Redis answers again") {
			t.Errorf("no log line says Redis answers again:\n%s", logs.String())
		}
		// The restarted Redis is empty: the bucket in it is the one being spent.
		status, h, body = e.do("GET", "/v1/venues", secret, "")
		if !redisHasKey(t, redis.Addr(), key) {
			t.Fatalf("after recovery Redis holds no bucket %s (answer %d %q %s)", key, status, h.Get("RateLimit"), body)
		}
	})
}

// redisHasKey asks Redis whether key exists.
func redisHasKey(t *testing.T, addr, key string) bool {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	n, err := c.Exists(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 1
}
