package api_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/platform/turso"
	"github.com/tenantry/tenantry/internal/platform/turso/tursotest"
)

// newSnapEnv is newEnv on a local platform that fingerprints a tenant
// as soon as it was written: the tests write and snapshot within a
// second, and a tenant written within the settle time counts as changed.
func newSnapEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, func(dir string, _ *central.DB) platform.Platform {
		p, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		p.Settle = 0
		return p
	}, nil)
}

// order adds an order to a tenant through the API.
func (e *env) order(name string) {
	e.t.Helper()
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenant": name, "sql": "INSERT INTO orders(total_amount) VALUES (100)", "write": true}).
		want(e.t, http.StatusOK)
}

// orders counts a tenant's orders through the API.
func (e *env) orders(name string) int {
	e.t.Helper()
	var r api.QueryResult
	e.call(e.viewer, "POST", "/api/v1/query", obj{"tenant": name, "sql": "SELECT count(*) AS n FROM orders"}).want(e.t, http.StatusOK).json(e.t, &r)
	return int(r.Rows[0][0].(float64))
}

// takeSnapshots runs a snapshot run to its end through the API and
// returns it finished, with its failed tenants.
func (e *env) takeSnapshots(body any) fleet.SnapshotRun {
	e.t.Helper()
	var run fleet.SnapshotRun
	r := e.call(e.admin, "POST", "/api/v1/snapshots?wait=30s", body)
	r.json(e.t, &run)
	if r.status == http.StatusAccepted {
		e.awaitJob(run.JobID)
		e.call(e.viewer, "GET", r.header.Get("Location"), nil).want(e.t, http.StatusOK).json(e.t, &run)
	} else {
		r.want(e.t, http.StatusOK)
	}
	// A run that failed on some tenant is failed, and goes on with the
	// others; one that failed itself has an error.
	if run.FinishedAt.IsZero() || run.Error != "" || (run.State == fleet.RunFailed) != (run.Failed > 0) {
		e.t.Fatalf("snapshot run %+v", run)
	}
	return run
}

// holdRun records a snapshot run of tenant ("" the fleet) that another
// console replica is running, its job leased for an hour; the returned
// func finishes it.
func (e *env) holdRun(tenant string) (int64, func()) {
	e.t.Helper()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	until := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	tx, err := e.db.SQL().Begin()
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback()
	res, err := tx.Exec(`INSERT INTO jobs(kind, tenant, args, state, step, created_by, created_at, started_at, lease_owner, lease_until, attempts)
		VALUES(?, ?, '{}', 'running', 'Snapshotting the fleet', 'schedule', ?, ?, 'elsewhere:1:x', ?, 1)`, backups.JobKind, tenant, now, now, until)
	if err != nil {
		e.t.Fatal(err)
	}
	job, _ := res.LastInsertId()
	if res, err = tx.Exec(`INSERT INTO snapshot_runs(job_id, tenant, state, started_at) VALUES(?, ?, 'running', ?)`, job, tenant, now); err != nil {
		e.t.Fatal(err)
	}
	run, _ := res.LastInsertId()
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
	return run, func() {
		if _, err := e.db.SQL().Exec(`UPDATE jobs SET state = 'failed', finished_at = ? WHERE id = ?`, now, job); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.db.SQL().Exec(`UPDATE snapshot_runs SET state = 'failed', finished_at = ? WHERE id = ?`, now, run); err != nil {
			e.t.Fatal(err)
		}
	}
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestSnapshotsAPI: runs of the fleet and of one tenant, queued and
// waited for, their refusals, and listing runs and snapshots.
func TestSnapshotsAPI(t *testing.T) {
	e := newSnapEnv(t)
	e.tenants("acme", "beta", "gamma")
	t0 := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	e.clock.Set(t0)
	e.order("acme")

	e.call(e.viewer, "POST", "/api/v1/snapshots", obj{}).want(t, http.StatusForbidden).problem(t)
	for _, c := range []struct {
		body   any
		header []string
		path   string
		status int
		want   string
	}{
		{`{"tenant": "Bad_Name"}`, nil, "", 422, "name"},
		{`{"tenants": "acme"}`, nil, "", 422, `unknown field "tenants"`},
		{`{"tenant": 3}`, nil, "", 422, "must be string"},
		{`{"tenant": `, nil, "", 422, "JSON"},
		{`{"tenant": "nope"}`, nil, "", 404, "nope"},
		{"tenant=acme", []string{"Content-Type", "application/x-www-form-urlencoded"}, "", 415, "application/json"},
		{nil, nil, "?wait=5m", 400, "wait"},
	} {
		p := e.call(e.admin, "POST", "/api/v1/snapshots"+c.path, c.body, c.header...).want(t, c.status).problem(t)
		if !strings.Contains(p.Detail, c.want) {
			t.Errorf("%v: problem %+v, want %q", c.body, p, c.want)
		}
	}

	// Another replica's run of the fleet: a second one is a conflict
	// naming it, and nothing is queued.
	held, release := e.holdRun("")
	p := e.call(e.admin, "POST", "/api/v1/snapshots", nil).want(t, http.StatusConflict).problem(t)
	if !strings.Contains(p.Detail, fmt.Sprintf("run %d", held)) {
		t.Errorf("conflict says %q, want run %d", p.Detail, held)
	}
	release()

	// Queued without a body (the fleet), then waited for.
	r := e.call(e.admin, "POST", "/api/v1/snapshots", nil).want(t, http.StatusAccepted)
	var run fleet.SnapshotRun
	r.json(t, &run)
	if run.ID == 0 || run.JobID == 0 || run.Tenant != "" || run.State != fleet.RunQueued || run.Errors == nil ||
		r.header.Get("Location") != fmt.Sprintf("/api/v1/snapshots/runs/%d", run.ID) {
		t.Fatalf("queued %+v, Location %q", run, r.header.Get("Location"))
	}
	if j := e.awaitJob(run.JobID); j.State != fleet.JobSucceeded || j.Kind != backups.JobKind {
		t.Fatalf("snapshot job %+v", j)
	}
	e.call(e.viewer, "GET", r.header.Get("Location"), nil).want(t, http.StatusOK).json(t, &run)
	if run.State != fleet.RunSucceeded || run.Tenants != 3 || run.Snapshotted != 3 || run.Failed != 0 || len(run.Errors) != 0 || run.FinishedAt.IsZero() {
		t.Fatalf("first run %+v", run)
	}
	// Waited for: nothing changed, nothing copied.
	if again := e.takeSnapshots(obj{}); again.Tenants != 3 || again.Unchanged != 3 || again.Snapshotted != 0 {
		t.Fatalf("second run %+v", again)
	}

	// An hour on: acme changed and gamma's database broke.
	e.clock.Set(t0.Add(time.Hour))
	e.order("acme")
	e.breakTenant("gamma")
	third := e.takeSnapshots(nil)
	if third.Tenants != 3 || third.Snapshotted != 1 || third.Unchanged != 1 || third.Failed != 1 || len(third.Errors) != 1 || third.Errors[0].Tenant != "gamma" {
		t.Fatalf("third run %+v", third)
	}
	one := e.takeSnapshots(obj{"tenant": "acme"})
	if one.Tenant != "acme" || one.Tenants != 1 || one.Unchanged != 1 {
		t.Fatalf("acme's run %+v", one)
	}

	// Runs, newest first, a page at a time.
	var page api.SnapshotRunPage
	e.call(e.viewer, "GET", "/api/v1/snapshots/runs?limit=2", nil).want(t, http.StatusOK).json(t, &page)
	if page.Total != 5 || len(page.Runs) != 2 || page.Runs[0].ID != one.ID || page.Runs[1].ID != third.ID || page.Runs[1].Failed != 1 {
		t.Fatalf("runs page 1 = %+v", page)
	}
	e.call(e.viewer, "GET", "/api/v1/snapshots/runs?limit=2&offset=4", nil).want(t, http.StatusOK).json(t, &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != held {
		t.Fatalf("runs page 3 = %+v", page)
	}
	for _, bad := range []string{"runs?limit=0", "runs?limit=1001", "runs?offset=-1", "runs?offset=x"} {
		e.call(e.viewer, "GET", "/api/v1/snapshots/"+bad, nil).want(t, http.StatusBadRequest).problem(t)
	}
	e.call(e.viewer, "GET", "/api/v1/snapshots/runs/99999", nil).want(t, http.StatusNotFound).problem(t)
	e.call(e.viewer, "GET", "/api/v1/snapshots/runs/nope", nil).want(t, http.StatusNotFound).problem(t)

	// A tenant's snapshots, newest first, and those a restore at a time
	// could use.
	var list api.SnapshotList
	e.call(e.viewer, "GET", "/api/v1/tenants/acme/snapshots", nil).want(t, http.StatusOK).json(t, &list)
	if len(list.Snapshots) != 2 || !list.Snapshots[0].TakenAt.Equal(t0.Add(time.Hour)) || !list.Snapshots[1].TakenAt.Equal(t0) ||
		list.Snapshots[0].SHA256 == "" || list.Snapshots[0].Size == 0 || list.Snapshots[0].RunID != third.ID {
		t.Fatalf("acme's snapshots = %+v", list)
	}
	e.call(e.viewer, "GET", "/api/v1/tenants/acme/snapshots?limit=1", nil).want(t, http.StatusOK).json(t, &list)
	if len(list.Snapshots) != 1 || !list.Snapshots[0].TakenAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("limit=1: %+v", list)
	}
	e.call(e.viewer, "GET", "/api/v1/tenants/acme/snapshots?at="+rfc(t0.Add(30*time.Minute)), nil).want(t, http.StatusOK).json(t, &list)
	if len(list.Snapshots) != 1 || !list.Snapshots[0].TakenAt.Equal(t0) {
		t.Fatalf("at t0+30m: %+v", list)
	}
	e.call(e.viewer, "GET", "/api/v1/tenants/acme/snapshots?limit=1&at="+rfc(t0.Add(time.Hour)), nil).want(t, http.StatusOK).json(t, &list)
	if len(list.Snapshots) != 1 || !list.Snapshots[0].TakenAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("at t0+1h: %+v", list)
	}
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"acme/snapshots?at=" + rfc(t0.Add(-time.Minute)), 404, "the oldest is from " + rfc(t0)},
		{"acme/snapshots?at=" + rfc(t0.Add(2*time.Hour)), 400, "future"},
		{"acme/snapshots?at=yesterday", 400, "RFC 3339"},
		{"acme/snapshots?limit=0", 400, "limit"},
		{"nope/snapshots", 404, "not found"},
		{"Bad_Name/snapshots", 400, "name"},
	} {
		if p := e.call(e.viewer, "GET", "/api/v1/tenants/"+c.path, nil).want(t, c.status).problem(t); !strings.Contains(p.Detail, c.want) {
			t.Errorf("%s: problem %+v, want %q", c.path, p, c.want)
		}
	}
	// A tenant without snapshots has an empty list.
	e.tenants("delta")
	e.call(e.viewer, "GET", "/api/v1/tenants/delta/snapshots", nil).want(t, http.StatusOK).json(t, &list)
	if len(list.Snapshots) != 0 || list.Snapshots == nil {
		t.Fatalf("delta's snapshots = %+v", list)
	}

	// The newest of every tenant, in name order, a page at a time.
	var names []string
	path := "/api/v1/snapshots?limit=2"
	for {
		var sp api.SnapshotPage
		e.call(e.viewer, "GET", path, nil).want(t, http.StatusOK).json(t, &sp)
		for _, s := range sp.Snapshots {
			names = append(names, s.Tenant+"@"+rfc(s.TakenAt))
		}
		if sp.NextCursor == nil {
			break
		}
		path = "/api/v1/snapshots?limit=2&cursor=" + *sp.NextCursor
	}
	if want := "acme@" + rfc(t0.Add(time.Hour)) + ",beta@" + rfc(t0) + ",gamma@" + rfc(t0); strings.Join(names, ",") != want {
		t.Fatalf("newest snapshots %v, want %s", names, want)
	}
	e.call(e.viewer, "GET", "/api/v1/snapshots?cursor=!!", nil).want(t, http.StatusBadRequest).problem(t)
}

// TestRollbackAPI: a live tenant rolled back to a time between two
// snapshots gets the older one; the database it replaced is kept, so the
// rollback is itself undone the same way; the refusals of bad times; and
// the call without a body still brings an archived tenant back.
func TestRollbackAPI(t *testing.T) {
	e := newSnapEnv(t)
	e.tenants("acme", "beta")
	t0 := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	e.clock.Set(t0)
	e.order("acme")
	e.takeSnapshots(nil) // acme: 1 order
	e.clock.Set(t0.Add(time.Hour))
	e.order("acme")
	e.takeSnapshots(nil) // acme: 2 orders
	e.clock.Set(t0.Add(2 * time.Hour))
	e.order("acme") // 3 orders, in no snapshot

	restore := "/api/v1/tenants/acme/restore"
	e.call(e.viewer, "POST", restore, obj{"at": rfc(t0)}).want(t, http.StatusForbidden).problem(t)
	for _, c := range []struct {
		path   string
		body   any
		status int
		want   string
	}{
		{restore, obj{"at": "yesterday"}, 422, "RFC 3339"},
		{restore, obj{"at": rfc(t0.Add(3 * time.Hour))}, 422, "future"},
		{restore, obj{"when": rfc(t0)}, 422, `unknown field "when"`},
		{restore, `{"at": `, 422, "JSON"},
		{restore, obj{"at": rfc(t0.Add(-time.Minute))}, 404, "the oldest is from " + rfc(t0)},
		{restore + "?wait=forever", obj{"at": rfc(t0)}, 400, "wait"},
		{"/api/v1/tenants/nope/restore", obj{"at": rfc(t0)}, 404, "not found"},
		{"/api/v1/tenants/Bad_Name/restore", obj{"at": rfc(t0)}, 400, "name"},
	} {
		if p := e.call(e.admin, "POST", c.path, c.body).want(t, c.status).problem(t); !strings.Contains(p.Detail, c.want) {
			t.Errorf("%s %v: problem %+v, want %q", c.path, c.body, p, c.want)
		}
	}
	if n := e.orders("acme"); n != 3 {
		t.Fatalf("the refusals changed acme: %d orders", n)
	}

	// Between the two snapshots: the older one, queued as a job.
	r := e.call(e.admin, "POST", restore, obj{"at": rfc(t0.Add(30 * time.Minute))}).want(t, http.StatusAccepted)
	var j fleet.Job
	r.json(t, &j)
	if j.Kind != fleet.JobRollback || j.Tenant != "acme" || r.header.Get("Location") != fmt.Sprintf("/api/v1/jobs/%d", j.ID) {
		t.Fatalf("rollback job %+v, Location %q", j, r.header.Get("Location"))
	}
	if j = e.awaitJob(j.ID); j.State != fleet.JobSucceeded {
		t.Fatalf("rollback %+v", j)
	}
	if n := e.orders("acme"); n != 1 {
		t.Fatalf("after the rollback to t0+30m acme has %d orders, want 1", n)
	}
	// The database it replaced was kept: rolled back to now, waiting.
	var tn fleet.Tenant
	e.call(e.admin, "POST", restore+"?wait=30s", obj{"at": rfc(t0.Add(2 * time.Hour))}).want(t, http.StatusOK).json(t, &tn)
	if tn.Name != "acme" || tn.Status != fleet.StatusReady {
		t.Fatalf("rolled back %+v", tn)
	}
	if n := e.orders("acme"); n != 3 {
		t.Fatalf("after undoing the rollback acme has %d orders, want 3", n)
	}

	// Without a body, or without at: the archived tenant comes back; a
	// live one is not archived.
	e.call(e.admin, "POST", restore, nil).want(t, http.StatusConflict).problem(t)
	e.call(e.admin, "POST", restore, obj{}).want(t, http.StatusConflict).problem(t)
	e.call(e.admin, "DELETE", "/api/v1/tenants/beta?wait=30s", nil).want(t, http.StatusOK)
	e.call(e.admin, "POST", "/api/v1/tenants/beta/restore?wait=30s", nil).want(t, http.StatusOK).json(t, &tn)
	if tn.Status != fleet.StatusReady {
		t.Fatalf("restored %+v", tn)
	}
}

// TestBranchAtAPI: on the local platform a branch at a time is made from
// the newest snapshot at or before it, and says so: its branched_at is
// that snapshot's time.
func TestBranchAtAPI(t *testing.T) {
	e := newSnapEnv(t)
	e.tenants("acme")
	t0 := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	e.clock.Set(t0)
	e.order("acme")
	e.takeSnapshots(nil)
	e.clock.Set(t0.Add(time.Hour))
	e.order("acme")
	e.takeSnapshots(nil)
	e.clock.Set(t0.Add(2 * time.Hour))
	e.order("acme")

	var tn fleet.Tenant
	e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", obj{"name": "acme-then", "from": "acme", "at": rfc(t0.Add(90 * time.Minute))}).
		want(t, http.StatusCreated).json(t, &tn)
	if tn.Parent != "acme" || !tn.BranchedAt.Equal(t0.Add(time.Hour)) || tn.Status != fleet.StatusReady {
		t.Fatalf("branch %+v, want branched at %s", tn, t0.Add(time.Hour))
	}
	if n := e.orders("acme-then"); n != 2 {
		t.Fatalf("the branch has %d orders, want the snapshot's 2", n)
	}
	for _, c := range []struct {
		name, at string
		status   int
		want     string
	}{
		{"b1", rfc(t0.Add(-time.Minute)), 404, "the oldest is from " + rfc(t0)},
		{"b2", rfc(t0.Add(3 * time.Hour)), 422, "future"},
	} {
		p := e.call(e.admin, "POST", "/api/v1/tenants", obj{"name": c.name, "from": "acme", "at": c.at}).want(t, c.status).problem(t)
		if !strings.Contains(p.Detail, c.want) {
			t.Errorf("branch at %s: problem %+v, want %q", c.at, p, c.want)
		}
		e.call(e.admin, "GET", "/api/v1/tenants/"+c.name, nil).want(t, http.StatusNotFound)
	}
}

// TestVerifyAndBackupsAPI: the restore drill over the API (a snapshot
// whose bytes changed is reported, the rest pass and are marked
// verified), its refusals, and the Backups status.
func TestVerifyAndBackupsAPI(t *testing.T) {
	e := newSnapEnv(t)
	e.tenants("acme", "beta", "gamma")
	e.order("acme")
	e.takeSnapshots(nil)
	e.breakTenant("gamma")
	e.order("acme")
	e.takeSnapshots(nil) // gamma fails

	e.call(e.viewer, "POST", "/api/v1/snapshots/verify", obj{}).want(t, http.StatusForbidden).problem(t)
	for _, c := range []struct {
		body   any
		status int
		want   string
	}{
		{obj{"sample": -1}, 422, `"sample" must be from 1 to 1000 snapshots, or 0`},
		{obj{"sample": 1001}, 422, `"sample" must be from 1 to 1000 snapshots, or 0`},
		{obj{"sample": "all"}, 422, "must be int"},
		{obj{"tenant": "Bad_Name"}, 422, "name"},
		{obj{"tenants": "acme"}, 422, `unknown field "tenants"`},
		{obj{"tenant": "nope"}, 404, "no snapshot"},
	} {
		if p := e.call(e.admin, "POST", "/api/v1/snapshots/verify", c.body).want(t, c.status).problem(t); !strings.Contains(p.Detail, c.want) {
			t.Errorf("%v: problem %+v, want %q", c.body, p, c.want)
		}
	}

	var rep api.DrillReport
	e.call(e.admin, "POST", "/api/v1/snapshots/verify", obj{"tenant": "acme"}).want(t, http.StatusOK).json(t, &rep)
	if len(rep.Drills) != 1 || rep.Failed != 0 || rep.Drills[0].Snapshot.Tenant != "acme" || rep.Drills[0].Tables["orders"] != 2 || rep.Drills[0].Error != "" {
		t.Fatalf("acme's drill = %+v", rep)
	}
	var list api.SnapshotList
	e.call(e.viewer, "GET", "/api/v1/tenants/acme/snapshots?limit=1", nil).want(t, http.StatusOK).json(t, &list)
	if list.Snapshots[0].VerifiedAt.IsZero() {
		t.Fatalf("the drilled snapshot is not marked verified: %+v", list.Snapshots[0])
	}

	// beta's snapshot no longer matches its checksum.
	e.call(e.viewer, "GET", "/api/v1/tenants/beta/snapshots?limit=1", nil).want(t, http.StatusOK).json(t, &list)
	if err := os.WriteFile(filepath.Join(e.dir, "snapshots", filepath.FromSlash(list.Snapshots[0].Key)), []byte("not zstd"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Without a body: a sample of 10, here every tenant with a snapshot.
	e.call(e.admin, "POST", "/api/v1/snapshots/verify", nil).want(t, http.StatusOK).json(t, &rep)
	got := map[string]string{}
	for _, d := range rep.Drills {
		got[d.Snapshot.Tenant] = d.Error
	}
	if len(rep.Drills) != 3 || rep.Failed != 1 || got["beta"] == "" || got["acme"] != "" || got["gamma"] != "" {
		t.Fatalf("fleet drill = %+v", rep)
	}
	e.call(e.admin, "POST", "/api/v1/snapshots/verify", obj{"sample": 1}).want(t, http.StatusOK).json(t, &rep)
	if len(rep.Drills) != 1 {
		t.Fatalf("a sample of 1 drilled %d", len(rep.Drills))
	}

	var st api.BackupStatus
	e.call(e.viewer, "GET", "/api/v1/backups", nil).want(t, http.StatusOK).json(t, &st)
	if !st.Enabled || st.EverySeconds != 0 || st.MaxAgeSeconds != 86400 || st.Policy != (api.RetentionPolicy{KeepAllSeconds: 48 * 3600, KeepDaily: 30, KeepMonthly: 12}) ||
		st.History.KeepAuditSeconds != 400*86400 || st.History.KeepResultsSeconds != 90*86400 {
		t.Fatalf("status settings = %+v", st)
	}
	if len(st.Runs) != 2 || st.LastFailed == nil || len(st.LastFailed.Errors) != 1 || st.LastFailed.Errors[0].Tenant != "gamma" {
		t.Fatalf("status runs = %+v, last failed %+v", st.Runs, st.LastFailed)
	}
	if st.Coverage == nil || st.Coverage.Tenants != 3 || st.Coverage.Fresh != 3 || st.Totals == nil || st.Totals.Snapshots != 4 ||
		st.Store == nil || st.Store.Files != 4 || st.Store.Bytes == 0 || st.Central == nil || len(st.Central.Tables) == 0 || st.Central.FileSize == 0 {
		t.Fatalf("status = %+v %+v %+v %+v", st.Coverage, st.Totals, st.Store, st.Central)
	}
	e.call(e.viewer, "GET", "/api/v1/backups?runs=1", nil).want(t, http.StatusOK).json(t, &st)
	if len(st.Runs) != 1 {
		t.Fatalf("runs=1: %d runs", len(st.Runs))
	}
	e.call(e.viewer, "GET", "/api/v1/backups?runs=0", nil).want(t, http.StatusBadRequest).problem(t)
}

// TestSnapshotsOffTurso: on Turso Cloud, which keeps its own history,
// every snapshot call is refused with the reason, and the Backups status
// reports the central database alone.
func TestSnapshotsOffTurso(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	tapi := tursotest.New(t, sq, tursotest.Options{})
	e := newEnvOn(t, func(string, *central.DB) platform.Platform {
		p, err := turso.New(turso.Options{Org: tapi.Org, Token: tapi.Token, Group: tapi.Group, APIURL: tapi.URL, DataProxy: sq.URL,
			RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, nil)
	at := rfc(time.Now().Add(-time.Hour))
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/snapshots", obj{}},
		{"POST", "/api/v1/snapshots", nil},
		{"GET", "/api/v1/snapshots", nil},
		{"GET", "/api/v1/snapshots/runs", nil},
		{"GET", "/api/v1/snapshots/runs/1", nil},
		{"POST", "/api/v1/snapshots/verify", obj{}},
		{"GET", "/api/v1/tenants/acme/snapshots", nil},
		{"GET", "/api/v1/tenants/acme/snapshots?at=" + at, nil},
		{"POST", "/api/v1/tenants/acme/restore", obj{"at": at}},
	} {
		p := e.call(e.admin, c.method, c.path, c.body).want(t, http.StatusBadRequest).problem(t)
		if p.Detail != backups.Unsupported {
			t.Errorf("%s %s: %q, want %q", c.method, c.path, p.Detail, backups.Unsupported)
		}
	}
	var st api.BackupStatus
	e.call(e.viewer, "GET", "/api/v1/backups", nil).want(t, http.StatusOK).json(t, &st)
	if st.Enabled || st.Store != nil || st.Coverage != nil || len(st.Runs) != 0 || st.Central == nil || len(st.Central.Tables) == 0 {
		t.Fatalf("status on Turso = %+v", st)
	}
}

// TestSnapshotsNoService: a console wired without the snapshot service
// refuses as one where snapshots are off, the Backups status included.
func TestSnapshotsNoService(t *testing.T) {
	e := newEnv(t, func(o *api.Options) { o.Backups = nil })
	for _, path := range []string{"/api/v1/backups", "/api/v1/snapshots", "/api/v1/snapshots/runs"} {
		if p := e.call(e.viewer, "GET", path, nil).want(t, http.StatusBadRequest).problem(t); p.Detail != backups.Unsupported {
			t.Errorf("GET %s: %q", path, p.Detail)
		}
	}
}
