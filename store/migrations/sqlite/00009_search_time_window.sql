-- Searches with a time window read only the slots in the window (see the PostgreSQL
-- migration of the same number): local_time ends the keys of the city search indexes,
-- so the window is checked on index entries before any table row is read.

-- +goose Up
CREATE INDEX slots_city_time_search_idx ON slots (city_key, local_date, starts_at, venue_id, id, local_time);
CREATE INDEX slots_city_type_time_search_idx ON slots (city_key, local_date, type, starts_at, venue_id, id, local_time);
DROP INDEX slots_city_type_search_idx;
DROP INDEX slots_city_search_idx;

-- +goose Down
CREATE INDEX slots_city_search_idx ON slots (city_key, local_date, starts_at, venue_id, id);
CREATE INDEX slots_city_type_search_idx ON slots (city_key, local_date, type, starts_at, venue_id, id);
DROP INDEX slots_city_type_time_search_idx;
DROP INDEX slots_city_time_search_idx;
