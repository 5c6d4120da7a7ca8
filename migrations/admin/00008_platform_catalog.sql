-- The databases a platform without a list of its own (sqld) holds for
-- Tenantry: a name is recorded before its database is made and removed
-- after it is gone, so that a crash in between leaves a name to check,
-- never a database nobody knows of.

-- +goose Up
CREATE TABLE platform_catalog (
    platform   TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (platform, name)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE platform_catalog;
