package cache_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/cache"
)

// feed is a Feed the test moves by hand.
type feed struct {
	epoch   atomic.Uint64
	trusted atomic.Bool
	ttl     time.Duration
}

func (f *feed) Epoch() (uint64, bool) { return f.epoch.Load(), f.trusted.Load() }
func (f *feed) TTL() time.Duration    { return f.ttl }

func newFeed() *feed {
	f := &feed{ttl: time.Hour}
	f.epoch.Store(1)
	f.trusted.Store(true)
	return f
}

func TestCacheServesWhatWasPutWhileTrusted(t *testing.T) {
	f := newFeed()
	c := cache.New[string, int]("test", f, 0)
	if _, ok := c.Get("a"); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put(c.Begin(), "a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get = %d, %v; want 1, true", v, ok)
	}
	f.trusted.Store(false)
	if _, ok := c.Get("a"); ok {
		t.Fatal("served while the feed is not trusted")
	}
	f.trusted.Store(true) // a lapsed lease renewed in the same epoch: the entry is good
	if _, ok := c.Get("a"); !ok {
		t.Fatal("not served once trusted again in the same epoch")
	}
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 1 || st.Bypasses != 1 || st.Entries != 1 {
		t.Fatalf("stats %+v, want 2 hits, 1 miss, 1 bypass, 1 entry", st)
	}
}

func TestCacheDropsEveryEntryOfAnEarlierEpoch(t *testing.T) {
	f := newFeed()
	c := cache.New[string, int]("test", f, 0)
	c.Put(c.Begin(), "a", 1)
	f.epoch.Add(1) // the listener re-subscribed: notices of the gap are lost
	if _, ok := c.Get("a"); ok {
		t.Fatal("an entry of an earlier epoch was served")
	}
}

func TestCacheStoresNothingReadBeforeAnInvalidation(t *testing.T) {
	f := newFeed()
	c := cache.New[string, int]("test", f, 0)
	// A lookup starts, reads the old value; the change is announced; the lookup ends.
	ticket := c.Begin()
	c.Invalidate(func(k string, _ int) bool { return k == "a" })
	c.Put(ticket, "a", 1)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a value read before an invalidation was stored after it")
	}
	// Same for a new epoch and for a lapse of trust between Begin and Put.
	ticket = c.Begin()
	f.epoch.Add(1)
	c.Put(ticket, "a", 1)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a value read in an earlier epoch was stored")
	}
	f.trusted.Store(false)
	ticket = c.Begin()
	f.trusted.Store(true)
	c.Put(ticket, "a", 1)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a value read while not trusted was stored")
	}
	c.Put(c.Begin(), "a", 2)
	if v, ok := c.Get("a"); !ok || v != 2 {
		t.Fatalf("Get = %d, %v; want 2, true", v, ok)
	}
	c.Clear()
	if _, ok := c.Get("a"); ok {
		t.Fatal("served after Clear")
	}
}

func TestCacheEntriesEndAfterTheTTL(t *testing.T) {
	f := newFeed()
	f.ttl = 20 * time.Millisecond
	c := cache.New[string, int]("test", f, 0)
	c.Put(c.Begin(), "a", 1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := c.Get("a"); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("an entry was still served 10 s after a 20 ms TTL")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCacheStaysWithinItsBound(t *testing.T) {
	c := cache.New[int, int]("test", newFeed(), 3)
	for i := range 10 {
		c.Put(c.Begin(), i, i)
	}
	if n := c.Stats().Entries; n != 3 {
		t.Fatalf("%d entries in a cache of 3", n)
	}
}

// Under -race: concurrent lookups, stores and invalidations.
func TestCacheConcurrentUse(t *testing.T) {
	f := newFeed()
	c := cache.New[int, int]("test", f, 0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (g + i) % 16
				if _, ok := c.Get(k); !ok {
					c.Put(c.Begin(), k, i)
				}
				if i%100 == 0 {
					c.Invalidate(func(key, _ int) bool { return key == k })
				}
			}
		}()
	}
	wg.Wait()
}
