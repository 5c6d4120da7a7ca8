package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/web"
)

// countOrders reads a tenant's orders over the data plane.
func (e *env) countOrders(name string) int {
	e.t.Helper()
	db, err := e.life.Platform().Open(e.t.Context(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM orders`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestBackupsPage: coverage, runs and the central database's history for
// every user; Snapshot now for admins, which queues a run of the fleet
// and refuses a second while one is queued.
func TestBackupsPage(t *testing.T) {
	e := newEnv(t)
	e.create("store-1")
	e.create("store-2")
	v := e.login("viewer@example.com")
	doc := v.doc(v.get(paths.Backups))
	if got := doc.Find(`[data-testid="coverage"]`).AttrOr("data-fresh", ""); got != "0" {
		t.Errorf("coverage before any snapshot: fresh %q", got)
	}
	if doc.Find(`[data-testid="snapshot-fleet"]`).Length() != 0 {
		t.Error("a viewer is offered Snapshot now")
	}
	if doc.Find(`[data-testid="history-table"][data-name="audit_log"]`).Length() != 1 {
		t.Error("the central database's history does not list the audit log")
	}
	if got := doc.Find(`[data-testid="snapshot-policy"]`).Text(); !strings.Contains(got, "Every snapshot for 2 days") || !strings.Contains(got, "one a day for 30 days") {
		t.Errorf("policy in words: %q", got)
	}

	a := e.login("admin@example.com")
	res := a.post(paths.BackupsSnapshots, nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/jobs/") {
		t.Fatalf("snapshot now: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// A second while the first is queued: refused on the page, saying why.
	res = a.post(paths.BackupsSnapshots, nil)
	doc = a.doc(res)
	if res.StatusCode != http.StatusConflict || !strings.Contains(doc.Find(`.inline-error, [data-testid="inline-error"]`).Text(), "already queued or running") {
		t.Errorf("second snapshot now: %d %q", res.StatusCode, doc.Find(`[data-testid="snapshot-fleet-form"]`).Parent().Text())
	}
	e.runJobs()
	doc = v.doc(v.get(paths.Backups))
	if got := doc.Find(`[data-testid="coverage"]`).AttrOr("data-fresh", ""); got != "2" {
		t.Errorf("coverage after the run: fresh %q", got)
	}
	run := doc.Find(`[data-testid="snapshot-run"]`).First()
	if run.AttrOr("data-state", "") != fleet.RunSucceeded || run.Find(`[data-testid="run-snapshotted"]`).Text() != "2" {
		t.Errorf("the run's row: state %q, snapshotted %q", run.AttrOr("data-state", ""), run.Find(`[data-testid="run-snapshotted"]`).Text())
	}
	if got := doc.Find(`[data-testid="snapshot-count"]`).Text(); got != "2" {
		t.Errorf("snapshots stored: %q", got)
	}
	// JSON for scripts.
	type status struct {
		Enabled  bool `json:"enabled"`
		Coverage struct {
			Fresh int64 `json:"fresh"`
		} `json:"coverage"`
	}
	if st := jsonBody[status](t, v.get(paths.Backups, "Accept", "application/json")); !st.Enabled || st.Coverage.Fresh != 2 {
		t.Errorf("JSON: %+v", st)
	}

	// Three hours on, both are late: the page names them, the overview warns.
	e.clock.Set(time.Now().Add(3 * time.Hour))
	doc = v.doc(v.get(paths.Backups))
	if got := doc.Find(`[data-testid="late-tenants"]`).AttrOr("data-late", ""); got != "2" {
		t.Errorf("late tenants: %q", got)
	}
	doc = v.doc(v.get(paths.Overview))
	w := doc.Find(`[data-testid="snapshot-warning"]`)
	if w.AttrOr("data-late", "") != "2" || w.Find(`a[href="/tenants/store-1"]`).Length() != 1 || w.Find(`[data-testid="snapshot-warning-link"]`).AttrOr("href", "") != paths.Backups {
		t.Errorf("overview warning: %q", w.Text())
	}
}

// TestBackupsPageWithoutSnapshots: a console that takes none (Turso) says
// why, offers nothing, warns of nothing, and still shows the central
// database's history.
func TestBackupsPageWithoutSnapshots(t *testing.T) {
	e := newEnvWith(t, t.TempDir(), schema.Embedded(), func(o *web.Options) { o.Backups = nil })
	e.create("store-1")
	a := e.login("admin@example.com")
	doc := a.doc(a.get(paths.Backups))
	if doc.Find(`[data-testid="snapshots-off"]`).Length() != 1 || doc.Find(`[data-testid="snapshot-fleet"]`).Length() != 0 ||
		doc.Find(`[data-testid="central-history"]`).Length() != 1 {
		t.Error("the Backups page without snapshots")
	}
	if res := a.post(paths.BackupsSnapshots, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("snapshot now without snapshots: %d", res.StatusCode)
	}
	if a.doc(a.get(paths.Overview)).Find(`[data-testid="snapshot-warning"]`).Length() != 0 {
		t.Error("the overview warns of snapshots on a console that takes none")
	}
}

// TestTenantSnapshotsAndRollback: a tenant's page lists its snapshots;
// Restore asks for the name on its own page, refuses a wrong one without
// touching anything, and with the right one rolls the tenant back; the
// Branch button sets the branch form to the snapshot's time.
func TestTenantSnapshotsAndRollback(t *testing.T) {
	e := newEnv(t)
	e.create("store-1")
	e.exec("store-1", `INSERT INTO orders(total_amount) VALUES (10), (20), (30)`)
	a := e.login("admin@example.com")
	doc := a.doc(a.get(paths.Tenant("store-1")))
	if doc.Find(`[data-testid="snapshots-card"] [data-testid="empty-state"]`).Length() != 1 {
		t.Error("no empty state before the first snapshot")
	}
	if res := a.post(paths.TenantSnapshots("store-1"), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("snapshot the tenant: %d", res.StatusCode)
	}
	e.runJobs()
	e.exec("store-1", `DELETE FROM orders`)

	doc = a.doc(a.get(paths.Tenant("store-1")))
	row := doc.Find(`[data-testid="snapshot"]`)
	if row.Length() != 1 {
		t.Fatalf("%d snapshots listed, want 1", row.Length())
	}
	taken, _ := time.Parse(time.RFC3339Nano, row.AttrOr("data-taken", ""))
	restore := row.Find(`[data-testid="snapshot-restore"]`).AttrOr("href", "")
	if restore != paths.TenantRollback("store-1", taken) {
		t.Fatalf("restore link %q", restore)
	}
	branch := row.Find(`[data-testid="snapshot-branch"]`).AttrOr("href", "")
	bd := a.doc(a.get(strings.TrimSuffix(branch, "#branch")))
	want := taken.Truncate(time.Second)
	if !want.Equal(taken) {
		want = want.Add(time.Second)
	}
	if got := bd.Find(`#clone-at`).AttrOr("value", ""); got != want.Format("2006-01-02T15:04:05") {
		t.Errorf("branch form at %q, want %s (the snapshot's time, rounded up)", got, want)
	}

	// The confirmation page, then a wrong name: nothing happens.
	cdoc := a.doc(a.get(restore))
	if cdoc.Find(`[data-testid="rollback-form"]`).AttrOr("data-confirm-name", "") != "store-1" {
		t.Fatal("no confirmation form")
	}
	res := a.post(restore, url.Values{"confirm": {"store-2"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong name: %d", res.StatusCode)
	}
	e.runJobs()
	if n := e.countOrders("store-1"); n != 0 {
		t.Fatalf("a refused restore changed the tenant: %d orders", n)
	}
	v := e.login("viewer@example.com")
	if res := v.post(restore, url.Values{"confirm": {"store-1"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer restore: %d", res.StatusCode)
	}
	res = a.post(restore, url.Values{"confirm": {"store-1"}})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/jobs/") {
		t.Fatalf("restore: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if tn, _ := e.db.Tenant(t.Context(), "store-1"); tn.Status != fleet.StatusRestoring {
		t.Errorf("while queued the tenant is %s", tn.Status)
	}
	e.runJobs()
	if n := e.countOrders("store-1"); n != 3 {
		t.Fatalf("after the restore: %d orders, want 3", n)
	}
	// The replaced database is kept: two snapshots listed now.
	if n := a.doc(a.get(paths.Tenant("store-1"))).Find(`[data-testid="snapshot"]`).Length(); n != 2 {
		t.Errorf("%d snapshots after the restore, want 2", n)
	}

	// A time before every snapshot: the tenant's page says why.
	early := paths.TenantRollback("store-1", taken.Add(-time.Hour))
	res = a.post(early, url.Values{"confirm": {"store-1"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != paths.Tenant("store-1") {
		t.Fatalf("restore before the oldest: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if got := a.doc(a.get(paths.Tenant("store-1"))).Find(`[data-testid="flash"]`).Text(); !strings.Contains(got, "the oldest is from") {
		t.Errorf("flash %q", got)
	}
	// Not a time, and an unknown tenant.
	if res := a.get("/tenants/store-1/rollback?at=yesterday"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a bad time: %d", res.StatusCode)
	}
	if res := a.get(paths.TenantRollback("nobody", taken)); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown tenant: %d", res.StatusCode)
	}
}
