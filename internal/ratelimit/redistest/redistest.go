// Package redistest runs a real redis-server for a test: its own process on a free
// loopback port, with nothing saved to disk, stopped when the test ends. A test owns its
// server, so it may stop and restart it (to prove what happens while Redis is down) and
// no other test sees its keys.
//
// The binary is $PRIMA_TEST_REDIS_SERVER, else redis-server on the PATH (Debian's
// package installs /usr/bin/redis-server; .ci/run installs it). Without one the test is
// skipped, or fails when PRIMA_REQUIRE_INTEGRATION=1 (CI), so a missing Redis cannot
// pass unnoticed (internal/testproc).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/testproc"
)

// EnvServer names the redis-server binary to run.
const EnvServer = "PRIMA_TEST_REDIS_SERVER"

// Server is one redis-server started for a test.
type Server struct {
	testproc.Process
	t    testing.TB
	bin  string
	dir  string
	port int
}

// Binary is the redis-server to run, or "" when there is none.
func Binary() string { return testproc.Binary(EnvServer, "redis-server") }

// Start starts a redis-server on a free loopback port and waits until it answers. It is
// stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: testproc.Need(t, EnvServer, "redis-server", "install Debian's redis-server"), dir: t.TempDir()}
	t.Cleanup(s.Stop)
	// A free port can be taken between choosing it and redis-server binding it; try
	// again with another one then.
	var err error
	for range 5 {
		if s.port, err = testproc.FreePort(); err != nil {
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

// Restart starts the stopped server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

func (s *Server) start() error {
	logPath := fmt.Sprintf("%s/redis-%d.log", s.dir, s.port)
	cmd := exec.Command(s.bin, // #nosec G204 -- the test's own redis-server binary
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--logfile", logPath,
	)
	return s.Start(cmd, logPath, func() bool { return ping(s.Addr()) })
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
