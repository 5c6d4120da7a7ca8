-- The SQL console: each user's recent queries and the team's saved ones.

-- +goose Up
CREATE TABLE sql_history (
    id          INTEGER PRIMARY KEY,
    actor       TEXT NOT NULL,            -- the user's e-mail, or "cli"
    at          TEXT NOT NULL,
    tenant      TEXT NOT NULL DEFAULT '', -- one tenant, or '' for a fan-out
    scope       TEXT NOT NULL DEFAULT '', -- a fan-out's tenants: "all", a pattern or a list
    sql         TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}', -- JSON object of named parameters
    write       INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL,            -- "ok" or "failed"
    error       TEXT NOT NULL DEFAULT '',
    rows        INTEGER NOT NULL DEFAULT 0,
    duration_ms REAL NOT NULL DEFAULT 0
);
CREATE INDEX sql_history_actor ON sql_history(actor, id);

CREATE TABLE saved_queries (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    sql        TEXT NOT NULL,
    tenant     TEXT NOT NULL DEFAULT '',  -- the tenant it was saved on, a suggestion
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- +goose Down
DROP TABLE saved_queries;
DROP TABLE sql_history;
