package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// The central database's own history: every collection and rollout adds
// a row per tenant it touched, every job and every change a row, and
// nothing else ever deletes them. PruneHistory keeps the run summaries
// (a run's counters and error) for good, and drops the details after a
// while.

// HistoryPolicy is how long the central database keeps its history.
// A zero (or negative) duration keeps that history for good.
type HistoryPolicy struct {
	// Results is how long per-tenant results (of collections, rollouts and
	// snapshot runs) are kept after their run finished, and finished jobs
	// after they finished.
	Results time.Duration
	// Audit is how long audit log entries are kept.
	Audit time.Duration
	// Batch is the most rows one statement deletes (0: DefaultHistoryBatch).
	Batch int
}

// The default history policy.
const (
	DefaultResultsKeep  = 90 * 24 * time.Hour
	DefaultAuditKeep    = 400 * 24 * time.Hour
	DefaultHistoryBatch = 5000
)

// MinHistoryKeep is the shortest time a policy may keep history: a job
// finished earlier may still be the answer to an API request's
// idempotency key (IdempotencyTTL).
const MinHistoryKeep = IdempotencyTTL

// DefaultHistoryPolicy returns the default policy: per-tenant results and
// finished jobs for 90 days, the audit log for 400.
func DefaultHistoryPolicy() HistoryPolicy {
	return HistoryPolicy{Results: DefaultResultsKeep, Audit: DefaultAuditKeep}
}

func (p HistoryPolicy) validate() error {
	for _, c := range []struct {
		what string
		keep time.Duration
	}{{"Per-tenant results and finished jobs", p.Results}, {"The audit log", p.Audit}} {
		if c.keep > 0 && c.keep < MinHistoryKeep {
			return fleet.Errorf(fleet.EINVALID, "%s must be kept at least %s, not %s (or for good: 0).", c.what, MinHistoryKeep, c.keep)
		}
	}
	if p.Batch < 0 {
		return fleet.Errorf(fleet.EINVALID, "A batch of %d rows: it must be positive (or 0 for %d).", p.Batch, DefaultHistoryBatch)
	}
	return nil
}

// PrunedHistory is what one PruneHistory deleted, per table.
type PrunedHistory struct {
	CollectionResults int64 `json:"collection_results"`
	RolloutResults    int64 `json:"migration_results"`
	SnapshotFailures  int64 `json:"snapshot_failures"`
	Jobs              int64 `json:"jobs"`
	Audit             int64 `json:"audit_log"`
	// Batches is how many statements deleted them.
	Batches int `json:"batches"`
}

// Total is the rows deleted in all.
func (p PrunedHistory) Total() int64 {
	return p.CollectionResults + p.RolloutResults + p.SnapshotFailures + p.Jobs + p.Audit
}

// PruneHistory deletes the history the policy no longer keeps, by the
// console's clock: the per-tenant results of collections, rollouts and
// snapshot runs that finished before policy.Results ago (their runs stay,
// with their counters); finished jobs that finished before then, but for
// those a run or a tenant still points at (the run pages link to them);
// and audit entries older than policy.Audit. It deletes in batches of
// policy.Batch rows, one statement (and transaction) each, and pauses
// between them, so that the console and the jobs keep writing meanwhile.
// Cancelled, it stops between batches and returns what it deleted with
// ctx's error; run again, it carries on.
func (db *DB) PruneHistory(ctx context.Context, policy HistoryPolicy) (PrunedHistory, error) {
	var out PrunedHistory
	if err := policy.validate(); err != nil {
		return out, err
	}
	p := &pruner{db: db, batch: policy.Batch}
	if p.batch == 0 {
		p.batch = DefaultHistoryBatch
	}
	err := p.prune(ctx, policy, &out)
	out.Batches = p.batches
	if err != nil && ctx.Err() != nil {
		err = ctx.Err() // not the driver's word for a query it was told to give up
	}
	return out, err
}

func (p *pruner) prune(ctx context.Context, policy HistoryPolicy, out *PrunedHistory) error {
	now := p.db.now()
	var err error
	if policy.Results > 0 {
		before := ts(now.Add(-policy.Results))
		for _, t := range []struct {
			runs, results string
			n             *int64
		}{
			{"collection_runs", "collection_results", &out.CollectionResults},
			{"migration_runs", "migration_results", &out.RolloutResults},
			{"snapshot_runs", "snapshot_failures", &out.SnapshotFailures},
		} {
			if *t.n, err = p.runResults(ctx, t.runs, t.results, before); err != nil {
				return err
			}
		}
		// A job a run or a tenant points at stays: the run's page links
		// to it, and a tenant's job is still its own (api_idempotency's
		// jobs are younger than MinHistoryKeep).
		if out.Jobs, err = p.loop(ctx, `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs j WHERE j.state IN (?1, ?2) AND j.finished_at < ?3
			AND NOT EXISTS (SELECT 1 FROM collection_runs r WHERE r.job_id = j.id)
			AND NOT EXISTS (SELECT 1 FROM migration_runs r WHERE r.job_id = j.id)
			AND NOT EXISTS (SELECT 1 FROM snapshot_runs r WHERE r.job_id = j.id)
			AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.job_id = j.id AND t.job_id != 0)
			LIMIT ?4)`, fleet.JobSucceeded, fleet.JobFailed, before); err != nil {
			return err
		}
	}
	if policy.Audit > 0 {
		out.Audit, err = p.loop(ctx, `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ?1 LIMIT ?2)`, ts(now.Add(-policy.Audit)))
	}
	return err
}

// pruner deletes in batches.
type pruner struct {
	db      *DB
	batch   int
	batches int
	last    time.Duration // how long the last statement took
}

// runResults deletes the per-tenant rows (results, keyed by run_id and
// tenant) of the runs that finished before before, run by run.
func (p *pruner) runResults(ctx context.Context, runs, results string, before any) (int64, error) {
	ids, err := p.db.ints(ctx, `SELECT id FROM `+runs+` r WHERE r.state NOT IN (?, ?) AND r.finished_at < ?
		AND EXISTS (SELECT 1 FROM `+results+` x WHERE x.run_id = r.id) ORDER BY id`, RunQueued, RunRunning, before)
	if err != nil {
		return 0, err
	}
	var deleted int64
	for _, id := range ids {
		n, err := p.loop(ctx, `DELETE FROM `+results+` WHERE run_id = ?1 AND tenant IN (SELECT tenant FROM `+results+` WHERE run_id = ?1 LIMIT ?2)`, id)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// loop runs a delete of at most p.batch rows until it deletes fewer; q's
// last parameter is the batch size, after args.
func (p *pruner) loop(ctx context.Context, q string, args ...any) (int64, error) {
	var deleted int64
	for {
		n, err := p.exec(ctx, q, append(args, p.batch)...)
		deleted += n
		if err != nil || n < int64(p.batch) {
			return deleted, err
		}
	}
}

// exec runs one batch's statement, in a transaction of its own. SQLite
// has one writer at a time, and a writer waiting for the lock polls for
// it: were the next statement to start as soon as the last one ended, it
// could take the lock before them every time. So each waits as long as
// the last one took (up to a tenth of a second) and pruning holds the lock
// half the time at most.
func (p *pruner) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if p.last > 0 {
		t := time.NewTimer(min(p.last, 100*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	began := time.Now()
	res, err := p.db.db.ExecContext(context.WithoutCancel(ctx), q, args...) // a batch begun ends
	p.last = time.Since(began)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if n > 0 {
		p.batches++
	}
	return n, err
}

// ints runs a query of one integer column and returns its values.
func (db *DB) ints(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// How long a history table is kept (HistoryTable.Keep).
const (
	KeepResults = "results" // HistoryPolicy.Results
	KeepAudit   = "audit"   // HistoryPolicy.Audit
	KeepForever = "forever" // run summaries
)

// HistoryTable is one history table: how many rows it keeps and the time
// of the oldest.
type HistoryTable struct {
	Name string `json:"name"`
	Keep string `json:"keep"` // KeepResults, KeepAudit or KeepForever
	// Rows counts the rows. For the per-tenant results of collections and
	// rollouts it is the sum of their runs' counters, which count a row
	// each: counting millions of rows would hold a page for seconds.
	Rows int64 `json:"rows"`
	// Oldest is the oldest row's time (for per-tenant results, when their
	// run started); zero if the table is empty.
	Oldest time.Time `json:"oldest,omitzero"`
}

// HistoryReport is the central database's size and its history tables.
type HistoryReport struct {
	// FileSize is the database's size in bytes (page_count × page_size);
	// FreeSize the part of it in free pages, which the database fills
	// before it grows again.
	FileSize int64          `json:"file_size"`
	FreeSize int64          `json:"free_size"`
	Tables   []HistoryTable `json:"tables"`
}

// HistoryReport reports the central database's size and, for each
// history table, its rows and its oldest row's time.
func (db *DB) HistoryReport(ctx context.Context) (*HistoryReport, error) {
	var r HistoryReport
	var pages, size, free int64
	for _, c := range []struct {
		pragma string
		v      *int64
	}{{"page_count", &pages}, {"page_size", &size}, {"freelist_count", &free}} {
		if err := db.db.QueryRowContext(ctx, `PRAGMA `+c.pragma).Scan(c.v); err != nil {
			return nil, fmt.Errorf("PRAGMA %s: %w", c.pragma, err)
		}
	}
	r.FileSize, r.FreeSize = pages*size, free*size
	for _, t := range []struct {
		name, keep string
		rows       string // a query of the row count and the oldest row's time
	}{
		{"collection_runs", KeepForever, `SELECT count(*), min(started_at) FROM collection_runs`},
		{"collection_results", KeepResults, `SELECT coalesce(sum(ok + failed), 0), min(started_at) FROM collection_runs r
			WHERE EXISTS (SELECT 1 FROM collection_results x WHERE x.run_id = r.id)`},
		{"migration_runs", KeepForever, `SELECT count(*), min(created_at) FROM migration_runs`},
		{"migration_results", KeepResults, `SELECT coalesce(sum(migrated + failed + skipped), 0), min(coalesce(started_at, created_at)) FROM migration_runs r
			WHERE EXISTS (SELECT 1 FROM migration_results x WHERE x.run_id = r.id)`},
		{"snapshot_runs", KeepForever, `SELECT count(*), min(started_at) FROM snapshot_runs`},
		{"snapshot_failures", KeepResults, `SELECT count(*), (SELECT min(r.started_at) FROM snapshot_runs r
			WHERE EXISTS (SELECT 1 FROM snapshot_failures x WHERE x.run_id = r.id)) FROM snapshot_failures`},
		{"jobs", KeepResults, `SELECT count(*), min(created_at) FROM jobs`},
		{"audit_log", KeepAudit, `SELECT count(*), min(at) FROM audit_log`},
	} {
		ht := HistoryTable{Name: t.name, Keep: t.keep}
		if err := db.db.QueryRowContext(ctx, t.rows).Scan(&ht.Rows, nullTime{&ht.Oldest}); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s history: %w", t.name, err)
		}
		r.Tables = append(r.Tables, ht)
	}
	return &r, nil
}
