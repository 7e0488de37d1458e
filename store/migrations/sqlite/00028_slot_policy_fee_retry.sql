-- Per-slot payment policies and retries of a card guarantee's fee: see the PostgreSQL
-- migration of the same number.

-- +goose Up
ALTER TABLE slots ADD COLUMN payment_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE slots ADD COLUMN payment_policy_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slots ADD COLUMN payment_policy_per TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN fee_retry_at DATETIME;

-- +goose Down
ALTER TABLE reservations DROP COLUMN fee_retry_at;
ALTER TABLE reservations DROP COLUMN fee_failures;
ALTER TABLE slots DROP COLUMN payment_policy_per;
ALTER TABLE slots DROP COLUMN payment_policy_amount;
ALTER TABLE slots DROP COLUMN payment_policy;
