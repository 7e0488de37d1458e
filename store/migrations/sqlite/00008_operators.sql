-- The venue side of the API (issue 6); see the PostgreSQL migration of the same number.
-- SQLite cannot drop NOT NULL from a column, so tokens is rebuilt (nothing references it).

-- +goose Up
CREATE TABLE operators (
    id         TEXT     NOT NULL PRIMARY KEY,
    name       TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT operators_name_key UNIQUE (name)
);

CREATE TABLE operator_venues (
    operator_id TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    venue_id    TEXT NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    PRIMARY KEY (operator_id, venue_id)
);
CREATE INDEX operator_venues_venue_id_idx ON operator_venues (venue_id);

CREATE TABLE tokens_new (
    id           TEXT     NOT NULL PRIMARY KEY,
    partner_id   TEXT     NULL REFERENCES partners (id),
    operator_id  TEXT     NULL REFERENCES operators (id),
    name         TEXT     NOT NULL DEFAULT '',
    hash         TEXT     NOT NULL,
    prefix       TEXT     NOT NULL DEFAULT '',
    scopes       TEXT     NOT NULL DEFAULT '',
    expires_at   DATETIME NULL,
    revoked_at   DATETIME NULL,
    last_used_at DATETIME NULL,
    created_at   DATETIME NOT NULL,
    CONSTRAINT tokens_hash_key UNIQUE (hash),
    CONSTRAINT tokens_owner_check CHECK ((partner_id IS NULL) <> (operator_id IS NULL))
);
INSERT INTO tokens_new (id, partner_id, name, hash, prefix, scopes, expires_at, revoked_at, last_used_at, created_at)
    SELECT id, partner_id, name, hash, prefix, scopes, expires_at, revoked_at, last_used_at, created_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_partner_id_idx ON tokens (partner_id, created_at);
CREATE INDEX tokens_operator_id_idx ON tokens (operator_id, created_at);

CREATE TABLE schedules (
    id                TEXT     NOT NULL PRIMARY KEY,
    venue_id          TEXT     NOT NULL REFERENCES venues (id),
    days              TEXT     NOT NULL,
    times             TEXT     NOT NULL,
    duration_minutes  INTEGER  NOT NULL,
    party_size_min    INTEGER  NOT NULL,
    party_size_max    INTEGER  NOT NULL,
    seating_area      TEXT     NOT NULL DEFAULT '',
    type              TEXT     NOT NULL,
    price_amount      INTEGER  NOT NULL DEFAULT 0,
    price_per         TEXT     NOT NULL DEFAULT '',
    tables            INTEGER  NOT NULL CHECK (tables >= 0),
    valid_from        TEXT     NOT NULL,
    valid_until       TEXT     NOT NULL DEFAULT '',
    horizon_days      INTEGER  NOT NULL,
    generated_through TEXT     NOT NULL DEFAULT '',
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL
);
CREATE INDEX schedules_venue_id_idx ON schedules (venue_id, id);

-- No REFERENCES here: SQLite cannot drop a column that has one (the Down step).
ALTER TABLE slots ADD COLUMN schedule_id TEXT NULL;
CREATE UNIQUE INDEX slots_schedule_start_key ON slots (schedule_id, starts_at) WHERE schedule_id IS NOT NULL;

CREATE TABLE closures (
    id         TEXT     NOT NULL PRIMARY KEY,
    venue_id   TEXT     NOT NULL REFERENCES venues (id),
    date_from  TEXT     NOT NULL,
    date_to    TEXT     NOT NULL,
    time_from  TEXT     NOT NULL DEFAULT '',
    time_to    TEXT     NOT NULL DEFAULT '',
    reason     TEXT     NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE INDEX closures_venue_id_idx ON closures (venue_id, date_from);

-- Partner allocations (see the PostgreSQL migration of the same number).
ALTER TABLE slots ADD COLUMN tables_reserved INTEGER NOT NULL DEFAULT 0
    CHECK (tables_reserved >= 0 AND tables_taken + tables_reserved <= tables);
CREATE TABLE slot_allocations (
    id           TEXT     NOT NULL PRIMARY KEY,
    slot_id      TEXT     NOT NULL REFERENCES slots (id),
    partner_id   TEXT     NOT NULL REFERENCES partners (id),
    tables       INTEGER  NOT NULL,
    tables_taken INTEGER  NOT NULL DEFAULT 0,
    release_at   DATETIME NOT NULL,
    released     BOOLEAN  NOT NULL DEFAULT 0,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    CONSTRAINT slot_allocations_slot_partner_key UNIQUE (slot_id, partner_id),
    CONSTRAINT slot_allocations_tables_check CHECK (tables >= 1 AND tables_taken >= 0 AND tables_taken <= tables)
);
CREATE INDEX slot_allocations_due_idx ON slot_allocations (released, release_at);
-- No REFERENCES: SQLite cannot drop a column that has one (the Down step).
ALTER TABLE reservations ADD COLUMN allocation_id TEXT NULL;

-- +goose Down
ALTER TABLE reservations DROP COLUMN allocation_id;
DROP TABLE slot_allocations;
ALTER TABLE slots DROP COLUMN tables_reserved;
DROP TABLE closures;
DROP INDEX slots_schedule_start_key;
ALTER TABLE slots DROP COLUMN schedule_id;
DROP TABLE schedules;
CREATE TABLE tokens_old (
    id           TEXT     NOT NULL PRIMARY KEY,
    partner_id   TEXT     NOT NULL REFERENCES partners (id),
    name         TEXT     NOT NULL DEFAULT '',
    hash         TEXT     NOT NULL,
    prefix       TEXT     NOT NULL DEFAULT '',
    scopes       TEXT     NOT NULL DEFAULT '',
    expires_at   DATETIME NULL,
    revoked_at   DATETIME NULL,
    last_used_at DATETIME NULL,
    created_at   DATETIME NOT NULL,
    CONSTRAINT tokens_hash_key UNIQUE (hash)
);
INSERT INTO tokens_old (id, partner_id, name, hash, prefix, scopes, expires_at, revoked_at, last_used_at, created_at)
    SELECT id, partner_id, name, hash, prefix, scopes, expires_at, revoked_at, last_used_at, created_at FROM tokens
    WHERE partner_id IS NOT NULL;
DROP TABLE tokens;
ALTER TABLE tokens_old RENAME TO tokens;
CREATE INDEX tokens_partner_id_idx ON tokens (partner_id, created_at);
DROP TABLE operator_venues;
DROP TABLE operators;
