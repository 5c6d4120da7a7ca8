package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
)

// awaitJob long-polls a job until it finished.
func (e *env) awaitJob(id int64) fleet.Job {
	e.t.Helper()
	for {
		var j fleet.Job
		e.call(e.viewer, "GET", fmt.Sprintf("/api/v1/jobs/%d?wait=30s", id), nil).want(e.t, http.StatusOK).json(e.t, &j)
		if j.Finished() {
			return j
		}
	}
}

func TestCollectionsAPI(t *testing.T) {
	e := newEnv(t, nil)
	e.tenants("acme", "beta")
	e.breakTenant("beta")

	e.call(e.viewer, "POST", "/api/v1/collections", obj{}).want(t, http.StatusForbidden).problem(t)
	for _, bad := range []string{`{"from": "2026-11-20"}`, `{"from": "2026-11-31", "to": "2026-12-01"}`,
		`{"from": "2026-11-21", "to": "2026-11-20"}`, `{"date": "2026-11-20"}`, `{"from": 20261120, "to": "2026-11-20"}`} {
		e.call(e.admin, "POST", "/api/v1/collections", bad).want(t, http.StatusUnprocessableEntity).problem(t)
	}

	day := time.Now().UTC().Format(fleet.DayLayout)
	r := e.call(e.admin, "POST", "/api/v1/collections", obj{"from": day, "to": day}).want(t, http.StatusAccepted)
	var run central.CollectRun
	r.json(t, &run)
	if run.ID == 0 || run.JobID == 0 || run.From != day || run.StartedBy != "backend" || r.header.Get("Location") != "/api/v1/collections/"+strconv.FormatInt(run.ID, 10) {
		t.Fatalf("queued %+v, Location %q", run, r.header.Get("Location"))
	}
	if j := e.awaitJob(run.JobID); j.State != fleet.JobSucceeded {
		t.Fatalf("collection job %+v", j)
	}
	var sum collect.Summary
	e.call(e.viewer, "GET", r.header.Get("Location"), nil).want(t, http.StatusOK).json(t, &sum)
	if sum.State != central.RunSucceeded || sum.Tenants != 2 || sum.OK != 1 || sum.Failed != 1 || len(sum.Errors) != 1 || sum.Errors[0].Tenant != "beta" {
		t.Fatalf("run = %+v", sum)
	}
	// Without dates: yesterday and today.
	e.call(e.admin, "POST", "/api/v1/collections", obj{}).want(t, http.StatusAccepted)

	e.call(e.viewer, "GET", "/api/v1/collections/99999", nil).want(t, http.StatusNotFound).problem(t)
	e.call(e.viewer, "GET", "/api/v1/collections/nope", nil).want(t, http.StatusNotFound)
}

func TestMigrationsAPI(t *testing.T) {
	e := newEnv(t, nil)
	e.tenants("acme", "beta", "gamma")

	var st api.MigrationStatus
	e.call(e.viewer, "GET", "/api/v1/migrations", nil).want(t, http.StatusOK).json(t, &st)
	if st.Latest < 1 || st.Ready != 3 || st.Behind != 0 || len(st.Tenants) != 3 || st.Tenants[0].Name != "acme" || st.Tenants[0].Version != st.Latest {
		t.Fatalf("status = %+v", st)
	}

	e.call(e.viewer, "POST", "/api/v1/migrations/rollouts", obj{"mode": "dry-run"}).want(t, http.StatusForbidden).problem(t)
	for _, bad := range []string{`{}`, `{"mode": "sideways"}`, `{"mode": "canary"}`, `{"mode": "tenants"}`, `{"mode": "retry"}`,
		`{"mode": "full", "canary": 2}`, `{"mode": "dry-run", "canary": 1, "tenants": ["acme"]}`, `{"mode": "full", "parallel": 1000}`,
		`{"mode": "full", "on_error": "shrug"}`, `{"mode": "tenants", "tenants": ["nope"]}`, `{"mode": "retry", "retry_of": 9999}`,
		`{"mode": "full", "force": true}`} {
		e.call(e.admin, "POST", "/api/v1/migrations/rollouts", bad).want(t, http.StatusUnprocessableEntity).problem(t)
	}

	r := e.call(e.admin, "POST", "/api/v1/migrations/rollouts", obj{"mode": "canary", "canary": 2, "parallel": 2, "on_error": "continue"}).
		want(t, http.StatusAccepted)
	var run central.MigrationRun
	r.json(t, &run)
	if run.Mode != central.ModeCanary || run.Total != 2 || run.StartedBy != "backend" || r.header.Get("Location") != "/api/v1/migrations/rollouts/"+strconv.FormatInt(run.ID, 10) {
		t.Fatalf("queued %+v, Location %q", run, r.header.Get("Location"))
	}
	e.awaitJob(run.JobID)
	var ro api.Rollout
	e.call(e.viewer, "GET", r.header.Get("Location"), nil).want(t, http.StatusOK).json(t, &ro)
	if ro.State != central.RunSucceeded || len(ro.Results) != 2 || ro.Results[0].Tenant != "acme" || ro.Results[1].Tenant != "beta" ||
		ro.Results[0].Outcome != central.OutcomeSkipped || len(ro.Groups) != 1 || ro.NextCursor != nil {
		t.Fatalf("rollout = %+v", ro)
	}
	// A page at a time.
	e.call(e.viewer, "GET", r.header.Get("Location")+"?limit=1", nil).want(t, http.StatusOK).json(t, &ro)
	if len(ro.Results) != 1 || ro.NextCursor == nil {
		t.Fatalf("page 1 = %+v", ro)
	}
	e.call(e.viewer, "GET", r.header.Get("Location")+"?limit=1&cursor="+*ro.NextCursor, nil).want(t, http.StatusOK).json(t, &ro)
	if len(ro.Results) != 1 || ro.Results[0].Tenant != "beta" || ro.NextCursor != nil {
		t.Fatalf("page 2 = %+v", ro)
	}
	e.call(e.viewer, "GET", r.header.Get("Location")+"?cursor=!!", nil).want(t, http.StatusBadRequest).problem(t)

	r = e.call(e.admin, "POST", "/api/v1/migrations/rollouts", obj{"mode": "dry-run"}).want(t, http.StatusAccepted)
	r.json(t, &run)
	e.awaitJob(run.JobID)
	e.call(e.viewer, "GET", r.header.Get("Location"), nil).want(t, http.StatusOK).json(t, &ro)
	if ro.Mode != central.ModeDryRun || ro.Total != 3 || ro.Skipped != 3 {
		t.Fatalf("dry run = %+v", ro)
	}

	e.call(e.viewer, "GET", "/api/v1/migrations/rollouts/99999", nil).want(t, http.StatusNotFound).problem(t)
}

func TestAuditAPI(t *testing.T) {
	e := newEnv(t, nil)
	e.tenants("acme")
	e.call(e.viewer, "POST", "/api/v1/collections", obj{}).want(t, http.StatusForbidden)
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenant": "acme", "sql": "DELETE FROM orders", "write": true}).want(t, http.StatusOK)

	var p api.AuditPage
	e.call(e.viewer, "GET", "/api/v1/audit?action=sql.write&tenant=acme", nil).want(t, http.StatusOK).json(t, &p)
	if len(p.Entries) != 1 || p.Entries[0].Actor != "backend" || p.NextCursor != nil {
		t.Fatalf("sql.write entries = %+v", p)
	}
	e.call(e.viewer, "GET", "/api/v1/audit?actor=reporting&outcome=error", nil).want(t, http.StatusOK).json(t, &p)
	if len(p.Entries) != 1 || !strings.HasPrefix(p.Entries[0].Detail, "POST /api/v1/collections 403") {
		t.Fatalf("refused call = %+v", p)
	}

	// Paging back, newest first, one entry at a time, never twice.
	seen := map[int64]bool{}
	path := "/api/v1/audit?actor=backend&limit=1"
	for pages := 0; ; pages++ {
		e.call(e.viewer, "GET", path, nil).want(t, http.StatusOK).json(t, &p)
		if len(p.Entries) != 1 || seen[p.Entries[0].ID] {
			t.Fatalf("page %d = %+v", pages, p)
		}
		seen[p.Entries[0].ID] = true
		if p.NextCursor == nil {
			break
		}
		path = "/api/v1/audit?actor=backend&limit=1&cursor=" + *p.NextCursor
	}
	if len(seen) < 3 {
		t.Fatalf("%d entries by backend", len(seen))
	}

	for _, bad := range []string{"from=yesterday", "to=2026-02-30", "from=2026-11-21&to=2026-11-20", "outcome=meh", "cursor=-1", "limit=0"} {
		e.call(e.viewer, "GET", "/api/v1/audit?"+bad, nil).want(t, http.StatusBadRequest).problem(t)
	}
}
