package central_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/fleet"
)

// pruneAt is when the history tests prune; their rows are as old as the
// days given before it.
var pruneAt = start.AddDate(0, 0, 600)

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// history plants a central database's history on both sides of the
// default policy's limits: runs with their per-tenant rows, jobs and
// audit entries, each finished (or written) the given days before
// pruneAt; the clock is left at pruneAt. It returns the runs' and jobs'
// ids by name.
func history(t *testing.T, db *central.DB, clk *centraltest.Clock) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	at := func(age time.Duration) { clk.Set(pruneAt.Add(-age)) }
	ids := map[string]int64{}
	tenants := func(name string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s-%d", name, i))
		}
		return out
	}
	collection := func(name string, age time.Duration, ok, failed int, finish bool) {
		at(age + time.Hour)
		r := &central.CollectRun{From: "2026-01-01", To: "2026-01-01", Trigger: "cli"}
		must(t, db.StartRun(ctx, r))
		var rs []central.CollectResult
		for i, n := range tenants(name, ok+failed) {
			rs = append(rs, central.CollectResult{Tenant: n, OK: i < ok, Attempts: 1})
		}
		_, err := db.WriteCollectBatch(ctx, central.CollectBatch{RunID: r.ID, From: r.From, To: r.To, Results: rs})
		must(t, err)
		if finish {
			at(age)
			must(t, db.FinishRun(ctx, r.ID, int64(ok+failed), ""))
		}
		ids[name] = r.ID
	}
	rollout := func(name string, age time.Duration, n int) {
		at(age + time.Hour)
		j := &fleet.Job{Kind: central.RolloutJob}
		r := &central.MigrationRun{Mode: central.ModeFull, Target: 3, Parallel: 1, OnError: "continue", Trigger: "cli"}
		must(t, db.QueueRollout(ctx, j, r))
		at(age + 30*time.Minute)
		_, err := db.StartRollout(ctx, r.ID, int64(n))
		must(t, err)
		var rs []central.MigrationResult
		for _, n := range tenants(name, n) {
			rs = append(rs, central.MigrationResult{Tenant: n, Outcome: central.OutcomeMigrated, From: 1, To: 3})
		}
		must(t, db.WriteMigrationResults(ctx, r, rs))
		at(age)
		must(t, db.FinishRollout(ctx, r.ID, false, ""))
		must(t, db.FinishJob(ctx, j.ID, fleet.JobSucceeded, "Done", ""))
		ids[name], ids[name+"-job"] = r.ID, j.ID
	}
	snapshots := func(name string, age time.Duration, failed int) {
		at(age + time.Hour)
		j, r := &fleet.Job{}, &fleet.SnapshotRun{}
		must(t, db.QueueSnapshotRun(ctx, j, r))
		must(t, db.StartSnapshotRun(ctx, r))
		var errs []fleet.TenantError
		for _, n := range tenants(name, failed) {
			errs = append(errs, fleet.TenantError{Tenant: n, Error: "disk full"})
		}
		must(t, db.RecordSnapshotFailures(ctx, r.ID, errs))
		at(age)
		r.Failed = failed
		must(t, db.FinishSnapshotRun(ctx, r))
		must(t, db.FinishJob(ctx, j.ID, fleet.JobFailed, "Done", ""))
		ids[name], ids[name+"-job"] = r.ID, j.ID
	}
	job := func(name string, age time.Duration, state string) {
		at(age + time.Hour)
		id, err := db.InsertJob(ctx, &fleet.Job{Kind: fleet.JobDelete, Tenant: "someone"})
		must(t, err)
		if state != fleet.JobQueued {
			at(age)
			must(t, db.FinishJob(ctx, id, state, "Done", ""))
		}
		ids[name] = id
	}
	collection("old-collection", days(100), 3, 2, true)
	collection("boundary-collection", days(90), 1, 0, true) // finished exactly at the limit: kept
	collection("young-collection", days(80), 2, 1, true)
	collection("running-collection", days(200), 2, 0, false)
	rollout("old-rollout", days(100), 3)
	rollout("young-rollout", days(10), 1)
	snapshots("old-snapshots", days(100), 3)
	snapshots("young-snapshots", days(30), 1)
	job("old-job", days(100), fleet.JobSucceeded)
	job("old-failed-job", days(95), fleet.JobFailed)
	job("boundary-job", days(90), fleet.JobSucceeded)
	job("young-job", days(80), fleet.JobSucceeded)
	job("old-queued-job", days(100), fleet.JobQueued)
	// A tenant still points at its finished job (a crash between the two
	// updates): the job stays.
	at(days(100) + time.Hour)
	ids["tenant-job"] = addTenant(t, db, "held", fleet.StatusCreating).JobID
	at(days(100))
	must(t, db.FinishJob(ctx, ids["tenant-job"], fleet.JobSucceeded, "Done", ""))
	for _, age := range []int{500, 401, 400, 399, 100, 0} {
		must(t, db.Audit(ctx, fleet.AuditEntry{At: pruneAt.Add(-days(age)), Actor: "ada", Action: fmt.Sprintf("age-%d", age)}))
	}
	clk.Set(pruneAt)
	return ids
}

// left describes what the history holds: each run's per-tenant rows, the
// named jobs that are left, and the audit entries.
func left(t *testing.T, db *central.DB, ids map[string]int64) string {
	t.Helper()
	var out []string
	for _, r := range []struct{ name, table string }{
		{"old-collection", "collection_results"}, {"boundary-collection", "collection_results"},
		{"young-collection", "collection_results"}, {"running-collection", "collection_results"},
		{"old-rollout", "migration_results"}, {"young-rollout", "migration_results"},
		{"old-snapshots", "snapshot_failures"}, {"young-snapshots", "snapshot_failures"},
	} {
		out = append(out, fmt.Sprintf("%s:%d", r.name, count(t, db, `SELECT count(*) FROM `+r.table+` WHERE run_id = ?`, ids[r.name])))
	}
	var jobs []string
	for _, name := range []string{"old-job", "old-failed-job", "boundary-job", "young-job", "old-queued-job", "tenant-job",
		"old-rollout-job", "young-rollout-job", "old-snapshots-job", "young-snapshots-job"} {
		if count(t, db, `SELECT count(*) FROM jobs WHERE id = ?`, ids[name]) == 1 {
			jobs = append(jobs, name)
		}
	}
	var audit []string
	rows, err := db.SQL().Query(`SELECT action FROM audit_log ORDER BY at`)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var a string
		must(t, rows.Scan(&a))
		audit = append(audit, a)
	}
	must(t, rows.Err())
	return strings.Join(out, " ") + "\njobs: " + strings.Join(jobs, " ") + "\naudit: " + strings.Join(audit, " ")
}

const (
	allResults    = "old-collection:5 boundary-collection:1 young-collection:3 running-collection:2 old-rollout:3 young-rollout:1 old-snapshots:3 young-snapshots:1"
	prunedResults = "old-collection:0 boundary-collection:1 young-collection:3 running-collection:2 old-rollout:0 young-rollout:1 old-snapshots:0 young-snapshots:1"
	allJobs       = "jobs: old-job old-failed-job boundary-job young-job old-queued-job tenant-job old-rollout-job young-rollout-job old-snapshots-job young-snapshots-job"
	prunedJobs    = "jobs: boundary-job young-job old-queued-job tenant-job old-rollout-job young-rollout-job old-snapshots-job young-snapshots-job"
	allAudit      = "audit: age-500 age-401 age-400 age-399 age-100 age-0"
	prunedAudit   = "audit: age-400 age-399 age-100 age-0"
)

func TestPruneHistory(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy central.HistoryPolicy
		want   central.PrunedHistory
		left   string
	}{
		{"the default policy, two rows a batch", central.HistoryPolicy{Results: days(90), Audit: days(400), Batch: 2},
			central.PrunedHistory{CollectionResults: 5, RolloutResults: 3, SnapshotFailures: 3, Jobs: 2, Audit: 2, Batches: 3 + 2 + 2 + 1 + 1},
			prunedResults + "\n" + prunedJobs + "\n" + prunedAudit},
		{"the default policy", central.DefaultHistoryPolicy(),
			central.PrunedHistory{CollectionResults: 5, RolloutResults: 3, SnapshotFailures: 3, Jobs: 2, Audit: 2, Batches: 5},
			prunedResults + "\n" + prunedJobs + "\n" + prunedAudit},
		{"results only", central.HistoryPolicy{Results: days(90), Batch: 2},
			central.PrunedHistory{CollectionResults: 5, RolloutResults: 3, SnapshotFailures: 3, Jobs: 2, Batches: 3 + 2 + 2 + 1},
			prunedResults + "\n" + prunedJobs + "\n" + allAudit},
		{"the audit log only", central.HistoryPolicy{Audit: days(400)},
			central.PrunedHistory{Audit: 2, Batches: 1},
			allResults + "\n" + allJobs + "\n" + prunedAudit},
		{"longer than every row", central.HistoryPolicy{Results: days(365), Audit: days(450)},
			central.PrunedHistory{Audit: 1, Batches: 1},
			allResults + "\n" + allJobs + "\naudit: age-401 age-400 age-399 age-100 age-0"},
		{"everything for good", central.HistoryPolicy{},
			central.PrunedHistory{},
			allResults + "\n" + allJobs + "\n" + allAudit},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ctx := context.Background()
			ids := history(t, db, clk)
			if got := left(t, db, ids); got != allResults+"\n"+allJobs+"\n"+allAudit {
				t.Fatalf("the history planted:\n%s", got)
			}
			got, err := db.PruneHistory(ctx, c.policy)
			must(t, err)
			if got != c.want || got.Total() != c.want.CollectionResults+c.want.RolloutResults+c.want.SnapshotFailures+c.want.Jobs+c.want.Audit {
				t.Errorf("pruned %+v, want %+v", got, c.want)
			}
			if g := left(t, db, ids); g != c.left {
				t.Errorf("left:\n%s\nwant:\n%s", g, c.left)
			}
			// The run summaries stay, with their counters.
			for _, runs := range []struct {
				table string
				want  int64
			}{{"collection_runs", 4}, {"migration_runs", 2}, {"snapshot_runs", 2}} {
				if n := count(t, db, `SELECT count(*) FROM `+runs.table); n != runs.want {
					t.Errorf("%s: %d rows, want %d", runs.table, n, runs.want)
				}
			}
			r, err := db.CollectRunByID(ctx, ids["old-collection"])
			must(t, err)
			m, err := db.MigrationRunByID(ctx, ids["old-rollout"])
			must(t, err)
			s, err := db.SnapshotRunByID(ctx, ids["old-snapshots"])
			must(t, err)
			if r.OK != 3 || r.Failed != 2 || m.Migrated != 3 || s.Failed != 3 {
				t.Errorf("summaries changed: collection %+v, rollout %+v, snapshots %+v", r, m, s)
			}
			// Again: nothing more to do.
			again, err := db.PruneHistory(ctx, c.policy)
			must(t, err)
			if again != (central.PrunedHistory{}) {
				t.Errorf("a second pass pruned %+v", again)
			}
		})
	}
}

// A policy shorter than a day is refused, and deletes nothing.
func TestPruneHistoryRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy central.HistoryPolicy
		msg    string
	}{
		{"results for an hour", central.HistoryPolicy{Results: time.Hour, Audit: days(400)}, "Per-tenant results and finished jobs must be kept at least 24h0m0s, not 1h0m0s"},
		{"the audit log a moment less than a day", central.HistoryPolicy{Results: days(90), Audit: central.MinHistoryKeep - time.Second}, "The audit log must be kept at least 24h0m0s"},
		{"a negative batch", central.HistoryPolicy{Results: days(90), Batch: -1}, "A batch of -1 rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ids := history(t, db, clk)
			got, err := db.PruneHistory(context.Background(), c.policy)
			wantCode(t, err, fleet.EINVALID)
			if !strings.Contains(fleet.ErrorMessage(err), c.msg) {
				t.Errorf("refusal %q does not say %q", err, c.msg)
			}
			if l := left(t, db, ids); l != allResults+"\n"+allJobs+"\n"+allAudit || got != (central.PrunedHistory{}) {
				t.Errorf("a refusal pruned %+v:\n%s", got, l)
			}
		})
	}
	// A day is enough.
	db, clk := openDB(t)
	history(t, db, clk)
	_, err := db.PruneHistory(context.Background(), central.HistoryPolicy{Results: central.MinHistoryKeep, Audit: central.MinHistoryKeep})
	must(t, err)
}

// Cancelled, pruning stops before its next batch and says why; the next
// pass does the rest.
func TestPruneHistoryCancelled(t *testing.T) {
	db, clk := openDB(t)
	ids := history(t, db, clk)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := db.PruneHistory(ctx, central.DefaultHistoryPolicy())
	if !errors.Is(err, context.Canceled) || got.Total() != 0 {
		t.Fatalf("pruned %+v, %v; want nothing and context.Canceled", got, err)
	}
	got, err = db.PruneHistory(context.Background(), central.DefaultHistoryPolicy())
	must(t, err)
	if got.Total() != 15 || left(t, db, ids) != prunedResults+"\n"+prunedJobs+"\n"+prunedAudit {
		t.Errorf("the next pass pruned %+v", got)
	}
}

// Each batch commits on its own: a reader sees the history shrink while
// pruning goes on, and cancelled then, pruning keeps what it deleted and
// stops.
func TestPruneHistoryStopsBetweenBatches(t *testing.T) {
	db, clk := openDB(t)
	clk.Set(pruneAt)
	const old = 5000
	_, err := db.SQL().Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO audit_log(at, actor, action, outcome) SELECT '2020-01-01T00:00:00.000Z', 'ada', 'old', 'ok' FROM n`, old)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var n int64
			if err := db.SQL().QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil || n < old {
				cancel()
			}
		}
	}()
	got, err := db.PruneHistory(ctx, central.HistoryPolicy{Audit: days(400), Batch: 10})
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("pruned %+v, %v; want it stopped half-way", got, err)
	}
	if left := count(t, db, `SELECT count(*) FROM audit_log`); got.Audit == 0 || got.Audit >= old || left != old-got.Audit ||
		got.Batches != int(got.Audit/10) {
		t.Errorf("pruned %+v and left %d of %d", got, left, old)
	}
}

// More rows than one batch of the default size take two statements.
func TestPruneHistoryDefaultBatch(t *testing.T) {
	db, clk := openDB(t)
	clk.Set(pruneAt)
	_, err := db.SQL().Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO audit_log(at, actor, action, outcome) SELECT '2020-01-01T00:00:00.000Z', 'ada', 'old', 'ok' FROM n`, central.DefaultHistoryBatch+3)
	must(t, err)
	must(t, db.Audit(context.Background(), fleet.AuditEntry{Actor: "ada", Action: "young"}))
	got, err := db.PruneHistory(context.Background(), central.DefaultHistoryPolicy())
	must(t, err)
	if got != (central.PrunedHistory{Audit: central.DefaultHistoryBatch + 3, Batches: 2}) {
		t.Errorf("pruned %+v", got)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'young'`); n != 1 {
		t.Errorf("%d young entries left", n)
	}
}

func TestHistoryReport(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	ago := func(d time.Duration) string { return pruneAt.Add(-d).Format(time.RFC3339) }
	report := func() string {
		t.Helper()
		r, err := db.HistoryReport(ctx)
		must(t, err)
		pages, size, free := count(t, db, `PRAGMA page_count`), count(t, db, `PRAGMA page_size`), count(t, db, `PRAGMA freelist_count`)
		if r.FileSize != pages*size || r.FileSize == 0 || r.FreeSize != free*size {
			t.Errorf("size %d, free %d; want %d × %d, %d free", r.FileSize, r.FreeSize, pages, size, free)
		}
		var out []string
		for _, h := range r.Tables {
			oldest := "-"
			if !h.Oldest.IsZero() {
				oldest = h.Oldest.Format(time.RFC3339)
			}
			out = append(out, fmt.Sprintf("%s (%s): %d since %s", h.Name, h.Keep, h.Rows, oldest))
		}
		return strings.Join(out, "\n")
	}
	empty := strings.Join([]string{
		"collection_runs (forever): 0 since -", "collection_results (results): 0 since -",
		"migration_runs (forever): 0 since -", "migration_results (results): 0 since -",
		"snapshot_runs (forever): 0 since -", "snapshot_failures (results): 0 since -",
		"jobs (results): 0 since -", "audit_log (audit): 0 since -",
	}, "\n")
	if got := report(); got != empty {
		t.Errorf("an empty history:\n%s\nwant:\n%s", got, empty)
	}
	history(t, db, clk)
	hundred := ago(days(100) + time.Hour)
	planted := strings.Join([]string{
		"collection_runs (forever): 4 since " + ago(days(200)+time.Hour),
		"collection_results (results): 11 since " + ago(days(200)+time.Hour),
		"migration_runs (forever): 2 since " + hundred,
		"migration_results (results): 4 since " + ago(days(100)+30*time.Minute),
		"snapshot_runs (forever): 2 since " + hundred,
		"snapshot_failures (results): 4 since " + hundred,
		"jobs (results): 10 since " + hundred,
		"audit_log (audit): 6 since " + ago(days(500)),
	}, "\n")
	if got := report(); got != planted {
		t.Errorf("the history planted:\n%s\nwant:\n%s", got, planted)
	}
	_, err := db.PruneHistory(ctx, central.HistoryPolicy{Results: days(90), Audit: days(400), Batch: 2})
	must(t, err)
	pruned := strings.Join([]string{
		"collection_runs (forever): 4 since " + ago(days(200)+time.Hour),
		"collection_results (results): 6 since " + ago(days(200)+time.Hour),
		"migration_runs (forever): 2 since " + hundred,
		"migration_results (results): 1 since " + ago(days(10)+30*time.Minute),
		"snapshot_runs (forever): 2 since " + hundred,
		"snapshot_failures (results): 1 since " + ago(days(30)+time.Hour),
		"jobs (results): 8 since " + hundred,
		"audit_log (audit): 4 since " + ago(days(400)),
	}, "\n")
	if got := report(); got != pruned {
		t.Errorf("after pruning:\n%s\nwant:\n%s", got, pruned)
	}
}
