-- What the guest tells the venue (issue 19); see the PostgreSQL migration of the same
-- number.

-- +goose Up
ALTER TABLE reservations ADD COLUMN guest_language TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN guest_loyalty_number TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN guest_room_number TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN guest_marketing_consent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN guest_reference TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN answers TEXT NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN questions TEXT NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN platform_email TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE venues DROP COLUMN platform_email;
ALTER TABLE venues DROP COLUMN questions;
ALTER TABLE reservations DROP COLUMN answers;
ALTER TABLE reservations DROP COLUMN guest_reference;
ALTER TABLE reservations DROP COLUMN guest_marketing_consent;
ALTER TABLE reservations DROP COLUMN guest_room_number;
ALTER TABLE reservations DROP COLUMN guest_loyalty_number;
ALTER TABLE reservations DROP COLUMN guest_language;
