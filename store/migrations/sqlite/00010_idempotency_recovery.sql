-- Recovery points of idempotency keys (issue 14): the phase a key's request reached and
-- the resource it made, written in the same transaction as the effect.

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN recovery_point TEXT NULL;
ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT NULL;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN resource_id;
ALTER TABLE idempotency_keys DROP COLUMN recovery_point;
