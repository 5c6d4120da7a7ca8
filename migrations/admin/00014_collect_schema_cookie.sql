-- The schema cookie (a number SQLite changes with every change of a
-- database's schema) and the schema version each tenant had when the
-- collector last read it, and on which day: while the cookie stays the
-- same, the collector reads the version again only on a later day (a
-- migration that changes data only leaves the cookie as it was).

-- +goose Up
ALTER TABLE collect_state ADD COLUMN schema_cookie INTEGER NOT NULL DEFAULT 0; -- 0: unknown
ALTER TABLE collect_state ADD COLUMN schema_version INTEGER NOT NULL DEFAULT -1; -- -1: unknown
ALTER TABLE collect_state ADD COLUMN schema_read_on TEXT NOT NULL DEFAULT ''; -- YYYY-MM-DD

-- +goose Down
ALTER TABLE collect_state DROP COLUMN schema_read_on;
ALTER TABLE collect_state DROP COLUMN schema_version;
ALTER TABLE collect_state DROP COLUMN schema_cookie;
