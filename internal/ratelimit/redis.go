// Package ratelimit keeps token buckets in Redis, so that every `prima serve` process
// using the same Redis spends from the same bucket: a limit of 20 requests a second is
// 20 a second over any number of processes. The buckets are GCRA (the generic cell rate
// algorithm) as github.com/go-redis/redis_rate runs it in one Lua script, atomically and
// on Redis's clock, so the processes' clocks play no part.
//
// The HTTP layer (server/) decides what a bucket is for and falls back to its own
// in-process buckets while Redis does not answer.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Timeouts used unless the URL sets its own (dial_timeout, read_timeout, write_timeout):
// every authenticated request waits on Redis, so a Redis that stalls must fail fast
// and let the request be limited in-process instead.
const (
	DefaultDialTimeout = time.Second
	DefaultIOTimeout   = 500 * time.Millisecond
)

// keyPrefix namespaces PRIMA's buckets in a Redis that may hold other things
// (redis_rate adds its own "rate:" in front).
const keyPrefix = "prima:"

// Redis is a set of token buckets in one Redis.
type Redis struct {
	client  *redis.Client
	limiter *redis_rate.Limiter
	addr    string
}

// ParseURL checks a redis:// (rediss:// for TLS, unix:// for a socket) URL and returns
// the client options PRIMA uses: go-redis's query parameters are honoured, and the
// timeouts default to DefaultDialTimeout and DefaultIOTimeout and retries to none,
// unless the URL sets them.
func ParseURL(rawURL string) (*redis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, password included: say less.
		return nil, errors.New("redis URL: not a URL")
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	q := u.Query()
	if !q.Has("dial_timeout") {
		opts.DialTimeout = DefaultDialTimeout
	}
	if !q.Has("read_timeout") {
		opts.ReadTimeout = DefaultIOTimeout
	}
	if !q.Has("write_timeout") {
		opts.WriteTimeout = DefaultIOTimeout
	}
	if !q.Has("max_retries") {
		// One try: a failed call is limited in-process at once, rather than retried
		// while the request waits.
		opts.MaxRetries = -1
	}
	// One dial per call, not go-redis's five with a back-off: a Redis that refuses
	// connections is known at once.
	opts.DialerRetries = 1
	// Maintenance notifications are a Redis Enterprise feature; asking a plain Redis
	// for them only adds a round trip and a warning on every new connection.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opts, nil
}

// SetClientLogger sends go-redis's own messages (a failed dial, a bad connection) to log
// at debug level, instead of to stderr: the server says once, as a warning, that Redis
// does not answer. It is process-wide, as go-redis's logger is.
func SetClientLogger(log *slog.Logger) {
	redis.SetLogger(clientLogger{log})
}

type clientLogger struct{ log *slog.Logger }

func (l clientLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// Open returns the buckets in the Redis at rawURL (see ParseURL). It does not connect:
// the first Take or Ping does, and a Redis that is down is tried again at every call.
func Open(rawURL string) (*Redis, error) {
	opts, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	c := redis.NewClient(opts)
	return &Redis{client: c, limiter: redis_rate.NewLimiter(c), addr: opts.Addr}, nil
}

// Addr is the Redis's address (never the URL, which may hold a password).
func (r *Redis) Addr() string { return r.addr }

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	return r.client.Ping(ctx).Err()
}

// Close closes the connections.
func (r *Redis) Close() error {
	return r.client.Close()
}

// Take spends n tokens of key's bucket (n = 0 only looks) when it holds them. The
// bucket refills at perSecond tokens a second and holds at most burst. It reports
// whether the tokens were spent and the tokens left, a fraction included, as
// golang.org/x/time/rate does, so both kinds of bucket give the same headers.
func (r *Redis) Take(ctx context.Context, key string, perSecond float64, burst, n int) (allowed bool, tokens float64, err error) {
	if perSecond <= 0 || burst < 1 || n < 0 {
		return false, 0, errors.New("ratelimit: a bucket needs a positive rate and burst")
	}
	lim := limit(perSecond, burst)
	res, err := r.limiter.AllowN(ctx, keyPrefix+key, lim, n)
	if err != nil {
		return false, 0, err
	}
	// ResetAfter is the time until the bucket is full again, whether or not the tokens
	// were spent: the tokens left are the burst less what that time refills.
	tokens = float64(burst) - res.ResetAfter.Seconds()*perSecond
	tokens = math.Max(0, math.Min(float64(burst), tokens))
	if n == 0 {
		return tokens >= 1, tokens, nil
	}
	return res.Allowed >= n, tokens, nil
}

// limit states perSecond in redis_rate's terms: Rate events per Period. A whole rate
// is that many a second; any other is one event per 1/perSecond seconds.
func limit(perSecond float64, burst int) redis_rate.Limit {
	if perSecond >= 1 && perSecond == math.Trunc(perSecond) && perSecond <= math.MaxInt32 {
		return redis_rate.Limit{Rate: int(perSecond), Period: time.Second, Burst: burst}
	}
	period := math.Min(float64(time.Second)/perSecond, math.MaxInt64) // one event in 292 years at most
	return redis_rate.Limit{Rate: 1, Period: time.Duration(period), Burst: burst}
}
