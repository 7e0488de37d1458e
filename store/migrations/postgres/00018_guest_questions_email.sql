-- What the guest tells the venue (issue 19): the richer guest and the answers to the
-- venue's booking questions on each reservation; the questions and the reservations
-- email address on each venue.
--
-- Only new columns with constant defaults: PostgreSQL records the default in the
-- catalogue and rewrites nothing; each ALTER takes a brief ACCESS EXCLUSIVE lock,
-- bounded by lock_timeout.

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- The guest's preferred language (BCP 47, canonical form), loyalty or member number,
-- hotel room number, marketing consent for the venue, and the partner's own reference
-- of the guest.
ALTER TABLE reservations ADD COLUMN guest_language text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN guest_loyalty_number text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN guest_room_number text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN guest_marketing_consent boolean NOT NULL DEFAULT false;
ALTER TABLE reservations ADD COLUMN guest_reference text NOT NULL DEFAULT '';
-- The answers to the venue's booking questions: a JSON object, question id to answer.
ALTER TABLE reservations ADD COLUMN answers text NOT NULL DEFAULT '';
-- The venue's booking questions: a JSON array ('' for none).
ALTER TABLE venues ADD COLUMN questions text NOT NULL DEFAULT '';
-- With platform_kind 'email': the address that receives the venue's notifications.
ALTER TABLE venues ADD COLUMN platform_email text NOT NULL DEFAULT '';

-- +goose Down
-- Down drops what Up added (rolling back this release loses the new details).
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN platform_email;
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN questions;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN answers;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN guest_reference;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN guest_marketing_consent;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN guest_room_number;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN guest_loyalty_number;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN guest_language;
