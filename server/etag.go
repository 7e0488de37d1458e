package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// cachePolicies are the GET operations whose answers a client may keep and revalidate,
// by operationId, with the Cache-Control of their 200 answers. Every other answer to a
// request with a token keeps securityHeaders' no-store (mutations, tokens, lists of
// reservations, errors). An operation joins by a line here and, in the spec, the
// If-None-Match parameter, the ETag and Cache-Control headers and the 304 response
// (TestConditionalOperationsMatchTheSpec holds the two together).
//
//   - Venues change rarely (an operator's edit): a minute.
//   - Availability's tables_left (and a calendar day's bookable slots) changes with every
//     hold anywhere: 5 s is about the time a
//     partner's page takes to render and be clicked, and a hold on a slot that went in
//     the meantime still answers 409 slot_unavailable, so a stale answer costs a retry,
//     never a double booking.
//   - A reservation changes with payments, webhooks and the venue: never reused without
//     asking (no-cache), but the revalidation is a 304 while nothing changed.
var cachePolicies = map[string]string{
	"listVenues":              "private, max-age=60",
	"getVenue":                "private, max-age=60",
	"searchAvailability":      "private, max-age=5",
	"getAvailabilityCalendar": "private, max-age=5",
	"getReservation":          "private, no-cache",
}

// CachePolicies returns a copy of the Cache-Control of each operation answered with an
// ETag and revalidated with If-None-Match, by operationId.
func CachePolicies() map[string]string { return maps.Clone(cachePolicies) }

// conditional runs a cacheable GET with its answer held back: a 200 gets a strong ETag
// (a hash of the body it carries now), the operation's Cache-Control and Vary:
// Authorization, Accept-Language (answers differ between partners, and summaries between
// languages), and becomes a 304 without a body when If-None-Match names that ETag or is *. Any other status passes unchanged, with
// no-store. The body is always made from the current state, so a hold that changes
// tables_left changes the ETag.
func (s *Server) conditional(c echo.Context, policy string, next echo.HandlerFunc) error {
	res := c.Response()
	w := res.Writer
	held := &heldAnswer{ResponseWriter: w, body: heldBodies.Get().(*bytes.Buffer)}
	res.Writer = held
	defer func() {
		if res.Writer == held {
			// The handler panicked: nothing it wrote was sent, so the response is
			// given back unwritten, for recoverPanics' 500 to reach the client (its
			// buffer is dropped, not reused: the handler may still hold it).
			res.Writer, res.Committed, res.Status, res.Size = w, false, http.StatusOK, 0
		}
	}()
	err := next(c)
	res.Writer = w
	// Reused once the answer is out, and only if the handler returned.
	defer releaseHeldBody(held.body)
	if held.status == 0 {
		return err // nothing written: the error handler answers
	}
	if held.status != http.StatusOK {
		w.WriteHeader(held.status)
		_, _ = w.Write(held.body.Bytes())
		return err
	}
	h := w.Header()
	etag := h.Get(heldETag)
	if etag == "" {
		etag = strongETag(held.body.Bytes())
	}
	h.Del(heldETag)
	h.Set("ETag", etag)
	h.Set("Cache-Control", policy)
	h.Add("Vary", "Authorization, Accept-Language")
	if noneMatch(c.Request().Header.Values("If-None-Match"), etag) {
		h.Del(echo.HeaderContentType)
		h.Del(echo.HeaderContentLength)
		res.Status, res.Size = http.StatusNotModified, 0
		w.WriteHeader(http.StatusNotModified)
		return err
	}
	w.WriteHeader(http.StatusOK)
	_, werr := w.Write(held.body.Bytes())
	if err == nil {
		err = werr
	}
	return err
}

// heldETag is the header in which a handler that already knows strongETag of its
// answer's body (encodedAnswer, from a cached search answer or venue) hands it to conditional,
// which then does not hash the body again. conditional removes it before the answer
// is sent.
const heldETag = "Prima-Held-Etag"

// heldAnswer keeps a handler's status and body; its headers are the real ones.
type heldAnswer struct {
	http.ResponseWriter
	status int
	body   *bytes.Buffer // from heldBodies
}

// heldBodies are the buffers conditional holds answers in, reused from one request to
// the next: each answer is copied out (or dropped, for a 304) before its buffer goes
// back, where a new buffer would grow through several allocations per answer.
var heldBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxHeldBody is the largest buffer kept for reuse: a rare long answer (a full page of
// slots) does not pin its memory in the pool.
const maxHeldBody = 64 << 10

func releaseHeldBody(b *bytes.Buffer) {
	if b.Cap() > maxHeldBody {
		return
	}
	b.Reset()
	heldBodies.Put(b)
}

func (a *heldAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *heldAnswer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

// strongETag is the quoted, URL-safe base64 of the first 18 bytes of the body's SHA-256:
// the same bytes give the same ETag in every process, with no state kept.
func strongETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// noneMatch reports whether If-None-Match (its header lines) names etag or is "*", with
// the weak comparison RFC 9110 §13.1.2 prescribes (W/"x" matches "x"). A malformed list
// matches nothing from the malformed entity-tag on, so the full answer is sent.
func noneMatch(lines []string, etag string) bool {
	opaque := strings.Trim(etag, `"`)
	for _, line := range lines {
		v := line
		for {
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] == '*' {
				return true
			}
			v = strings.TrimPrefix(v, "W/")
			if v == "" || v[0] != '"' {
				break
			}
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				break
			}
			if v[1:1+end] == opaque {
				return true
			}
			v = v[end+2:]
		}
	}
	return false
}
