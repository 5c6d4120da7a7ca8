package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// SnapshotJob is the job kind of a snapshot run. The central database
// allows at most one queued or running for the fleet and one for each
// tenant, across every console replica.
const SnapshotJob = "snapshot.take"

// MaxSnapshotRunErrors is how many failed tenants a run keeps with their
// errors; the run counts every failure.
const MaxSnapshotRunErrors = 100

const snapshotRunCols = `id, job_id, tenant, state, tenants, snapshotted, unchanged, failed, pruned, error, started_at, finished_at`

func scanSnapshotRun(s scanner) (fleet.SnapshotRun, error) {
	var r fleet.SnapshotRun
	err := s.Scan(&r.ID, &r.JobID, &r.Tenant, &r.State, &r.Tenants, &r.Snapshotted, &r.Unchanged, &r.Failed, &r.Pruned, &r.Error,
		nullTime{&r.StartedAt}, nullTime{&r.FinishedAt})
	return r, err
}

// QueueSnapshotRun queues a snapshot job and its run row in one
// transaction: of the fleet, or of r.Tenant alone. j's kind and tenant are
// set from r; j.Args are the caller's. A second run of the same scope
// while one is queued or running is a conflict naming it, and queues
// nothing.
func (db *DB) QueueSnapshotRun(ctx context.Context, j *fleet.Job, r *fleet.SnapshotRun) error {
	if r.Tenant != "" {
		if err := fleet.ValidateName(r.Tenant); err != nil {
			return err
		}
	}
	j.Kind, j.Tenant = SnapshotJob, r.Tenant
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		id, err := insertJob(ctx, tx, now, j)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO snapshot_runs(job_id, tenant, state, started_at) VALUES(?,?,?,?)`,
			id, r.Tenant, RunQueued, ts(now))
		if err != nil {
			return err
		}
		r.JobID, r.State, r.StartedAt = id, RunQueued, now
		r.ID, err = res.LastInsertId()
		return err
	})
	if err != nil && tenantdb.Code(err) == fleet.ECONFLICT {
		what := "the fleet"
		if r.Tenant != "" {
			what = r.Tenant
		}
		var other int64
		_ = db.db.QueryRowContext(ctx, `SELECT r.id FROM snapshot_runs r JOIN jobs j ON j.id = r.job_id
			WHERE j.state IN (?, ?) AND r.tenant = ? ORDER BY r.id DESC LIMIT 1`, fleet.JobQueued, fleet.JobRunning, r.Tenant).Scan(&other)
		return fleet.Errorf(fleet.ECONFLICT, "A snapshot run of %s is already queued or running (run %d); try again when it has finished.", what, other)
	}
	return err
}

// StartSnapshotRun records the start of a run. A job's run (r.JobID set)
// continues the row its job was queued with, or that an earlier attempt
// of the job started before a crash or a shutdown: running again, its
// counters and failures reset, since the resumed job walks its tenants
// again (those the first attempt snapshotted are then unchanged). Without
// a job, or for a job without a row, a new running run is recorded.
func (db *DB) StartSnapshotRun(ctx context.Context, r *fleet.SnapshotRun) error {
	now := db.now()
	if r.JobID != 0 {
		var id int64
		var tenant string
		err := db.db.QueryRowContext(ctx, `SELECT id, tenant FROM snapshot_runs WHERE job_id = ? ORDER BY id DESC LIMIT 1`, r.JobID).Scan(&id, &tenant)
		if err == nil {
			err = db.tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `UPDATE snapshot_runs SET state = ?, tenants = 0, snapshotted = 0, unchanged = 0, failed = 0,
					pruned = 0, error = '', started_at = ?, finished_at = NULL WHERE id = ?`, RunRunning, ts(now), id); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `DELETE FROM snapshot_failures WHERE run_id = ?`, id)
				return err
			})
			if err == nil {
				*r = fleet.SnapshotRun{ID: id, JobID: r.JobID, Tenant: tenant, State: RunRunning, StartedAt: now}
			}
			return err
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if r.Tenant != "" {
		if err := fleet.ValidateName(r.Tenant); err != nil {
			return err
		}
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO snapshot_runs(job_id, tenant, state, started_at) VALUES(?,?,?,?)`,
		r.JobID, r.Tenant, RunRunning, ts(now))
	if err != nil {
		return err
	}
	*r = fleet.SnapshotRun{JobID: r.JobID, Tenant: r.Tenant, State: RunRunning, StartedAt: now}
	r.ID, err = res.LastInsertId()
	return err
}

// SnapshotRunProgress writes a running run's counters (tenants,
// snapshotted, unchanged, failed, pruned) for the pages that follow it.
func (db *DB) SnapshotRunProgress(ctx context.Context, r *fleet.SnapshotRun) error {
	res, err := db.db.ExecContext(ctx, `UPDATE snapshot_runs SET tenants = ?, snapshotted = ?, unchanged = ?, failed = ?, pruned = ?
		WHERE id = ? AND state = ?`, r.Tenants, r.Snapshotted, r.Unchanged, r.Failed, r.Pruned, r.ID, RunRunning)
	return db.runChanged(ctx, res, err, r.ID, "is not running")
}

// FinishSnapshotRun records the end of a queued or running run with
// r's counters and error: failed if the run itself failed (r.Error) or
// any tenant did, for a tenant left without a new snapshot is what the
// Backups page must show; succeeded otherwise. It sets r.State and
// r.FinishedAt. A run that has finished already is a conflict, and keeps
// its record.
func (db *DB) FinishSnapshotRun(ctx context.Context, r *fleet.SnapshotRun) error {
	ctx = context.WithoutCancel(ctx) // a run stopped by a shutdown still ends
	state, now := RunSucceeded, db.now()
	if r.Error != "" || r.Failed > 0 {
		state = RunFailed
	}
	msg := fleet.Truncate(r.Error, 2000)
	res, err := db.db.ExecContext(ctx, `UPDATE snapshot_runs SET state = ?, tenants = ?, snapshotted = ?, unchanged = ?, failed = ?,
		pruned = ?, error = ?, finished_at = ? WHERE id = ? AND state IN (?, ?)`,
		state, r.Tenants, r.Snapshotted, r.Unchanged, r.Failed, r.Pruned, msg, ts(now), r.ID, RunQueued, RunRunning)
	if err := db.runChanged(ctx, res, err, r.ID, "has already finished"); err != nil {
		return err
	}
	r.State, r.Error, r.FinishedAt = state, msg, now
	return nil
}

// runChanged turns an update of one run that changed nothing into
// ENOTFOUND, or a conflict saying why (the run exists, in another state).
func (db *DB) runChanged(ctx context.Context, res sql.Result, err error, id int64, why string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var state string
	if err := db.db.QueryRowContext(ctx, `SELECT state FROM snapshot_runs WHERE id = ?`, id).Scan(&state); err != nil {
		return translate(err, fmt.Sprintf("Snapshot run %d", id))
	}
	return fleet.Errorf(fleet.ECONFLICT, "Snapshot run %d %s (%s).", id, why, state)
}

// RecordSnapshotFailures records tenants a run failed on, keeping the
// first MaxSnapshotRunErrors of the run (and a tenant's first error);
// the run's Failed counter, written by the caller, counts them all.
func (db *DB) RecordSnapshotFailures(ctx context.Context, runID int64, errs []fleet.TenantError) error {
	if len(errs) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var kept int
		err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM snapshot_failures WHERE run_id = r.id) FROM snapshot_runs r WHERE r.id = ?`, runID).Scan(&kept)
		if err != nil {
			return translate(err, fmt.Sprintf("Snapshot run %d", runID))
		}
		ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO snapshot_failures(run_id, tenant, error) VALUES(?,?,?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, e := range errs {
			if kept >= MaxSnapshotRunErrors {
				break
			}
			res, err := ins.ExecContext(ctx, runID, fleet.Truncate(e.Tenant, 80), fleet.Truncate(e.Error, 2000))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			kept += int(n)
		}
		return nil
	})
}

// SnapshotRunByID returns one run with its kept failures, first ones first.
func (db *DB) SnapshotRunByID(ctx context.Context, id int64) (*fleet.SnapshotRun, error) {
	return db.snapshotRun(ctx, fmt.Sprintf("Snapshot run %d", id), `WHERE id = ?`, id)
}

// SnapshotRunByJob returns the run a job queued or started, with its
// kept failures; ENOTFOUND if none.
func (db *DB) SnapshotRunByJob(ctx context.Context, jobID int64) (*fleet.SnapshotRun, error) {
	return db.snapshotRun(ctx, fmt.Sprintf("Snapshot run of job %d", jobID), `WHERE job_id = ? ORDER BY id DESC LIMIT 1`, jobID)
}

func (db *DB) snapshotRun(ctx context.Context, what, where string, arg int64) (*fleet.SnapshotRun, error) {
	ctx = db.lookup(ctx)
	r, err := scanSnapshotRun(db.db.QueryRowContext(ctx, `SELECT `+snapshotRunCols+` FROM snapshot_runs `+where, arg))
	if err != nil {
		return nil, translate(err, what)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT tenant, error FROM snapshot_failures WHERE run_id = ? ORDER BY id`, r.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r.Errors = []fleet.TenantError{}
	for rows.Next() {
		var e fleet.TenantError
		if err := rows.Scan(&e.Tenant, &e.Error); err != nil {
			return nil, err
		}
		r.Errors = append(r.Errors, e)
	}
	return &r, rows.Err()
}

// SnapshotRuns lists runs newest first, without their failures (Errors
// nil), and counts them all; offset pages.
func (db *DB) SnapshotRuns(ctx context.Context, limit, offset int) ([]fleet.SnapshotRun, int64, error) {
	ctx = db.lookup(ctx)
	var total int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM snapshot_runs`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+snapshotRunCols+` FROM snapshot_runs ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []fleet.SnapshotRun
	for rows.Next() {
		r, err := scanSnapshotRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}
