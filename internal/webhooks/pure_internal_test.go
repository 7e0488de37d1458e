package webhooks

// Unit tests of the webhooks package's pure parts: signing, retry scheduling and what a
// delivery's outcome is recorded as. No database and no network.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prima-dining/partner-api/store"
)

// The Standard Webhooks signature, computed here from the spec rather than the library:
// "v1," + base64(HMAC-SHA256(key, msg_id + "." + unix seconds + "." + body)), key being
// the base64-decoded part of the secret after "whsec_".
func standardSignature(t *testing.T, secret, msgID string, ts time.Time, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", msgID, ts.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSignFollowsTheStandardWebhooksFormat(t *testing.T) {
	// The secret of the Standard Webhooks spec's own example.
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	got, err := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want the spec's example %q", got, want)
	}
	if want := standardSignature(t, secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body); got != want {
		t.Fatalf("Sign = %q, HMAC by hand %q", got, want)
	}
}

func TestSignDependsOnEverySignedPart(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 3, 14, 19, 30, 0, 0, time.UTC)
	body := []byte(`{"type":"reservation.confirmed"}`)
	base, err := Sign(secret, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if base != standardSignature(t, secret, "msg_1", ts, body) {
		t.Fatalf("Sign = %q, not the Standard Webhooks HMAC", base)
	}
	variants := map[string]func() (string, error){
		"secret":    func() (string, error) { return Sign(other, "msg_1", ts, body) },
		"id":        func() (string, error) { return Sign(secret, "msg_2", ts, body) },
		"timestamp": func() (string, error) { return Sign(secret, "msg_1", ts.Add(time.Second), body) },
		"body":      func() (string, error) { return Sign(secret, "msg_1", ts, []byte(`{"type":"reservation.cancelled"}`)) },
	}
	for what, sign := range variants {
		sig, err := sign()
		if err != nil || sig == base {
			t.Errorf("another %s gives %q, %v; want another signature", what, sig, err)
		}
	}
	// The webhook-timestamp header carries whole seconds, so that is what is signed.
	if sig, _ := Sign(secret, "msg_1", ts.Add(999*time.Millisecond), body); sig != base {
		t.Errorf("a sub-second difference changed the signature")
	}
}

func TestSignRefusesASecretThatIsNotBase64(t *testing.T) {
	for _, secret := range []string{"whsec_!!!not base64!!!", "whsec_abc"} {
		if sig, err := Sign(secret, "msg_1", time.Unix(0, 0), []byte(`{}`)); err == nil {
			t.Errorf("Sign with %q = %q, want an error", secret, sig)
		}
	}
}

func TestNewSecretIsWhsecAnd32RandomBytes(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if !strings.HasPrefix(s, SecretPrefix) || err != nil || len(key) != 32 {
			t.Fatalf("secret %q: %d bytes, %v", s, len(key), err)
		}
		if seen[s] {
			t.Fatalf("secret %q issued twice", s)
		}
		seen[s] = true
	}
}

func TestHeadersAreTheStandardWebhooksNames(t *testing.T) {
	if HeaderWebhookID != "webhook-id" || HeaderWebhookTimestamp != "webhook-timestamp" || HeaderWebhookSignature != "webhook-signature" {
		t.Fatalf("headers %q %q %q", HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature)
	}
}

func testWorker(base, maxBackoff, maxAge time.Duration) *Worker {
	return NewWorker(nil, WorkerConfig{ID: "w1", BaseBackoff: base, MaxBackoff: maxBackoff, MaxAge: maxAge})
}

// The retry delay is full jitter: uniform in [1 ms, min(MaxBackoff, BaseBackoff·2^n)).
func TestNextAttemptBacksOffExponentiallyWithJitterUpToTheCap(t *testing.T) {
	w := testWorker(2*time.Second, 10*time.Minute, 24*time.Hour)
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	m := store.OutboxMessage{CreatedAt: now}
	cases := []struct {
		attempts int
		ceiling  time.Duration
	}{
		{1, 4 * time.Second},
		{2, 8 * time.Second},
		{5, 64 * time.Second},
		{8, 512 * time.Second},
		{9, 10 * time.Minute}, // 1024 s, capped
		{30, 10 * time.Minute},
		{1000, 10 * time.Minute}, // no overflow
	}
	for _, tc := range cases {
		distinct := map[time.Duration]bool{}
		var largest time.Duration
		for range 300 {
			d := w.nextAttempt(m, tc.attempts, now).Sub(now)
			if d < time.Millisecond || d >= tc.ceiling {
				t.Fatalf("attempt %d: delay %s outside [1ms, %s)", tc.attempts, d, tc.ceiling)
			}
			distinct[d] = true
			largest = max(largest, d)
		}
		// 300 uniform draws: all equal, or all in the lower half, would be no jitter.
		if len(distinct) < 100 || largest < tc.ceiling/2 {
			t.Errorf("attempt %d: %d distinct delays, largest %s of %s: not jittered over the range", tc.attempts, len(distinct), largest, tc.ceiling)
		}
	}
}

// The last attempt comes when the message's maximum age is reached, never after; the
// age counts from an operator's retry when there was one.
func TestNextAttemptNeverPassesTheMaximumAge(t *testing.T) {
	w := testWorker(time.Minute, time.Hour, 2*time.Hour)
	created := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	end := created.Add(2 * time.Hour)
	m := store.OutboxMessage{CreatedAt: created}
	for _, now := range []time.Time{end.Add(-time.Second), end.Add(-time.Millisecond)} {
		for range 50 {
			if next := w.nextAttempt(m, 20, now); next.After(end) || next.Before(now) {
				t.Fatalf("now %s: next attempt %s, want within [now, %s]", now, next, end)
			}
		}
	}
	// Already past the end (a slow attempt): the next attempt is now, not in the past.
	late := end.Add(time.Minute)
	if next := w.nextAttempt(m, 20, late); !next.Equal(late) {
		t.Fatalf("past the end: next %s, want now %s", next, late)
	}
	retried := end.Add(time.Hour)
	m.RetriedAt = &retried
	now := retried.Add(time.Minute)
	if next := w.nextAttempt(m, 1, now); next.Before(now.Add(time.Millisecond)) || next.After(retried.Add(2*time.Hour)) {
		t.Fatalf("after a retry: next %s", next)
	}
}

func TestExpiredCountsFromCreationOrTheOperatorsRetry(t *testing.T) {
	w := testWorker(time.Second, time.Minute, 24*time.Hour)
	created := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	m := store.OutboxMessage{CreatedAt: created}
	cases := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"just before", created.Add(24*time.Hour - time.Nanosecond), false},
		{"at the maximum age", created.Add(24 * time.Hour), true},
		{"after", created.Add(25 * time.Hour), true},
	}
	for _, tc := range cases {
		if got := w.expired(m, tc.now); got != tc.want {
			t.Errorf("%s: expired = %v, want %v", tc.name, got, tc.want)
		}
	}
	retried := created.Add(30 * time.Hour)
	m.RetriedAt = &retried
	if w.expired(m, retried.Add(time.Hour)) {
		t.Error("a message retried an hour ago has expired")
	}
	if !w.expired(m, retried.Add(24*time.Hour)) {
		t.Error("a message retried 24 h ago has not expired")
	}
}

func TestNewWorkerDefaults(t *testing.T) {
	w := NewWorker(nil, WorkerConfig{Timeout: 45 * time.Second, BaseBackoff: time.Hour, MaxBackoff: time.Minute})
	c := w.cfg
	if c.ID == "" || c.Render == nil || c.Logger == nil || c.Now == nil || c.MaxAge != 24*time.Hour || c.Batch != 20 || c.Concurrency != 4 {
		t.Errorf("defaults: %+v", c)
	}
	// The lease outlives two deliveries, so a slow one is not taken over mid-flight.
	if c.Lease != 90*time.Second {
		t.Errorf("lease = %s, want twice the 45 s timeout", c.Lease)
	}
	// A cap below the base is raised to it.
	if c.MaxBackoff != time.Hour {
		t.Errorf("max backoff = %s, want the base, 1h", c.MaxBackoff)
	}
	if a, b := NewWorker(nil, WorkerConfig{}).ID(), NewWorker(nil, WorkerConfig{}).ID(); a == b {
		t.Errorf("two workers share the id %q", a)
	}
}

func TestPlatformReferenceReadsTheReplysReference(t *testing.T) {
	long := strings.Repeat("r", 250)
	cases := []struct {
		body, want string
	}{
		{`{"reference":"OT-123"}`, "OT-123"},
		{`{"platform_reference":"SR-9"}`, "SR-9"},
		{`{"id":"abc"}`, "abc"},
		{`{"id":12345678901234567890}`, "12345678901234567890"}, // a number, digits kept
		{`{"id":"abc","reference":"OT-1","platform_reference":"SR-1"}`, "OT-1"},
		{`{"reference":"","id":"fallback"}`, "fallback"},
		{`{"reference":null,"id":7}`, "7"},
		{`{"reference":{"nested":true}}`, ""},
		{`{"ok":true}`, ""},
		{`["OT-1"]`, ""},
		{`accepted`, ""},
		{``, ""},
		{`{"reference":"` + long + `"}`, strings.Repeat("r", 200) + "…"},
	}
	for _, tc := range cases {
		if got := platformReference([]byte(tc.body)); got != tc.want {
			t.Errorf("platformReference(%.40q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// What partners read on a reservation says why a delivery failed without an address or
// an internal message.
func TestPublicReasonNeverLeaksTheError(t *testing.T) {
	secretish := "dial tcp 10.0.0.7:443: connection refused (https://hooks.internal/x?token=abc)"
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"status", &StatusError{StatusCode: 503}, "The platform answered HTTP 503."},
		{"redirect", &StatusError{StatusCode: 307}, "The platform answered with a redirect (HTTP 307), which is not followed."},
		{"wrapped status", fmt.Errorf("send: %w", &StatusError{StatusCode: 500}), "The platform answered HTTP 500."},
		{"private address", fmt.Errorf("%s: %w", secretish, ErrAddressNotAllowed), "The platform's address is not allowed."},
		{"timeout", fmt.Errorf("%s: %w", secretish, context.DeadlineExceeded), "The platform did not answer in time."},
		{"anything else", errors.New(secretish), "The platform could not be reached."},
	}
	for _, tc := range cases {
		got := publicReason("The platform", tc.err)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if strings.Contains(got, "10.0.0.7") || strings.Contains(got, "token") {
			t.Errorf("%s: %q leaks the error", tc.name, got)
		}
	}
}

func TestTruncateCutsOnARuneBoundary(t *testing.T) {
	cases := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exact", 5, "exact"},
		{"abcdef", 3, "abc…"},
		{"héllo", 2, "h…"}, // é is two bytes: not cut in half
		{"日本語", 4, "日…"},
		{"日本語", 3, "日…"},
		{"", 0, ""},
	}
	for _, tc := range cases {
		got := truncate(tc.s, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestMinimalPayloadNamesTheMessage(t *testing.T) {
	created := time.Date(2026, 3, 14, 20, 30, 0, 0, time.FixedZone("CET", 3600))
	body, err := minimalPayload(context.Background(), store.OutboxMessage{
		ID: "msg_1", Type: "reservation.confirmed", ReservationID: "res_1", VenueID: "ven_1", CreatedAt: created,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID        string            `json:"id"`
		Type      string            `json:"type"`
		CreatedAt string            `json:"created_at"`
		Data      map[string]string `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if got.ID != "msg_1" || got.Type != "reservation.confirmed" || got.CreatedAt != "2026-03-14T19:30:00Z" ||
		got.Data["reservation_id"] != "res_1" || got.Data["venue_id"] != "ven_1" || len(got.Data) != 2 {
		t.Fatalf("payload %s", body)
	}
}

func TestStatusErrorSaysTheStatus(t *testing.T) {
	if msg := (&StatusError{StatusCode: 410}).Error(); !strings.Contains(msg, strconv.Itoa(410)) {
		t.Fatalf("StatusError text %q does not name 410", msg)
	}
}
