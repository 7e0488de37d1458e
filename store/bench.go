package store

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// SearchSlotsStatement returns the SQL text and arguments that SearchSlots issues for the
// first page of q, built by the same code but not run: benchmarks run it directly (with
// pgx) to measure the ceiling the API's search is compared with.
func (db *DB) SearchSlotsStatement(ctx context.Context, s Scope, q SlotQuery, p Page) (string, []any, error) {
	if p.StartingAfter != "" {
		return "", nil, errors.New("store: search statement: a cursor page needs a query of its own")
	}
	dry, err := gorm.Open(db.gorm.Dialector, &gorm.Config{
		DryRun:                 true,
		Logger:                 logger.Default.LogMode(logger.Silent),
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true,
	})
	if err != nil {
		return "", nil, wrap("search statement", err)
	}
	var (
		text string
		args []any
	)
	err = dry.Callback().Query().After("gorm:query").Register("prima:capture", func(g *gorm.DB) {
		text = g.Statement.SQL.String()
		args = append([]any(nil), g.Statement.Vars...)
	})
	if err != nil {
		return "", nil, wrap("search statement", err)
	}
	tmp := &DB{gorm: dry, sql: db.sql, dialect: db.dialect}
	if _, _, err := tmp.SearchSlots(ctx, s, q, p); err != nil {
		return "", nil, err
	}
	if text == "" {
		return "", nil, errors.New("store: search statement: nothing captured")
	}
	return text, args, nil
}
