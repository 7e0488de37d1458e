package access

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// announced returns a function that waits until every announcement of c has reached
// the process: on PostgreSQL the store's own in the process, then the database's notice
// (which drops the entry again when it comes after a reload).
func announced(t *testing.T, db *store.DB, c store.Change) func() {
	t.Helper()
	var mu sync.Mutex
	n := 0
	db.Invalidations().Subscribe(func(got store.Change) {
		if got == c {
			mu.Lock()
			n++
			mu.Unlock()
		}
	})
	want := 1
	if db.Dialect() == store.DialectPostgres {
		want = 2
	}
	return func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			got := n
			mu.Unlock()
			if got >= want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%v announced %d times in 20 s, want %d", c, got, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// authenticateHit authenticates and checks the token came from the cache.
func authenticateHit(t *testing.T, s *Service, secret string) Principal {
	t.Helper()
	before := s.CacheStats().Hits
	p, err := s.Authenticate(testCtx(t), secret)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	if s.CacheStats().Hits != before+1 {
		t.Fatalf("not served from the cache: %+v", s.CacheStats())
	}
	return p
}

func TestRevokedTokenRefusedAtOnceDespiteTheCache(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		storetest.Listen(t, db)
		s := NewService(db)
		secret, tok, err := s.Create(ctx, CreateParams{Partner: "cached"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		authenticateHit(t, s, secret)
		if err := s.Revoke(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret); !errors.Is(err, ErrRevoked) {
			t.Fatalf("the request after the revocation: %v, want ErrRevoked", err)
		}
	})
}

// A rotated token's end, scheduled at the end of the overlap, and an expiry are checked
// against the clock at every use, cached or not.
func TestCachedTokenEndsOnTimeWithoutANotice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		storetest.Listen(t, db)
		clk := &clock{now: time.Now().UTC()}
		s := NewService(db)
		s.now = clk.Now
		secret, tok, err := s.Create(ctx, CreateParams{Partner: "rotating", ExpiresIn: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		settled := announced(t, db, store.Change{Kind: store.ChangeToken, ID: tok.ID})
		next, _, err := s.Rotate(ctx, tok.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		settled()
		if _, err := s.Authenticate(ctx, secret); err != nil {
			t.Fatalf("old token in its overlap: %v", err)
		}
		authenticateHit(t, s, secret)
		if _, err := s.Authenticate(ctx, next); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour + time.Second)
		hits := s.CacheStats().Hits
		if _, err := s.Authenticate(ctx, secret); !errors.Is(err, ErrRevoked) {
			t.Fatalf("old token after its overlap: %v, want ErrRevoked", err)
		}
		if s.CacheStats().Hits != hits+1 {
			t.Fatal("the old token's end was not decided from the cached entry")
		}
		authenticateHit(t, s, next)
		clk.Add(2 * time.Hour)
		if _, err := s.Authenticate(ctx, next); !errors.Is(err, ErrExpired) {
			t.Fatalf("successor after its lifetime: %v, want ErrExpired", err)
		}
	})
}

// Another process's revocation reaches this process's cache through the database.
func TestRevocationByAnotherProcessReachesTheCache(t *testing.T) {
	storetest.ForEachPair(t, func(t *testing.T, a, b *store.DB) {
		ctx := testCtx(t)
		storetest.Listen(t, a)
		sa, sb := NewService(a), NewService(b)
		secret, tok, err := sb.Create(ctx, CreateParams{Partner: "elsewhere"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sa.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		authenticateHit(t, sa, secret)
		start := time.Now()
		if err := sb.Revoke(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		deadline := start.Add(20 * time.Second)
		for {
			_, err := sa.Authenticate(ctx, secret)
			if errors.Is(err, ErrRevoked) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("another process's revocation not honoured within 20 s")
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("%s: revocation by another process refused after %s", a.Dialect(), time.Since(start).Round(time.Millisecond))
	})
}

// A partner's settings (its rate limit here) reach its cached tokens at once.
func TestPartnerChangeReachesItsCachedTokens(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		storetest.Listen(t, db)
		s := NewService(db)
		secret, _, err := s.Create(ctx, CreateParams{Partner: "limited"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if p := authenticateHit(t, s, secret); p.RateLimitPerSecond != 0 {
			t.Fatalf("rate limit %v before any was set", p.RateLimitPerSecond)
		}
		if err := db.SetPartnerRateLimit(ctx, "limited", 7, 14); err != nil {
			t.Fatal(err)
		}
		p, err := s.Authenticate(ctx, secret)
		if err != nil || p.RateLimitPerSecond != 7 || p.RateLimitBurst != 14 {
			t.Fatalf("after the change: %+v %v, want 7/s burst 14", p, err)
		}
	})
}

// last_used_at is still recorded, once per touchEvery, when the token comes from the
// cache.
func TestCachedTokenUseIsRecorded(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		storetest.Listen(t, db)
		clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
		s := NewService(db)
		s.now = clk.Now
		secret, tok, err := s.Create(ctx, CreateParams{Partner: "used"})
		if err != nil {
			t.Fatal(err)
		}
		lastUsed := func() time.Time {
			t.Helper()
			got, err := s.Get(ctx, tok.ID)
			if err != nil || got.LastUsedAt == nil {
				t.Fatalf("last_used_at: %+v %v", got.LastUsedAt, err)
			}
			return got.LastUsedAt.UTC()
		}
		first := clk.Now()
		if _, err := s.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("last_used_at %s, want %s", got, first)
		}
		clk.Add(30 * time.Second)
		authenticateHit(t, s, secret)
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("last_used_at %s after 30 s, want %s (once a minute)", got, first)
		}
		clk.Add(31 * time.Second)
		authenticateHit(t, s, secret)
		if got := lastUsed(); !got.Equal(clk.Now()) {
			t.Fatalf("last_used_at %s after 61 s, want %s", got, clk.Now())
		}
	})
}

// Without the listener the cache is never trusted: every check reads the database.
func TestTokenCacheBypassedWithoutTheListener(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		s := NewService(db)
		secret, _, err := s.Create(ctx, CreateParams{Partner: "uncached"})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := s.Authenticate(ctx, secret); err != nil {
				t.Fatal(err)
			}
		}
		if st := s.CacheStats(); st.Hits != 0 || st.Bypasses != 3 || st.Entries != 0 {
			t.Fatalf("stats %+v, want 3 bypasses and nothing cached", st)
		}
	})
}
