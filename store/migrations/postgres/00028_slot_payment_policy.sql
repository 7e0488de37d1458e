-- Per-slot payment policies (issue 18 follow-up): a standard slot may carry a payment
-- policy of its own, set by its venue's operator, overriding the venue's default.
-- payment_policy '' follows the venue; 'none', 'deposit' or 'card_guarantee' is the
-- slot's own, with payment_policy_amount per payment_policy_per ('cover' or 'booking')
-- pricing the deposit or the card guarantee's fee in minor units of the venue's currency.
--
-- Defaulted columns: adding them rewrites nothing (PostgreSQL 11+).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE slots ADD COLUMN payment_policy text NOT NULL DEFAULT '';
ALTER TABLE slots ADD COLUMN payment_policy_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE slots ADD COLUMN payment_policy_per text NOT NULL DEFAULT '';

-- +goose Down
-- Rolling back removes what Up added; a binary that reads these columns is rolled back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE slots DROP COLUMN payment_policy_per;
-- squawk-ignore ban-drop-column
ALTER TABLE slots DROP COLUMN payment_policy_amount;
-- squawk-ignore ban-drop-column
ALTER TABLE slots DROP COLUMN payment_policy;
