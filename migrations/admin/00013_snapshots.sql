-- Fleet snapshots: each tenant's recorded backups, the runs of the
-- snapshot job and the tenants each failed on; and the indexes the
-- central database's history retention walks.

-- +goose Up
-- A row is written only once its file is whole and durable in the store
-- (under key), so a recorded snapshot always has its bytes.
CREATE TABLE snapshots (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    taken_at    TEXT NOT NULL,
    key         TEXT NOT NULL UNIQUE,
    size        INTEGER NOT NULL,             -- the compressed file's bytes
    raw_size    INTEGER NOT NULL,             -- the database's
    sha256      TEXT NOT NULL,                -- hex, of the compressed file
    fingerprint TEXT NOT NULL DEFAULT '',     -- the platform's, when copied
    run_id      INTEGER NOT NULL DEFAULT 0,   -- 0: taken outside a run
    verified_at TEXT                          -- last restore drill that found it whole
);
CREATE INDEX snapshots_tenant ON snapshots(tenant, taken_at);
CREATE INDEX snapshots_taken ON snapshots(taken_at);

-- How many snapshots there are and their bytes, kept by triggers in the
-- statement that records or deletes one, so the Backups page reads one
-- row instead of summing every snapshot. A snapshot's sizes never change.
CREATE TABLE snapshot_totals (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    snapshots INTEGER NOT NULL,
    size      INTEGER NOT NULL,
    raw_size  INTEGER NOT NULL
);
INSERT INTO snapshot_totals VALUES (1, 0, 0, 0);
-- +goose StatementBegin
CREATE TRIGGER snapshot_totals_insert AFTER INSERT ON snapshots BEGIN
    UPDATE snapshot_totals SET snapshots = snapshots + 1, size = size + new.size, raw_size = raw_size + new.raw_size WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER snapshot_totals_delete AFTER DELETE ON snapshots BEGIN
    UPDATE snapshot_totals SET snapshots = snapshots - 1, size = size - old.size, raw_size = raw_size - old.raw_size WHERE id = 1;
END;
-- +goose StatementEnd

CREATE TABLE snapshot_runs (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL DEFAULT 0,
    tenant      TEXT NOT NULL DEFAULT '',     -- one tenant's run; '' for the fleet
    state       TEXT NOT NULL,                -- queued, running, succeeded, failed
    tenants     INTEGER NOT NULL DEFAULT 0,
    snapshotted INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    pruned      INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    started_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX snapshot_runs_job ON snapshot_runs(job_id);

-- The first tenants a run failed on, in the order they failed.
CREATE TABLE snapshot_failures (
    id     INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES snapshot_runs(id) ON DELETE CASCADE,
    tenant TEXT NOT NULL,
    error  TEXT NOT NULL,
    UNIQUE (run_id, tenant)
);

-- At most one snapshot run of the fleet, and one of each tenant, queued
-- or running across every replica.
CREATE UNIQUE INDEX jobs_one_snapshot ON jobs(kind, tenant) WHERE kind = 'snapshot.take' AND state IN ('queued', 'running');

-- History retention keeps the jobs a run or a tenant still points at:
-- these let it ask without reading either table whole.
CREATE INDEX collection_runs_job ON collection_runs(job_id);
CREATE INDEX tenants_job ON tenants(job_id) WHERE job_id != 0;

-- +goose Down
DROP INDEX tenants_job;
DROP INDEX collection_runs_job;
DROP INDEX jobs_one_snapshot;
DROP TABLE snapshot_failures;
DROP TABLE snapshot_runs;
DROP TRIGGER snapshot_totals_delete;
DROP TRIGGER snapshot_totals_insert;
DROP TABLE snapshot_totals;
DROP TABLE snapshots;
