package central

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// RolloutJob is the job kind of a schema rollout; the central database
// allows at most one queued or running, across every console replica.
const RolloutJob = "schema.rollout"

// Rollout modes.
const (
	ModeDryRun = "dry-run" // what would run where; nothing changes
	ModeCanary = "canary"  // a few named tenants, then stop for review
	ModeFull   = "full"    // every ready tenant
	ModeRetry  = "retry"   // the tenants an earlier run failed on
)

// Rollout states beyond the run states: stopped at the first failure or
// on request, with tenants left unvisited (fleet.RunStopped).
const RunStopped = fleet.RunStopped

// Per-tenant outcomes, as fleet says them.
const (
	OutcomeMigrated = fleet.OutcomeMigrated
	OutcomeFailed   = fleet.OutcomeFailed
	OutcomeSkipped  = fleet.OutcomeSkipped
	OutcomePending  = fleet.OutcomePending
)

// MigrationRun is one schema rollout.
type MigrationRun struct {
	ID            int64     `json:"run_id"`
	JobID         int64     `json:"job_id,omitempty"`
	Mode          string    `json:"mode"`
	Target        int64     `json:"target"`
	Parallel      int       `json:"parallel"`
	OnError       string    `json:"on_error"` // stop or continue
	Tenants       []string  `json:"tenants,omitempty"`
	RetryOf       int64     `json:"retry_of,omitempty"`
	Trigger       string    `json:"trigger"`
	StartedBy     string    `json:"started_by"`
	State         string    `json:"state"`
	Total         int64     `json:"total"`
	Migrated      int64     `json:"migrated"`
	Failed        int64     `json:"failed"`
	Skipped       int64     `json:"skipped"`
	StopRequested bool      `json:"stop_requested,omitempty"`
	Error         string    `json:"error,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
}

// Done is how many tenants the run has visited.
func (r *MigrationRun) Done() int64 { return r.Migrated + r.Failed + r.Skipped }

// Finished reports whether the run reached a final state.
func (r *MigrationRun) Finished() bool {
	return r.State == RunSucceeded || r.State == RunFailed || r.State == RunStopped
}

// DryRun reports whether the run changes nothing.
func (r *MigrationRun) DryRun() bool { return r.Mode == ModeDryRun }

// Duration is how long the run took (so far).
func (r *MigrationRun) Duration() time.Duration {
	if r.StartedAt.IsZero() {
		return 0
	}
	end := r.FinishedAt
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(r.StartedAt)
}

const migrationRunCols = `id, job_id, mode, target, parallel, on_error, tenants_list, retry_of, trigger, started_by, state,
	total, migrated, failed, skipped, stop_requested, error, created_at, started_at, finished_at`

func scanMigrationRun(s scanner) (MigrationRun, error) {
	var r MigrationRun
	var list string
	err := s.Scan(&r.ID, &r.JobID, &r.Mode, &r.Target, &r.Parallel, &r.OnError, &list, &r.RetryOf, &r.Trigger, &r.StartedBy,
		&r.State, &r.Total, &r.Migrated, &r.Failed, &r.Skipped, &r.StopRequested, &r.Error,
		nullTime{&r.CreatedAt}, nullTime{&r.StartedAt}, nullTime{&r.FinishedAt})
	if err == nil && list != "" {
		err = json.Unmarshal([]byte(list), &r.Tenants)
	}
	return r, err
}

// QueueRollout queues a rollout job and its run row in one transaction. A
// second rollout while one is queued or running is a conflict naming it.
func (db *DB) QueueRollout(ctx context.Context, j *fleet.Job, r *MigrationRun) error {
	var list string
	if r.Tenants != nil {
		b, _ := json.Marshal(r.Tenants)
		list = string(b)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		id, err := insertJob(ctx, tx, now, j)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO migration_runs(job_id, mode, target, parallel, on_error, tenants_list, retry_of,
			trigger, started_by, state, total, created_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
			id, r.Mode, r.Target, r.Parallel, r.OnError, list, r.RetryOf, r.Trigger, r.StartedBy, RunQueued, r.Total, ts(now))
		if err != nil {
			return err
		}
		r.JobID, r.State, r.CreatedAt = id, RunQueued, now
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		j.Args = fmt.Sprintf(`{"run":%d}`, r.ID)
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET args = ? WHERE id = ?`, j.Args, id)
		return err
	})
	if err != nil && tenantdb.Code(err) == fleet.ECONFLICT {
		if active, _ := db.ActiveRollout(ctx); active != nil {
			return fleet.Errorf(fleet.ECONFLICT, "Rollout %d (%s, started by %s) is still %s; wait for it to finish or stop it first.",
				active.ID, active.Mode, active.StartedBy, active.State)
		}
		return fleet.Errorf(fleet.ECONFLICT, "A rollout is already queued or running; wait for it to finish.")
	}
	return err
}

// ActiveRollout returns the queued or running rollout, nil if none.
func (db *DB) ActiveRollout(ctx context.Context) (*MigrationRun, error) {
	r, err := scanMigrationRun(db.db.QueryRowContext(db.lookup(ctx), `SELECT `+migrationRunCols+` FROM migration_runs
		WHERE state IN (?, ?) ORDER BY id DESC LIMIT 1`, RunQueued, RunRunning))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// MigrationRunByID returns one rollout.
func (db *DB) MigrationRunByID(ctx context.Context, id int64) (*MigrationRun, error) {
	r, err := scanMigrationRun(db.db.QueryRowContext(db.lookup(ctx), `SELECT `+migrationRunCols+` FROM migration_runs WHERE id = ?`, id))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("Rollout %d", id))
	}
	return &r, nil
}

// MigrationRuns lists rollouts newest first, with the total count.
func (db *DB) MigrationRuns(ctx context.Context, limit, offset int) ([]MigrationRun, int64, error) {
	ctx = db.lookup(ctx)
	var total int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM migration_runs`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+migrationRunCols+` FROM migration_runs ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []MigrationRun
	for rows.Next() {
		r, err := scanMigrationRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// StartRollout marks a run running; a resumed run keeps its first start.
func (db *DB) StartRollout(ctx context.Context, id, total int64) (*MigrationRun, error) {
	if _, err := db.db.ExecContext(ctx, `UPDATE migration_runs SET state = ?, total = ?, started_at = coalesce(started_at, ?)
		WHERE id = ?`, RunRunning, total, ts(db.now()), id); err != nil {
		return nil, err
	}
	return db.MigrationRunByID(ctx, id)
}

// FinishRollout records the end of a run: stopped if asked to (or at the
// first failure) with tenants left, failed if any tenant failed or the
// run itself did, else succeeded.
func (db *DB) FinishRollout(ctx context.Context, id int64, stopped bool, errMsg string) error {
	_, err := db.db.ExecContext(context.WithoutCancel(ctx), `UPDATE migration_runs SET
		state = CASE WHEN ? THEN ? WHEN ? != '' OR failed > 0 THEN ? ELSE ? END,
		error = ?, finished_at = ? WHERE id = ?`,
		stopped, RunStopped, errMsg, RunFailed, RunSucceeded, errMsg, ts(db.now()), id)
	return err
}

// RequestStop asks a queued or running rollout to stop handing out
// tenants; the ones in progress finish.
func (db *DB) RequestStop(ctx context.Context, id int64) error {
	res, err := db.db.ExecContext(ctx, `UPDATE migration_runs SET stop_requested = 1 WHERE id = ? AND state IN (?, ?)`, id, RunQueued, RunRunning)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := db.MigrationRunByID(ctx, id); err != nil {
			return err
		}
		return fleet.Errorf(fleet.ECONFLICT, "Rollout %d has already finished.", id)
	}
	return nil
}

// StopRequested reports whether someone asked the run to stop.
func (db *DB) StopRequested(ctx context.Context, id int64) (bool, error) {
	var stop bool
	err := db.db.QueryRowContext(ctx, `SELECT stop_requested FROM migration_runs WHERE id = ?`, id).Scan(&stop)
	return stop, err
}

// MigrationResult is what a rollout did to one tenant.
type MigrationResult struct {
	RunID    int64         `json:"run_id,omitempty"`
	Tenant   string        `json:"name"`
	Outcome  string        `json:"outcome"`
	From     int64         `json:"from"`
	To       int64         `json:"to"` // -1: unknown (the database did not answer)
	Detail   string        `json:"detail,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	At       time.Time     `json:"at,omitzero"`
}

// RolloutCandidate is a tenant a rollout may visit, with the version the
// registry last saw.
type RolloutCandidate struct {
	Name    string
	Status  string
	Version int64
}

// RolloutCandidates returns up to limit ready tenants after the given name
// that run has not visited yet, in name order.
func (db *DB) RolloutCandidates(ctx context.Context, runID int64, after string, limit int) ([]RolloutCandidate, error) {
	return db.candidates(ctx, `SELECT name, status, schema_version FROM tenants t WHERE status = ? AND name > ?
		AND NOT EXISTS (SELECT 1 FROM migration_results r WHERE r.run_id = ? AND r.tenant = t.name)
		ORDER BY name LIMIT ?`, fleet.StatusReady, after, runID, limit)
}

// NamedCandidates returns the registry rows of names that run has not
// visited yet, in name order; names the registry lacks are left out.
func (db *DB) NamedCandidates(ctx context.Context, runID int64, names []string) ([]RolloutCandidate, error) {
	var out []RolloutCandidate
	for chunk := range chunks(names, 500) {
		args := []any{runID}
		for _, n := range chunk {
			args = append(args, n)
		}
		got, err := db.candidates(ctx, `SELECT name, status, schema_version FROM tenants t WHERE
			NOT EXISTS (SELECT 1 FROM migration_results r WHERE r.run_id = ? AND r.tenant = t.name)
			AND name IN (`+placeholders(len(chunk))+`) ORDER BY name`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (db *DB) candidates(ctx context.Context, q string, args ...any) ([]RolloutCandidate, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RolloutCandidate
	for rows.Next() {
		var c RolloutCandidate
		if err := rows.Scan(&c.Name, &c.Status, &c.Version); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Visited reports whether run has a result for tenant.
func (db *DB) Visited(ctx context.Context, runID int64, tenant string) (bool, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM migration_results WHERE run_id = ? AND tenant = ?`, runID, tenant).Scan(&n)
	return n > 0, err
}

// CountRolloutRemaining counts the ready tenants run has not visited.
func (db *DB) CountRolloutRemaining(ctx context.Context, runID int64) (int64, error) {
	var n int64
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM tenants t WHERE status = ?
		AND NOT EXISTS (SELECT 1 FROM migration_results r WHERE r.run_id = ? AND r.tenant = t.name)`, fleet.StatusReady, runID).Scan(&n)
	return n, err
}

// WriteMigrationResults records a batch of per-tenant results in one
// transaction: the results, the run's counters, and the registry's mirror
// of each tenant's version and last migration error (a dry run leaves the
// error alone: it tried nothing).
func (db *DB) WriteMigrationResults(ctx context.Context, run *MigrationRun, rs []MigrationResult) error {
	if len(rs) == 0 {
		return nil
	}
	now := db.now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		var counts [3]int64
		for chunk := range chunks(rs, 100) {
			args := make([]any, 0, len(chunk)*9)
			for _, r := range chunk {
				args = append(args, run.ID, r.Tenant, r.Outcome, r.From, r.To, r.Detail, fleet.Truncate(r.Error, 2000), r.Duration.Microseconds(), ts(now))
				switch r.Outcome {
				case OutcomeMigrated, OutcomePending:
					counts[0]++
				case OutcomeFailed:
					counts[1]++
				default:
					counts[2]++
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO migration_results(run_id, tenant, outcome, from_version, to_version,
				detail, error, duration_us, at) VALUES `+strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?),", len(chunk)), ","), args...); err != nil {
				return fmt.Errorf("write rollout results: %w", err)
			}
		}
		mirror, err := tx.PrepareContext(ctx, `UPDATE tenants SET schema_version = CASE WHEN ?2 >= 0 THEN ?2 ELSE schema_version END,
			migration_error = CASE WHEN ?3 THEN migration_error ELSE ?4 END WHERE name = ?1`)
		if err != nil {
			return err
		}
		defer mirror.Close()
		for _, r := range rs {
			if _, err := mirror.ExecContext(ctx, r.Tenant, r.To, run.DryRun(), fleet.Truncate(r.Error, 2000)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE migration_runs SET migrated = migrated + ?, failed = failed + ?, skipped = skipped + ? WHERE id = ?`,
			counts[0], counts[1], counts[2], run.ID)
		return err
	})
}

// ResultFilter selects a run's results.
type ResultFilter struct {
	Outcome string // "" for every outcome
	After   string // tenant name to page after
	Limit   int
}

// MigrationResults lists a run's results in tenant order.
func (db *DB) MigrationResults(ctx context.Context, runID int64, f ResultFilter) ([]MigrationResult, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT run_id, tenant, outcome, from_version, to_version, detail, error, duration_us, at FROM migration_results WHERE run_id = ? AND tenant > ?`
	args := []any{runID, f.After}
	if f.Outcome != "" {
		q += ` AND outcome = ?`
		args = append(args, f.Outcome)
	}
	return db.migrationResults(ctx, q+` ORDER BY tenant LIMIT ?`, append(args, f.Limit)...)
}

// TenantMigrationResults lists what rollouts did to one tenant, newest first.
func (db *DB) TenantMigrationResults(ctx context.Context, tenant string, limit int) ([]MigrationResult, error) {
	return db.migrationResults(ctx, `SELECT r.run_id, r.tenant, r.outcome, r.from_version, r.to_version, r.detail, r.error, r.duration_us, r.at
		FROM migration_results r JOIN migration_runs m ON m.id = r.run_id
		WHERE r.tenant = ? AND m.mode != ? ORDER BY r.run_id DESC LIMIT ?`, tenant, ModeDryRun, limit)
}

func (db *DB) migrationResults(ctx context.Context, q string, args ...any) ([]MigrationResult, error) {
	rows, err := db.db.QueryContext(db.lookup(ctx), q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MigrationResult
	for rows.Next() {
		var r MigrationResult
		var us int64
		if err := rows.Scan(&r.RunID, &r.Tenant, &r.Outcome, &r.From, &r.To, &r.Detail, &r.Error, &us, nullTime{&r.At}); err != nil {
			return nil, err
		}
		r.Duration = time.Duration(us) * time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// VersionCount is how many ready tenants sit at a schema version.
type VersionCount struct {
	Version int64 `json:"version"`
	Tenants int64 `json:"tenants"`
}

// SchemaVersions counts ready tenants per version, oldest first, from the
// (status, schema_version) index.
func (db *DB) SchemaVersions(ctx context.Context) ([]VersionCount, error) {
	rows, err := db.db.QueryContext(db.lookup(ctx), `SELECT schema_version, count(*) FROM tenants WHERE status = ?
		GROUP BY schema_version ORDER BY schema_version`, fleet.StatusReady)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VersionCount
	for rows.Next() {
		var v VersionCount
		if err := rows.Scan(&v.Version, &v.Tenants); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// TenantVersion is a tenant's mirrored version and last migration error.
type TenantVersion struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
	Error   string `json:"error"`
}

// TenantVersions lists ready tenants with their versions in name order,
// after the given name; behind (latest > 0) keeps those below latest,
// failed those whose last migration failed.
func (db *DB) TenantVersions(ctx context.Context, latest int64, failed bool, after string, limit int) ([]TenantVersion, error) {
	q := `SELECT name, schema_version, migration_error FROM tenants WHERE status = ? AND name > ?`
	args := []any{fleet.StatusReady, after}
	if latest > 0 {
		q += ` AND schema_version < ?`
		args = append(args, latest)
	}
	if failed {
		q += ` AND migration_error != ''`
	}
	q += ` ORDER BY name`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := db.db.QueryContext(db.lookup(ctx), q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TenantVersion
	for rows.Next() {
		var t TenantVersion
		if err := rows.Scan(&t.Name, &t.Version, &t.Error); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountMigrationFailed counts ready tenants whose last migration failed.
func (db *DB) CountMigrationFailed(ctx context.Context) (int64, error) {
	var n int64
	err := db.db.QueryRowContext(db.lookup(ctx), `SELECT count(*) FROM tenants WHERE migration_error != '' AND status = ?`, fleet.StatusReady).Scan(&n)
	return n, err
}

// FailedTenants returns the names a run failed on, in name order.
func (db *DB) FailedTenants(ctx context.Context, runID int64) ([]string, error) {
	return db.strings(ctx, `SELECT tenant FROM migration_results WHERE run_id = ? AND outcome = ? ORDER BY tenant`, runID, OutcomeFailed)
}

// ResultGroup is a run's tenants with one outcome and detail.
type ResultGroup struct {
	Outcome string   `json:"outcome"`
	Detail  string   `json:"detail"`
	Tenants int64    `json:"tenants"`
	First   []string `json:"first"` // up to five names, in name order
}

// ResultGroups summarises a run's results by outcome and detail (failures
// are grouped by error): what ran where, in a few lines for any fleet.
func (db *DB) ResultGroups(ctx context.Context, runID int64) ([]ResultGroup, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT outcome, CASE WHEN outcome = ? THEN error ELSE detail END AS d, count(*),
		(SELECT group_concat(tenant, ' ') FROM (SELECT tenant FROM migration_results x WHERE x.run_id = r.run_id AND x.outcome = r.outcome
			AND CASE WHEN x.outcome = ? THEN x.error ELSE x.detail END = CASE WHEN r.outcome = ? THEN r.error ELSE r.detail END
			ORDER BY tenant LIMIT 5))
		FROM migration_results r WHERE run_id = ? GROUP BY outcome, d ORDER BY outcome, count(*) DESC`,
		OutcomeFailed, OutcomeFailed, OutcomeFailed, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ResultGroup
	for rows.Next() {
		var g ResultGroup
		var first sql.NullString
		if err := rows.Scan(&g.Outcome, &g.Detail, &g.Tenants, &first); err != nil {
			return nil, err
		}
		g.First = strings.Fields(first.String)
		out = append(out, g)
	}
	return out, rows.Err()
}
