-- Watches (issue 17): a partner's request to be told, or to have a table held for a
-- guest, when a matching table frees up. Matching (booking.Watches) runs from the journal
-- of slot changes (00016): for a slot with a free table, the oldest active watch that
-- matches, across all partners, by watches_match_idx. Every status change is a
-- conditional update from 'active', so two processes never give one watch two tables.
--
-- A new table: nothing is rewritten or locked.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
CREATE TABLE watches (
    id                text COLLATE "C" NOT NULL PRIMARY KEY,
    partner_id        text COLLATE "C" NOT NULL REFERENCES partners (id),
    token_id          text COLLATE "C" NOT NULL DEFAULT '',
    venue_id          text COLLATE "C" NOT NULL DEFAULT '',
    city              text             NOT NULL DEFAULT '',
    city_key          text COLLATE "C" NOT NULL DEFAULT '',
    local_date        text COLLATE "C" NOT NULL,
    time_from         text COLLATE "C" NOT NULL,
    time_to           text COLLATE "C" NOT NULL,
    party_size        integer          NOT NULL,
    slot_type         text COLLATE "C" NOT NULL DEFAULT '',
    guest_first_name  text             NOT NULL,
    guest_last_name   text             NOT NULL,
    guest_email       text             NOT NULL,
    guest_phone       text             NOT NULL,
    notes             text             NOT NULL DEFAULT '',
    partner_reference text             NOT NULL DEFAULT '',
    auto_hold         boolean          NOT NULL DEFAULT false,
    status            text COLLATE "C" NOT NULL,
    slot_id           text COLLATE "C" NULL,
    reservation_id    text COLLATE "C" NULL,
    expires_at        timestamptz      NOT NULL,
    matched_at        timestamptz      NULL,
    cancelled_at      timestamptz      NULL,
    created_at        timestamptz      NOT NULL,
    updated_at        timestamptz      NOT NULL,
    CONSTRAINT watches_status_check CHECK (status IN ('active', 'matched', 'held', 'expired', 'cancelled')),
    CONSTRAINT watches_target_check CHECK ((venue_id = '') <> (city_key = ''))
);
-- Matching: the active watches of a date, oldest first.
CREATE INDEX watches_match_idx ON watches (local_date, created_at, id) WHERE status = 'active';
-- A partner's list, newest first.
CREATE INDEX watches_partner_idx ON watches (partner_id, id);
-- The sweeper's expiry.
CREATE INDEX watches_expiry_idx ON watches (expires_at) WHERE status = 'active';

-- +goose Down
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-table
DROP TABLE watches;
