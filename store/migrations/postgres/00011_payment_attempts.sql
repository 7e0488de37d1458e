-- Stripe retries that can succeed (issue 14): each reservation's provider mutations
-- (create, capture, cancel, refund) carry the idempotency key
-- prima-<purpose>-<reservation>-<payment_attempt>. The attempt moves on only when the
-- provider answered a failure it keeps under the key (Stripe replays it for 24 h), so
-- a retry after a timeout reuses the key and one after a stored failure does not.
-- Background retries (the sweeper's cancels and refunds) wait until payment_retry_at,
-- which backs off exponentially with payment_failures.
--
-- Defaulted and nullable columns: adding them rewrites nothing (PostgreSQL 11+).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE reservations ADD COLUMN payment_attempt integer NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN payment_failures integer NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN payment_retry_at timestamptz;

-- +goose Down
-- Rolling back removes what Up added; a binary that reads these columns is rolled back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN payment_retry_at;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN payment_failures;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN payment_attempt;
