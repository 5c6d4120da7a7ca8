package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

const jobCols = `id, kind, tenant, args, state, step, done, total, error, attempts, created_by, created_at, started_at, finished_at`

func scanJob(s scanner) (fleet.Job, error) {
	var j fleet.Job
	err := s.Scan(&j.ID, &j.Kind, &j.Tenant, &j.Args, &j.State, &j.Step, &j.Done, &j.Total, &j.Error, &j.Attempts,
		&j.CreatedBy, nullTime{&j.CreatedAt}, nullTime{&j.StartedAt}, nullTime{&j.FinishedAt})
	return j, err
}

// InsertJob queues a job and returns its id.
func (db *DB) InsertJob(ctx context.Context, j *fleet.Job) (int64, error) {
	return insertJob(ctx, db.db, db.now(), j)
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func insertJob(ctx context.Context, ex execer, now time.Time, j *fleet.Job) (int64, error) {
	if j.Args == "" {
		j.Args = "{}"
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO jobs(kind, tenant, args, state, step, created_by, created_at) VALUES(?,?,?,?,?,?,?)`,
		j.Kind, j.Tenant, j.Args, fleet.JobQueued, "Queued", j.CreatedBy, ts(now))
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	j.ID, j.State, j.CreatedAt = id, fleet.JobQueued, now
	return id, err
}

// ClaimTenantJob claims a tenant name and queues the job that will make it,
// in one transaction, so there is never a creating tenant without a job
// nor a job for a name someone else holds.
// With an idempotency key (once not nil) the key is bound to the job in
// the same transaction: ErrOnceTaken if a concurrent request bound it
// first, and then nothing was claimed or queued.
func (db *DB) ClaimTenantJob(ctx context.Context, t *fleet.Tenant, j *fleet.Job, once *Once) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		id, err := insertJob(ctx, tx, db.now(), j)
		if err != nil {
			return err
		}
		if err := db.recordOnce(ctx, tx, once, id); err != nil {
			return err
		}
		t.JobID = id
		return claimTenant(ctx, tx, t)
	})
}

// Job returns one job.
func (db *DB) Job(ctx context.Context, id int64) (*fleet.Job, error) {
	j, err := scanJob(db.db.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("Job %d", id))
	}
	return &j, nil
}

// JobFilter selects jobs, newest first.
type JobFilter struct {
	Tenant string
	Limit  int
}

// Jobs lists jobs newest first.
func (db *DB) Jobs(ctx context.Context, f JobFilter) ([]fleet.Job, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT ` + jobCols + ` FROM jobs`
	args := []any{}
	if f.Tenant != "" {
		q += ` WHERE tenant = ?`
		args = append(args, f.Tenant)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := db.db.QueryContext(db.lookup(ctx), q, append(args, f.Limit)...) // by index, bounded
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// ClaimJob leases a job to owner if it is queued, or running under a lease
// that lapsed (its runner died). It returns the claimed job, or nil if the
// job is not claimable.
func (db *DB) ClaimJob(ctx context.Context, id int64, owner string, lease time.Duration, stale func(owner string) bool) (*fleet.Job, error) {
	now := db.now().UTC()
	var cur fleet.Job
	var leaseOwner string
	var leaseUntil time.Time
	err := db.db.QueryRowContext(ctx, `SELECT state, lease_owner, lease_until FROM jobs WHERE id = ?`, id).
		Scan(&cur.State, &leaseOwner, nullTime{&leaseUntil})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "Job %d not found.", id)
	} else if err != nil {
		return nil, err
	}
	claimable := cur.State == fleet.JobQueued ||
		(cur.State == fleet.JobRunning && (now.After(leaseUntil) || (stale != nil && stale(leaseOwner))))
	if !claimable {
		return nil, nil
	}
	// The conditional update makes the claim atomic across replicas: only
	// one runner sees its row count change.
	res, err := db.db.ExecContext(ctx, `UPDATE jobs SET state = ?, lease_owner = ?, lease_until = ?, attempts = attempts + 1,
		started_at = coalesce(started_at, ?) WHERE id = ? AND state = ? AND lease_owner = ?`,
		fleet.JobRunning, owner, ts(now.Add(lease)), ts(now), id, cur.State, leaseOwner)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil
	}
	// The claim is made: reading it back must not be given up half-way (a
	// shutdown cancelling ctx now would leave the job held by a runner
	// that never heard it won it).
	return db.Job(context.WithoutCancel(ctx), id)
}

// ClaimableJobs returns ids of jobs that are queued or whose lease lapsed.
func (db *DB) ClaimableJobs(ctx context.Context, limit int) ([]int64, []string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, lease_owner FROM jobs WHERE state IN (?, ?) ORDER BY id LIMIT ?`,
		fleet.JobQueued, fleet.JobRunning, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []int64
	var owners []string
	for rows.Next() {
		var id int64
		var owner string
		if err := rows.Scan(&id, &owner); err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
		owners = append(owners, owner)
	}
	return ids, owners, rows.Err()
}

// RenewLease extends a job's lease if owner still holds it.
func (db *DB) RenewLease(ctx context.Context, id int64, owner string, lease time.Duration) error {
	res, err := db.db.ExecContext(ctx, `UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = ?`,
		ts(db.now().Add(lease)), id, owner, fleet.JobRunning)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fleet.Errorf(fleet.ECONFLICT, "Job %d is no longer held by this runner.", id)
	}
	return nil
}

// JobProgress records what a job is doing.
func (db *DB) JobProgress(ctx context.Context, id int64, step string, done, total int64) error {
	_, err := db.db.ExecContext(ctx, `UPDATE jobs SET step = ?, done = ?, total = ? WHERE id = ?`, step, done, total, id)
	return err
}

// FinishJob moves a job to its final state.
func (db *DB) FinishJob(ctx context.Context, id int64, state, step, errMsg string) error {
	_, err := db.db.ExecContext(context.WithoutCancel(ctx), `UPDATE jobs SET state = ?, step = ?, error = ?, lease_owner = '',
		lease_until = NULL, finished_at = ? WHERE id = ?`, state, step, errMsg, ts(db.now()), id)
	return err
}

// ReleaseJob puts a job its runner stopped for a shutdown back in the
// queue, so that the next runner (here after a restart, or another
// replica) resumes it at once instead of waiting out the lease. The
// interrupted attempt is uncounted but for the first: a later attempt
// must still know it resumes, and a job stopped by every deploy must
// never run out of attempts.
func (db *DB) ReleaseJob(ctx context.Context, id int64, owner, step string) error {
	_, err := db.db.ExecContext(context.WithoutCancel(ctx), `UPDATE jobs SET state = ?, step = ?, lease_owner = '', lease_until = NULL,
		attempts = max(attempts - 1, 1) WHERE id = ? AND lease_owner = ? AND state = ?`, fleet.JobQueued, step, id, owner, fleet.JobRunning)
	return err
}
