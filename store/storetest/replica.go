package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// EnvDatabaseReadURL names a streaming replica of the database of EnvDatabaseURL
// (scripts/ci/replica.sh starts one), for the tests of the read replica.
const EnvDatabaseReadURL = "PRIMA_TEST_DATABASE_READ_URL"

// replicaLock is the advisory lock (on the primary's test database) that a test using the
// replica holds for its whole run: the replica is the whole cluster's, and the tests pause
// its replay, which every other user of it would feel.
const replicaLock = 7_470_121_500

// ReplicaURL returns a URL of the read replica that reaches the schema primaryURL (from
// PostgresURL) names, once the replica has replayed its creation. The test has the replica
// to itself until it ends (see replicaLock). Without EnvDatabaseReadURL the test is
// skipped, or fails when PRIMA_REQUIRE_INTEGRATION=1.
func ReplicaURL(t testing.TB, primaryURL string) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseReadURL)
	if base == "" {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("storetest: %s=1 but %s is not set: the read replica tests cannot run (scripts/ci/replica.sh start)", EnvRequireIntegration, EnvDatabaseReadURL)
		}
		t.Skipf("storetest: read replica test skipped: set %s to run it (scripts/ci/replica.sh start)", EnvDatabaseReadURL)
	}
	p, err := url.Parse(primaryURL)
	if err != nil {
		t.Fatalf("storetest: invalid primary URL")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: invalid %s", EnvDatabaseReadURL)
	}
	q := u.Query()
	q.Set("search_path", p.Query().Get("search_path"))
	u.RawQuery = q.Encode()
	replicaURL := u.String()

	lockReplica(t, primaryURL)
	WaitReplica(t, primaryURL, replicaURL)
	t.Cleanup(func() { ResumeReplay(t, replicaURL) }) // whatever the test left
	return replicaURL
}

// lockReplica takes replicaLock for the rest of the test, on a connection of its own.
func lockReplica(t testing.TB, primaryURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: primaryURL, MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("storetest: open primary: %v", err)
	}
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		_ = db.Close()
		t.Fatalf("storetest: connect to the primary: %v", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, replicaLock); err != nil {
		_ = conn.Close()
		_ = db.Close()
		t.Fatalf("storetest: wait for the replica's lock: %v", err)
	}
	t.Cleanup(func() {
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, replicaLock)
		_ = conn.Close()
		_ = db.Close()
	})
}

// WaitReplica waits until the replica at replicaURL has replayed everything the primary
// at primaryURL had written when it was called.
func WaitReplica(t testing.TB, primaryURL, replicaURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var target string
	query(ctx, t, primaryURL, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT pg_current_wal_flush_lsn()::text`).Scan(&target)
	})
	query(ctx, t, replicaURL, func(db *sql.DB) error {
		for {
			var done bool
			err := db.QueryRowContext(ctx, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, target).Scan(&done)
			if err != nil || done {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the replica has not replayed up to %s: %w", target, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
}

// PauseReplay stops the replica replaying the primary's WAL (it keeps receiving it), until
// ResumeReplay or the end of the test.
func PauseReplay(t testing.TB, replicaURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	query(ctx, t, replicaURL, func(db *sql.DB) error {
		if _, err := db.ExecContext(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
			return err
		}
		for {
			var state string
			if err := db.QueryRowContext(ctx, `SELECT pg_get_wal_replay_pause_state()`).Scan(&state); err != nil || state == "paused" {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("replay not paused: %w", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
}

// ResumeReplay lets the replica replay again.
func ResumeReplay(t testing.TB, replicaURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	query(ctx, t, replicaURL, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, `SELECT pg_wal_replay_resume()`)
		return err
	})
}

// query runs fn on a short-lived pool of the database at u.
func query(ctx context.Context, t testing.TB, u string, fn func(*sql.DB) error) {
	t.Helper()
	db, err := store.Open(ctx, store.Config{URL: u, MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer db.Close()
	if err := fn(db.SQL()); err != nil {
		t.Fatalf("storetest: %v", err)
	}
}
