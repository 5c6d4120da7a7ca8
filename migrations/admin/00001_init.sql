-- The central database: tenant registry, jobs, users, sessions, audit log,
-- and seed 000's metrics table.

-- +goose Up
CREATE TABLE tenants (
    name            TEXT PRIMARY KEY,
    platform        TEXT NOT NULL,
    platform_id     TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    schema_version  INTEGER NOT NULL DEFAULT 0,
    size_bytes      INTEGER NOT NULL DEFAULT 0,
    parent          TEXT NOT NULL DEFAULT '',
    branched_at     TEXT,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT,
    last_write_at   TEXT,
    last_collected_at TEXT,
    archived_at     TEXT,
    error           TEXT NOT NULL DEFAULT '',
    job_id          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX tenants_status ON tenants(status, name);
CREATE INDEX tenants_created ON tenants(created_at);

CREATE TABLE metrics (
    date DATE NOT NULL,
    database_name TEXT NOT NULL,
    total_orders INTEGER,
    total_revenue INTEGER,
    active_carts INTEGER,
    new_products INTEGER,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (date, database_name)
);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    tenant       TEXT NOT NULL DEFAULT '',
    args         TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL,
    step         TEXT NOT NULL DEFAULT '',
    done         INTEGER NOT NULL DEFAULT 0,
    total        INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  TEXT,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX jobs_state ON jobs(state, id);
CREATE INDEX jobs_tenant ON jobs(tenant, id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    remote_addr  TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    tenant  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_tenant ON audit_log(tenant, at);
CREATE INDEX audit_actor ON audit_log(actor, at);

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE kv;
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE jobs;
DROP TABLE metrics;
DROP TABLE tenants;
