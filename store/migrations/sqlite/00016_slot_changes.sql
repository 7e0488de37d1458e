-- Availability change events (issue 17): see the PostgreSQL migration of the same
-- number. The same journal, kept by the same trigger.

-- +goose Up
CREATE TABLE slot_changes (
    slot_id      TEXT     NOT NULL PRIMARY KEY,
    changed_at   DATETIME NOT NULL,
    version      INTEGER  NOT NULL DEFAULT 1,
    sent_version INTEGER  NOT NULL DEFAULT 0,
    sent_at      DATETIME NULL
);
CREATE INDEX slot_changes_pending_idx ON slot_changes (changed_at) WHERE version > sent_version;

-- +goose StatementBegin
CREATE TRIGGER slots_changed
	AFTER UPDATE OF tables, tables_taken, tables_reserved, status, price_amount ON slots
	FOR EACH ROW
	WHEN OLD.tables IS NOT NEW.tables OR OLD.tables_taken IS NOT NEW.tables_taken
		OR OLD.tables_reserved IS NOT NEW.tables_reserved OR OLD.status IS NOT NEW.status
		OR OLD.price_amount IS NOT NEW.price_amount
BEGIN
	INSERT INTO slot_changes (slot_id, changed_at) VALUES (NEW.id, NEW.updated_at)
	ON CONFLICT (slot_id) DO UPDATE SET changed_at = excluded.changed_at, version = version + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER slots_changed;
DROP TABLE slot_changes;
