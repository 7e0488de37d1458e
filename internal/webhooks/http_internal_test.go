package webhooks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestDialGuard(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:80", "[::1]:443", "10.1.2.3:443", "[::ffff:192.168.0.1]:80", "169.254.169.254:80", "0.0.0.0:80", "[fe80::1%eth0]:80", "100.64.1.1:80"} {
		if err := dialGuard("tcp", addr, nil); !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("dialGuard(%s) = %v, want ErrAddressNotAllowed", addr, err)
		}
	}
	for _, addr := range []string{"93.184.215.14:443", "[2606:4700::1111]:443"} {
		if err := dialGuard("tcp", addr, nil); err != nil {
			t.Errorf("dialGuard(%s) = %v, want nil", addr, err)
		}
	}
}

// The sender's own client refuses to connect to a loopback address even when the URL
// check is skipped: that is what stops a host name whose DNS answer changed after the
// endpoint was validated (DNS rebinding).
func TestSenderClientRefusesLoopbackAtDialTime(t *testing.T) {
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	s := NewSender(SenderConfig{Timeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the client connected to a loopback address")
	}
	if !errors.Is(err, ErrAddressNotAllowed) {
		t.Fatalf("error = %v, want ErrAddressNotAllowed", err)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the loopback server was reached %d times", n)
	}
	// Allowed, the same request goes through.
	open := NewSender(SenderConfig{Timeout: 2 * time.Second, AllowPrivate: true})
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, http.NoBody)
	resp, err = open.client.Do(req)
	if err != nil {
		t.Fatalf("allowed: %v", err)
	}
	resp.Body.Close()
	if n := reached.Load(); n != 1 {
		t.Fatalf("reached %d times, want 1", n)
	}
}
