-- Hardening: per-partner rate limits, the index of the active-hold cap, and the audit log.
--
-- Per-partner rate limits: a partner's token bucket refills at rate_limit_per_second
-- and holds rate_limit_burst requests. 0 means the server's default (PRIMA_RATE_LIMIT).
-- Existing partners keep the default.

-- +goose Up
ALTER TABLE partners ADD COLUMN rate_limit_per_second REAL NOT NULL DEFAULT 0 CHECK (rate_limit_per_second >= 0);
ALTER TABLE partners ADD COLUMN rate_limit_burst INTEGER NOT NULL DEFAULT 0 CHECK (rate_limit_burst >= 0);
-- The active-hold cap counts a partner's held reservations in the hold transaction.
CREATE INDEX reservations_partner_held_idx ON reservations (partner_id, status, expires_at);

-- The audit log: one row per authenticated request, written in batches off the request
-- path. Ids are time-ordered, so id order is time order for paging.
CREATE TABLE audit_events (
    id              TEXT NOT NULL PRIMARY KEY,
    occurred_at     DATETIME NOT NULL,
    partner_id      TEXT NOT NULL,
    token_id        TEXT NOT NULL,
    method          TEXT NOT NULL,
    route           TEXT NOT NULL,
    status          INTEGER NOT NULL,
    request_id      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL DEFAULT '',
    client_addr     TEXT NOT NULL DEFAULT '',
    duration_ms     REAL NOT NULL DEFAULT 0
);
CREATE INDEX audit_events_partner_id_idx ON audit_events (partner_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP INDEX reservations_partner_held_idx;
ALTER TABLE partners DROP COLUMN rate_limit_burst;
ALTER TABLE partners DROP COLUMN rate_limit_per_second;
