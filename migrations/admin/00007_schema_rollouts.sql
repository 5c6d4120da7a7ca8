-- Fleet schema rollouts: each run and its per-tenant results, the last
-- migration error of each tenant, and at most one rollout at a time.

-- +goose Up
ALTER TABLE tenants ADD COLUMN migration_error TEXT NOT NULL DEFAULT '';
CREATE INDEX tenants_schema ON tenants(status, schema_version, name);
CREATE INDEX tenants_migration_failed ON tenants(name) WHERE migration_error != '';

CREATE TABLE migration_runs (
    id             INTEGER PRIMARY KEY,
    job_id         INTEGER NOT NULL DEFAULT 0,
    mode           TEXT NOT NULL,              -- dry-run, canary, full, retry
    target         INTEGER NOT NULL,           -- the version tenants are brought to
    parallel       INTEGER NOT NULL,
    on_error       TEXT NOT NULL,              -- stop, continue
    tenants_list   TEXT NOT NULL DEFAULT '',   -- JSON names (canary, retry); '' for every ready tenant
    retry_of       INTEGER NOT NULL DEFAULT 0,
    trigger        TEXT NOT NULL DEFAULT 'web',
    started_by     TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL,              -- queued, running, succeeded, failed, stopped
    total          INTEGER NOT NULL DEFAULT 0,
    migrated       INTEGER NOT NULL DEFAULT 0, -- in a dry run: would migrate
    failed         INTEGER NOT NULL DEFAULT 0,
    skipped        INTEGER NOT NULL DEFAULT 0, -- already at the target
    stop_requested INTEGER NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT
);
CREATE INDEX migration_runs_job ON migration_runs(job_id);

-- Every tenant a run visited, so that a resumed run skips them.
CREATE TABLE migration_results (
    run_id       INTEGER NOT NULL REFERENCES migration_runs(id) ON DELETE CASCADE,
    tenant       TEXT NOT NULL,
    outcome      TEXT NOT NULL,   -- migrated, failed, skipped; pending in a dry run
    from_version INTEGER NOT NULL,
    to_version   INTEGER NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    duration_us  INTEGER NOT NULL DEFAULT 0,
    at           TEXT NOT NULL,
    PRIMARY KEY (run_id, tenant)
) WITHOUT ROWID;
CREATE INDEX migration_results_outcome ON migration_results(run_id, outcome, tenant);
CREATE INDEX migration_results_tenant ON migration_results(tenant, run_id);

CREATE UNIQUE INDEX jobs_one_rollout ON jobs(kind) WHERE kind = 'schema.rollout' AND state IN ('queued', 'running');

-- +goose Down
DROP INDEX jobs_one_rollout;
DROP TABLE migration_results;
DROP TABLE migration_runs;
DROP INDEX tenants_migration_failed;
DROP INDEX tenants_schema;
ALTER TABLE tenants DROP COLUMN migration_error;
