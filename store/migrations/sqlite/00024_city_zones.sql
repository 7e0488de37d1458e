-- The time zones of each city's venues (see the PostgreSQL migration of the same number).
-- SQLite has no time zone database, so its search does not bound starts_at by them; the
-- table is kept the same on both databases all the same.

-- +goose Up
CREATE TABLE city_zones (
    city_key  TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    PRIMARY KEY (city_key, time_zone)
);

-- +goose StatementBegin
CREATE TRIGGER venues_note_city_zone_insert AFTER INSERT ON venues
BEGIN
    INSERT OR IGNORE INTO city_zones (city_key, time_zone) VALUES (NEW.city_key, NEW.time_zone);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER venues_note_city_zone_update AFTER UPDATE OF city_key, time_zone ON venues
BEGIN
    INSERT OR IGNORE INTO city_zones (city_key, time_zone) VALUES (NEW.city_key, NEW.time_zone);
END;
-- +goose StatementEnd

INSERT OR IGNORE INTO city_zones (city_key, time_zone) SELECT DISTINCT city_key, time_zone FROM venues;

-- +goose Down
DROP TRIGGER venues_note_city_zone_update;
DROP TRIGGER venues_note_city_zone_insert;
DROP TABLE city_zones;
