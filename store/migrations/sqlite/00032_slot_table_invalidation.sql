-- Search answers dropped by the slot: see the PostgreSQL migration of the same number.
-- SQLite has no NOTIFY, and search answers are not cached on it. Nothing to change.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
