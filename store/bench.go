package store

import (
	"context"
	"errors"
)

// SearchSlotsStatement returns the SQL text and arguments that SearchSlots issues for the
// first page of q, built by the same function (searchSlotsSQL) but not run: benchmarks
// run it directly (with pgx) to measure the ceiling the API's search is compared with.
func (db *DB) SearchSlotsStatement(_ context.Context, s Scope, q SlotQuery, p Page) (string, []any, error) {
	if p.StartingAfter != "" {
		return "", nil, errors.New("store: search statement: a cursor page needs a query of its own")
	}
	text, args := searchSlotsSQL(db.dialect, s, q, nil, pageLimit(p)+1)
	return text, args, nil
}
