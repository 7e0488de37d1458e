-- Room on each page for updates: see the PostgreSQL migration of the same number. SQLite
-- has no fillfactor (its B-tree pages are rewritten in place). Nothing to change.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
