-- The first schema of the PRIMA Partner API (PostgreSQL). Column names match store/models.go.
-- Times are timestamptz and always written in UTC by the store. Ids, sort keys and codes are
-- COLLATE "C": they sort by bytes, as on SQLite, whatever the database's locale (keyset paging
-- and time-ordered ids depend on it).

-- +goose Up
CREATE TABLE partners (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text             NOT NULL,
    all_venues boolean          NOT NULL DEFAULT false,
    created_at timestamptz      NOT NULL,
    CONSTRAINT partners_name_key UNIQUE (name)
);

CREATE TABLE tokens (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    partner_id   text COLLATE "C" NOT NULL REFERENCES partners (id),
    name         text             NOT NULL DEFAULT '',
    hash         text COLLATE "C" NOT NULL,
    prefix       text             NOT NULL DEFAULT '',
    scopes       text             NOT NULL DEFAULT '',
    expires_at   timestamptz      NULL,
    revoked_at   timestamptz      NULL,
    last_used_at timestamptz      NULL,
    created_at   timestamptz      NOT NULL,
    CONSTRAINT tokens_hash_key UNIQUE (hash)
);
CREATE INDEX tokens_partner_id_idx ON tokens (partner_id, created_at);

CREATE TABLE venues (
    id                 text COLLATE "C" NOT NULL PRIMARY KEY,
    name               text             NOT NULL,
    name_key           text COLLATE "C" NOT NULL,
    description        text             NOT NULL DEFAULT '',
    address_line1      text             NOT NULL DEFAULT '',
    city               text             NOT NULL DEFAULT '',
    city_key           text COLLATE "C" NOT NULL DEFAULT '',
    postal_code        text             NOT NULL DEFAULT '',
    country            text             NOT NULL DEFAULT '',
    cuisine            text             NOT NULL DEFAULT '',
    cuisine_key        text COLLATE "C" NOT NULL DEFAULT '',
    time_zone          text             NOT NULL,
    currency           text             NOT NULL,
    seating_areas      text             NOT NULL DEFAULT '',
    policy_free_hours  integer          NOT NULL DEFAULT 0,
    policy_fee_type    text             NOT NULL DEFAULT '',
    policy_fee_percent integer          NOT NULL DEFAULT 0,
    policy_fee_amount  bigint           NOT NULL DEFAULT 0,
    created_at         timestamptz      NOT NULL
);
CREATE INDEX venues_name_key_id_idx ON venues (name_key, id);
CREATE INDEX venues_city_key_idx ON venues (city_key);

CREATE TABLE partner_venues (
    partner_id text COLLATE "C" NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    venue_id   text COLLATE "C" NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    PRIMARY KEY (partner_id, venue_id)
);
CREATE INDEX partner_venues_venue_id_idx ON partner_venues (venue_id);

CREATE TABLE slots (
    id               text COLLATE "C" NOT NULL PRIMARY KEY,
    venue_id         text COLLATE "C" NOT NULL REFERENCES venues (id),
    starts_at        timestamptz      NOT NULL,
    local_date       text COLLATE "C" NOT NULL,
    local_time       text COLLATE "C" NOT NULL,
    duration_minutes integer          NOT NULL,
    party_size_min   integer          NOT NULL,
    party_size_max   integer          NOT NULL,
    seating_area     text             NOT NULL DEFAULT '',
    type             text             NOT NULL,
    price_amount     bigint           NOT NULL DEFAULT 0,
    price_currency   text             NOT NULL DEFAULT '',
    price_per        text             NOT NULL DEFAULT '',
    tables           integer          NOT NULL,
    tables_taken     integer          NOT NULL DEFAULT 0,
    status           text COLLATE "C" NOT NULL,
    created_at       timestamptz      NOT NULL,
    updated_at       timestamptz      NOT NULL,
    -- No overbooking, second guard: the conditional UPDATE is the first.
    CONSTRAINT slots_tables_taken_check CHECK (tables_taken >= 0 AND tables_taken <= tables)
);
CREATE INDEX slots_search_idx ON slots (local_date, starts_at, venue_id, id);
CREATE INDEX slots_venue_starts_idx ON slots (venue_id, starts_at);

CREATE TABLE reservations (
    id                      text COLLATE "C" NOT NULL PRIMARY KEY,
    partner_id              text COLLATE "C" NOT NULL REFERENCES partners (id),
    token_id                text COLLATE "C" NOT NULL DEFAULT '',
    slot_id                 text COLLATE "C" NOT NULL REFERENCES slots (id),
    venue_id                text COLLATE "C" NOT NULL REFERENCES venues (id),
    status                  text COLLATE "C" NOT NULL,
    party_size              integer          NOT NULL,
    guest_first_name        text             NOT NULL DEFAULT '',
    guest_last_name         text             NOT NULL DEFAULT '',
    guest_email             text             NOT NULL DEFAULT '',
    guest_phone             text             NOT NULL DEFAULT '',
    notes                   text             NOT NULL DEFAULT '',
    partner_reference       text COLLATE "C" NOT NULL DEFAULT '',
    expires_at              timestamptz      NULL,
    hold_max_at             timestamptz      NULL,
    confirmation_code       text COLLATE "C" NULL,
    starts_at               timestamptz      NOT NULL,
    local_date              text COLLATE "C" NOT NULL,
    duration_minutes        integer          NOT NULL,
    seating_area            text             NOT NULL DEFAULT '',
    slot_type               text             NOT NULL,
    policy_free_hours       integer          NOT NULL DEFAULT 0,
    policy_fee_type         text             NOT NULL DEFAULT '',
    policy_fee_percent      integer          NOT NULL DEFAULT 0,
    policy_fee_amount       bigint           NOT NULL DEFAULT 0,
    payment_provider        text             NOT NULL DEFAULT '',
    payment_intent_id       text COLLATE "C" NULL,
    payment_client_secret   text             NOT NULL DEFAULT '',
    payment_amount          bigint           NOT NULL DEFAULT 0,
    payment_currency        text             NOT NULL DEFAULT '',
    payment_status          text             NOT NULL DEFAULT '',
    payment_amount_captured bigint           NOT NULL DEFAULT 0,
    payment_amount_refunded bigint           NOT NULL DEFAULT 0,
    cancel_reason           text             NOT NULL DEFAULT '',
    created_at              timestamptz      NOT NULL,
    updated_at              timestamptz      NOT NULL,
    confirmed_at            timestamptz      NULL,
    cancelled_at            timestamptz      NULL,
    CONSTRAINT reservations_confirmation_code_key UNIQUE (confirmation_code),
    CONSTRAINT reservations_payment_intent_id_key UNIQUE (payment_intent_id)
);
CREATE INDEX reservations_partner_id_idx ON reservations (partner_id, id);
CREATE INDEX reservations_status_expires_idx ON reservations (status, expires_at);
CREATE INDEX reservations_slot_status_idx ON reservations (slot_id, status);
CREATE INDEX reservations_partner_reference_idx ON reservations (partner_id, partner_reference);
CREATE INDEX reservations_venue_id_idx ON reservations (venue_id);

CREATE TABLE idempotency_keys (
    partner_id      text COLLATE "C" NOT NULL,
    key             text COLLATE "C" NOT NULL,
    fingerprint     text             NOT NULL,
    state           text COLLATE "C" NOT NULL,
    response_status integer          NOT NULL DEFAULT 0,
    response_body   bytea            NULL,
    locked_until    timestamptz      NOT NULL,
    created_at      timestamptz      NOT NULL,
    PRIMARY KEY (partner_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

CREATE TABLE sandbox_payment_intents (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    idempotency_key text COLLATE "C" NOT NULL DEFAULT '',
    data            bytea            NOT NULL,
    version         integer          NOT NULL DEFAULT 1,
    updated_at      timestamptz      NOT NULL
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
