package cache_test

import (
	"strconv"
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

func TestCacheStoresWhatNoInvalidationSinceItsTicketDrops(t *testing.T) {
	f := newFeed()
	c := cache.New[string, int]("test", f, 0)
	// Another key's change while the lookup ran: the value read is still good.
	ticket := c.Begin()
	c.Invalidate(func(k string, _ int) bool { return k == "b" })
	c.Put(ticket, "a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get = %d, %v; want 1, true: an unrelated invalidation voided the lookup", v, ok)
	}
	// The predicate sees the value the lookup read: one that the change made stale is
	// not stored, one read after it is.
	ticket = c.Begin()
	c.Invalidate(func(_ string, v int) bool { return v == 10 })
	c.Put(ticket, "c", 10)
	if _, ok := c.Get("c"); ok {
		t.Fatal("a value the invalidation drops was stored after it")
	}
	c.Put(ticket, "c", 11)
	if v, ok := c.Get("c"); !ok || v != 11 {
		t.Fatalf("Get = %d, %v; want 11, true", v, ok)
	}
	// More invalidations than the cache remembers: the lookup is not stored, whatever
	// they were.
	ticket = c.Begin()
	for range 65 {
		c.Invalidate(func(k string, _ int) bool { return k == "b" })
	}
	c.Put(ticket, "d", 1)
	if _, ok := c.Get("d"); ok {
		t.Fatal("stored after more invalidations than the cache remembers")
	}
	// Clear voids every ticket taken before it.
	ticket = c.Begin()
	c.Clear()
	c.Put(ticket, "e", 1)
	if _, ok := c.Get("e"); ok {
		t.Fatal("a value read before Clear was stored after it")
	}
}

func TestCacheInvalidatesTheGroupsItIsTold(t *testing.T) {
	f := newFeed()
	group := func(k string) string { return k[:1] } // "a1" is in group "a"
	c := cache.NewGrouped[string, int]("test", f, 0, group)
	for _, k := range []string{"a1", "a2", "b1"} {
		c.Put(c.Begin(), k, 1)
	}
	c.InvalidateGroups(func(string, int) bool { return true }, "a")
	for k, want := range map[string]bool{"a1": false, "a2": false, "b1": true} {
		if _, ok := c.Get(k); ok != want {
			t.Fatalf("%s served: %v, want %v", k, ok, want)
		}
	}
	// A lookup in flight: another group's invalidation leaves it be, its own group's
	// does not.
	ticket := c.Begin()
	c.InvalidateGroups(func(string, int) bool { return true }, "b")
	c.Put(ticket, "a1", 2)
	if v, ok := c.Get("a1"); !ok || v != 2 {
		t.Fatalf("Get(a1) = %d, %v; want 2, true", v, ok)
	}
	ticket = c.Begin()
	c.InvalidateGroups(func(string, int) bool { return true }, "c", "a")
	c.Put(ticket, "a2", 2)
	if _, ok := c.Get("a2"); ok {
		t.Fatal("stored after its group was invalidated")
	}
	// Every group: Invalidate and Clear.
	c.Put(c.Begin(), "c1", 1)
	c.Invalidate(func(k string, _ int) bool { return k == "c1" })
	if _, ok := c.Get("c1"); ok {
		t.Fatal("Invalidate left an entry of a group")
	}
	c.Clear()
	if _, ok := c.Get("a1"); ok || c.Stats().Entries != 0 {
		t.Fatal("Clear left an entry")
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

func TestCacheEntriesEndAtTheirOwnTimeIfSooner(t *testing.T) {
	f := newFeed() // an hour's TTL
	c := cache.New[string, int]("test", f, 0)
	c.PutUntil(c.Begin(), "soon", 1, time.Now().Add(20*time.Millisecond))
	c.PutUntil(c.Begin(), "later", 2, time.Now().Add(2*time.Hour)) // the TTL ends first
	c.PutUntil(c.Begin(), "any", 3, time.Time{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := c.Get("soon"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an entry good for 20 ms was still served 10 s later")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, k := range []string{"later", "any"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s not served", k)
		}
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
	c := cache.NewGrouped[int, int]("test", f, 0, func(k int) string { return strconv.Itoa(k % 4) })
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
				switch i % 100 {
				case 0:
					c.Invalidate(func(key, _ int) bool { return key == k })
				case 50:
					c.InvalidateGroups(func(key, _ int) bool { return key == k }, strconv.Itoa(k%4))
				}
			}
		}()
	}
	wg.Wait()
}
