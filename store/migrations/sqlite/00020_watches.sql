-- Watches (issue 17): see the PostgreSQL migration of the same number.

-- +goose Up
CREATE TABLE watches (
    id                TEXT     NOT NULL PRIMARY KEY,
    partner_id        TEXT     NOT NULL REFERENCES partners (id),
    token_id          TEXT     NOT NULL DEFAULT '',
    venue_id          TEXT     NOT NULL DEFAULT '',
    city              TEXT     NOT NULL DEFAULT '',
    city_key          TEXT     NOT NULL DEFAULT '',
    local_date        TEXT     NOT NULL,
    time_from         TEXT     NOT NULL,
    time_to           TEXT     NOT NULL,
    party_size        INTEGER  NOT NULL,
    slot_type         TEXT     NOT NULL DEFAULT '',
    guest_first_name  TEXT     NOT NULL,
    guest_last_name   TEXT     NOT NULL,
    guest_email       TEXT     NOT NULL,
    guest_phone       TEXT     NOT NULL,
    notes             TEXT     NOT NULL DEFAULT '',
    partner_reference TEXT     NOT NULL DEFAULT '',
    auto_hold         BOOLEAN  NOT NULL DEFAULT 0,
    status            TEXT     NOT NULL,
    slot_id           TEXT     NULL,
    reservation_id    TEXT     NULL,
    expires_at        DATETIME NOT NULL,
    matched_at        DATETIME NULL,
    cancelled_at      DATETIME NULL,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
    CONSTRAINT watches_status_check CHECK (status IN ('active', 'matched', 'held', 'expired', 'cancelled')),
    CONSTRAINT watches_target_check CHECK ((venue_id = '') <> (city_key = ''))
);
CREATE INDEX watches_match_idx ON watches (local_date, created_at, id) WHERE status = 'active';
CREATE INDEX watches_partner_idx ON watches (partner_id, id);
CREATE INDEX watches_expiry_idx ON watches (expires_at) WHERE status = 'active';

-- +goose Down
DROP TABLE watches;
