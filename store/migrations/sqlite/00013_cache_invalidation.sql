-- Per-process caches: see the PostgreSQL migration of the same number. SQLite has no
-- NOTIFY: the store publishes its own changes in the process, and other processes'
-- commits are seen through PRAGMA data_version (store/invalidate.go). Nothing to
-- change in the schema.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
