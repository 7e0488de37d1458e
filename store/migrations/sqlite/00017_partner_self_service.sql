-- Partner self-service (issue 20): see the PostgreSQL migration of the same number.

-- +goose Up
CREATE TABLE partner_events (
    id             TEXT     NOT NULL PRIMARY KEY,
    partner_id     TEXT     NOT NULL,
    type           TEXT     NOT NULL,
    reservation_id TEXT     NOT NULL DEFAULT '',
    venue_id       TEXT     NOT NULL DEFAULT '',
    payload        BLOB     NULL,
    created_at     DATETIME NOT NULL
);
CREATE INDEX partner_events_partner_created_idx ON partner_events (partner_id, created_at, id);
CREATE INDEX partner_events_reservation_idx ON partner_events (reservation_id);

ALTER TABLE outbox ADD COLUMN event_id TEXT NOT NULL DEFAULT '';

CREATE TABLE webhook_attempts (
    id           TEXT     NOT NULL PRIMARY KEY,
    message_id   TEXT     NOT NULL,
    event_id     TEXT     NOT NULL DEFAULT '',
    endpoint_id  TEXT     NOT NULL DEFAULT '',
    partner_id   TEXT     NOT NULL DEFAULT '',
    outcome      TEXT     NOT NULL,
    status_code  INTEGER  NOT NULL DEFAULT 0,
    error        TEXT     NOT NULL DEFAULT '',
    duration_ms  INTEGER  NOT NULL DEFAULT 0,
    attempted_at DATETIME NOT NULL,
    CONSTRAINT webhook_attempts_outcome_check CHECK (outcome IN ('succeeded', 'failed'))
);
CREATE INDEX webhook_attempts_event_idx ON webhook_attempts (event_id, attempted_at);
CREATE INDEX webhook_attempts_attempted_idx ON webhook_attempts (attempted_at);

ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_expires_at DATETIME NULL;

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN previous_secret_expires_at;
ALTER TABLE webhook_endpoints DROP COLUMN previous_secret;
DROP TABLE webhook_attempts;
ALTER TABLE outbox DROP COLUMN event_id;
DROP TABLE partner_events;
