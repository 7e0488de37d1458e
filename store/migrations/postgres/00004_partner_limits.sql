-- Per-partner rate limits: a partner's token bucket refills at rate_limit_per_second
-- and holds rate_limit_burst requests. 0 means the server's default (PRIMA_RATE_LIMIT).
-- Existing partners keep the default.

-- +goose Up
ALTER TABLE partners ADD COLUMN rate_limit_per_second double precision NOT NULL DEFAULT 0;
ALTER TABLE partners ADD COLUMN rate_limit_burst integer NOT NULL DEFAULT 0;
ALTER TABLE partners ADD CONSTRAINT partners_rate_limit_check CHECK (rate_limit_per_second >= 0 AND rate_limit_burst >= 0);
-- The active-hold cap counts a partner's held reservations in the hold transaction.
CREATE INDEX reservations_partner_held_idx ON reservations (partner_id, status, expires_at);

-- +goose Down
DROP INDEX reservations_partner_held_idx;
ALTER TABLE partners DROP CONSTRAINT partners_rate_limit_check;
ALTER TABLE partners DROP COLUMN rate_limit_burst;
ALTER TABLE partners DROP COLUMN rate_limit_per_second;
