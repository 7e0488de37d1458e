-- Searches for a party few slots take read only those slots (see the PostgreSQL
-- migration of the same number).

-- +goose Up
CREATE INDEX IF NOT EXISTS slots_city_party_idx ON slots (city_key, local_date, party_size_max);
CREATE INDEX IF NOT EXISTS slots_date_party_idx ON slots (local_date, party_size_max);

-- +goose Down
DROP INDEX IF EXISTS slots_date_party_idx;
DROP INDEX IF EXISTS slots_city_party_idx;
