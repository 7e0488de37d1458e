package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestSIGTERMTurnsReadinessTo503WhileStillServing stops `prima serve` the way SIGTERM
// does (its context ends): at once /readyz answers 503 `stopping`, so a load balancer
// health-checking it drains the process, while the process still answers requests
// through PRIMA_SHUTDOWN_DELAY and then exits cleanly.
func TestSIGTERMTurnsReadinessTo503WhileStillServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	t.Setenv("PRIMA_DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "prima.db"))
	t.Setenv("PRIMA_ADDR", addr)
	t.Setenv("PRIMA_LOG_LEVEL", "error")
	// Long enough for the probes below on a busy machine; the test waits on conditions.
	const delay = 3 * time.Second
	t.Setenv("PRIMA_SHUTDOWN_DELAY", delay.String())
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	stopped := make(chan error, 1)
	go func() { stopped <- serve(serveCtx, c, true, false) }()
	base := "http://" + addr
	waitForServer(t, base+"/healthz")

	client := &http.Client{Timeout: 5 * time.Second}
	probe := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("GET %s: %d, not JSON: %s", path, resp.StatusCode, b)
		}
		return resp.StatusCode, out
	}
	if code, body := probe("/readyz"); code != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("/readyz before SIGTERM: %d %v, want 200 ok", code, body)
	}

	sigterm()
	signalled := time.Now()
	var code int
	var body map[string]any
	for {
		code, body = probe("/readyz")
		if code == http.StatusServiceUnavailable {
			break
		}
		select {
		case err := <-stopped:
			t.Fatalf("serve returned (%v) before /readyz answered 503", err)
		default:
		}
		if time.Since(signalled) > delay {
			t.Fatalf("/readyz still %d %v %v after SIGTERM, past the shutdown delay", code, body, time.Since(signalled))
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the delay above
	}
	turned := time.Since(signalled)
	checks, _ := body["checks"].(map[string]any)
	if body["status"] != "stopping" || checks["database"] != "ok" || checks["migrations"] != "ok" {
		t.Errorf("/readyz after SIGTERM: %v, want status stopping with the checks ok", body)
	}
	// Still serving: the load balancer may route a request here until its next check.
	if code, body := probe("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during the shutdown delay: %d %v, want 200", code, body)
	}
	if code, _ := probe("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the shutdown delay: %d, want 503 until exit", code)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(delay + 30*time.Second):
		t.Fatal("serve did not return after the shutdown delay")
	}
	if took := time.Since(signalled); took < delay {
		t.Errorf("serve returned %v after SIGTERM, before the %v shutdown delay", took, delay)
	}
	t.Logf("/readyz answered 503 stopping %v after SIGTERM; the process served on for the %v delay", turned, delay)
}
