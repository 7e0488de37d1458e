// Package ids makes the opaque, prefixed object ids of the API (ven_…, slot_…, res_…):
// a prefix and a lowercase ULID, so ids sort by creation time and keyset paging by id
// follows creation order.
package ids

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// New returns prefix + "_" + a new lowercase ULID.
func New(prefix string) string {
	return prefix + "_" + strings.ToLower(ulid.Make().String())
}
