-- The JSON API: bearer tokens (only their hash is kept), the requests
-- each token made in the current minute (its rate limit, shared by every
-- replica), and the idempotency keys of tenant provisioning, each bound to
-- the job its first request queued.

-- +goose Up
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT,
    revoked_by   TEXT NOT NULL DEFAULT ''
);
-- A name is one live token's: revoked ones keep theirs for the record.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_at IS NULL;

CREATE TABLE api_rate (
    token_id INTEGER NOT NULL,
    minute   INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (token_id, minute)
) WITHOUT ROWID;

CREATE TABLE api_idempotency (
    actor        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    job_id       INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;
CREATE INDEX api_idempotency_created ON api_idempotency(created_at);

-- +goose Down
DROP TABLE api_idempotency;
DROP TABLE api_rate;
DROP TABLE api_tokens;
