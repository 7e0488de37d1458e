package ids_test

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/prima-dining/partner-api/internal/ids"
)

// A ULID in lowercase Crockford base32: 26 characters, the first at most 7.
var lowerULID = regexp.MustCompile(`^[0-7][0-9a-hjkmnp-tv-z]{25}$`)

func TestNewIsThePrefixAndALowercaseULID(t *testing.T) {
	for _, prefix := range []string{"ven", "slot", "res", "alc", "tok", "sch", "clo"} {
		id := ids.New(prefix)
		rest, ok := strings.CutPrefix(id, prefix+"_")
		if !ok || !lowerULID.MatchString(rest) {
			t.Errorf("New(%q) = %q, want %s_ and 26 lowercase ULID characters", prefix, id, prefix)
		}
	}
}

// The ULID's time is when the id was made, so ids sort by creation time.
func TestNewCarriesItsCreationTime(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	id := ids.New("res")
	after := time.Now()
	u, err := ulid.ParseStrict(strings.ToUpper(strings.TrimPrefix(id, "res_")))
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if at := ulid.Time(u.Time()); at.Before(before) || at.After(after) {
		t.Fatalf("id %s made at %s, its time says %s", id, before, at)
	}
}

// Ids made one after another sort in that order as strings, even within one
// millisecond, so keyset paging by id follows creation order.
func TestNewSortsInCreationOrder(t *testing.T) {
	made := make([]string, 5000)
	for i := range made {
		made[i] = ids.New("res")
	}
	for i := 1; i < len(made); i++ {
		if made[i] <= made[i-1] {
			t.Fatalf("id %d %s does not sort after id %d %s", i, made[i], i-1, made[i-1])
		}
	}
}

func TestNewIsUniqueAcrossGoroutines(t *testing.T) {
	const workers, each = 8, 2000
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				out[w] = append(out[w], ids.New("slot"))
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(out...)
	slices.Sort(all)
	if n := len(slices.Compact(all)); n != workers*each {
		t.Fatalf("%d ids, %d distinct", workers*each, n)
	}
}
