package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// MigrateTo moves the schema up or down to version, for the upgrade tests.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate to %d: %w", version, err)
	}
	if cur > version {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("store: migrate to %d: %w", version, err)
	}
	return nil
}

// InsertBuilt reports whether the inserts of model's rows (ON CONFLICT DO NOTHING when
// doNothing) run the statement insertRow built from GORM's, not GORM's per call.
func (db *DB) InsertBuilt(model any, doNothing bool) bool {
	g := db.gorm.Session(&gorm.Session{NewDB: true})
	_, ok := buildInsert(g, model, doNothing).(insertStatement)
	return ok
}

// TakeWithGORM reads the row of dest's model whose id is id, with its Venue when join,
// as GORM's Take does, for comparing the store's own reads with it.
func (db *DB) TakeWithGORM(ctx context.Context, dest any, join bool, where string, id string) error {
	g := db.q(ctx)
	if join {
		g = g.Joins("Venue")
	}
	return g.Where(where, id).Take(dest).Error
}
