package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/demo"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// BenchmarkSearchAvailability measures the server's own cost of a search (routing,
// authentication, validation, the query on SQLite, encoding) through the real router,
// for CPU profiles: go test -run '^$' -bench SearchAvailability -cpuprofile cpu.out ./server
func BenchmarkSearchAvailability(b *testing.B) {
	db := storetest.OpenSQLite(b)
	if _, _, err := demo.Seed(context.Background(), db, demo.Options{Days: 3}); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, db, withRateLimit(server.RateLimit{PerSecond: 1e9, Burst: 1e9}))
	date := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/availability?date="+date+"&party_size=2&city=Paris", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("search: %v %v", err, resp)
		}
		_ = resp.Body.Close()
	}
}

// BenchmarkGetVenue measures the server's own cost of an authenticated
// GET /v1/venues/{id} with the process's caches on (the token and the venue come from
// them, as in make bench's overhead phase), through the real router:
// go test -run '^$' -bench GetVenue -benchmem -cpuprofile cpu.out ./server
func BenchmarkGetVenue(b *testing.B) {
	e, venueID := getVenueEnv(b)
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/venues/"+venueID, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("get venue: %v %v", err, resp)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

// BenchmarkGetVenueHandler is BenchmarkGetVenue without the loopback connection, the
// client and the test harness's response validation: the Echo server alone answers
// each request in process, so ns/op and allocs/op are the server's own time and
// allocations per request. cpu-ns/op is the process's CPU time (user and system, every
// thread: the garbage collector and the audit log's batched writes too) per request,
// which other work on the machine inflates less than ns/op (Unix only):
// go test -run '^$' -bench GetVenueHandler -benchmem -cpuprofile cpu.out ./server
func BenchmarkGetVenueHandler(b *testing.B) {
	e, venueID := getVenueEnv(b)
	req := httptest.NewRequest("GET", "/v1/venues/"+venueID, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	serveInProcess(b, e, req)
}

// serveInProcess times req answered by e's Echo server in process (no connection, no
// client), each answer a 200, and reports the process's CPU a request as cpu-ns/op.
func serveInProcess(b *testing.B, e *env, req *http.Request) {
	b.Helper()
	b.ResetTimer()
	cpu := processCPU(b)
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
		}
	}
	if cpu >= 0 {
		b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
	}
}

// getVenueEnv is the GET benchmarks' server: the demo catalogue on SQLite with the
// caches listening and no rate limit to speak of, and the id of a venue to ask for.
func getVenueEnv(b *testing.B) (*env, string) {
	db := storetest.OpenSQLite(b)
	storetest.Listen(b, db)
	if _, _, err := demo.Seed(context.Background(), db, demo.Options{Days: 1}); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, db, withRateLimit(server.RateLimit{PerSecond: 1e9, Burst: 1e9}))
	vs, _, err := db.ListVenues(context.Background(), store.Scope{AllVenues: true}, store.VenueFilter{}, store.Page{Limit: 1})
	if err != nil || len(vs) == 0 {
		b.Fatalf("a venue: %v", err)
	}
	return e, vs[0].ID
}

// BenchmarkSearchAvailabilityCachedHandler is a search answered from the process's
// cache of search answers (PostgreSQL only: SQLite keeps none), in process as
// BenchmarkGetVenueHandler is: the server's own time, allocations and CPU per hit.
// It needs PRIMA_TEST_DATABASE_URL:
// go test -run '^$' -bench SearchAvailabilityCachedHandler -benchmem ./server
func BenchmarkSearchAvailabilityCachedHandler(b *testing.B) {
	searchHandlerBench(b, 0)
}

// BenchmarkSearchAvailabilityMissHandler is BenchmarkSearchAvailabilityCachedHandler
// with no answer kept: every search reads PostgreSQL, as a search the cache misses does.
func BenchmarkSearchAvailabilityMissHandler(b *testing.B) {
	searchHandlerBench(b, -1)
}

// searchHandlerBench times one search through the Echo server in process, with the
// search answers' cache on (ttl 0: its default) or off (ttl < 0).
func searchHandlerBench(b *testing.B, ttl time.Duration) {
	db := storetest.OpenPostgres(b)
	storetest.Listen(b, db)
	storetest.WaitTrusted(b, db, 10*time.Second)
	if _, _, err := demo.Seed(context.Background(), db, demo.Options{Days: 3}); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, db, withRateLimit(server.RateLimit{PerSecond: 1e9, Burst: 1e9}), withSearchCacheTTL(ttl))
	date := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	req := httptest.NewRequest("GET", "/v1/availability?date="+date+"&party_size=2&city=Paris", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	first := httptest.NewRecorder()
	e.handler.ServeHTTP(first, req) // the miss that keeps the answer
	if first.Code != http.StatusOK {
		b.Fatalf("search: %d %s", first.Code, first.Body)
	}
	serveInProcess(b, e, req)
}
