-- Price breakdowns (issue 18): a venue's service charge and tax, and their snapshot on
-- each reservation with the price it was booked at, so that the reservation, its
-- cancellation quote and the venue platform's copy show the same lines however the
-- venue or the slot change later. Rates are in basis points (1250 = 12.5 %); a tax is
-- inclusive (already in the price, shown for information) or exclusive (added to it).
-- A reservation with price_per '' was booked before this migration: its breakdown is
-- its payment's amount as one line.
--
-- Defaulted columns: adding them rewrites nothing (PostgreSQL 11+).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE venues ADD COLUMN service_charge_bps integer NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN tax_bps integer NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN tax_inclusive boolean NOT NULL DEFAULT true;
ALTER TABLE reservations ADD COLUMN price_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN price_per text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN service_charge_bps integer NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN tax_bps integer NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN tax_inclusive boolean NOT NULL DEFAULT true;

-- +goose Down
-- Rolling back removes what Up added; a binary that reads these columns is rolled back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN tax_inclusive;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN tax_bps;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN service_charge_bps;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN price_per;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN price_amount;
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN tax_inclusive;
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN tax_bps;
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN service_charge_bps;
