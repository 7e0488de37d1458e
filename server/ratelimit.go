package server

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/prima-dining/partner-api/internal/metrics"
)

// RateLimit is a token bucket: it refills at PerSecond requests a second and holds at
// most Burst, so a client may send Burst requests at once and PerSecond a second after.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// Defaults, used when Deps leaves a limit zero.
var (
	// DefaultRateLimit is each token's bucket (PRIMA_RATE_LIMIT).
	DefaultRateLimit = RateLimit{PerSecond: 100, Burst: 200}
	// DefaultAuthFailureLimit is each client address's bucket of failed authentications
	// (PRIMA_AUTH_FAILURE_LIMIT): 10 a minute.
	DefaultAuthFailureLimit = RateLimit{PerSecond: 10.0 / 60, Burst: 10}
)

// ParseRateLimit reads "100/s", "600/m burst 50" or "3600/h": a rate per second, minute
// or hour and an optional burst (default: one second's worth, at least 1).
func ParseRateLimit(s string) (RateLimit, error) {
	fields := strings.Fields(strings.TrimSpace(s))
	bad := fmt.Errorf("rate limit %q: want N/s, N/m or N/h, optionally followed by \"burst B\"", s)
	if len(fields) != 1 && len(fields) != 3 {
		return RateLimit{}, bad
	}
	num, unit, ok := strings.Cut(fields[0], "/")
	if !ok {
		return RateLimit{}, bad
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return RateLimit{}, bad
	}
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[unit]
	if per == 0 {
		return RateLimit{}, bad
	}
	rl := RateLimit{PerSecond: n / per, Burst: max(1, int(math.Ceil(n/per)))}
	if len(fields) == 3 {
		if fields[1] != "burst" {
			return RateLimit{}, bad
		}
		b, err := strconv.Atoi(fields[2])
		if err != nil || b < 1 {
			return RateLimit{}, bad
		}
		rl.Burst = b
	}
	return rl, nil
}

func (rl RateLimit) String() string {
	return fmt.Sprintf("%g/s burst %d", rl.PerSecond, rl.Burst)
}

// window is the seconds the bucket takes to refill from empty: the w of RateLimit-Policy,
// so that q=Burst requests per w seconds states the long-run rate.
func (rl RateLimit) window() int {
	return max(1, int(math.Ceil(float64(rl.Burst)/rl.PerSecond)))
}

// SharedBuckets are token buckets that every process spends from (internal/ratelimit's
// Redis, PRIMA_REDIS_URL), so that a limit holds across processes.
type SharedBuckets interface {
	// Take spends n tokens of key's bucket (n = 0 only looks) when it holds them, and
	// reports whether they were spent and the tokens left, a fraction included.
	Take(ctx context.Context, key string, perSecond float64, burst, n int) (allowed bool, tokens float64, err error)
}

// limiter decides one kind of bucket (a token's requests, a client address's failed
// authentications): in the shared buckets when there are some and they answer, and
// otherwise in this process's own.
type limiter struct {
	kind   string // the keys' prefix in the shared buckets
	local  *buckets
	shared *sharedBuckets // nil: this process's buckets only
}

func newLimiter(kind string, shared *sharedBuckets) *limiter {
	return &limiter{kind: kind, local: newBuckets(), shared: shared}
}

// take spends one token of key's bucket, when there is one.
func (l *limiter) take(ctx context.Context, key, policy string, rl RateLimit) limitState {
	if st, ok := l.shared.spend(ctx, l.kind+":"+key, policy, rl, 1); ok {
		return st
	}
	return l.local.take(key, policy, rl)
}

// peek reports whether key's bucket has a token, without spending it.
func (l *limiter) peek(ctx context.Context, key, policy string, rl RateLimit) limitState {
	if st, ok := l.shared.spend(ctx, l.kind+":"+key, policy, rl, 0); ok {
		return st
	}
	return l.local.peek(key, policy, rl)
}

// Outages of the shared buckets: while they fail, requests are limited in-process and
// one request every sharedRetryEvery tries them again, so a Redis that is down costs
// neither a timeout on every request nor a restart once it is back. The warning is
// repeated at most every sharedWarnEvery.
const (
	sharedRetryEvery = time.Second
	sharedWarnEvery  = time.Minute
)

// sharedBuckets is SharedBuckets with its health. A nil *sharedBuckets has none: every
// decision is local.
type sharedBuckets struct {
	store SharedBuckets
	log   *slog.Logger
	// downSince is when the current outage began (unix ns), 0 while they answer;
	// nextTry, during one, is when a request may try them again.
	downSince atomic.Int64
	nextTry   atomic.Int64
	lastWarn  atomic.Int64
	// local counts the decisions made in-process because they did not answer.
	local atomic.Uint64
}

// spend takes n tokens (0: looks) in the shared bucket; ok is false when it could not,
// and the caller decides in-process.
func (s *sharedBuckets) spend(ctx context.Context, key, policy string, rl RateLimit, n int) (st limitState, ok bool) {
	if s == nil {
		return limitState{}, false
	}
	now := time.Now().UnixNano()
	if s.downSince.Load() != 0 {
		next := s.nextTry.Load()
		// One request at a time finds out whether they are back.
		if now < next || !s.nextTry.CompareAndSwap(next, now+int64(sharedRetryEvery)) {
			s.local.Add(1)
			return limitState{}, false
		}
	}
	// A client that hangs up must not count as Redis failing: the client's own
	// timeouts (internal/ratelimit) bound the call.
	allowed, tokens, err := s.store.Take(context.WithoutCancel(ctx), key, rl.PerSecond, rl.Burst, n)
	if err != nil {
		s.failed(err, now)
		s.local.Add(1)
		return limitState{}, false
	}
	if since := s.downSince.Swap(0); since != 0 {
		s.log.Info("rate limits: Redis answers again; limits are shared across processes again",
			"down_for", time.Duration(time.Now().UnixNano()-since).Round(time.Millisecond).String(),
			"local_decisions", s.local.Load())
	}
	return limitState{policy: policy, limit: rl, allowed: allowed, remaining: tokens}, true
}

func (s *sharedBuckets) failed(err error, now int64) {
	s.nextTry.Store(now + int64(sharedRetryEvery))
	began := s.downSince.CompareAndSwap(0, now)
	last := s.lastWarn.Load()
	if (last != 0 && now-last < int64(sharedWarnEvery)) || !s.lastWarn.CompareAndSwap(last, now) {
		return // a Redis that comes and goes is not a warning a second
	}
	if began {
		s.log.Warn("rate limits: Redis does not answer; this process limits requests on its own until it does (N processes let up to N times a limit through)",
			"error", err.Error())
		return
	}
	s.log.Warn("rate limits: Redis still does not answer; limiting in this process",
		"down_for", time.Duration(now-s.downSince.Load()).Round(time.Second).String(),
		"local_decisions", s.local.Load(), "error", err.Error())
}

// stats is what /metrics shows of the shared buckets.
func (s *sharedBuckets) stats() metrics.SharedRateLimits {
	return metrics.SharedRateLimits{Up: s.downSince.Load() == 0, LocalDecisions: s.local.Load()}
}

// buckets holds one token bucket per key (a token id or a client address) in this
// process's memory: the embedded default, and the fallback while the shared buckets
// do not answer. N processes let a client through up to N times the rate.
type buckets struct {
	mu  sync.Mutex
	m   map[string]*rate.Limiter
	now func() time.Time
}

// maxIdleBuckets is how many buckets are kept before full ones are dropped; a full
// bucket is the same as a new one, so dropping it forgets nothing.
const maxIdleBuckets = 10_000

func newBuckets() *buckets {
	return &buckets{m: make(map[string]*rate.Limiter), now: time.Now}
}

// limitState is a bucket's state after a request, for the headers.
type limitState struct {
	policy    string // the policy's name in the headers
	limit     RateLimit
	allowed   bool
	remaining float64
}

// take spends one token of key's bucket, when there is one.
func (b *buckets) take(key, policy string, rl RateLimit) limitState {
	lim, now := b.get(key, rl)
	ok := lim.AllowN(now, 1)
	return limitState{policy: policy, limit: rl, allowed: ok, remaining: lim.TokensAt(now)}
}

// peek reports whether key's bucket has a token, without spending it.
func (b *buckets) peek(key, policy string, rl RateLimit) limitState {
	lim, now := b.get(key, rl)
	tokens := lim.TokensAt(now)
	return limitState{policy: policy, limit: rl, allowed: tokens >= 1, remaining: tokens}
}

func (b *buckets) get(key string, rl RateLimit) (*rate.Limiter, time.Time) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.m[key]
	if !ok {
		if len(b.m) >= maxIdleBuckets {
			b.dropFull(now)
		}
		lim = rate.NewLimiter(rate.Limit(rl.PerSecond), rl.Burst)
		b.m[key] = lim
	} else if lim.Limit() != rate.Limit(rl.PerSecond) || lim.Burst() != rl.Burst {
		// The partner's limit changed: keep the tokens, apply the new rate and burst.
		lim.SetLimitAt(now, rate.Limit(rl.PerSecond))
		lim.SetBurstAt(now, rl.Burst)
	}
	return lim, now
}

func (b *buckets) dropFull(now time.Time) {
	for k, lim := range b.m {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(b.m, k)
		}
	}
}

// setHeaders writes the IETF RateLimit-Policy and RateLimit headers
// (draft-ietf-httpapi-ratelimit-headers): the quota as q requests per w seconds, and the
// r requests left with t seconds until the bucket is full again.
func (st limitState) setHeaders(h http.Header) {
	rl := st.limit
	left := max(0, st.remaining)
	full := int(math.Ceil((float64(rl.Burst) - left) / rl.PerSecond))
	h.Set("RateLimit-Policy", limitField(st.policy, "q", rl.Burst, "w", rl.window()))
	h.Set("RateLimit", limitField(st.policy, "r", int(math.Floor(left)), "t", max(0, full)))
}

// limitField is `"policy";k1=v1;k2=v2`, as fmt's "%q;k1=%d;k2=%d" writes it, in one
// allocation: every authenticated answer carries two.
func limitField(policy, k1 string, v1 int, k2 string, v2 int) string {
	b := make([]byte, 0, 64)
	b = strconv.AppendQuote(b, policy)
	b = append(append(append(b, ';'), k1...), '=')
	b = strconv.AppendInt(b, int64(v1), 10)
	b = append(append(append(b, ';'), k2...), '=')
	b = strconv.AppendInt(b, int64(v2), 10)
	return string(b)
}

// retryAfter is the whole seconds until the bucket holds a token again (at least 1).
func (st limitState) retryAfter() int {
	need := 1 - st.remaining
	return max(1, int(math.Ceil(need/st.limit.PerSecond)))
}

// rateLimited is the 429 for a bucket that is empty, with its headers.
func rateLimited(st limitState, message string) *Problem {
	p := newProblem(CodeRateLimited, message, "")
	h := http.Header{}
	st.setHeaders(h)
	p.Headers = map[string]string{
		"Retry-After":      strconv.Itoa(st.retryAfter()),
		"RateLimit":        h.Get("RateLimit"),
		"RateLimit-Policy": h.Get("RateLimit-Policy"),
	}
	return p
}
