package store

import (
	"strings"
	"testing"
	"time"
)

func TestSQLiteDSN(t *testing.T) {
	cases := []struct{ url, path, dir string }{
		{"", "./data/prima.db", "data"},
		{"sqlite:", "./data/prima.db", "data"},
		{"sqlite:./var/x.db", "./var/x.db", "var"},
		{"sqlite:///tmp/p/x.db", "/tmp/p/x.db", "/tmp/p"},
		{"sqlite::memory:", ":memory:", ""},
		{"/abs/y.db", "/abs/y.db", "/abs"},
		{"rel.db", "rel.db", "."},
		{"sqlite:file:z.db?cache=shared", "file:z.db?cache=shared", "."},
	}
	for _, c := range cases {
		dsn, dir := sqliteDSN(c.url)
		if !strings.HasPrefix(dsn, c.path) || dir != c.dir {
			t.Errorf("sqliteDSN(%q) = %q, %q; want path %q, dir %q", c.url, dsn, dir, c.path, c.dir)
		}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "_txlock=immediate"} {
			if !strings.Contains(dsn, p) {
				t.Errorf("sqliteDSN(%q) = %q lacks %s", c.url, dsn, p)
			}
		}
		if strings.Count(dsn, "?") != 1 {
			t.Errorf("sqliteDSN(%q) = %q: want exactly one '?'", c.url, dsn)
		}
	}
}

func TestDBTimeIsUTCMicroseconds(t *testing.T) {
	in := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	got := dbTime(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Fatalf("dbTime = %v", got)
	}
	if dbTimePtr(nil) != nil {
		t.Fatal("dbTimePtr(nil) != nil")
	}
}

// The text glebarez/sqlite writes must sort like the instants, with any fraction.
func TestSQLiteTimeTextSortsLikeTime(t *testing.T) {
	const layout = "2006-01-02 15:04:05.999999999-07:00" // glebarez/go-sqlite's write format
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var ts []time.Time
	for _, d := range []time.Duration{0, time.Microsecond, 10 * time.Microsecond, 100 * time.Millisecond,
		120 * time.Millisecond, 123456 * time.Microsecond, 500 * time.Millisecond, 999999 * time.Microsecond,
		time.Second, time.Second + 5*time.Microsecond, time.Minute} {
		ts = append(ts, dbTime(base.Add(d)))
	}
	for i := range ts {
		for j := range ts {
			a, b := ts[i].Format(layout), ts[j].Format(layout)
			if (a < b) != ts[i].Before(ts[j]) || (a == b) != ts[i].Equal(ts[j]) {
				t.Fatalf("%q vs %q orders unlike %v vs %v", a, b, ts[i], ts[j])
			}
		}
	}
}
