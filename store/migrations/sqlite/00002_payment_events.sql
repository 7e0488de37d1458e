-- Payments follow the provider's events: refunds owed are recorded with the state change
-- that owes them (and paid by a worker), and processed event ids are kept so a
-- redelivered event changes nothing twice.

-- +goose Up
ALTER TABLE reservations ADD COLUMN payment_refund_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN payment_decline_code TEXT NOT NULL DEFAULT '';
CREATE INDEX reservations_refund_due_idx ON reservations (payment_refund_due) WHERE payment_refund_due > 0;

CREATE TABLE processed_events (
    id          TEXT NOT NULL PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at DATETIME NOT NULL
);
CREATE INDEX processed_events_received_at_idx ON processed_events (received_at);

-- +goose Down
DROP TABLE processed_events;
DROP INDEX reservations_refund_due_idx;
ALTER TABLE reservations DROP COLUMN payment_decline_code;
ALTER TABLE reservations DROP COLUMN payment_refund_due;
