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
	"sync/atomic"
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

// Begin claims key for a request. It returns (nil, recorder, nil) when the caller owns
// the key and must run the request with the recorder in its context (NewContext) and
// then call Complete or Release; a stored Response when the request already ran; or
// ErrInUse / ErrReused. A recorder of a key taken over from a request that died carries
// the recovery point that request reached (Recorder.Resumed): the run resumes from there.
func (s *Service) Begin(ctx context.Context, partnerID, key, fingerprint string) (*Response, *Recorder, error) {
	now := s.now().UTC()
	row, claimed, err := s.db.ClaimIdempotencyKey(ctx, partnerID, key, fingerprint, now, now.Add(s.lease))
	if err != nil {
		return nil, nil, fmt.Errorf("idempotency: claim: %w", err)
	}
	if claimed {
		rec := &Recorder{partnerID: partnerID, key: key}
		if row.RecoveryPoint != nil {
			rec.point = *row.RecoveryPoint
		}
		if row.ResourceID != nil {
			rec.resourceID = *row.ResourceID
		}
		return nil, rec, nil
	}
	if row.Fingerprint != fingerprint {
		return nil, nil, ErrReused
	}
	if row.State != "done" {
		return nil, nil, ErrInUse
	}
	return &Response{Status: row.ResponseStatus, Body: row.ResponseBody}, nil, nil
}

// SetLease sets how long a claim may run before a retry of the same request may take
// it over as abandoned (PRIMA_IDEMPOTENCY_LEASE; default one minute).
func (s *Service) SetLease(d time.Duration) {
	if d > 0 {
		s.lease = d
	}
}

// A Recorder ties a request's effects to its idempotency key. The domain calls Record
// inside the transaction that makes an effect, so the key's recovery point and the
// effect commit together (Stripe's recovery points): a retry after a crash at any
// instruction finds either neither (and runs again) or both (and resumes from the point,
// or replays the stored answer), never the effect alone. A nil *Recorder (a request
// without a key, background work) records nothing.
type Recorder struct {
	partnerID, key string
	// point and resourceID are what an earlier run of the key had recorded when this run
	// claimed it: where this run resumes.
	point, resourceID string
}

// Recovery points the domain records. A point names the last phase whose effect
// committed; what a resumed run does from it is the operation's own business.
const (
	// PointHeld: the hold's reservation (resource) is written and holds its table; its
	// payment intent may still be missing.
	PointHeld = "hold_created"
	// PointApplied: the operation's change to its resource committed; a retry answers
	// the resource as it stands instead of changing it again.
	PointApplied = "applied"
)

type recorderKey struct{}

// NewContext returns ctx carrying rec.
func NewContext(ctx context.Context, rec *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, rec)
}

// FromContext returns the recorder of the request ctx belongs to, or nil.
func FromContext(ctx context.Context) *Recorder {
	rec, _ := ctx.Value(recorderKey{}).(*Recorder)
	return rec
}

// Resumed returns the recovery point and resource an earlier run of this key recorded
// before it died ("" when this run is the first, or none had committed an effect).
func (r *Recorder) Resumed() (point, resourceID string) {
	if r == nil {
		return "", ""
	}
	return r.point, r.resourceID
}

// Record advances the key's recovery point from `from` to `to`, naming resourceID, in tx:
// call it inside the transaction that makes the effect the point stands for. It returns
// ErrInUse when the key is no longer at `from` (another run of the same key recorded it
// first): the caller must roll its transaction back, so the effect is not made twice.
func (r *Recorder) Record(tx *store.Tx, from, to, resourceID string) error {
	if r == nil {
		return nil
	}
	ok, err := tx.RecordIdempotencyPoint(r.partnerID, r.key, from, to, resourceID)
	if err != nil {
		return fmt.Errorf("idempotency: record %s: %w", to, err)
	}
	if !ok {
		return fmt.Errorf("idempotency: record %s after %q: %w", to, from, ErrInUse)
	}
	return nil
}

// Applies returns a store step that records, in the transaction of the write it is given
// to, that this request's key created or changed resourceID (PointApplied): for
// operations whose effect is one write, so the effect and the key's point commit
// together. On a nil Recorder the step records nothing.
func (r *Recorder) Applies(resourceID string) store.Step {
	return func(tx *store.Tx) error { return r.Record(tx, "", PointApplied, resourceID) }
}

// AppliedTo returns the resource an earlier run of this key created or changed, and
// committed with PointApplied, before it died: the run answers that resource instead of
// making the effect again. It is "" when there was no such run.
func (r *Recorder) AppliedTo() string {
	if point, id := r.Resumed(); point == PointApplied {
		return id
	}
	return ""
}

// Attempt names this request's logical attempt for keys of calls to other systems (a
// payment provider): derived from the partner and its Idempotency-Key, so a retry of the
// same request, after a crash or a timeout, sends the same key and the other system
// answers what it did the first time; and it does not reveal the partner's key. It is ""
// on a nil Recorder (a request without a key: every request is an attempt of its own).
func (r *Recorder) Attempt() string {
	if r == nil {
		return ""
	}
	sum := sha256.Sum256([]byte(r.partnerID + "\x00" + r.key))
	return hex.EncodeToString(sum[:12])
}

// crashHook, when set (tests only), is called right after a transaction that recorded a
// recovery point committed.
var crashHook atomic.Pointer[func(key, point string)]

// SetCrashHook makes fn be called with the key and the point right after each
// transaction that recorded a recovery point commits, until it is called again with nil.
// Tests panic there (http.ErrAbortHandler) to simulate a crash between an effect and
// the stored answer.
func SetCrashHook(fn func(key, point string)) {
	if fn == nil {
		crashHook.Store(nil)
		return
	}
	crashHook.Store(&fn)
}

// Committed is called by the domain once the transaction that recorded point committed;
// it does nothing but run a test's crash hook.
func (r *Recorder) Committed(point string) {
	if r == nil {
		return
	}
	if fn := crashHook.Load(); fn != nil {
		(*fn)(r.key, point)
	}
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
