package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/prima-dining/partner-api/gen"
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
