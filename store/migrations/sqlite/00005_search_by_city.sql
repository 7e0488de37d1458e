-- Search by city, index-bound (see the PostgreSQL migration of the same number): slots
-- carry their venue's city_key, filled by the database on insert and rewritten when a
-- venue's city_key changes; two indexes serve a city's slots of a date in start order.

-- +goose Up
ALTER TABLE slots ADD COLUMN city_key TEXT NOT NULL DEFAULT '';
UPDATE slots SET city_key = COALESCE((SELECT v.city_key FROM venues v WHERE v.id = slots.venue_id), '');

-- +goose StatementBegin
CREATE TRIGGER slots_fill_city_key AFTER INSERT ON slots FOR EACH ROW
BEGIN
    UPDATE slots SET city_key = COALESCE((SELECT v.city_key FROM venues v WHERE v.id = NEW.venue_id), '')
    WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER slots_refill_city_key AFTER UPDATE OF venue_id ON slots FOR EACH ROW
BEGIN
    UPDATE slots SET city_key = COALESCE((SELECT v.city_key FROM venues v WHERE v.id = NEW.venue_id), '')
    WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER venues_sync_city_key AFTER UPDATE OF city_key ON venues FOR EACH ROW
WHEN OLD.city_key IS NOT NEW.city_key
BEGIN
    UPDATE slots SET city_key = NEW.city_key WHERE venue_id = NEW.id;
END;
-- +goose StatementEnd

CREATE INDEX slots_city_search_idx ON slots (city_key, local_date, starts_at, venue_id, id);
CREATE INDEX slots_city_type_search_idx ON slots (city_key, local_date, type, starts_at, venue_id, id);

-- +goose Down
DROP INDEX slots_city_type_search_idx;
DROP INDEX slots_city_search_idx;
DROP TRIGGER venues_sync_city_key;
DROP TRIGGER slots_refill_city_key;
DROP TRIGGER slots_fill_city_key;
ALTER TABLE slots DROP COLUMN city_key;
