-- Searches with a time window (time_from, time_to) read only the slots in the window.
-- A city's slots of a date are read in the order of the result (starts_at, venue_id,
-- id), which the API documents and keyset paging relies on; local time is not monotonic
-- with starts_at across time zones, so the window cannot bound that range. With
-- local_time as the last key column of the index, PostgreSQL checks the window on the
-- index entries (an Index Cond) and visits the table only for slots inside it: a search
-- "from 20:00" no longer fetches and drops the ~4,000 earlier slots of a city and date.
-- The new indexes replace those of 00005, whose leading columns they repeat.

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
