-- Availability change events (issue 17): every change of a slot's capacity (tables,
-- tables taken or reserved, status, price), whoever makes it (a hold, a release, an
-- expiry, a cancel, a change, an operator's edit, a closure, an allocation, psql), is
-- journalled in slot_changes by a trigger, in the change's own transaction: one row per
-- slot, whose version counts changes. A background loop in every process
-- (booking.AvailabilityFeed) claims rows with version > sent_version whose last event
-- is a second old, and writes the availability.updated events to the outbox.
-- changed_at is the slot's updated_at, which every writer sets from its clock.
--
-- A new table and a trigger: nothing is rewritten; CREATE TRIGGER takes a brief
-- SHARE ROW EXCLUSIVE lock on slots, bounded by lock_timeout.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
CREATE TABLE slot_changes (
    slot_id      text COLLATE "C" NOT NULL PRIMARY KEY,
    changed_at   timestamptz      NOT NULL,
    version      bigint           NOT NULL DEFAULT 1,
    sent_version bigint           NOT NULL DEFAULT 0,
    sent_at      timestamptz      NULL
);
-- The feed's claim: pending rows only, in the order they changed.
CREATE INDEX slot_changes_pending_idx ON slot_changes (changed_at) WHERE version > sent_version;

-- +goose StatementBegin
CREATE FUNCTION prima_slot_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO slot_changes AS c (slot_id, changed_at) VALUES (NEW.id, NEW.updated_at)
	ON CONFLICT (slot_id) DO UPDATE
		SET changed_at = GREATEST(c.changed_at, EXCLUDED.changed_at), version = c.version + 1;
	RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER slots_changed
	AFTER UPDATE OF tables, tables_taken, tables_reserved, status, price_amount ON slots
	FOR EACH ROW
	WHEN (OLD.tables IS DISTINCT FROM NEW.tables OR OLD.tables_taken IS DISTINCT FROM NEW.tables_taken
		OR OLD.tables_reserved IS DISTINCT FROM NEW.tables_reserved OR OLD.status IS DISTINCT FROM NEW.status
		OR OLD.price_amount IS DISTINCT FROM NEW.price_amount)
	EXECUTE FUNCTION prima_slot_changed();

-- +goose Down
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
DROP TRIGGER slots_changed ON slots;
DROP FUNCTION prima_slot_changed();
-- squawk-ignore ban-drop-table
DROP TABLE slot_changes;
