// Package mailpittest runs a real SMTP server for a test: Mailpit
// (github.com/axllent/mailpit), its own process on free loopback ports, stopped when the
// test ends; the test reads the messages it received back through Mailpit's HTTP API.
//
// The binary is $PRIMA_TEST_MAILPIT, else mailpit on the PATH (scripts/ci/mailpit.sh
// installs the pinned version with go install; .ci/run does). Without one the test is
// skipped, or fails when PRIMA_REQUIRE_INTEGRATION=1 (CI), so a missing server cannot
// pass unnoticed (internal/testproc).
package mailpittest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/testproc"
)

// EnvBinary names the Mailpit binary to run.
const EnvBinary = "PRIMA_TEST_MAILPIT"

// Server is one Mailpit for a test. SMTPPort is fixed when it is made, so that a test
// can point a sender at it before it runs (to prove what happens while it is down).
type Server struct {
	testproc.Process
	t        testing.TB
	bin      string
	dir      string
	SMTPPort int
	HTTPPort int
}

// Binary is the Mailpit to run, or "" when there is none.
func Binary() string { return testproc.Binary(EnvBinary, "mailpit") }

// New chooses the ports of a Mailpit without starting it; Start starts it. It is
// stopped when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: testproc.Need(t, EnvBinary, "mailpit", "run scripts/ci/mailpit.sh install"), dir: t.TempDir()}
	var err error
	if s.SMTPPort, err = testproc.FreePort(); err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	if s.HTTPPort, err = testproc.FreePort(); err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Run is New then Start.
func Run(t testing.TB) *Server {
	t.Helper()
	s := New(t)
	s.Start()
	return s
}

// SMTPURL is PRIMA_SMTP_URL for this server (plain SMTP on loopback).
func (s *Server) SMTPURL(from string) string {
	return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none&from=%s", s.SMTPPort, from)
}

// Start starts Mailpit on its ports, unless it runs, and waits until its API answers.
// Its messages are kept in a database file of the test, so they survive a Stop (SMTP
// connections are then refused) and Start.
func (s *Server) Start() {
	s.t.Helper()
	logPath := filepath.Join(s.dir, "mailpit.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // #nosec G304 -- the test's own log file
	if err != nil {
		s.t.Fatalf("mailpittest: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, // #nosec G204 -- the test's own mailpit binary
		"--smtp", "127.0.0.1:"+strconv.Itoa(s.SMTPPort),
		"--listen", "127.0.0.1:"+strconv.Itoa(s.HTTPPort),
		"--database", filepath.Join(s.dir, "mailpit.db"),
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--disable-version-check", "--quiet")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := s.Process.Start(cmd, logPath, s.ready); err != nil {
		s.t.Fatalf("mailpittest: %v", err)
	}
}

func (s *Server) ready() bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.SMTPPort), time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	resp, err := http.Get(s.api("/api/v1/messages?limit=1"))
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *Server) api(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.HTTPPort) + path
}

// Address is a sender or recipient.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Attachment is one attachment of a message.
type Attachment struct {
	PartID      string `json:"PartID"`
	FileName    string `json:"FileName"`
	ContentType string `json:"ContentType"`
}

// Message is a received email, as Mailpit's API shows it.
type Message struct {
	ID          string       `json:"ID"`
	MessageID   string       `json:"MessageID"`
	From        Address      `json:"From"`
	To          []Address    `json:"To"`
	Subject     string       `json:"Subject"`
	Text        string       `json:"Text"`
	Attachments []Attachment `json:"Attachments"`
}

// Messages lists every message received, newest first, in full.
func (s *Server) Messages() []Message {
	s.t.Helper()
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	s.get("/api/v1/messages?limit=500", &list)
	out := make([]Message, 0, len(list.Messages))
	for _, m := range list.Messages {
		var full Message
		s.get("/api/v1/message/"+m.ID, &full)
		out = append(out, full)
	}
	return out
}

// WaitMessages waits until at least n messages have arrived, failing the test after
// deadline, and returns them newest first.
func (s *Server) WaitMessages(n int, deadline time.Duration) []Message {
	s.t.Helper()
	end := time.Now().Add(deadline)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(end) {
			s.t.Fatalf("mailpittest: %d messages after %s, want %d", len(msgs), deadline, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Part returns the bytes of one part of a message (an attachment).
func (s *Server) Part(messageID, partID string) []byte {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.api("/api/v1/message/"+messageID+"/part/"+partID), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("mailpittest: part: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("mailpittest: part %s of %s: %d %v", partID, messageID, resp.StatusCode, err)
	}
	return b
}

func (s *Server) get(path string, out any) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.api(path), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("mailpittest: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("mailpittest: GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		s.t.Fatalf("mailpittest: GET %s: %v", path, err)
	}
}
