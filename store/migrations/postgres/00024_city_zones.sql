-- The time zones of each city's venues, so that a search for a city, a date and a time
-- window can bound slots.starts_at (the second key of the ordered city search indexes)
-- instead of walking the day from midnight and dropping every slot before the window: at
-- 6,700 venues a city, a search from 21:00 read 47,000 index entries to return 20.
--
-- Rows are added when a venue is created or moves city or zone, and never removed: a zone
-- no venue of the city uses any more only makes the bound looser, never wrong. A zone
-- PostgreSQL's time zone database does not know is recorded as Etc/GMT-14 (UTC+14, where
-- every local time comes first), which again only loosens the bound.
--
-- A new table, functions and a trigger: nothing is rewritten; CREATE TRIGGER takes a brief
-- SHARE ROW EXCLUSIVE lock on venues, bounded by lock_timeout.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
CREATE TABLE city_zones (
    city_key  text COLLATE "C" NOT NULL,
    time_zone text NOT NULL,
    PRIMARY KEY (city_key, time_zone)
);

-- +goose StatementBegin
CREATE FUNCTION city_zone_of(zone text) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM now() AT TIME ZONE zone;
    RETURN zone;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN 'Etc/GMT-14';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION venues_note_city_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO city_zones (city_key, time_zone) VALUES (NEW.city_key, city_zone_of(NEW.time_zone))
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER venues_note_city_zone AFTER INSERT OR UPDATE OF city_key, time_zone ON venues
    FOR EACH ROW EXECUTE FUNCTION venues_note_city_zone();

INSERT INTO city_zones (city_key, time_zone)
    SELECT DISTINCT city_key, city_zone_of(time_zone) FROM venues
    ON CONFLICT DO NOTHING;

-- +goose Down
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
DROP TRIGGER venues_note_city_zone ON venues;
DROP FUNCTION venues_note_city_zone();
DROP FUNCTION city_zone_of(text);
-- squawk-ignore ban-drop-table
DROP TABLE city_zones;
