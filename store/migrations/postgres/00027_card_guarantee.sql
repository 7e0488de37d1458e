-- Card guarantees (issue 18): a venue's standard slots may ask for the guest's card,
-- saved with a Stripe SetupIntent at the hold, and charge a fee per cover off-session on
-- a no-show or a late cancellation. venues.payment_policy says which policy its
-- deposit_amount/deposit_per price ('' or 'deposit': a deposit; 'card_guarantee': the
-- fee). A reservation keeps its policy, its SetupIntent, the customer and payment
-- method Stripe saved (ids only, never card data) and its fee: fee_status '' (none
-- due), 'pending' (due, being charged), 'paid' or 'unpaid' (the charge failed).
--
-- Defaulted or nullable columns: adding them rewrites nothing (PostgreSQL 11+).

-- +goose Up
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE venues ADD COLUMN payment_policy text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN payment_policy text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN setup_intent_id text;
ALTER TABLE reservations ADD COLUMN setup_client_secret text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN setup_status text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN card_customer text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN card_payment_method text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_status text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_reason text NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN fee_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN fee_intent_id text;
ALTER TABLE reservations ADD COLUMN fee_decline_code text NOT NULL DEFAULT '';

-- +goose Down
-- Rolling back removes what Up added; a binary that reads these columns is rolled back first.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN fee_decline_code;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN fee_intent_id;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN fee_amount;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN fee_reason;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN fee_status;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN card_payment_method;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN card_customer;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN setup_status;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN setup_client_secret;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN setup_intent_id;
-- squawk-ignore ban-drop-column
ALTER TABLE reservations DROP COLUMN payment_policy;
-- squawk-ignore ban-drop-column
ALTER TABLE venues DROP COLUMN payment_policy;
