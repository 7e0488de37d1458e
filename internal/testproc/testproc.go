// Package testproc runs a real third-party server (redis-server, Mailpit, …) as its own
// process for a test: the binary found from an environment variable or the PATH (skipped
// without one, or failing when PRIMA_REQUIRE_INTEGRATION=1, as in CI, so a missing server
// cannot pass unnoticed), free loopback ports, a start that waits until the server
// answers, and a stop that waits until it has exited. The packages for each server
// (internal/ratelimit/redistest, internal/webhooks/mailpittest) say how to run and
// ask it.
package testproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvRequireIntegration set to 1 turns a missing server into a failure.
const EnvRequireIntegration = "PRIMA_REQUIRE_INTEGRATION"

// StartTimeout is how long Start waits for a server to answer.
const StartTimeout = 30 * time.Second

// stopGrace is how long Stop waits after SIGTERM before it kills the process.
const stopGrace = 10 * time.Second

// Binary is $env, else name on the PATH, else "".
func Binary(env, name string) string {
	if b := os.Getenv(env); b != "" {
		return b
	}
	if b, err := exec.LookPath(name); err == nil {
		return b
	}
	return ""
}

// Need is Binary, or else t skipped (failed with PRIMA_REQUIRE_INTEGRATION=1); install
// says how to get the binary.
func Need(t testing.TB, env, name, install string) string {
	t.Helper()
	bin := Binary(env, name)
	if bin == "" {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("testproc: %s=1 but there is no %s (%s, or set %s)", EnvRequireIntegration, name, install, env)
		}
		t.Skipf("testproc: test skipped: no %s on the PATH (%s, or set %s)", name, install, env)
	}
	return bin
}

// FreePort is a loopback port that was free a moment ago. Another process may take it
// before the server binds it: callers that can, try again with another.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Process is a server process that can be stopped and started again. The zero value is
// stopped.
type Process struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts cmd, unless a process runs already, and waits until ready reports true.
// If the process exits first, or StartTimeout passes (it is then killed), Start returns
// an error with the log at logPath, where the caller sent the process's output.
func (p *Process) Start(cmd *exec.Cmd, logPath string, ready func() bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(StartTimeout)
	for !ready() {
		select {
		case <-done:
			log, _ := os.ReadFile(logPath) // #nosec G304 -- the test's own log file
			return fmt.Errorf("%s exited during start-up:\n%s", cmd.Path, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("%s did not answer within %s", cmd.Path, StartTimeout)
		}
	}
	p.cmd, p.done = cmd, done
	return nil
}

// Stop stops the process (SIGTERM, then SIGKILL after 10 s) and waits until it has
// exited. Stopping a stopped process does nothing.
func (p *Process) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}
