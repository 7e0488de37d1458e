package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// SlotChange is a slot's entry in the journal of capacity changes (migration 00016): a
// trigger on slots inserts it, or counts one more change in Version, in the transaction
// of every change of a slot's tables, tables taken or reserved, status or price, whoever
// makes it. The availability feed has told partners of the changes up to SentVersion,
// the last time at SentAt.
type SlotChange struct {
	SlotID      string     `gorm:"column:slot_id;primaryKey"`
	ChangedAt   time.Time  `gorm:"column:changed_at"` // the slot's updated_at at its last change
	Version     int64      `gorm:"column:version"`
	SentVersion int64      `gorm:"column:sent_version"`
	SentAt      *time.Time `gorm:"column:sent_at"`
}

// TableName is slot_changes.
func (SlotChange) TableName() string { return "slot_changes" }

// ClaimSlotChanges returns up to limit slots with changes not yet sent whose last event
// was sent at least gap before now (or never), the longest waiting first, and keeps them
// to the transaction: on PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED (another
// process's feed takes others, and a change committing meanwhile waits for this
// transaction to end, then counts again), on SQLite the transaction holds the write lock.
func (tx *Tx) ClaimSlotChanges(now time.Time, gap time.Duration, limit int) ([]SlotChange, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	g := tx.g.Where("version > sent_version AND (sent_at IS NULL OR sent_at <= ?)", dbTime(now.Add(-gap))).
		Order("changed_at, slot_id").Limit(limit)
	if tx.dialect == DialectPostgres {
		g = g.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	var out []SlotChange
	if err := g.Find(&out).Error; err != nil {
		return nil, wrap("claim slot changes", err)
	}
	return out, nil
}

// MarkSlotChangeSent records that the changes of a claimed slot up to version were sent
// at at.
func (tx *Tx) MarkSlotChangeSent(slotID string, version int64, at time.Time) error {
	err := tx.g.Model(&SlotChange{}).Where("slot_id = ?", slotID).
		UpdateColumns(map[string]any{"sent_version": version, "sent_at": dbTime(at)}).Error
	return wrap("mark slot change sent", err)
}

// ForgetSlotChanges deletes up to limit journal rows with nothing left to send whose last
// event is older than before (their pacing no longer matters), and those of slots that no
// longer exist, so the journal holds only slots that changed lately. It returns how many
// it deleted.
func (tx *Tx) ForgetSlotChanges(before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	sub := tx.g.Model(&SlotChange{}).Select("slot_id").
		Where("(version = sent_version AND sent_at < ?) OR NOT EXISTS (SELECT 1 FROM slots WHERE slots.id = slot_changes.slot_id)", dbTime(before)).
		Limit(limit)
	if tx.dialect == DialectPostgres {
		sub = sub.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	var stale []string
	if err := sub.Find(&stale).Error; err != nil {
		return 0, wrap("forget slot changes", err)
	}
	if len(stale) == 0 {
		return 0, nil
	}
	// Still settled at delete time: a change counted since keeps its row.
	inStale, staleIDs := idIn(tx.dialect, "slot_id", stale)
	res := tx.g.Where(inStale+" AND (version = sent_version OR NOT EXISTS (SELECT 1 FROM slots WHERE slots.id = slot_changes.slot_id))", staleIDs).
		Delete(&SlotChange{})
	return int(res.RowsAffected), wrap("forget slot changes", res.Error)
}

// SlotChangeOf returns a slot's journal row; ErrNotFound if the slot never changed (or
// its row was forgotten).
func (db *DB) SlotChangeOf(ctx context.Context, slotID string) (SlotChange, error) {
	var c SlotChange
	err := db.q(ctx).Where("slot_id = ?", slotID).Take(&c).Error
	return c, wrap("slot change", err)
}

// SlotsForFeed returns the slots among ids with their Venue; a slot that no longer
// exists is left out.
//
// On PostgreSQL the ids are one text[] parameter (= ANY): spelled out as IN (…), each
// batch size of the feed (1 to 200) was a statement of its own, which every connection
// prepared and PostgreSQL planned anew, 10–40 ms a batch under make bench's booking load.
func (tx *Tx) SlotsForFeed(ids []string) ([]Slot, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []Slot
	err := tx.g.InnerJoins("Venue").Where(idIn(tx.dialect, "slots.id", ids)).Order("slots.id").Find(&out).Error
	return out, wrap("slots for feed", err)
}

// EndpointsForVenue returns the enabled webhook endpoints that name eventType among
// their events (explicitly: "*" does not count) of the partners that may sell the venue,
// ordered by partner then id.
func (tx *Tx) EndpointsForVenue(venueID, eventType string) ([]WebhookEndpoint, error) {
	var rows []WebhookEndpoint
	err := tx.g.Model(&WebhookEndpoint{}).
		Joins("JOIN partners p ON p.id = webhook_endpoints.partner_id").
		Where("webhook_endpoints.status = ? AND webhook_endpoints.events LIKE ?", EndpointEnabled, "%"+escapeLike(eventType)+"%").
		Where("(p.all_venues = ? OR EXISTS (SELECT 1 FROM partner_venues pv WHERE pv.partner_id = p.id AND pv.venue_id = ?))", true, venueID).
		Order("webhook_endpoints.partner_id, webhook_endpoints.id").
		Find(&rows).Error
	if err != nil {
		return nil, wrap("endpoints for venue", err)
	}
	out := rows[:0]
	for _, e := range rows {
		if e.SubscribesExplicitly(eventType) {
			out = append(out, e)
		}
	}
	return out, nil
}

// SubscribesExplicitly reports whether the endpoint's events name eventType itself, for
// event types too frequent to be sent to every "*" endpoint.
func (e WebhookEndpoint) SubscribesExplicitly(eventType string) bool {
	for _, ev := range strings.Fields(e.Events) {
		if ev == eventType {
			return true
		}
	}
	return false
}

// PartnerAllocationsFree is (*DB).PartnerAllocationsFree inside the transaction.
func (tx *Tx) PartnerAllocationsFree(partnerID string, slotIDs []string, now time.Time) (map[string]int, error) {
	return partnerAllocationsFree(tx.g, partnerID, slotIDs, now)
}

// MarkSlotChangesSent is MarkSlotChangeSent for every claimed change, in one statement
// on PostgreSQL.
func (tx *Tx) MarkSlotChangesSent(changes []SlotChange, at time.Time) error {
	if len(changes) == 0 {
		return nil
	}
	if tx.dialect != DialectPostgres {
		for _, c := range changes {
			if err := tx.MarkSlotChangeSent(c.SlotID, c.Version, at); err != nil {
				return err
			}
		}
		return nil
	}
	ids, versions := make([]string, len(changes)), make([]int64, len(changes))
	for i, c := range changes {
		ids[i], versions[i] = c.SlotID, c.Version
	}
	// Through the transaction's connection itself: GORM would spell the arrays out.
	_, err := tx.g.Statement.ConnPool.ExecContext(tx.g.Statement.Context,
		`UPDATE slot_changes SET sent_version = v.version, sent_at = $1 `+
			`FROM unnest($2::text[], $3::bigint[]) AS v(slot_id, version) WHERE slot_changes.slot_id = v.slot_id`,
		dbTime(at), ids, versions)
	return wrap("mark slot changes sent", err)
}

// AnyEndpointNames reports whether any enabled webhook endpoint may name eventType among
// its events (a superset of those that do: the names are checked by SubscribesExplicitly),
// so a feed with nobody to tell skips looking endpoints up venue by venue.
func (tx *Tx) AnyEndpointNames(eventType string) (bool, error) {
	var n int64
	err := tx.g.Model(&WebhookEndpoint{}).
		Where("status = ? AND events LIKE ?", EndpointEnabled, "%"+escapeLike(eventType)+"%").
		Limit(1).Count(&n).Error
	return n > 0, wrap("any endpoint names", err)
}
