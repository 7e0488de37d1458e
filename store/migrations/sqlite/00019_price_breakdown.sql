-- Price breakdowns: see the PostgreSQL migration of the same number.

-- +goose Up
ALTER TABLE venues ADD COLUMN service_charge_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN tax_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN tax_inclusive BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE reservations ADD COLUMN price_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN price_per TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN service_charge_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN tax_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN tax_inclusive BOOLEAN NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE reservations DROP COLUMN tax_inclusive;
ALTER TABLE reservations DROP COLUMN tax_bps;
ALTER TABLE reservations DROP COLUMN service_charge_bps;
ALTER TABLE reservations DROP COLUMN price_per;
ALTER TABLE reservations DROP COLUMN price_amount;
ALTER TABLE venues DROP COLUMN tax_inclusive;
ALTER TABLE venues DROP COLUMN tax_bps;
ALTER TABLE venues DROP COLUMN service_charge_bps;
