-- Changing a booking (PATCH /v1/reservations/{id}): the venue's modification cutoff and
-- its snapshot on each reservation, the payments a change adds beside the reservation's
-- own, the change waiting for its payment, and the reservation's history.

-- +goose Up
-- Changes are accepted until this many hours before the start (0: until the start).
ALTER TABLE venues ADD COLUMN policy_modify_until_hours INTEGER NOT NULL DEFAULT 2
    CHECK (policy_modify_until_hours >= 0);
ALTER TABLE reservations ADD COLUMN policy_modify_until_hours INTEGER NOT NULL DEFAULT 2;
-- How many rows of reservation_payments belong to it, so that reads of the many
-- reservations without any skip that query.
ALTER TABLE reservations ADD COLUMN extra_payments INTEGER NOT NULL DEFAULT 0;
-- One refund payer at a time per payment: a payer claims the row until this time, so
-- that two never pay the same amount owed.
ALTER TABLE reservations ADD COLUMN refund_claimed_until DATETIME NULL;
-- The change of a confirmed booking that waits for its supplementary payment, if any.
ALTER TABLE reservations ADD COLUMN pending_payment_id TEXT NULL;

-- A payment a change adds: the difference authorised for a dearer change of a confirmed
-- booking. The reservation's first payment stays in its payment_* columns.
CREATE TABLE reservation_payments (
    id                TEXT NOT NULL PRIMARY KEY,
    reservation_id    TEXT NOT NULL REFERENCES reservations (id),
    provider          TEXT             NOT NULL,
    intent_id         TEXT NOT NULL,
    client_secret     TEXT             NOT NULL DEFAULT '',
    amount            INTEGER          NOT NULL,
    currency          TEXT             NOT NULL,
    status            TEXT             NOT NULL,
    amount_captured   INTEGER          NOT NULL DEFAULT 0,
    amount_refunded   INTEGER          NOT NULL DEFAULT 0,
    refund_due        INTEGER          NOT NULL DEFAULT 0,
    decline_code      TEXT             NOT NULL DEFAULT '',
    -- The change it pays for (JSON, the PATCH body as validated) and where that stands:
    -- pending (waiting for the payment), applied, expired or unavailable.
    refund_claimed_until DATETIME NULL,
    change_request    TEXT             NOT NULL DEFAULT '',
    change_status     TEXT             NOT NULL DEFAULT '',
    change_expires_at DATETIME         NULL,
    created_at        DATETIME         NOT NULL,
    updated_at        DATETIME         NOT NULL,
    CONSTRAINT reservation_payments_intent_id_key UNIQUE (intent_id)
);
CREATE INDEX reservation_payments_reservation_idx ON reservation_payments (reservation_id, id);

-- What happened to a reservation, by whom: one row per change, oldest first by id.
CREATE TABLE reservation_events (
    id             TEXT NOT NULL PRIMARY KEY,
    reservation_id TEXT NOT NULL REFERENCES reservations (id),
    type           TEXT             NOT NULL,
    token_id       TEXT NOT NULL DEFAULT '',
    changes        TEXT             NOT NULL DEFAULT '',
    created_at     DATETIME         NOT NULL
);
CREATE INDEX reservation_events_reservation_idx ON reservation_events (reservation_id, id);

-- +goose Down
DROP TABLE reservation_events;
DROP TABLE reservation_payments;
ALTER TABLE reservations DROP COLUMN pending_payment_id;
ALTER TABLE reservations DROP COLUMN extra_payments;
ALTER TABLE reservations DROP COLUMN refund_claimed_until;
ALTER TABLE reservations DROP COLUMN policy_modify_until_hours;
ALTER TABLE venues DROP COLUMN policy_modify_until_hours;
