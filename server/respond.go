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
		return enc.(encodedPage), nil
	}
	pr := locale.Printer(lang)
	out := gen.SlotList{Object: gen.SlotListObjectList, HasMore: found.More, Data: make([]gen.Slot, 0, len(found.Slots))}
	for _, sl := range found.Slots {
		out.Data = append(out.Data, slotToAPI(sl, pr))
	}
	if found.Memo == nil {
		return slotPage(out), nil
	}
	enc, err := encodePage(out)
	if err != nil {
		return nil, err
	}
	found.Memo.Store(memoKey, enc)
	return enc, nil
}

// encodedPage is a slotPage already encoded, with its ETag: what a cached search answer
// keeps of its encoding (in its booking.Memo, by language), so a search answered from
// the cache is neither converted, encoded nor hashed again.
type encodedPage struct {
	body []byte // as writeJSON writes gen.SlotList
	etag string // strongETag(body)
}

// encodePage encodes p as slotPage would, and its ETag.
func encodePage(p gen.SlotList) (encodedPage, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(p); err != nil {
		return encodedPage{}, err
	}
	return encodedPage{body: buf.Bytes(), etag: strongETag(buf.Bytes())}, nil
}

// VisitSearchAvailabilityResponse implements gen.SearchAvailabilityResponseObject. The
// ETag it sets is the one conditional would compute from the body (see heldETag).
func (p encodedPage) VisitSearchAvailabilityResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(p.body)))
	h.Set(heldETag, p.etag)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(p.body)
	return err
}

var _ gen.SearchAvailabilityResponseObject = encodedPage{}

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
