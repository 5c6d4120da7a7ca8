-- The schema cookie (a number SQLite changes with every change of a
-- database's schema) and the schema version each tenant had when it was
-- last collected: while the cookie stays the same, the collector does not
-- read the version again.

-- +goose Up
ALTER TABLE collect_state ADD COLUMN schema_cookie INTEGER NOT NULL DEFAULT 0; -- 0: unknown
ALTER TABLE collect_state ADD COLUMN schema_version INTEGER NOT NULL DEFAULT -1; -- -1: unknown

-- +goose Down
ALTER TABLE collect_state DROP COLUMN schema_version;
ALTER TABLE collect_state DROP COLUMN schema_cookie;
