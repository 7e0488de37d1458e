-- Retries of a card guarantee's fee: see the PostgreSQL migration of the same number.

-- +goose Up
ALTER TABLE reservations ADD COLUMN fee_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN fee_retry_at DATETIME;

-- +goose Down
ALTER TABLE reservations DROP COLUMN fee_retry_at;
ALTER TABLE reservations DROP COLUMN fee_failures;
