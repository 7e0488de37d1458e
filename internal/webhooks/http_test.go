package webhooks_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/prima-dining/partner-api/internal/webhooks"
)

func TestValidateURL(t *testing.T) {
	refused := []string{
		"ftp://example.com/hook",
		"file:///etc/passwd",
		"gopher://example.com",
		"/relative/path",
		"https://",
		"https://user:pass@example.com/hook",
		"http://127.0.0.1/hook",
		"http://127.1.2.3:8080/hook",
		"http://localhost:8080/hook",
		"http://api.localhost/hook",
		"http://10.0.0.1/hook",
		"http://172.16.5.4/hook",
		"http://192.168.1.1/hook",
		"http://[::1]/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"http://[fc00::1]/hook",
		"http://[fe80::1%25eth0]/hook",
		"http://169.254.169.254/latest/meta-data",
		"http://0.0.0.0/hook",
		"http://[::]/hook",
		"http://224.0.0.1/hook",
		"http://100.64.0.1/hook",
		"http://255.255.255.255/hook",
		"https://example.com:99999/hook",
		"https://example.com/" + strings.Repeat("a", 2100),
	}
	for _, u := range refused {
		err := webhooks.ValidateURL(u, false)
		if err == nil {
			t.Errorf("ValidateURL(%q) = nil, want refused", u)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "The URL") || !strings.HasSuffix(msg, ".") {
			t.Errorf("ValidateURL(%q) message %q is not a sentence for humans", u, msg)
		}
	}
	allowed := []string{"https://example.com/hook", "http://hooks.example.org:8443/x?y=1", "https://93.184.215.14/hook", "https://[2606:4700::1111]/hook"}
	for _, u := range allowed {
		if err := webhooks.ValidateURL(u, false); err != nil {
			t.Errorf("ValidateURL(%q) = %v, want nil", u, err)
		}
	}
	// The operator may allow private addresses (development, tests); the scheme and
	// the URL's shape are checked all the same.
	for _, u := range []string{"http://127.0.0.1/hook", "http://10.0.0.1/hook", "http://[::1]/hook", "http://169.254.169.254/", "http://localhost:8080/"} {
		if err := webhooks.ValidateURL(u, true); err != nil {
			t.Errorf("ValidateURL(%q, allowPrivate) = %v, want nil", u, err)
		}
	}
	for _, u := range []string{"ftp://127.0.0.1/", "https://u:p@127.0.0.1/"} {
		if err := webhooks.ValidateURL(u, true); err == nil {
			t.Errorf("ValidateURL(%q, allowPrivate) = nil, want refused", u)
		}
	}
	if msg := webhooks.ValidateURL("http://10.0.0.1/", false).Error(); !strings.Contains(msg, "private address") {
		t.Errorf("message for 10.0.0.1 = %q", msg)
	}
}

func TestNewSecretAndSignMatchTheStandardWebhooksLibrary(t *testing.T) {
	secret, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) < 24 {
		t.Fatalf("secret %q: %d bytes, %v", secret, len(key), err)
	}
	if other, _ := webhooks.NewSecret(); other == secret {
		t.Fatal("two secrets are equal")
	}
	ts := time.Now()
	body := []byte(`{"type":"reservation.confirmed"}`)
	sig, err := webhooks.Sign(secret, "msg_1", ts, body)
	if err != nil || !strings.HasPrefix(sig, "v1,") {
		t.Fatalf("Sign = %q, %v", sig, err)
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	if err := wh.Verify(body, h); err != nil {
		t.Fatalf("library refuses our signature: %v", err)
	}
	if err := wh.Verify([]byte(`{"type":"tampered"}`), h); err == nil {
		t.Fatal("library accepts a tampered body")
	}
	if _, err := webhooks.Sign("whsec_!!!", "msg_1", ts, body); err == nil {
		t.Fatal("Sign accepted a secret that is not base64")
	}
}

func TestSenderDoesNotFollowRedirects(t *testing.T) {
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	secret, _ := webhooks.NewSecret()
	s := webhooks.NewSender(webhooks.SenderConfig{AllowPrivate: true, Timeout: 2 * time.Second})
	_, err := s.Send(ctxT(t), webhooks.Delivery{URL: redirector.URL, Secret: secret, MessageID: "msg_1", Timestamp: time.Now(), Body: []byte(`{}`)})
	var se *webhooks.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("Send through a redirect = %v, want a 307 StatusError", err)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the redirect target was reached %d times", n)
	}
}
