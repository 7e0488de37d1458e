-- Hardening: per-partner rate limits, the index of the active-hold cap, and the audit log.
--
-- Per-partner rate limits: a partner's token bucket refills at rate_limit_per_second
-- and holds rate_limit_burst requests. 0 means the server's default (PRIMA_RATE_LIMIT).
-- Existing partners keep the default.

-- +goose Up
ALTER TABLE partners ADD COLUMN rate_limit_per_second double precision NOT NULL DEFAULT 0;
ALTER TABLE partners ADD COLUMN rate_limit_burst integer NOT NULL DEFAULT 0;
ALTER TABLE partners ADD CONSTRAINT partners_rate_limit_check CHECK (rate_limit_per_second >= 0 AND rate_limit_burst >= 0);
-- The active-hold cap counts a partner's held reservations in the hold transaction.
CREATE INDEX reservations_partner_held_idx ON reservations (partner_id, status, expires_at);

-- The audit log: one row per authenticated request, written in batches off the request
-- path. Ids are time-ordered, so id order is time order for paging.
CREATE TABLE audit_events (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    occurred_at     timestamptz NOT NULL,
    partner_id      text COLLATE "C" NOT NULL,
    token_id        text NOT NULL,
    method          text NOT NULL,
    route           text NOT NULL,
    status          integer NOT NULL,
    request_id      text NOT NULL,
    idempotency_key text NOT NULL DEFAULT '',
    client_addr     text NOT NULL DEFAULT '',
    duration_ms     double precision NOT NULL DEFAULT 0
);
CREATE INDEX audit_events_partner_id_idx ON audit_events (partner_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP INDEX reservations_partner_held_idx;
ALTER TABLE partners DROP CONSTRAINT partners_rate_limit_check;
ALTER TABLE partners DROP COLUMN rate_limit_burst;
ALTER TABLE partners DROP COLUMN rate_limit_per_second;
