-- Stripe retries that can succeed, for change payments too (issue 14): the provider
-- mutations of a reservation_payments row (capture, cancel, refund) carry the key
-- prima-<purpose>-<payment>-<payment_attempt>, which moves on only when the provider
-- answered a failure it keeps under the key; the sweeper's retries wait until
-- payment_retry_at, which backs off with payment_failures. As 00011 for reservations.
--
-- Defaulted and nullable columns: adding them rewrites nothing (PostgreSQL 11+).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE reservation_payments ADD COLUMN payment_attempt integer NOT NULL DEFAULT 0;
ALTER TABLE reservation_payments ADD COLUMN payment_failures integer NOT NULL DEFAULT 0;
ALTER TABLE reservation_payments ADD COLUMN payment_retry_at timestamptz;

-- +goose Down
-- Rolling back removes what Up added; a binary that reads these columns is rolled back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE reservation_payments DROP COLUMN payment_retry_at;
-- squawk-ignore ban-drop-column
ALTER TABLE reservation_payments DROP COLUMN payment_failures;
-- squawk-ignore ban-drop-column
ALTER TABLE reservation_payments DROP COLUMN payment_attempt;
