package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The sandbox payment gateway keeps its intents here as its own JSON, so payments/ owns
// their shape and need not import store: these methods take and return plain types.

// InsertSandboxIntent stores a new intent (version 1). When idempotencyKey is not empty
// and an intent was already created with it, nothing is inserted and that intent's data
// is returned; otherwise the result is nil. ErrConflict if the id is taken.
func (db *DB) InsertSandboxIntent(ctx context.Context, id, idempotencyKey string, data []byte) ([]byte, error) {
	if data == nil {
		data = []byte{}
	}
	row := SandboxIntent{
		ID:             id,
		IdempotencyKey: idempotencyKey,
		Data:           data,
		Version:        1,
		UpdatedAt:      dbTime(time.Now()),
	}
	// DO NOTHING covers both the primary key and the partial unique index on
	// idempotency_key, and under concurrency it waits for the other insert to commit.
	res := db.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return nil, wrap("insert sandbox intent", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil, nil
	}
	if idempotencyKey != "" {
		var prior SandboxIntent
		err := db.q(ctx).Where("idempotency_key = ?", idempotencyKey).Take(&prior).Error
		if err == nil {
			return prior.Data, nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, wrap("insert sandbox intent", err)
		}
	}
	return nil, wrap("insert sandbox intent", ErrConflict)
}

// GetSandboxIntent returns an intent's data and version; (nil, 0, nil) if it is unknown.
func (db *DB) GetSandboxIntent(ctx context.Context, id string) ([]byte, int, error) {
	var rows []SandboxIntent
	if err := db.q(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, 0, wrap("get sandbox intent", err)
	}
	if len(rows) == 0 {
		return nil, 0, nil
	}
	return rows[0].Data, rows[0].Version, nil
}

// UpdateSandboxIntent replaces an intent's data if its version is still version
// (compare-and-swap), bumping the version; it reports whether it did.
func (db *DB) UpdateSandboxIntent(ctx context.Context, id string, version int, data []byte) (bool, error) {
	if data == nil {
		data = []byte{}
	}
	res := db.q(ctx).Model(&SandboxIntent{}).Where("id = ? AND version = ?", id, version).
		UpdateColumns(map[string]any{
			"data":       data,
			"version":    gorm.Expr("version + 1"),
			"updated_at": dbTime(time.Now()),
		})
	if res.Error != nil {
		return false, wrap("update sandbox intent", res.Error)
	}
	return res.RowsAffected == 1, nil
}
