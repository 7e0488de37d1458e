-- Stripe retries that can succeed: see the PostgreSQL migration of the same number.

-- +goose Up
ALTER TABLE reservations ADD COLUMN payment_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN payment_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN payment_retry_at DATETIME;

-- +goose Down
ALTER TABLE reservations DROP COLUMN payment_retry_at;
ALTER TABLE reservations DROP COLUMN payment_failures;
ALTER TABLE reservations DROP COLUMN payment_attempt;
