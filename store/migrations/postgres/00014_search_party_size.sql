-- +goose NO TRANSACTION
-- Searches for a party few slots take read only those slots. The search indexes order a
-- city's slots of a date by start time, and the party-size range is checked row by row:
-- a search for 8 when no slot seats 8 read every slot of the city and date (80,000 rows
-- and 155 ms at 20,000 venues, measured with make bench's 20,000-venue catalogue). With
-- party_size_max after the city and date, PostgreSQL finds the few slots that seat the
-- party and sorts them; a search most slots satisfy keeps the ordered indexes of 00009,
-- which stop after the first page. The same for searches that name no city.
-- CONCURRENTLY, outside a transaction: slot reads and writes go on while the index is
-- built; it waits only for schema changes. No lock_timeout or statement_timeout is set:
-- outside a transaction goose runs each statement on any connection of the pool, so a
-- SET would not reach the CREATE, and a statement_timeout would only cut the build short
-- on a large catalogue (3 s for 1.7 M slots here).

-- +goose Up
-- squawk-ignore require-lock-timeout, require-statement-timeout
CREATE INDEX CONCURRENTLY IF NOT EXISTS slots_city_party_idx ON slots (city_key, local_date, party_size_max);
-- squawk-ignore require-lock-timeout, require-statement-timeout
CREATE INDEX CONCURRENTLY IF NOT EXISTS slots_date_party_idx ON slots (local_date, party_size_max);

-- +goose Down
-- squawk-ignore require-lock-timeout, require-statement-timeout
DROP INDEX CONCURRENTLY IF EXISTS slots_date_party_idx;
-- squawk-ignore require-lock-timeout, require-statement-timeout
DROP INDEX CONCURRENTLY IF EXISTS slots_city_party_idx;
