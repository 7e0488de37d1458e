-- Payment policies (deposits): see the PostgreSQL migration of the same number.

-- +goose Up
ALTER TABLE venues ADD COLUMN deposit_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE venues ADD COLUMN deposit_per TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN deposit_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN deposit_per TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reservations DROP COLUMN deposit_per;
ALTER TABLE reservations DROP COLUMN deposit_amount;
ALTER TABLE venues DROP COLUMN deposit_per;
ALTER TABLE venues DROP COLUMN deposit_amount;
