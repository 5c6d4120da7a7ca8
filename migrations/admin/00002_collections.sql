-- Metrics collection: runs, per-tenant results, incremental state, and the
-- rollups the dashboards read, kept exact in the same transactions that
-- write metrics.

-- +goose Up
CREATE INDEX metrics_tenant_date ON metrics(database_name, date);

CREATE TABLE collection_runs (
    id           INTEGER PRIMARY KEY,
    job_id       INTEGER NOT NULL DEFAULT 0,
    from_day     TEXT NOT NULL,
    to_day       TEXT NOT NULL,
    trigger      TEXT NOT NULL DEFAULT 'manual',  -- manual, schedule, cli, demo
    started_by   TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,                   -- running, succeeded, failed
    tenants      INTEGER NOT NULL DEFAULT 0,
    ok           INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    rows_written INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    started_at   TEXT NOT NULL,
    finished_at  TEXT
);

-- Collected and failed tenants of a run; skipped (unchanged) ones are only
-- counted, so an hourly run over a quiet fleet writes almost nothing.
CREATE TABLE collection_results (
    run_id      INTEGER NOT NULL REFERENCES collection_runs(id) ON DELETE CASCADE,
    tenant      TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 1,
    duration_us INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, tenant)
) WITHOUT ROWID;
CREATE INDEX collection_results_failed ON collection_results(run_id, ok, tenant);

-- What each tenant looked like when it was last collected successfully,
-- and for which days: unchanged since, and the days covered, means skip.
CREATE TABLE collect_state (
    tenant       TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    from_day     TEXT NOT NULL,
    to_day       TEXT NOT NULL,
    collected_at TEXT NOT NULL
) WITHOUT ROWID;

-- Platform totals per day: daily activity and average revenue per store
-- (revenue / stores) read one row per day.
CREATE TABLE metrics_daily (
    date          TEXT PRIMARY KEY,
    stores        INTEGER NOT NULL,
    total_orders  INTEGER NOT NULL,
    total_revenue INTEGER NOT NULL,
    active_carts  INTEGER NOT NULL,
    new_products  INTEGER NOT NULL
) WITHOUT ROWID;

-- Store totals per month: top stores read one month's rows by revenue.
CREATE TABLE metrics_monthly (
    month         TEXT NOT NULL,
    database_name TEXT NOT NULL,
    days          INTEGER NOT NULL,
    total_orders  INTEGER NOT NULL,
    total_revenue INTEGER NOT NULL,
    active_carts  INTEGER NOT NULL,
    new_products  INTEGER NOT NULL,
    PRIMARY KEY (month, database_name)
) WITHOUT ROWID;
CREATE INDEX metrics_monthly_revenue ON metrics_monthly(month, total_revenue DESC);

-- At most one collection queued or running, across every replica.
CREATE UNIQUE INDEX jobs_one_collection ON jobs(kind) WHERE kind = 'metrics.collect' AND state IN ('queued', 'running');

-- +goose Down
DROP INDEX jobs_one_collection;
DROP TABLE metrics_monthly;
DROP TABLE metrics_daily;
DROP TABLE collect_state;
DROP TABLE collection_results;
DROP TABLE collection_runs;
DROP INDEX metrics_tenant_date;
