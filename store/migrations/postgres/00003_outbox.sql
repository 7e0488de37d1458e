-- Venue sync and partner webhooks: venues name their reservation platform, reservations
-- show whether the venue's platform has them, and every notification to a venue or a
-- partner goes through the outbox, written in the transaction of the change it reports.
-- Existing rows keep their data: every new column has a default.

-- +goose Up
ALTER TABLE venues ADD COLUMN platform_kind text COLLATE "C" NOT NULL DEFAULT 'log';
ALTER TABLE venues ADD COLUMN platform_url text NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN platform_secret text NOT NULL DEFAULT '';

ALTER TABLE reservations ADD COLUMN venue_sync_status text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN venue_sync_reference text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN venue_sync_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN venue_sync_error text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN venue_synced_at timestamptz NULL;

-- One delivery to make. claimed_by/claimed_until are a worker's lease: a message whose
-- lease ran out (its worker died) is claimable again, under the same id (webhook-id).
CREATE TABLE outbox (
    id                 text COLLATE "C" NOT NULL PRIMARY KEY,
    kind               text COLLATE "C" NOT NULL,
    type               text COLLATE "C" NOT NULL,
    reservation_id     text COLLATE "C" NOT NULL DEFAULT '',
    partner_id         text COLLATE "C" NOT NULL DEFAULT '',
    venue_id           text COLLATE "C" NOT NULL DEFAULT '',
    endpoint_id        text COLLATE "C" NOT NULL DEFAULT '',
    payload            bytea            NULL,
    status             text COLLATE "C" NOT NULL DEFAULT 'pending',
    attempts           integer          NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz      NOT NULL,
    last_error         text             NOT NULL DEFAULT '',
    claimed_by         text COLLATE "C" NOT NULL DEFAULT '',
    claimed_until      timestamptz      NULL,
    platform_reference text             NOT NULL DEFAULT '',
    created_at         timestamptz      NOT NULL,
    retried_at         timestamptz      NULL,
    delivered_at       timestamptz      NULL,
    CONSTRAINT outbox_kind_check CHECK (kind IN ('venue', 'partner')),
    CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'delivered', 'failed')),
    CONSTRAINT outbox_attempts_check CHECK (attempts >= 0)
);
CREATE INDEX outbox_claim_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_reservation_id_idx ON outbox (reservation_id);

CREATE TABLE webhook_endpoints (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    partner_id      text COLLATE "C" NOT NULL REFERENCES partners (id),
    url             text             NOT NULL,
    events          text             NOT NULL DEFAULT '',
    secret          text             NOT NULL,
    status          text COLLATE "C" NOT NULL DEFAULT 'enabled',
    disabled_reason text             NOT NULL DEFAULT '',
    created_at      timestamptz      NOT NULL,
    CONSTRAINT webhook_endpoints_status_check CHECK (status IN ('enabled', 'disabled'))
);
CREATE INDEX webhook_endpoints_partner_id_idx ON webhook_endpoints (partner_id, created_at);

-- What the "log" connector keeps instead of calling a platform; the id is the outbox
-- message's, so a redelivery stores nothing twice.
CREATE TABLE venue_notifications (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    venue_id       text COLLATE "C" NOT NULL,
    reservation_id text COLLATE "C" NOT NULL DEFAULT '',
    type           text COLLATE "C" NOT NULL,
    payload        bytea            NOT NULL,
    created_at     timestamptz      NOT NULL
);
CREATE INDEX venue_notifications_venue_created_idx ON venue_notifications (venue_id, created_at);

-- +goose Down
DROP TABLE venue_notifications;
DROP TABLE webhook_endpoints;
DROP TABLE outbox;
ALTER TABLE reservations DROP COLUMN venue_synced_at;
ALTER TABLE reservations DROP COLUMN venue_sync_error;
ALTER TABLE reservations DROP COLUMN venue_sync_attempts;
ALTER TABLE reservations DROP COLUMN venue_sync_reference;
ALTER TABLE reservations DROP COLUMN venue_sync_status;
ALTER TABLE venues DROP COLUMN platform_secret;
ALTER TABLE venues DROP COLUMN platform_url;
ALTER TABLE venues DROP COLUMN platform_kind;
