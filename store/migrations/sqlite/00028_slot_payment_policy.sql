-- Per-slot payment policies: see the PostgreSQL migration of the same number.

-- +goose Up
ALTER TABLE slots ADD COLUMN payment_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE slots ADD COLUMN payment_policy_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slots ADD COLUMN payment_policy_per TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE slots DROP COLUMN payment_policy_per;
ALTER TABLE slots DROP COLUMN payment_policy_amount;
ALTER TABLE slots DROP COLUMN payment_policy;
