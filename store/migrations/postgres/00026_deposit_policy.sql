-- Payment policies (issue 18): a venue's default deposit on its standard slots, set by its
-- operator, and the deposit each reservation was booked with (per cover or per booking,
-- minor units of the venue's currency), so that a later change of the venue's policy
-- never re-prices a booking. deposit_per '' is no deposit.
--
-- Defaulted columns: adding them rewrites nothing (PostgreSQL 11+).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE venues ADD COLUMN deposit_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN deposit_per text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN deposit_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN deposit_per text NOT NULL DEFAULT '';

-- +goose Down
-- Rolling back removes what Up added; a binary that reads these columns is rolled back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN deposit_per;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN deposit_amount;
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN deposit_per;
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN deposit_amount;
