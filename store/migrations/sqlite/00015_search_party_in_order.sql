-- The party size joins the ordered city search indexes as their last key columns (see
-- the PostgreSQL migration of the same number).

-- +goose Up
CREATE INDEX IF NOT EXISTS slots_city_time_party_search_idx ON slots (city_key, local_date, starts_at, venue_id, id, local_time, party_size_min, party_size_max);
CREATE INDEX IF NOT EXISTS slots_city_type_time_party_search_idx ON slots (city_key, local_date, type, starts_at, venue_id, id, local_time, party_size_min, party_size_max);
DROP INDEX IF EXISTS slots_city_type_time_search_idx;
DROP INDEX IF EXISTS slots_city_time_search_idx;

-- +goose Down
CREATE INDEX IF NOT EXISTS slots_city_time_search_idx ON slots (city_key, local_date, starts_at, venue_id, id, local_time);
CREATE INDEX IF NOT EXISTS slots_city_type_time_search_idx ON slots (city_key, local_date, type, starts_at, venue_id, id, local_time);
DROP INDEX IF EXISTS slots_city_type_time_party_search_idx;
DROP INDEX IF EXISTS slots_city_time_party_search_idx;
