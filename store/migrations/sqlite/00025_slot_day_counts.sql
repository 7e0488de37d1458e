-- The per-day slot counts of a city's availability calendar are kept on PostgreSQL only
-- (see the PostgreSQL migration of the same number): on SQLite, one process's catalogue,
-- the calendar groups the slots themselves. This version keeps the two histories aligned.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
