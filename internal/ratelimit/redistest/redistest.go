// Package redistest runs a real redis-server for a test: its own process on a free
// loopback port, with nothing saved to disk, stopped when the test ends. A test owns its
// server, so it may stop and restart it (to prove what happens while Redis is down) and
// no other test sees its keys.
//
// The binary is $PRIMA_TEST_REDIS_SERVER, else redis-server on the PATH (Debian's
// package installs /usr/bin/redis-server; .ci/run installs it). Without one the test is
// skipped, or fails when PRIMA_REQUIRE_INTEGRATION=1 (CI), so a missing Redis cannot
// pass unnoticed.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Env names.
const (
	EnvServer             = "PRIMA_TEST_REDIS_SERVER"
	EnvRequireIntegration = "PRIMA_REQUIRE_INTEGRATION"
)

// Server is one redis-server started for a test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Binary is the redis-server to run, or "" when there is none.
func Binary() string {
	if b := os.Getenv(EnvServer); b != "" {
		return b
	}
	if b, err := exec.LookPath("redis-server"); err == nil {
		return b
	}
	return ""
}

// Start starts a redis-server on a free loopback port and waits until it answers. It is
// stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("redistest: %s=1 but there is no redis-server (install Debian's redis-server or set %s)", EnvRequireIntegration, EnvServer)
		}
		t.Skipf("redistest: Redis test skipped: no redis-server on the PATH (or set %s)", EnvServer)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	// A free port can be taken between choosing it and redis-server binding it; try
	// again with another one then.
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", err)
	return nil
}

// URL is the server's redis:// URL.
func (s *Server) URL() string {
	return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
}

// Addr is the server's host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s) and waits until it has
// exited; its keys are gone. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts the stopped server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logPath := fmt.Sprintf("%s/redis-%d.log", s.dir, s.port)
	cmd := exec.Command(s.bin, // #nosec G204 -- the test's own redis-server binary
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--logfile", logPath,
	)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ping(s.Addr()) {
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logPath) // #nosec G304 -- the test's own log file
			return fmt.Errorf("redis-server on port %d exited during start-up:\n%s", s.port, b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer PING within 30s", s.port)
		}
	}
}

// ping reports whether a Redis at addr answers PING.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
