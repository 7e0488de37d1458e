-- Search by city, index-bound. Partners search one city and date at a time, ordered by
-- start; the city was only on venues, so PostgreSQL read every slot of the date in
-- start order and dropped the other cities' (a scan that grows with the catalogue).
-- Slots now carry their venue's city_key, kept by the database itself (GORM's Slot row
-- does not name the column): filled on insert from the venue, and rewritten when a
-- venue's city_key changes. SearchSlots filters on it beside the venue's own column.

-- +goose Up
ALTER TABLE slots ADD COLUMN city_key text COLLATE "C" NOT NULL DEFAULT '';
UPDATE slots SET city_key = v.city_key FROM venues v WHERE v.id = slots.venue_id;

-- +goose StatementBegin
CREATE FUNCTION slots_fill_city_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.city_key := COALESCE((SELECT v.city_key FROM venues v WHERE v.id = NEW.venue_id), '');
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER slots_fill_city_key BEFORE INSERT OR UPDATE OF venue_id ON slots
    FOR EACH ROW EXECUTE FUNCTION slots_fill_city_key();

-- +goose StatementBegin
CREATE FUNCTION venues_sync_city_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE slots SET city_key = NEW.city_key WHERE venue_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER venues_sync_city_key AFTER UPDATE OF city_key ON venues
    FOR EACH ROW WHEN (OLD.city_key IS DISTINCT FROM NEW.city_key)
    EXECUTE FUNCTION venues_sync_city_key();

-- A city's slots of a date in the order of the result (starts_at, venue_id, id), so a
-- page is the first rows of one index range; the second is for searches of one slot
-- type (prime tables are a few hours of each evening).
CREATE INDEX slots_city_search_idx ON slots (city_key, local_date, starts_at, venue_id, id);
CREATE INDEX slots_city_type_search_idx ON slots (city_key, local_date, type, starts_at, venue_id, id);

-- +goose Down
DROP INDEX slots_city_type_search_idx;
DROP INDEX slots_city_search_idx;
DROP TRIGGER venues_sync_city_key ON venues;
DROP FUNCTION venues_sync_city_key();
DROP TRIGGER slots_fill_city_key ON slots;
DROP FUNCTION slots_fill_city_key();
ALTER TABLE slots DROP COLUMN city_key;
