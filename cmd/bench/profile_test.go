package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/store"
)

// The pool's waits are read from the server's metrics as prima serve exports them: a
// request for a connection that waited for the pool's only one counts once, with its
// wait.
func TestPrimaryPoolWaitsReadsTheServersMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sdb, err := store.Open(ctx, store.Config{URL: ":memory:"}) // a pool of one connection
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	db := sdb.SQL()
	m := metrics.New()
	m.WatchDB(db, "postgres") // the name prima serve gives its primary pool on PostgreSQL
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	before := primaryPoolWaits(ctx, addr)
	held, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := db.Conn(ctx) // waits for held
		if err == nil {
			err = c.Close()
		}
		done <- err
	}()
	for db.Stats().WaitCount == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the second request for a connection never waited")
		case <-time.After(time.Millisecond):
		}
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := primaryPoolWaits(ctx, addr).since(before)
	if got.Count != 1 || got.Seconds <= 0 {
		t.Fatalf("pool waits %+v, want 1 with its time", got)
	}
}
