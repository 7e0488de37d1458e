-- Partner self-service (issue 20): every partner event is kept as a row of its own
-- (GET /v1/events, 30 days), whether or not an endpoint was subscribed; each outbox
-- message to an endpoint names its event; every delivery attempt is recorded (status,
-- response code, timing); an endpoint's previous secret keeps signing until the end of
-- a rotation's overlap. New tables and columns with defaults: nothing is rewritten.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
CREATE TABLE partner_events (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    partner_id     text COLLATE "C" NOT NULL,
    type           text COLLATE "C" NOT NULL,
    reservation_id text COLLATE "C" NOT NULL DEFAULT '',
    venue_id       text COLLATE "C" NOT NULL DEFAULT '',
    payload        bytea            NULL,
    created_at     timestamptz      NOT NULL
);
CREATE INDEX partner_events_partner_created_idx ON partner_events (partner_id, created_at, id);
CREATE INDEX partner_events_reservation_idx ON partner_events (reservation_id);

ALTER TABLE outbox ADD COLUMN event_id text COLLATE "C" NOT NULL DEFAULT '';

CREATE TABLE webhook_attempts (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    message_id   text COLLATE "C" NOT NULL,
    event_id     text COLLATE "C" NOT NULL DEFAULT '',
    endpoint_id  text COLLATE "C" NOT NULL DEFAULT '',
    partner_id   text COLLATE "C" NOT NULL DEFAULT '',
    outcome      text COLLATE "C" NOT NULL,
    status_code  integer          NOT NULL DEFAULT 0,
    error        text             NOT NULL DEFAULT '',
    duration_ms  integer          NOT NULL DEFAULT 0,
    attempted_at timestamptz      NOT NULL,
    CONSTRAINT webhook_attempts_outcome_check CHECK (outcome IN ('succeeded', 'failed'))
);
CREATE INDEX webhook_attempts_event_idx ON webhook_attempts (event_id, attempted_at);
CREATE INDEX webhook_attempts_attempted_idx ON webhook_attempts (attempted_at);

ALTER TABLE webhook_endpoints ADD COLUMN previous_secret text NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_expires_at timestamptz NULL;

-- +goose Down
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE webhook_endpoints DROP COLUMN previous_secret_expires_at;
-- squawk-ignore ban-drop-column
ALTER TABLE webhook_endpoints DROP COLUMN previous_secret;
-- squawk-ignore ban-drop-table
DROP TABLE webhook_attempts;
-- squawk-ignore ban-drop-column
ALTER TABLE outbox DROP COLUMN event_id;
-- squawk-ignore ban-drop-table
DROP TABLE partner_events;
