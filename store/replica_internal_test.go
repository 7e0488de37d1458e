package store

import "testing"

// TestWALRecordEndAtPageBoundary: an insert position just past a page header (the last
// record ended at the boundary) maps to the boundary, where a replica reports it has
// replayed to; any other position is its own record end.
func TestWALRecordEndAtPageBoundary(t *testing.T) {
	g := walGeometry{block: 8192, segment: 16 << 20}
	for _, c := range []struct{ in, want uint64 }{
		{0x0C43_1538, 0x0C43_1538},                   // inside a page
		{3*8192 + walShortHeader, 3 * 8192},          // past a page's header
		{5*(16<<20) + walLongHeader, 5 * (16 << 20)}, // past a segment's first header
		{3*8192 + walShortHeader + 8, 3*8192 + walShortHeader + 8},
	} {
		if got := g.recordEnd(c.in); got != c.want {
			t.Errorf("recordEnd(%#x) = %#x, want %#x", c.in, got, c.want)
		}
	}
}
