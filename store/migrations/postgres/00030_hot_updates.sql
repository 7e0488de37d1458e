-- Room on every page for the rows a booking updates, so that their updates stay on the
-- page (heap-only tuples, "HOT"): PostgreSQL then writes no index entry for the new
-- version and vacuum has no index entries to remove for the old one.
--
-- A hold and its cancel each update a slot's tables_taken, and a booking updates its
-- reservation and its outbox message twice more without touching an indexed column. A
-- table loaded full (fillfactor 100, the default) has no room on the page for the new
-- version, so each of those updates wrote an entry into every index of the table: eight
-- on slots, thirteen on reservations. Measured by `make bench` (2,000 venues, 1.44 M
-- slots) with pg_stat_statements: a slot's take went from 1.30 ms to 0.42 ms, 31 % of
-- slot updates were HOT and now all are; half of the reservation updates and two thirds
-- of the outbox updates are now HOT (the confirmation and the delivery change indexed
-- columns, so they never are).
--
-- fillfactor applies to pages filled from now on: new slots, new reservations and new
-- messages. A table loaded before this migration keeps its full pages until it is
-- rewritten (VACUUM FULL or pg_repack, at a quiet hour: docs/operating.md), or until its
-- rows are replaced. Setting it takes a SHARE UPDATE EXCLUSIVE lock, which blocks no
-- read or write, and rewrites nothing.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE slots SET (fillfactor = 85);
ALTER TABLE reservations SET (fillfactor = 90);
ALTER TABLE outbox SET (fillfactor = 80);

-- +goose Down
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE outbox RESET (fillfactor);
ALTER TABLE reservations RESET (fillfactor);
ALTER TABLE slots RESET (fillfactor);
