package store_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestOpenUnreachablePostgresIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := store.Open(ctx, store.Config{URL: "postgres://postgres@" + closedPort(t) + "/x?sslmode=disable&connect_timeout=2"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open on a closed port: %v, want ErrUnavailable", err)
	}
}

// TestTerminatedConnectionsAreUnavailable terminates the pool's backends in the middle of
// a transaction and afterwards: the statement that loses its connection answers
// ErrUnavailable, and the next call works on a new connection, with no restart.
func TestTerminatedConnectionsAreUnavailable(t *testing.T) {
	u := storetest.PostgresURL(t)
	app := "prima_unavail_" + time.Now().Format("150405.000000")
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("application_name", app)
	pu.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: pu.String(), MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin, err := store.Open(ctx, store.Config{URL: u, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	terminate := func() {
		t.Helper()
		if _, err := admin.SQL().ExecContext(ctx,
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", app); err != nil {
			t.Fatal(err)
		}
	}
	err = db.Transact(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetReservation("", "res_missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("before: %v", err)
		}
		terminate()
		_, err := tx.GetReservation("", "res_missing")
		return err
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a transaction whose connection was terminated: %v, want ErrUnavailable", err)
	}
	// Idle connections terminated too: database/sql retries a bad idle connection, and
	// the pool dials a new one.
	terminate()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := db.GetReservation(ctx, "", "res_missing")
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("after termination: %v, want ErrNotFound or ErrUnavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not recover: %v", err)
		}
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping after recovery: %v", err)
	}
}
