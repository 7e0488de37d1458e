-- Stripe retries that can succeed, for change payments: see the PostgreSQL migration of
-- the same number.

-- +goose Up
ALTER TABLE reservation_payments ADD COLUMN payment_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservation_payments ADD COLUMN payment_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservation_payments ADD COLUMN payment_retry_at DATETIME;

-- +goose Down
ALTER TABLE reservation_payments DROP COLUMN payment_retry_at;
ALTER TABLE reservation_payments DROP COLUMN payment_failures;
ALTER TABLE reservation_payments DROP COLUMN payment_attempt;
