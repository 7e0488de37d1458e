-- The venue side of the API (issue 6): operator accounts and the venues they manage,
-- operator tokens beside partner tokens, weekly schedules that generate slots, closures,
-- and partner allocations of a slot's tables.

-- +goose Up
CREATE TABLE operators (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text             NOT NULL,
    created_at timestamptz      NOT NULL,
    CONSTRAINT operators_name_key UNIQUE (name)
);

CREATE TABLE operator_venues (
    operator_id text COLLATE "C" NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    venue_id    text COLLATE "C" NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    PRIMARY KEY (operator_id, venue_id)
);
CREATE INDEX operator_venues_venue_id_idx ON operator_venues (venue_id);

-- A token belongs to exactly one partner or one operator.
ALTER TABLE tokens ALTER COLUMN partner_id DROP NOT NULL;
ALTER TABLE tokens ADD COLUMN operator_id text COLLATE "C" NULL REFERENCES operators (id);
ALTER TABLE tokens ADD CONSTRAINT tokens_owner_check CHECK ((partner_id IS NULL) <> (operator_id IS NULL));
CREATE INDEX tokens_operator_id_idx ON tokens (operator_id, created_at);

-- A weekly pattern of slots: on each of days (mon,tue,…) at each of times (HH:MM, the
-- venue's local time), from valid_from to valid_until (inclusive; '' = open-ended).
-- Slots are generated up to horizon_days ahead; generated_through is the last local date
-- done, so generation runs again only for the dates it has not done.
CREATE TABLE schedules (
    id                text COLLATE "C" NOT NULL PRIMARY KEY,
    venue_id          text COLLATE "C" NOT NULL REFERENCES venues (id),
    days              text             NOT NULL,
    times             text             NOT NULL,
    duration_minutes  integer          NOT NULL,
    party_size_min    integer          NOT NULL,
    party_size_max    integer          NOT NULL,
    seating_area      text             NOT NULL DEFAULT '',
    type              text             NOT NULL,
    price_amount      bigint           NOT NULL DEFAULT 0,
    price_per         text             NOT NULL DEFAULT '',
    tables            integer          NOT NULL CHECK (tables >= 0),
    valid_from        text COLLATE "C" NOT NULL,
    valid_until       text COLLATE "C" NOT NULL DEFAULT '',
    horizon_days      integer          NOT NULL,
    generated_through text COLLATE "C" NOT NULL DEFAULT '',
    created_at        timestamptz      NOT NULL,
    updated_at        timestamptz      NOT NULL
);
CREATE INDEX schedules_venue_id_idx ON schedules (venue_id, id);

-- A generated slot names its schedule; one slot per schedule and start, so generating
-- twice inserts nothing the second time.
ALTER TABLE slots ADD COLUMN schedule_id text COLLATE "C" NULL REFERENCES schedules (id);
CREATE UNIQUE INDEX slots_schedule_start_key ON slots (schedule_id, starts_at) WHERE schedule_id IS NOT NULL;

-- A closure withdraws a venue's slots from date_from to date_to (local dates, inclusive),
-- all day or, with time_from and time_to (local HH:MM, inclusive), one service.
CREATE TABLE closures (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    venue_id   text COLLATE "C" NOT NULL REFERENCES venues (id),
    date_from  text COLLATE "C" NOT NULL,
    date_to    text COLLATE "C" NOT NULL,
    time_from  text COLLATE "C" NOT NULL DEFAULT '',
    time_to    text COLLATE "C" NOT NULL DEFAULT '',
    reason     text             NOT NULL DEFAULT '',
    created_at timestamptz      NOT NULL
);
CREATE INDEX closures_venue_id_idx ON closures (venue_id, date_from);

-- Partner allocations: tables of a slot kept for one partner until release_at, after
-- which the unsold ones return to the shared pool. slots.tables_reserved is the sum of
-- the unsold tables of the slot's unreleased allocations, kept in the same statements
-- that change them, so every hold decides on the slot's row alone: the shared pool has a
-- table when tables_taken + tables_reserved < tables. tables_taken still counts every
-- held or booked table, allocated or not.
ALTER TABLE slots ADD COLUMN tables_reserved integer NOT NULL DEFAULT 0;
ALTER TABLE slots ADD CONSTRAINT slots_tables_reserved_check
    CHECK (tables_reserved >= 0 AND tables_taken + tables_reserved <= tables);
CREATE TABLE slot_allocations (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    slot_id      text COLLATE "C" NOT NULL REFERENCES slots (id),
    partner_id   text COLLATE "C" NOT NULL REFERENCES partners (id),
    tables       integer          NOT NULL,
    tables_taken integer          NOT NULL DEFAULT 0,
    release_at   timestamptz      NOT NULL,
    released     boolean          NOT NULL DEFAULT false,
    created_at   timestamptz      NOT NULL,
    updated_at   timestamptz      NOT NULL,
    CONSTRAINT slot_allocations_slot_partner_key UNIQUE (slot_id, partner_id),
    CONSTRAINT slot_allocations_tables_check CHECK (tables >= 1 AND tables_taken >= 0 AND tables_taken <= tables)
);
CREATE INDEX slot_allocations_due_idx ON slot_allocations (released, release_at);
-- The allocation a reservation's table came from; NULL for the shared pool.
ALTER TABLE reservations ADD COLUMN allocation_id text COLLATE "C" NULL REFERENCES slot_allocations (id);

-- +goose Down
ALTER TABLE reservations DROP COLUMN allocation_id;
DROP TABLE slot_allocations;
ALTER TABLE slots DROP CONSTRAINT slots_tables_reserved_check;
ALTER TABLE slots DROP COLUMN tables_reserved;
DROP TABLE closures;
DROP INDEX slots_schedule_start_key;
ALTER TABLE slots DROP COLUMN schedule_id;
DROP TABLE schedules;
DROP INDEX tokens_operator_id_idx;
ALTER TABLE tokens DROP CONSTRAINT tokens_owner_check;
ALTER TABLE tokens DROP COLUMN operator_id;
DELETE FROM tokens WHERE partner_id IS NULL;
ALTER TABLE tokens ALTER COLUMN partner_id SET NOT NULL;
DROP TABLE operator_venues;
DROP TABLE operators;
