-- Issue 18 follow-ups.
--
-- Per-slot payment policies: a standard slot may carry a payment policy of its own, set
-- by its venue's operator, overriding the venue's default. payment_policy '' follows
-- the venue; 'none', 'deposit' or 'card_guarantee' is the slot's own, with
-- payment_policy_amount per payment_policy_per ('cover' or 'booking') pricing the
-- deposit or the card guarantee's fee in minor units of the venue's currency.
--
-- Retries of a card guarantee's fee: a fee left pending because the payment provider
-- failed (an outage, not a decline) is retried by the sweeper once fee_retry_at has
-- passed, under the fee's one idempotency key (per reservation and reason), backing off
-- with fee_failures; after the last try it is unpaid. A fee made due gets a
-- fee_retry_at a little ahead, so a process that dies before charging it leaves it to
-- the sweeper. 00029 indexes what the sweeper looks for.
--
-- Defaulted and nullable columns: adding them rewrites nothing (PostgreSQL 11+).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE slots ADD COLUMN payment_policy text NOT NULL DEFAULT '';
ALTER TABLE slots ADD COLUMN payment_policy_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE slots ADD COLUMN payment_policy_per text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_failures integer NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN fee_retry_at timestamptz;

-- +goose Down
-- Rolling back removes what Up added; a binary that reads these columns is rolled back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN fee_retry_at;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN fee_failures;
-- squawk-ignore ban-drop-column
ALTER TABLE slots DROP COLUMN payment_policy_per;
-- squawk-ignore ban-drop-column
ALTER TABLE slots DROP COLUMN payment_policy_amount;
-- squawk-ignore ban-drop-column
ALTER TABLE slots DROP COLUMN payment_policy;
