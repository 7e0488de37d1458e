-- The sweeper's pending fees and ended card-guarantee holds, and reservations by
-- SetupIntent: see the PostgreSQL migration of the same number.

-- +goose Up
CREATE INDEX IF NOT EXISTS reservations_fee_due_idx ON reservations (fee_retry_at) WHERE fee_status = 'pending';
CREATE INDEX IF NOT EXISTS reservations_setup_open_idx ON reservations (id) WHERE status IN ('expired', 'released') AND setup_intent_id IS NOT NULL AND setup_status NOT IN ('succeeded', 'canceled');
CREATE INDEX IF NOT EXISTS reservations_setup_intent_idx ON reservations (setup_intent_id) WHERE setup_intent_id IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS reservations_setup_intent_idx;
DROP INDEX IF EXISTS reservations_setup_open_idx;
DROP INDEX IF EXISTS reservations_fee_due_idx;
