package store

import (
	"context"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// insertColumns are the column lists of the hand-written INSERTs, by the model whose
// every column each must write.
var insertColumns = []struct {
	name    string
	model   any
	columns string
}{
	{"idempotency key", &IdempotencyKey{}, idemKeyColumns},
}

// A hand-written INSERT writes every column of its model, in the model's order, as
// GORM's Create does: a column added to the model and not to the statement fails here
// instead of being silently left NULL.
func TestIdempotencyInsertWritesEveryColumn(t *testing.T) {
	db, err := Open(context.Background(), Config{URL: "sqlite::memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, c := range insertColumns {
		want := gormInsertColumns(t, db.gorm, c.model)
		if got := splitColumns(c.columns); !slices.Equal(got, want) {
			t.Errorf("%s: INSERT writes %v; GORM's Create writes %v", c.name, got, want)
		}
	}
}

// gormInsertColumns are the columns of GORM's INSERT of model.
func gormInsertColumns(t *testing.T, g *gorm.DB, model any) []string {
	t.Helper()
	text := g.Session(&gorm.Session{DryRun: true, NewDB: true}).Create(model).Statement.SQL.String()
	open, end := strings.Index(text, "("), strings.Index(text, ") VALUES")
	if open < 0 || end < open {
		t.Fatalf("unexpected INSERT: %s", text)
	}
	return splitColumns(text[open+1 : end])
}

// splitColumns splits a column list, unquoted.
func splitColumns(list string) []string {
	var out []string
	for c := range strings.SplitSeq(list, ",") {
		out = append(out, strings.Trim(strings.TrimSpace(c), "`\""))
	}
	return out
}
