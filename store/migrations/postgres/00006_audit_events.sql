-- The audit log: one row per authenticated request, written in batches off the request
-- path. Ids are time-ordered, so id order is time order for paging. (A migration of its
-- own: 00004 had already been applied without it.)

-- +goose Up
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
