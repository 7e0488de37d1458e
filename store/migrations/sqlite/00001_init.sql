-- The first schema of the PRIMA Partner API (SQLite). Column names match store/models.go.
-- Times are DATETIME, which glebarez/sqlite stores as text ('2006-01-02 15:04:05.999999999-07:00')
-- and reads back as time.Time; the store always writes them in UTC so the text orders like time.

-- +goose Up
CREATE TABLE partners (
    id         TEXT        NOT NULL PRIMARY KEY,
    name       TEXT        NOT NULL,
    all_venues BOOLEAN     NOT NULL DEFAULT 0,
    created_at DATETIME    NOT NULL,
    CONSTRAINT partners_name_key UNIQUE (name)
);

CREATE TABLE tokens (
    id           TEXT        NOT NULL PRIMARY KEY,
    partner_id   TEXT        NOT NULL REFERENCES partners (id),
    name         TEXT        NOT NULL DEFAULT '',
    hash         TEXT        NOT NULL,
    prefix       TEXT        NOT NULL DEFAULT '',
    scopes       TEXT        NOT NULL DEFAULT '',
    expires_at   DATETIME    NULL,
    revoked_at   DATETIME    NULL,
    last_used_at DATETIME    NULL,
    created_at   DATETIME    NOT NULL,
    CONSTRAINT tokens_hash_key UNIQUE (hash)
);
CREATE INDEX tokens_partner_id_idx ON tokens (partner_id, created_at);

CREATE TABLE venues (
    id                 TEXT        NOT NULL PRIMARY KEY,
    name               TEXT        NOT NULL,
    name_key           TEXT        NOT NULL,
    description        TEXT        NOT NULL DEFAULT '',
    address_line1      TEXT        NOT NULL DEFAULT '',
    city               TEXT        NOT NULL DEFAULT '',
    city_key           TEXT        NOT NULL DEFAULT '',
    postal_code        TEXT        NOT NULL DEFAULT '',
    country            TEXT        NOT NULL DEFAULT '',
    cuisine            TEXT        NOT NULL DEFAULT '',
    cuisine_key        TEXT        NOT NULL DEFAULT '',
    time_zone          TEXT        NOT NULL,
    currency           TEXT        NOT NULL,
    seating_areas      TEXT        NOT NULL DEFAULT '',
    policy_free_hours  INTEGER     NOT NULL DEFAULT 0,
    policy_fee_type    TEXT        NOT NULL DEFAULT '',
    policy_fee_percent INTEGER     NOT NULL DEFAULT 0,
    policy_fee_amount  INTEGER     NOT NULL DEFAULT 0,
    created_at         DATETIME    NOT NULL
);
CREATE INDEX venues_name_key_id_idx ON venues (name_key, id);
CREATE INDEX venues_city_key_idx ON venues (city_key);

CREATE TABLE partner_venues (
    partner_id TEXT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    venue_id   TEXT NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    PRIMARY KEY (partner_id, venue_id)
);
CREATE INDEX partner_venues_venue_id_idx ON partner_venues (venue_id);

CREATE TABLE slots (
    id               TEXT        NOT NULL PRIMARY KEY,
    venue_id         TEXT        NOT NULL REFERENCES venues (id),
    starts_at        DATETIME    NOT NULL,
    local_date       TEXT        NOT NULL,
    local_time       TEXT        NOT NULL,
    duration_minutes INTEGER     NOT NULL,
    party_size_min   INTEGER     NOT NULL,
    party_size_max   INTEGER     NOT NULL,
    seating_area     TEXT        NOT NULL DEFAULT '',
    type             TEXT        NOT NULL,
    price_amount     INTEGER     NOT NULL DEFAULT 0,
    price_currency   TEXT        NOT NULL DEFAULT '',
    price_per        TEXT        NOT NULL DEFAULT '',
    tables           INTEGER     NOT NULL,
    tables_taken     INTEGER     NOT NULL DEFAULT 0,
    status           TEXT        NOT NULL,
    created_at       DATETIME    NOT NULL,
    updated_at       DATETIME    NOT NULL,
    -- No overbooking, second guard: the conditional UPDATE is the first.
    CONSTRAINT slots_tables_taken_check CHECK (tables_taken >= 0 AND tables_taken <= tables)
);
CREATE INDEX slots_search_idx ON slots (local_date, starts_at, venue_id, id);
CREATE INDEX slots_venue_starts_idx ON slots (venue_id, starts_at);

CREATE TABLE reservations (
    id                      TEXT        NOT NULL PRIMARY KEY,
    partner_id              TEXT        NOT NULL REFERENCES partners (id),
    token_id                TEXT        NOT NULL DEFAULT '',
    slot_id                 TEXT        NOT NULL REFERENCES slots (id),
    venue_id                TEXT        NOT NULL REFERENCES venues (id),
    status                  TEXT        NOT NULL,
    party_size              INTEGER     NOT NULL,
    guest_first_name        TEXT        NOT NULL DEFAULT '',
    guest_last_name         TEXT        NOT NULL DEFAULT '',
    guest_email             TEXT        NOT NULL DEFAULT '',
    guest_phone             TEXT        NOT NULL DEFAULT '',
    notes                   TEXT        NOT NULL DEFAULT '',
    partner_reference       TEXT        NOT NULL DEFAULT '',
    expires_at              DATETIME    NULL,
    hold_max_at             DATETIME    NULL,
    confirmation_code       TEXT        NULL,
    starts_at               DATETIME    NOT NULL,
    local_date              TEXT        NOT NULL,
    duration_minutes        INTEGER     NOT NULL,
    seating_area            TEXT        NOT NULL DEFAULT '',
    slot_type               TEXT        NOT NULL,
    policy_free_hours       INTEGER     NOT NULL DEFAULT 0,
    policy_fee_type         TEXT        NOT NULL DEFAULT '',
    policy_fee_percent      INTEGER     NOT NULL DEFAULT 0,
    policy_fee_amount       INTEGER     NOT NULL DEFAULT 0,
    payment_provider        TEXT        NOT NULL DEFAULT '',
    payment_intent_id       TEXT        NULL,
    payment_client_secret   TEXT        NOT NULL DEFAULT '',
    payment_amount          INTEGER     NOT NULL DEFAULT 0,
    payment_currency        TEXT        NOT NULL DEFAULT '',
    payment_status          TEXT        NOT NULL DEFAULT '',
    payment_amount_captured INTEGER     NOT NULL DEFAULT 0,
    payment_amount_refunded INTEGER     NOT NULL DEFAULT 0,
    cancel_reason           TEXT        NOT NULL DEFAULT '',
    created_at              DATETIME    NOT NULL,
    updated_at              DATETIME    NOT NULL,
    confirmed_at            DATETIME    NULL,
    cancelled_at            DATETIME    NULL,
    CONSTRAINT reservations_confirmation_code_key UNIQUE (confirmation_code),
    CONSTRAINT reservations_payment_intent_id_key UNIQUE (payment_intent_id)
);
CREATE INDEX reservations_partner_id_idx ON reservations (partner_id, id);
CREATE INDEX reservations_status_expires_idx ON reservations (status, expires_at);
CREATE INDEX reservations_slot_status_idx ON reservations (slot_id, status);
CREATE INDEX reservations_partner_reference_idx ON reservations (partner_id, partner_reference);
CREATE INDEX reservations_venue_id_idx ON reservations (venue_id);

CREATE TABLE idempotency_keys (
    partner_id      TEXT        NOT NULL,
    key             TEXT        NOT NULL,
    fingerprint     TEXT        NOT NULL,
    state           TEXT        NOT NULL,
    response_status INTEGER     NOT NULL DEFAULT 0,
    response_body   BLOB        NULL,
    locked_until    DATETIME    NOT NULL,
    created_at      DATETIME    NOT NULL,
    PRIMARY KEY (partner_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

CREATE TABLE sandbox_payment_intents (
    id              TEXT        NOT NULL PRIMARY KEY,
    idempotency_key TEXT        NOT NULL DEFAULT '',
    data            BLOB        NOT NULL,
    version         INTEGER     NOT NULL DEFAULT 1,
    updated_at      DATETIME    NOT NULL
);
-- An idempotency key names one intent; intents created without one are not constrained.
CREATE UNIQUE INDEX sandbox_payment_intents_idempotency_key_idx
    ON sandbox_payment_intents (idempotency_key) WHERE idempotency_key <> '';

-- +goose Down
DROP TABLE sandbox_payment_intents;
DROP TABLE idempotency_keys;
DROP TABLE reservations;
DROP TABLE slots;
DROP TABLE partner_venues;
DROP TABLE venues;
DROP TABLE tokens;
DROP TABLE partners;
