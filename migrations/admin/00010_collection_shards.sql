-- Collection split across machines (`--shard i/n`): one queued or running
-- collection per shard instead of one in all. The shard is in the job's
-- arguments, so the index that keeps two replicas from running the same
-- part twice reads it from there; the run records it for its page.

-- +goose Up
DROP INDEX jobs_one_collection;
CREATE UNIQUE INDEX jobs_one_collection_per_shard ON jobs(kind, coalesce(json_extract(args, '$.shard'), ''))
    WHERE kind = 'metrics.collect' AND state IN ('queued', 'running');
ALTER TABLE collection_runs ADD COLUMN shard TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE collection_runs DROP COLUMN shard;
DROP INDEX jobs_one_collection_per_shard;
CREATE UNIQUE INDEX jobs_one_collection ON jobs(kind) WHERE kind = 'metrics.collect' AND state IN ('queued', 'running');
