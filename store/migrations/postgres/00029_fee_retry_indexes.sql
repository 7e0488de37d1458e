-- +goose NO TRANSACTION
-- What the sweeper looks for in reservations at every pass, and the sandbox's lookup of
-- a SetupIntent, indexed so that none of them reads the table: the pending fees by
-- their retry time, the card-guarantee holds that ended with their SetupIntent still
-- open, and reservations by SetupIntent. Each index is partial: it holds only the few
-- rows its query wants (the queries spell the predicates out as literals, so a generic
-- plan can use them too).
-- CONCURRENTLY, outside a transaction, and without lock_timeout or statement_timeout:
-- see 00014.

-- +goose Up
-- squawk-ignore require-lock-timeout, require-statement-timeout
CREATE INDEX CONCURRENTLY IF NOT EXISTS reservations_fee_due_idx ON reservations (fee_retry_at) WHERE fee_status = 'pending';
-- squawk-ignore require-lock-timeout, require-statement-timeout
CREATE INDEX CONCURRENTLY IF NOT EXISTS reservations_setup_open_idx ON reservations (id) WHERE status IN ('expired', 'released') AND setup_intent_id IS NOT NULL AND setup_status NOT IN ('succeeded', 'canceled');
-- squawk-ignore require-lock-timeout, require-statement-timeout
CREATE INDEX CONCURRENTLY IF NOT EXISTS reservations_setup_intent_idx ON reservations (setup_intent_id) WHERE setup_intent_id IS NOT NULL;

-- +goose Down
-- squawk-ignore require-lock-timeout, require-statement-timeout
DROP INDEX CONCURRENTLY IF EXISTS reservations_setup_intent_idx;
-- squawk-ignore require-lock-timeout, require-statement-timeout
DROP INDEX CONCURRENTLY IF EXISTS reservations_setup_open_idx;
-- squawk-ignore require-lock-timeout, require-statement-timeout
DROP INDEX CONCURRENTLY IF EXISTS reservations_fee_due_idx;
