-- Card guarantees: see the PostgreSQL migration of the same number.

-- +goose Up
ALTER TABLE venues ADD COLUMN payment_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN payment_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN setup_intent_id TEXT;
ALTER TABLE reservations ADD COLUMN setup_client_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN setup_status TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN card_customer TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN card_payment_method TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_status TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN fee_intent_id TEXT;
ALTER TABLE reservations ADD COLUMN fee_decline_code TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reservations DROP COLUMN fee_decline_code;
ALTER TABLE reservations DROP COLUMN fee_intent_id;
ALTER TABLE reservations DROP COLUMN fee_amount;
ALTER TABLE reservations DROP COLUMN fee_reason;
ALTER TABLE reservations DROP COLUMN fee_status;
ALTER TABLE reservations DROP COLUMN card_payment_method;
ALTER TABLE reservations DROP COLUMN card_customer;
ALTER TABLE reservations DROP COLUMN setup_status;
ALTER TABLE reservations DROP COLUMN setup_client_secret;
ALTER TABLE reservations DROP COLUMN setup_intent_id;
ALTER TABLE reservations DROP COLUMN payment_policy;
ALTER TABLE venues DROP COLUMN payment_policy;
