package central_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func queueRollout(t *testing.T, db *central.DB, mode string, tenants ...string) (*fleet.Job, *central.MigrationRun, error) {
	t.Helper()
	j := &fleet.Job{Kind: central.RolloutJob, CreatedBy: "ada"}
	r := &central.MigrationRun{Mode: mode, Target: 3, Parallel: 2, OnError: "stop", Tenants: tenants, Trigger: "web", StartedBy: "ada"}
	return j, r, db.QueueRollout(context.Background(), j, r)
}

// One rollout at a time, across every replica: a second is refused with
// the first's number until the first's job finishes.
func TestQueueRolloutOneAtATime(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if r, err := db.ActiveRollout(ctx); r != nil || err != nil {
		t.Fatalf("active rollout before any: %+v, %v", r, err)
	}
	j, r, err := queueRollout(t, db, central.ModeCanary, "a", "b")
	must(t, err)
	if r.ID == 0 || r.JobID != j.ID || r.State != central.RunQueued || j.Args != fmt.Sprintf(`{"run":%d}`, r.ID) {
		t.Fatalf("queued run %+v, job %+v", r, j)
	}
	stored, err := db.Job(ctx, j.ID)
	must(t, err)
	if stored.Args != j.Args {
		t.Errorf("the job's stored arguments %q, want %q", stored.Args, j.Args)
	}
	_, _, err = queueRollout(t, db, central.ModeFull)
	wantCode(t, err, fleet.ECONFLICT)
	if want := fmt.Sprintf("Rollout %d (canary, started by ada) is still queued", r.ID); !strings.Contains(err.Error(), want) {
		t.Errorf("refusal %q does not say %q", err, want)
	}
	if n := count(t, db, `SELECT count(*) FROM migration_runs`); n != 1 {
		t.Errorf("%d runs after a refusal, want 1", n)
	}
	must(t, db.FinishJob(ctx, j.ID, fleet.JobSucceeded, "Done", ""))
	_, second, err := queueRollout(t, db, central.ModeFull)
	must(t, err)
	got, err := db.MigrationRunByID(ctx, r.ID)
	must(t, err)
	if !slices.Equal(got.Tenants, []string{"a", "b"}) || got.Mode != central.ModeCanary || got.Parallel != 2 {
		t.Errorf("stored run %+v", got)
	}
	if got, _ := db.MigrationRunByID(ctx, second.ID); got.Tenants != nil {
		t.Errorf("a full rollout lists tenants %q", got.Tenants)
	}
	runs, total, err := db.MigrationRuns(ctx, 1, 0)
	must(t, err)
	if total != 2 || len(runs) != 1 || runs[0].ID != second.ID {
		t.Errorf("newest run first: %+v of %d", runs, total)
	}
	_, err = db.MigrationRunByID(ctx, 99)
	wantCode(t, err, fleet.ENOTFOUND)
}

func TestRolloutStartStopFinish(t *testing.T) {
	for _, c := range []struct {
		name    string
		stopped bool
		errMsg  string
		failed  bool // a tenant failed
		want    string
	}{
		{"clean", false, "", false, central.RunSucceeded},
		{"a tenant failed", false, "", true, central.RunFailed},
		{"the run failed", false, "platform down", false, central.RunFailed},
		{"stopped", true, "", true, central.RunStopped},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ctx := context.Background()
			_, r, err := queueRollout(t, db, central.ModeFull)
			must(t, err)
			got, err := db.StartRollout(ctx, r.ID, 5)
			must(t, err)
			if got.State != central.RunRunning || got.Total != 5 || !got.StartedAt.Equal(start) {
				t.Fatalf("started %+v", got)
			}
			clk.Add(time.Hour) // resumed later: the first start stays
			if got, _ := db.StartRollout(ctx, r.ID, 4); !got.StartedAt.Equal(start) || got.Total != 4 {
				t.Errorf("resumed %+v", got)
			}
			if c.failed {
				must(t, db.WriteMigrationResults(ctx, got, []central.MigrationResult{{Tenant: "a", Outcome: central.OutcomeFailed, To: -1}}))
			}
			if c.stopped {
				must(t, db.RequestStop(ctx, r.ID))
				if stop, err := db.StopRequested(ctx, r.ID); err != nil || !stop {
					t.Fatalf("stop requested: %t, %v", stop, err)
				}
			}
			must(t, db.FinishRollout(ctx, r.ID, c.stopped, c.errMsg))
			got, err = db.MigrationRunByID(ctx, r.ID)
			must(t, err)
			if got.State != c.want || got.Error != c.errMsg || !got.FinishedAt.Equal(clk.Now()) || !got.Finished() {
				t.Errorf("finished %+v, want %s", got, c.want)
			}
			wantCode(t, db.RequestStop(ctx, r.ID), fleet.ECONFLICT)
		})
	}
	db, _ := openDB(t)
	wantCode(t, db.RequestStop(context.Background(), 99), fleet.ENOTFOUND)
}

// Results count into the run and mirror into the registry: the version
// each tenant reached and its last migration error, which a dry run
// leaves alone.
func TestWriteMigrationResults(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c", "d"} {
		addTenant(t, db, n, fleet.StatusReady)
	}
	must(t, db.UpdateTenant(ctx, "a", central.TenantUpdate{SchemaVersion: ptr(int64(1))}))
	_, dry, err := queueRollout(t, db, central.ModeDryRun)
	must(t, err)
	must(t, db.WriteMigrationResults(ctx, dry, []central.MigrationResult{{Tenant: "a", Outcome: central.OutcomePending, From: 1, To: 1}}))
	must(t, db.WriteMigrationResults(ctx, dry, nil))
	must(t, db.FinishRollout(ctx, dry.ID, false, ""))
	j, _ := db.Jobs(ctx, central.JobFilter{Limit: 1})
	must(t, db.FinishJob(ctx, j[0].ID, fleet.JobSucceeded, "Done", ""))

	_, run, err := queueRollout(t, db, central.ModeFull)
	must(t, err)
	must(t, db.WriteMigrationResults(ctx, run, []central.MigrationResult{
		{Tenant: "a", Outcome: central.OutcomeMigrated, From: 1, To: 3, Detail: "2 migrations"},
		{Tenant: "b", Outcome: central.OutcomeFailed, From: 0, To: 2, Error: "no such table: carts"},
		{Tenant: "c", Outcome: central.OutcomeFailed, From: 0, To: -1, Error: strings.Repeat("x", 2500)},
		{Tenant: "d", Outcome: central.OutcomeSkipped, From: 3, To: 3},
	}))
	got, err := db.MigrationRunByID(ctx, run.ID)
	must(t, err)
	if got.Migrated != 1 || got.Failed != 2 || got.Skipped != 1 || got.Done() != 4 {
		t.Errorf("counters %+v", got)
	}
	if d, _ := db.MigrationRunByID(ctx, dry.ID); d.Migrated != 1 || !d.DryRun() {
		t.Errorf("dry run counted %+v (pending is what it would migrate)", d)
	}
	vs, err := db.TenantVersions(ctx, 0, false, "", 0)
	must(t, err)
	var rows []string
	for _, v := range vs {
		rows = append(rows, fmt.Sprintf("%s:%d:%d", v.Name, v.Version, len([]rune(v.Error))))
	}
	if g := strings.Join(rows, " "); g != "a:3:0 b:2:20 c:0:2001 d:3:0" {
		t.Errorf("registry versions and error lengths %q", g)
	}
	// A later dry run leaves the errors; a real run clears them.
	must(t, db.FinishRollout(ctx, run.ID, false, ""))
	j, _ = db.Jobs(ctx, central.JobFilter{Limit: 1})
	must(t, db.FinishJob(ctx, j[0].ID, fleet.JobSucceeded, "Done", ""))
	_, dry2, err := queueRollout(t, db, central.ModeDryRun)
	must(t, err)
	must(t, db.WriteMigrationResults(ctx, dry2, []central.MigrationResult{{Tenant: "b", Outcome: central.OutcomePending, From: 2, To: 2}}))
	if n, _ := db.CountMigrationFailed(ctx); n != 2 {
		t.Errorf("%d tenants failed after a dry run, want still 2", n)
	}
	must(t, db.FinishRollout(ctx, dry2.ID, false, ""))
	j, _ = db.Jobs(ctx, central.JobFilter{Limit: 1})
	must(t, db.FinishJob(ctx, j[0].ID, fleet.JobSucceeded, "Done", ""))
	_, retry, err := queueRollout(t, db, central.ModeRetry, "b")
	must(t, err)
	must(t, db.WriteMigrationResults(ctx, retry, []central.MigrationResult{{Tenant: "b", Outcome: central.OutcomeMigrated, From: 2, To: 3}}))
	if n, _ := db.CountMigrationFailed(ctx); n != 1 {
		t.Errorf("%d tenants failed after b's retry, want 1", n)
	}
	hist, err := db.TenantMigrationResults(ctx, "b", 10)
	must(t, err)
	var runs []int64
	for _, h := range hist {
		runs = append(runs, h.RunID)
	}
	if !slices.Equal(runs, []int64{retry.ID, run.ID}) {
		t.Errorf("b's history: runs %v, want %v (newest first, no dry runs)", runs, []int64{retry.ID, run.ID})
	}
}

func TestRolloutCandidates(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		addTenant(t, db, n, fleet.StatusReady)
	}
	must(t, db.UpdateTenant(ctx, "d", central.TenantUpdate{Status: ptr(fleet.StatusMissing)}))
	_, run, err := queueRollout(t, db, central.ModeFull)
	must(t, err)
	must(t, db.WriteMigrationResults(ctx, run, []central.MigrationResult{{Tenant: "b", Outcome: central.OutcomeMigrated, To: 3}}))
	names := func(cs []central.RolloutCandidate, err error) string {
		t.Helper()
		must(t, err)
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+":"+c.Status)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ got, want string }{
		{names(db.RolloutCandidates(ctx, run.ID, "", 10)), "a:ready c:ready e:ready"},
		{names(db.RolloutCandidates(ctx, run.ID, "a", 1)), "c:ready"},
		{names(db.RolloutCandidates(ctx, run.ID+1, "", 10)), "a:ready b:ready c:ready e:ready"},
		{names(db.NamedCandidates(ctx, run.ID, []string{"e", "b", "d", "zz"})), "d:missing e:ready"},
		{names(db.NamedCandidates(ctx, run.ID, nil)), ""},
	} {
		if c.got != c.want {
			t.Errorf("candidates %q, want %q", c.got, c.want)
		}
	}
	for name, want := range map[string]bool{"b": true, "a": false} {
		if v, err := db.Visited(ctx, run.ID, name); err != nil || v != want {
			t.Errorf("visited %s: %t, %v", name, v, err)
		}
	}
	if n, err := db.CountRolloutRemaining(ctx, run.ID); err != nil || n != 3 {
		t.Errorf("%d remaining, %v; want 3", n, err)
	}
}

func TestRolloutReports(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	for i, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		addTenant(t, db, n, fleet.StatusReady)
		must(t, db.UpdateTenant(ctx, n, central.TenantUpdate{SchemaVersion: ptr(int64(i % 3))}))
	}
	addTenant(t, db, "gone", fleet.StatusArchived)
	_, run, err := queueRollout(t, db, central.ModeFull)
	must(t, err)
	var rs []central.MigrationResult
	for _, n := range []string{"h", "g", "f", "e", "d", "c"} { // failed alike, more than five
		rs = append(rs, central.MigrationResult{Tenant: n, Outcome: central.OutcomeFailed, To: -1, Error: "locked"})
	}
	rs = append(rs,
		central.MigrationResult{Tenant: "b", Outcome: central.OutcomeFailed, To: -1, Error: "disk full"},
		central.MigrationResult{Tenant: "a", Outcome: central.OutcomeMigrated, From: 0, To: 3, Detail: "3 migrations"})
	must(t, db.WriteMigrationResults(ctx, run, rs))

	gs, err := db.ResultGroups(ctx, run.ID)
	must(t, err)
	var groups []string
	for _, g := range gs {
		groups = append(groups, fmt.Sprintf("%s/%s/%d/%s", g.Outcome, g.Detail, g.Tenants, strings.Join(g.First, ",")))
	}
	if g := strings.Join(groups, " "); g != "failed/locked/6/c,d,e,f,g failed/disk full/1/b migrated/3 migrations/1/a" {
		t.Errorf("groups %q", g)
	}
	if f, err := db.FailedTenants(ctx, run.ID); err != nil || strings.Join(f, " ") != "b c d e f g h" {
		t.Errorf("failed tenants %q, %v", f, err)
	}
	for _, c := range []struct {
		f    central.ResultFilter
		want string
	}{
		{central.ResultFilter{}, "a b c d e f g h"},
		{central.ResultFilter{Outcome: central.OutcomeMigrated}, "a"},
		{central.ResultFilter{Outcome: central.OutcomeFailed, After: "c", Limit: 2}, "d e"},
	} {
		rs, err := db.MigrationResults(ctx, run.ID, c.f)
		must(t, err)
		var got []string
		for _, r := range rs {
			got = append(got, r.Tenant)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("results %+v: %q, want %q", c.f, g, c.want)
		}
	}

	vs, err := db.SchemaVersions(ctx)
	must(t, err)
	if want := []central.VersionCount{{Version: 0, Tenants: 2}, {Version: 1, Tenants: 3}, {Version: 2, Tenants: 2}, {Version: 3, Tenants: 1}}; !slices.Equal(vs, want) {
		t.Errorf("versions %+v, want %+v (ready tenants only)", vs, want)
	}
	for _, c := range []struct {
		latest int64
		failed bool
		after  string
		limit  int
		want   string
	}{
		{0, false, "", 0, "a b c d e f g h"},
		{2, false, "", 0, "b d e g h"},
		{0, true, "", 0, "b c d e f g h"},
		{2, true, "d", 2, "e g"},
	} {
		vs, err := db.TenantVersions(ctx, c.latest, c.failed, c.after, c.limit)
		must(t, err)
		var got []string
		for _, v := range vs {
			got = append(got, v.Name)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("TenantVersions(%d, %t, %q, %d) = %q, want %q", c.latest, c.failed, c.after, c.limit, g, c.want)
		}
	}
}
