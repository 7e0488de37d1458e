-- Recovery points of idempotency keys (issue 14): the phase a key's request reached and
-- the resource it made, written in the same transaction as the effect, so a retry after
-- a crash resumes from there instead of doing the effect again. Nullable columns without
-- a default: a catalogue change only, no table rewrite.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE idempotency_keys ADD COLUMN recovery_point text COLLATE "C" NULL;
ALTER TABLE idempotency_keys ADD COLUMN resource_id text COLLATE "C" NULL;

-- +goose Down
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE idempotency_keys DROP COLUMN resource_id;
-- squawk-ignore ban-drop-column
ALTER TABLE idempotency_keys DROP COLUMN recovery_point;
