// Package idempotency makes retried POST requests safe: the first request under a key
// runs and its response is stored; a retry with the same key and the same request gets
// that response again; the same key with another request, or while the first is still
// running, is refused. Keys are scoped per partner and kept for 24 hours.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// Retention is how long a key and its response are kept.
const Retention = 24 * time.Hour

// Outcomes of Begin other than a fresh claim.
var (
	// ErrInUse: the first request under this key is still running.
	ErrInUse = errors.New("idempotency: key in use")
	// ErrReused: the key was used with a different request.
	ErrReused = errors.New("idempotency: key reused with another request")
)

// Response is a stored response.
type Response struct {
	Status int
	Body   []byte
}

// Service keeps idempotency keys in the database, so every server process sees them.
type Service struct {
	db *store.DB
	// lease is how long a claim may run before another request may take it over as
	// abandoned (its process died).
	lease time.Duration
	now   func() time.Time
}

// NewService returns a Service on db.
func NewService(db *store.DB) *Service {
	return &Service{db: db, lease: time.Minute, now: time.Now}
}

// Fingerprint identifies a request: method, path and body. JSON bodies are compared by
// value, so a client that re-serialises the same body with other spacing or key order
// still matches.
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // float64 would give integers above 2^53 that differ one fingerprint
	if len(bytes.TrimSpace(body)) > 0 && dec.Decode(&v) == nil && atEOF(dec) {
		canonical, _ := json.Marshal(canonicalNumbers(v)) // maps marshal with sorted keys
		h.Write(canonical)
	} else {
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// atEOF says whether nothing but white space follows the value dec decoded.
func atEOF(dec *json.Decoder) bool {
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}

// canonicalNumbers replaces each json.Number in v by the value it stands for, so that
// 4 and 4.0 still match: an int64 exactly, another integer literal as written, any
// other number as a float64 (as before json.Number was used, so stored fingerprints
// keep matching).
func canonicalNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = canonicalNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = canonicalNumbers(e)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if !strings.ContainsAny(string(t), ".eE") {
			return t // an integer beyond int64, compared digit for digit
		}
		if f, err := t.Float64(); err == nil {
			if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				return int64(f)
			}
			return f
		}
	}
	return v
}

// Begin claims key for a request. It returns (nil, nil) when the caller owns the key and
// must run the request and then call Complete or Release; a stored Response when the
// request already ran; or ErrInUse / ErrReused.
func (s *Service) Begin(ctx context.Context, partnerID, key, fingerprint string) (*Response, error) {
	now := s.now().UTC()
	row, claimed, err := s.db.ClaimIdempotencyKey(ctx, partnerID, key, fingerprint, now, now.Add(s.lease))
	if err != nil {
		return nil, fmt.Errorf("idempotency: claim: %w", err)
	}
	if claimed {
		return nil, nil
	}
	if row.Fingerprint != fingerprint {
		return nil, ErrReused
	}
	if row.State != "done" {
		return nil, ErrInUse
	}
	return &Response{Status: row.ResponseStatus, Body: row.ResponseBody}, nil
}

// Complete stores the response of a claimed key.
func (s *Service) Complete(ctx context.Context, partnerID, key string, r Response) error {
	return s.db.CompleteIdempotencyKey(ctx, partnerID, key, r.Status, r.Body)
}

// Release gives up a claimed key without a stored response (the request failed on our
// side), so that a retry with the same key runs again.
func (s *Service) Release(ctx context.Context, partnerID, key string) error {
	return s.db.ReleaseIdempotencyKey(ctx, partnerID, key)
}

// Purge deletes keys older than Retention.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	return s.db.PurgeIdempotencyKeys(ctx, s.now().UTC().Add(-Retention))
}
