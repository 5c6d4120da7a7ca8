package central

import (
	"context"

	"github.com/tenantry/tenantry/internal/fleet"
)

// What monitoring reads at scrape time: small queries, so that every
// replica reports the same numbers straight from the shared database.

// JobCount is the number of jobs of a kind in a state.
type JobCount struct {
	Kind, State string
	Count       int64
}

// ActiveJobCounts returns the job queue: queued and running jobs per kind.
// Finished jobs are left out, so the read stays on the state index however
// long the history grows.
func (db *DB) ActiveJobCounts(ctx context.Context) ([]JobCount, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT kind, state, count(*) FROM jobs WHERE state IN (?, ?) GROUP BY kind, state ORDER BY kind, state`,
		fleet.JobQueued, fleet.JobRunning)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []JobCount
	for rows.Next() {
		var c JobCount
		if err := rows.Scan(&c.Kind, &c.State, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastFinishedRuns returns the newest finished collection run of each
// shard of the current split (the newest finished run's number of
// shards), so that shards given up when the split changed do not linger.
func (db *DB) LastFinishedRuns(ctx context.Context) ([]CollectRun, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+runCols+` FROM collection_runs WHERE id IN
		(SELECT max(id) FROM collection_runs WHERE finished_at IS NOT NULL GROUP BY shard) ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CollectRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && shardCount(r.Shard) != shardCount(out[0].Shard) {
			continue
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
