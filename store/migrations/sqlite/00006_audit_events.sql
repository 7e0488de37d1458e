-- The audit log: one row per authenticated request, written in batches off the request
-- path. Ids are time-ordered, so id order is time order for paging. (A migration of its
-- own: 00004 had already been applied without it.)

-- +goose Up
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
