package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"golang.org/x/text/language"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/locale"
)

// slotPage is SearchAvailability's 200 answer, the API's most frequent. gen's
// SearchAvailability200JSONResponse encodes into a fresh buffer and sends the body
// chunked; slotPage encodes the same document into a pooled buffer and sends it with
// its Content-Length, which saves the buffer's growth and a write (the closing chunk)
// per answer.
type slotPage gen.SlotList

// VisitSearchAvailabilityResponse implements gen.SearchAvailabilityResponseObject.
func (p slotPage) VisitSearchAvailabilityResponse(w http.ResponseWriter) error {
	return writeJSON(w, http.StatusOK, gen.SlotList(p))
}

var _ gen.SearchAvailabilityResponseObject = slotPage{}

// searchAnswer is SearchAvailability's answer to found in lang: for a cached answer, its
// encoding in lang, kept in the answer's memo the first time it is asked in lang.
func searchAnswer(found booking.SearchPage, lang language.Tag) (gen.SearchAvailabilityResponseObject, error) {
	memoKey := "page:" + lang.String()
	if enc, ok := found.Memo.Load(memoKey); ok {
		return enc.(encodedAnswer), nil
	}
	pr := locale.Printer(lang)
	out := gen.SlotList{Object: gen.SlotListObjectList, HasMore: found.More, Data: make([]gen.Slot, 0, len(found.Slots))}
	for _, sl := range found.Slots {
		out.Data = append(out.Data, slotToAPI(sl, pr))
	}
	if found.Memo == nil {
		return slotPage(out), nil
	}
	enc, err := encodeAnswer(out)
	if err != nil {
		return nil, err
	}
	found.Memo.Store(memoKey, enc)
	return enc, nil
}

// encodedAnswer is a 200 answer already encoded, with its ETag: what a cached search
// answer or venue keeps of its encoding (in its booking.Memo, by language), so an answer
// served from the cache is neither converted, encoded nor hashed again.
type encodedAnswer struct {
	body []byte // as writeJSON writes the answer
	etag string // strongETag(body)
}

// encodeAnswer encodes v as writeJSON would, and its ETag.
func encodeAnswer(v any) (encodedAnswer, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return encodedAnswer{}, err
	}
	return encodedAnswer{body: buf.Bytes(), etag: strongETag(buf.Bytes())}, nil
}

// write sends the answer. The ETag it sets is the one conditional would compute from the
// body (see heldETag).
func (a encodedAnswer) write(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	h.Set(heldETag, a.etag)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(a.body)
	return err
}

// VisitSearchAvailabilityResponse implements gen.SearchAvailabilityResponseObject.
func (a encodedAnswer) VisitSearchAvailabilityResponse(w http.ResponseWriter) error {
	return a.write(w)
}

// VisitGetVenueResponse implements gen.GetVenueResponseObject.
func (a encodedAnswer) VisitGetVenueResponse(w http.ResponseWriter) error { return a.write(w) }

var (
	_ gen.SearchAvailabilityResponseObject = encodedAnswer{}
	_ gen.GetVenueResponseObject           = encodedAnswer{}
)

// venueAnswer is GetVenue's answer of v in lang: while the catalogue keeps v (memo not
// nil), its encoding in lang, kept in memo the first time it is asked in lang; else v,
// encoded with its Content-Length (gen's answer sends it chunked).
func venueAnswer(v booking.Venue, memo *booking.Memo, lang language.Tag) (gen.GetVenueResponseObject, error) {
	key := "venue:" + lang.String()
	if enc, ok := memo.Load(key); ok {
		return enc.(encodedAnswer), nil
	}
	out := venueToAPI(v, locale.Printer(lang))
	if memo == nil {
		return venueJSON(out), nil
	}
	enc, err := encodeAnswer(out)
	if err != nil {
		return nil, err
	}
	memo.Store(key, enc)
	return enc, nil
}

// venueJSON is GetVenue's 200 answer, encoded by writeJSON.
type venueJSON gen.Venue

// VisitGetVenueResponse implements gen.GetVenueResponseObject.
func (v venueJSON) VisitGetVenueResponse(w http.ResponseWriter) error {
	return writeJSON(w, http.StatusOK, gen.Venue(v))
}

// jsonBuffers are encoding buffers reused across answers.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps a rare huge answer's buffer out of the pool.
const maxPooledBuffer = 256 << 10

// writeJSON answers status with body encoded as gen's responses encode it (one JSON
// document and a newline), with its Content-Length.
func writeJSON(w http.ResponseWriter, status int, body any) error {
	buf, _ := jsonBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			jsonBuffers.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(body); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
