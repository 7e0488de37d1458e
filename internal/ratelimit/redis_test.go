package ratelimit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/ratelimit"
	"github.com/prima-dining/partner-api/internal/ratelimit/redistest"
)

// slow refills one token an hour, so a test's burst is all it gets.
const slow = 1.0 / 3600

func open(t *testing.T, url string) *ratelimit.Redis {
	t.Helper()
	r, err := ratelimit.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestTakeSpendsTheBurstThenRefusesAndPeekSpendsNothing(t *testing.T) {
	srv := redistest.Start(t)
	r := open(t, srv.URL())
	ctx := context.Background()

	if ok, tokens, err := r.Take(ctx, "k", slow, 3, 0); err != nil || !ok || tokens != 3 {
		t.Fatalf("peek at a new bucket = %v %v %v, want true 3", ok, tokens, err)
	}
	for i := range 3 {
		ok, tokens, err := r.Take(ctx, "k", slow, 3, 1)
		if err != nil || !ok {
			t.Fatalf("take %d: %v %v", i+1, ok, err)
		}
		if want := float64(2 - i); tokens < want || tokens > want+0.01 {
			t.Fatalf("take %d left %v tokens, want %v", i+1, tokens, want)
		}
	}
	if ok, tokens, err := r.Take(ctx, "k", slow, 3, 1); err != nil || ok || tokens >= 1 {
		t.Fatalf("take past the burst = %v %v %v, want false and under 1 token", ok, tokens, err)
	}
	if ok, _, err := r.Take(ctx, "k", slow, 3, 0); err != nil || ok {
		t.Fatalf("peek at an empty bucket = %v %v, want false", ok, err)
	}
	// Another key is another bucket.
	if ok, tokens, err := r.Take(ctx, "other", slow, 3, 1); err != nil || !ok || tokens < 2 || tokens > 2.01 {
		t.Fatalf("another key = %v %v %v", ok, tokens, err)
	}
}

func TestTwoClientsSpendFromOneBucket(t *testing.T) {
	srv := redistest.Start(t)
	a, b := open(t, srv.URL()), open(t, srv.URL())
	ctx := context.Background()
	allowed := 0
	for i := range 10 {
		c := a
		if i%2 == 1 {
			c = b
		}
		ok, _, err := c.Take(ctx, "partner", slow, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		}
	}
	if allowed != 4 {
		t.Fatalf("two clients of one Redis let %d requests through a burst of 4, want 4", allowed)
	}
}

func TestTheBucketRefillsAtItsRate(t *testing.T) {
	srv := redistest.Start(t)
	r := open(t, srv.URL())
	ctx := context.Background()
	// 10 a minute: a fraction of a token a second, refilled on Redis's clock.
	for range 2 {
		if ok, _, err := r.Take(ctx, "k", 10.0/60, 2, 1); err != nil || !ok {
			t.Fatalf("take within the burst: %v %v", ok, err)
		}
	}
	_, before, err := r.Take(ctx, "k", 10.0/60, 2, 0)
	if err != nil || before >= 1 {
		t.Fatalf("empty bucket holds %v tokens (%v)", before, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, now, err := r.Take(ctx, "k", 10.0/60, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if now > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bucket did not refill in 30s: %v tokens", now)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTakeFailsWhileRedisIsDownAndWorksOnceItIsBack(t *testing.T) {
	srv := redistest.Start(t)
	r := open(t, srv.URL())
	ctx := context.Background()
	if err := r.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, _, err := r.Take(ctx, "k", 1, 1, 1); err == nil {
		t.Fatal("Take with Redis stopped: no error")
	}
	srv.Restart()
	// The same client reconnects: no new one is needed. A pooled connection to the old
	// process may fail once more.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, _, err := r.Take(ctx, "k", 1, 1, 1)
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Take after Redis restarted: %v %v", ok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestParseURLChecksTheURLAndNeverEchoesThePassword(t *testing.T) {
	opts, err := ratelimit.ParseURL("redis://127.0.0.1:6390/2")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Addr != "127.0.0.1:6390" || opts.DB != 2 || opts.ReadTimeout != ratelimit.DefaultIOTimeout || opts.DialTimeout != ratelimit.DefaultDialTimeout || opts.MaxRetries != -1 {
		t.Fatalf("options: %+v", opts)
	}
	if opts, err := ratelimit.ParseURL("redis://h:1?read_timeout=2s&max_retries=2"); err != nil || opts.ReadTimeout != 2*time.Second || opts.MaxRetries != 2 {
		t.Fatalf("the URL's own settings: %+v %v", opts, err)
	}
	for _, bad := range []string{"http://h:1", "redis://h:1/x", "redis://h:1?colour=red", "redis://user:s3cret@h:1/\x7f", "localhost:6379"} {
		_, err := ratelimit.ParseURL(bad)
		if err == nil {
			t.Errorf("ParseURL(%q): no error", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURL(%q) = %v: the password leaked", bad, err)
		}
	}
}
