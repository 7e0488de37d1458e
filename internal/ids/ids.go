// Package ids makes the opaque, prefixed object ids of the API (ven_…, slot_…, res_…):
// a prefix and a lowercase ULID, so ids sort by creation time and keyset paging by id
// follows creation order.
package ids

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// New returns prefix + "_" + a new lowercase ULID, in one allocation (every request
// makes two: its request id and its audit event's).
func New(prefix string) string {
	var text [ulid.EncodedSize]byte
	_ = ulid.Make().MarshalTextTo(text[:]) // cannot fail: text is EncodedSize long
	for i, c := range text {
		if 'A' <= c && c <= 'Z' {
			text[i] = c + 'a' - 'A' // Crockford's base32 is ASCII: strings.ToLower's answer
		}
	}
	var b strings.Builder
	b.Grow(len(prefix) + 1 + len(text))
	b.WriteString(prefix)
	b.WriteByte('_')
	b.Write(text[:])
	return b.String()
}
