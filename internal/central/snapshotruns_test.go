package central_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func queueSnapshots(t *testing.T, db *central.DB, tenant string) (*fleet.Job, *fleet.SnapshotRun, error) {
	t.Helper()
	j := &fleet.Job{Kind: "ignored", Args: `{"trigger":"schedule"}`, CreatedBy: "ada"}
	r := &fleet.SnapshotRun{Tenant: tenant}
	return j, r, db.QueueSnapshotRun(context.Background(), j, r)
}

// One run of the fleet and one of each tenant at a time, across every
// replica: a second of the same scope is refused with the first's number,
// and queues nothing.
func TestQueueSnapshotRun(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	fleetJob, fleetRun, err := queueSnapshots(t, db, "")
	must(t, err)
	if fleetRun.ID == 0 || fleetRun.JobID != fleetJob.ID || fleetRun.State != central.RunQueued || !fleetRun.StartedAt.Equal(start) ||
		fleetJob.Kind != central.SnapshotJob || fleetJob.Tenant != "" {
		t.Fatalf("queued run %+v, job %+v", fleetRun, fleetJob)
	}
	stored, err := db.Job(ctx, fleetJob.ID)
	must(t, err)
	if stored.Kind != central.SnapshotJob || stored.Args != `{"trigger":"schedule"}` || stored.State != fleet.JobQueued {
		t.Errorf("stored job %+v", stored)
	}
	acmeJob, acmeRun, err := queueSnapshots(t, db, "acme")
	must(t, err)
	if acmeJob.Tenant != "acme" || acmeRun.Tenant != "acme" {
		t.Errorf("a tenant's run %+v, job %+v", acmeRun, acmeJob)
	}
	for _, c := range []struct {
		name, tenant, code, msg string
	}{
		{"the fleet again", "", fleet.ECONFLICT, fmt.Sprintf("A snapshot run of the fleet is already queued or running (run %d)", fleetRun.ID)},
		{"the tenant again", "acme", fleet.ECONFLICT, fmt.Sprintf("A snapshot run of acme is already queued or running (run %d)", acmeRun.ID)},
		{"a name that is not one", "Acme!", fleet.EINVALID, `Tenant name "Acme!" is invalid`},
	} {
		t.Run(c.name, func(t *testing.T) {
			jobs, runs := count(t, db, `SELECT count(*) FROM jobs`), count(t, db, `SELECT count(*) FROM snapshot_runs`)
			_, _, err := queueSnapshots(t, db, c.tenant)
			wantCode(t, err, c.code)
			if !strings.Contains(fleet.ErrorMessage(err), c.msg) {
				t.Errorf("refusal %q does not say %q", err, c.msg)
			}
			if j, r := count(t, db, `SELECT count(*) FROM jobs`), count(t, db, `SELECT count(*) FROM snapshot_runs`); j != jobs || r != runs {
				t.Errorf("a refusal wrote: %d jobs, %d runs; was %d, %d", j, r, jobs, runs)
			}
		})
	}
	// The fleet's job running still holds its place; once finished, the
	// next may be queued.
	_, err = db.ClaimJob(ctx, fleetJob.ID, "me", time.Minute, nil)
	must(t, err)
	_, _, err = queueSnapshots(t, db, "")
	wantCode(t, err, fleet.ECONFLICT)
	must(t, db.FinishJob(ctx, fleetJob.ID, fleet.JobSucceeded, "Done", ""))
	_, next, err := queueSnapshots(t, db, "")
	must(t, err)
	if next.ID == fleetRun.ID {
		t.Errorf("the next run reuses %d", next.ID)
	}
}

// A job's run continues the row its job was queued with; an attempt that
// resumes after a crash starts it over, its counters and failures reset.
func TestStartSnapshotRun(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	j, queued, err := queueSnapshots(t, db, "acme")
	must(t, err)

	clk.Add(time.Minute)
	r := &fleet.SnapshotRun{JobID: j.ID}
	must(t, db.StartSnapshotRun(ctx, r))
	if r.ID != queued.ID || r.Tenant != "acme" || r.State != central.RunRunning || !r.StartedAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("started %+v, queued as %+v", r, queued)
	}
	r.Tenants, r.Snapshotted, r.Failed = 1, 0, 1
	must(t, db.SnapshotRunProgress(ctx, r))
	must(t, db.RecordSnapshotFailures(ctx, r.ID, []fleet.TenantError{{Tenant: "acme", Error: "disk full"}}))

	// The process dies; the job's next attempt resumes the same run.
	clk.Add(time.Hour)
	again := &fleet.SnapshotRun{JobID: j.ID, Tenant: "ignored", Snapshotted: 5}
	must(t, db.StartSnapshotRun(ctx, again))
	got, err := db.SnapshotRunByID(ctx, r.ID)
	must(t, err)
	if again.ID != r.ID || again.Tenant != "acme" || again.Snapshotted != 0 ||
		got.State != central.RunRunning || got.Tenants != 0 || got.Failed != 0 || len(got.Errors) != 0 ||
		!got.StartedAt.Equal(start.Add(61*time.Minute)) || got.Errors == nil {
		t.Errorf("resumed %+v, stored %+v", again, got)
	}

	for _, c := range []struct {
		name string
		run  fleet.SnapshotRun
		code string
	}{
		{"without a job", fleet.SnapshotRun{}, ""},
		{"of one tenant, without a job", fleet.SnapshotRun{Tenant: "beta"}, ""},
		{"of a job queued some other way", fleet.SnapshotRun{JobID: 4242}, ""},
		{"a name that is not one", fleet.SnapshotRun{Tenant: "-x"}, fleet.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := count(t, db, `SELECT count(*) FROM snapshot_runs`)
			r := c.run
			err := db.StartSnapshotRun(ctx, &r)
			wantCode(t, err, c.code)
			if err != nil {
				if n := count(t, db, `SELECT count(*) FROM snapshot_runs`); n != runs {
					t.Errorf("a refusal wrote a run: %d, was %d", n, runs)
				}
				return
			}
			got, err := db.SnapshotRunByID(ctx, r.ID)
			must(t, err)
			if r.ID == queued.ID || got.JobID != c.run.JobID || got.Tenant != c.run.Tenant || got.State != central.RunRunning ||
				!got.StartedAt.Equal(clk.Now()) {
				t.Errorf("new run %+v", got)
			}
		})
	}
}

func TestFinishSnapshotRun(t *testing.T) {
	for _, c := range []struct {
		name string
		run  fleet.SnapshotRun
		want string
	}{
		{"clean", fleet.SnapshotRun{Tenants: 10, Snapshotted: 3, Unchanged: 7, Pruned: 2}, central.RunSucceeded},
		{"a tenant failed", fleet.SnapshotRun{Tenants: 10, Snapshotted: 3, Unchanged: 6, Failed: 1}, central.RunFailed},
		{"the run failed", fleet.SnapshotRun{Tenants: 2, Error: "central database unavailable"}, central.RunFailed},
		{"a long error", fleet.SnapshotRun{Error: strings.Repeat("e", 2500)}, central.RunFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ctx := context.Background()
			r := &fleet.SnapshotRun{}
			must(t, db.StartSnapshotRun(ctx, r))
			clk.Add(time.Minute)
			fin := c.run
			fin.ID = r.ID
			must(t, db.FinishSnapshotRun(ctx, &fin))
			got, err := db.SnapshotRunByID(ctx, r.ID)
			must(t, err)
			if got.State != c.want || fin.State != c.want || !got.FinishedAt.Equal(clk.Now()) || !fin.FinishedAt.Equal(got.FinishedAt) ||
				got.Tenants != c.run.Tenants || got.Snapshotted != c.run.Snapshotted || got.Unchanged != c.run.Unchanged ||
				got.Failed != c.run.Failed || got.Pruned != c.run.Pruned || got.Error != fleet.Truncate(c.run.Error, 2000) || fin.Error != got.Error {
				t.Errorf("finished %+v (returned %+v), want %s", got, fin, c.want)
			}
			// A finished run keeps its record.
			clk.Add(time.Minute)
			again := fleet.SnapshotRun{ID: r.ID, Tenants: 99}
			err = db.FinishSnapshotRun(ctx, &again)
			wantCode(t, err, fleet.ECONFLICT)
			if !strings.Contains(err.Error(), "has already finished ("+c.want+")") {
				t.Errorf("refusal %q", err)
			}
			wantCode(t, db.SnapshotRunProgress(ctx, &again), fleet.ECONFLICT)
			if after, _ := db.SnapshotRunByID(ctx, r.ID); after.Tenants != c.run.Tenants || !after.FinishedAt.Equal(got.FinishedAt) {
				t.Errorf("a refusal changed the run to %+v", after)
			}
		})
	}
	db, _ := openDB(t)
	ctx := context.Background()
	wantCode(t, db.FinishSnapshotRun(ctx, &fleet.SnapshotRun{ID: 7}), fleet.ENOTFOUND)
	wantCode(t, db.SnapshotRunProgress(ctx, &fleet.SnapshotRun{ID: 7}), fleet.ENOTFOUND)
	// A queued run may end without starting (its job gave up).
	_, r, err := queueSnapshots(t, db, "")
	must(t, err)
	r.Error = "gave up"
	must(t, db.FinishSnapshotRun(ctx, r))
	wantCode(t, db.SnapshotRunProgress(ctx, r), fleet.ECONFLICT)
}

// A run keeps its first failures, in the order they came, and a tenant's
// first error.
func TestRecordSnapshotFailures(t *testing.T) {
	errs := func(from, to int, msg string) []fleet.TenantError {
		var out []fleet.TenantError
		for i := from; i < to; i++ {
			out = append(out, fleet.TenantError{Tenant: fmt.Sprintf("t%03d", i), Error: msg})
		}
		return out
	}
	for _, c := range []struct {
		name    string
		batches [][]fleet.TenantError
		want    int    // failures kept
		first   string // the first kept, tenant: error
		last    string
	}{
		{"a few", [][]fleet.TenantError{errs(0, 3, "locked")}, 3, "t000: locked", "t002: locked"},
		{"in the order they came", [][]fleet.TenantError{errs(5, 6, "a"), errs(1, 2, "b")}, 2, "t005: a", "t001: b"},
		{"a tenant twice", [][]fleet.TenantError{errs(0, 2, "first"), errs(1, 3, "second")}, 3, "t000: first", "t002: second"},
		{"more than are kept", [][]fleet.TenantError{errs(0, 60, "x"), errs(60, 150, "y")}, central.MaxSnapshotRunErrors, "t000: x", "t099: y"},
		{"none", [][]fleet.TenantError{nil}, 0, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := openDB(t)
			ctx := context.Background()
			r := &fleet.SnapshotRun{}
			must(t, db.StartSnapshotRun(ctx, r))
			for _, b := range c.batches {
				must(t, db.RecordSnapshotFailures(ctx, r.ID, b))
			}
			got, err := db.SnapshotRunByID(ctx, r.ID)
			must(t, err)
			if len(got.Errors) != c.want {
				t.Fatalf("%d failures kept, want %d", len(got.Errors), c.want)
			}
			if c.want == 0 {
				return
			}
			f, l := got.Errors[0], got.Errors[len(got.Errors)-1]
			if g := f.Tenant + ": " + f.Error; g != c.first {
				t.Errorf("first %q, want %q", g, c.first)
			}
			if g := l.Tenant + ": " + l.Error; g != c.last {
				t.Errorf("last %q, want %q", g, c.last)
			}
		})
	}
	db, _ := openDB(t)
	err := db.RecordSnapshotFailures(context.Background(), 12, errs(0, 1, "x"))
	wantCode(t, err, fleet.ENOTFOUND)
	if n := count(t, db, `SELECT count(*) FROM snapshot_failures`); n != 0 {
		t.Errorf("a refusal wrote %d failures", n)
	}
}

func TestSnapshotRuns(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	var ids []int64
	for i := range 3 {
		clk.Add(time.Hour)
		j, r, err := queueSnapshots(t, db, fmt.Sprintf("t%d", i))
		must(t, err)
		must(t, db.RecordSnapshotFailures(ctx, r.ID, []fleet.TenantError{{Tenant: r.Tenant, Error: "boom"}}))
		ids = append(ids, r.ID)
		got, err := db.SnapshotRunByJob(ctx, j.ID)
		must(t, err)
		if got.ID != r.ID || len(got.Errors) != 1 || got.Errors[0].Tenant != r.Tenant {
			t.Errorf("run of job %d: %+v", j.ID, got)
		}
	}
	for _, c := range []struct {
		limit, offset int
		want          []int64
	}{
		{10, 0, []int64{ids[2], ids[1], ids[0]}},
		{2, 0, []int64{ids[2], ids[1]}},
		{2, 2, []int64{ids[0]}},
		{2, 4, nil},
	} {
		runs, total, err := db.SnapshotRuns(ctx, c.limit, c.offset)
		must(t, err)
		var got []int64
		for _, r := range runs {
			got = append(got, r.ID)
			if r.Errors != nil {
				t.Errorf("a listed run carries its failures: %+v", r)
			}
		}
		if total != 3 || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("limit %d offset %d: %v of %d, want %v of 3", c.limit, c.offset, got, total, c.want)
		}
	}
	_, err := db.SnapshotRunByJob(ctx, 999)
	wantCode(t, err, fleet.ENOTFOUND)
	_, err = db.SnapshotRunByID(ctx, 999)
	wantCode(t, err, fleet.ENOTFOUND)
}
