package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3/lock"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestServeBehindAStaleMigrationLockIsReadyWithinSeconds leaves the migration lock as a
// process killed with kill -9 while migrating leaves it (goose's lock row, leased for
// goose's default 30 s), then starts the real binary: it must answer /readyz 200 within
// 5 s (it took 31-36 s when startup and /readyz went through the lock), and three
// concurrent probes must each answer well under a second (they took 4-6 s).
func TestServeBehindAStaleMigrationLockIsReadyWithinSeconds(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	bin := filepath.Join(t.TempDir(), "prima")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	db, err := store.Open(ctx, store.Config{URL: dbURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO goose_lock (lock_id, locked, locked_at, locked_by, lease_expires_at, updated_at)
		VALUES ($1, true, now(), 'killed-host-4242-dead', now() + interval '30 seconds', now())
		ON CONFLICT (lock_id) DO UPDATE SET locked = true, locked_at = now(), locked_by = excluded.locked_by,
			lease_expires_at = excluded.lease_expires_at, updated_at = now()`, lock.DefaultLockID); err != nil {
		t.Fatalf("stale lock: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "PRIMA_DATABASE_URL="+dbURL, "PRIMA_ADDR="+addr, "PRIMA_LOG_LEVEL=error")
	cmd.Stderr = os.Stderr // errors only (PRIMA_LOG_LEVEL); the banner on stdout is dropped
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	url := "http://" + addr + "/readyz"
	client := &http.Client{Timeout: 2 * time.Second}
	status := func() int {
		resp, err := client.Get(url)
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	deadline := start.Add(5 * time.Second)
	for status() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 5 s of starting behind a stale migration lock")
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline above
	}
	t.Logf("ready %v after start, behind a stale migration lock", time.Since(start).Round(time.Millisecond))

	for round := range 3 {
		took := make([]time.Duration, 3)
		codes := make([]int, 3)
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				t0 := time.Now()
				codes[i] = status()
				took[i] = time.Since(t0)
			})
		}
		wg.Wait()
		t.Logf("round %d: three concurrent /readyz took %v", round, took)
		for i := range 3 {
			if codes[i] != http.StatusOK || took[i] > time.Second {
				t.Errorf("round %d probe %d: %d in %v, want 200 in < 1 s", round, i, codes[i], took[i])
			}
		}
	}
}
