package lifecycle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/schema"
)

type env struct {
	t      testing.TB
	dir    string
	db     *central.DB
	p      *local.Platform
	runner *jobs.Runner
	life   *lifecycle.Service
}

func newEnv(t testing.TB) *env {
	dir := t.TempDir()
	db, err := central.Open(context.Background(), "file:"+filepath.Join(dir, "central.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := jobs.NewRunner(db, log)
	return &env{t: t, dir: dir, db: db, p: p, runner: runner, life: lifecycle.New(db, p, runner, log)}
}

func (e *env) run() {
	e.t.Helper()
	if err := e.runner.RunPending(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) tenant(name string) *fleet.Tenant {
	e.t.Helper()
	tn, err := e.db.Tenant(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return tn
}

func (e *env) job(id int64) *fleet.Job {
	e.t.Helper()
	j, err := e.db.Job(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// crash makes a queued job look as if a runner on this host claimed it
// (attempts times) and was killed: running, under a long lease, held by a
// process that no longer exists.
func (e *env) crash(id int64, attempts int) {
	e.t.Helper()
	host, _ := os.Hostname()
	_, err := e.db.SQL().Exec(`UPDATE jobs SET state = 'running', attempts = ?, lease_owner = ?, lease_until = ? WHERE id = ?`,
		attempts, host+":999999999:dead", time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"), id)
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestCreateMigratesBeforeReady(t *testing.T) {
	e := newEnv(t)
	j, err := e.life.Create(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.tenant("store-1"); got.Status != fleet.StatusCreating || got.JobID != j.ID {
		t.Fatalf("queued create: %+v", got)
	}
	e.run()
	got := e.tenant("store-1")
	if got.Status != fleet.StatusReady || got.SchemaVersion != schema.Embedded().Latest() || got.JobID != 0 {
		t.Fatalf("after the job: %+v", got)
	}
	if j := e.job(j.ID); j.State != fleet.JobSucceeded {
		t.Fatalf("job: %+v", j)
	}
	db, _ := e.p.Open(t.Context(), "store-1")
	defer db.Close()
	for _, tbl := range []string{"products", "orders", "carts"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + tbl).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
	}
	var idx int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type='index' AND name LIKE 'idx_%'`).Scan(&idx)
	if idx != 3 {
		t.Fatalf("%d seed indexes, want 3", idx)
	}
}

// TestCreateResumesAfterCrash: the runner died after making the empty
// database but before the schema; the next runner finishes the job.
func TestCreateResumesAfterCrash(t *testing.T) {
	e := newEnv(t)
	j, err := e.life.Create(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Create(t.Context(), "store-1"); err != nil {
		t.Fatal(err)
	}
	e.crash(j.ID, 1)
	// The half-made tenant is not adopted by a rescan meanwhile.
	if _, err := e.life.Rescan(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if got := e.tenant("store-1"); got.Status != fleet.StatusCreating {
		t.Fatalf("half-made tenant is %s", got.Status)
	}
	e.run()
	if got := e.tenant("store-1"); got.Status != fleet.StatusReady || got.SchemaVersion != schema.Embedded().Latest() {
		t.Fatalf("after resume: %+v", got)
	}
	if j := e.job(j.ID); j.State != fleet.JobSucceeded || j.Attempts != 2 {
		t.Fatalf("job after resume: %+v", j)
	}
}

// TestGiveUpCleansLeftovers: a job that keeps dying is failed for good, its
// leftovers are removed, and the name is free again.
func TestGiveUpCleansLeftovers(t *testing.T) {
	e := newEnv(t)
	j, err := e.life.Create(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Create(t.Context(), "store-1"); err != nil {
		t.Fatal(err)
	}
	e.crash(j.ID, jobs.MaxAttempts)
	e.run()
	if got := e.job(j.ID); got.State != fleet.JobFailed || got.Error == "" {
		t.Fatalf("job: %+v", got)
	}
	if got := e.tenant("store-1"); got.Status != fleet.StatusFailed || got.Error == "" {
		t.Fatalf("tenant: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tenants", "store-1.db")); !os.IsNotExist(err) {
		t.Fatalf("leftover file: %v", err)
	}
	if _, err := e.life.Create(t.Context(), "tester", "store-1"); err != nil {
		t.Fatalf("name not freed: %v", err)
	}
	e.run()
	if got := e.tenant("store-1"); got.Status != fleet.StatusReady {
		t.Fatalf("recreated: %+v", got)
	}
}

func TestDeleteResumesAfterCrash(t *testing.T) {
	e := newEnv(t)
	if _, err := e.life.Create(t.Context(), "tester", "store-1"); err != nil {
		t.Fatal(err)
	}
	e.run()
	j, err := e.life.Delete(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	// Killed right after the file went to the archive.
	if err := e.p.Delete(t.Context(), "store-1"); err != nil {
		t.Fatal(err)
	}
	e.crash(j.ID, 1)
	e.run()
	if got := e.tenant("store-1"); got.Status != fleet.StatusArchived || got.ArchivedAt.IsZero() {
		t.Fatalf("after resume: %+v", got)
	}
	if _, err := e.life.Restore(t.Context(), "tester", "store-1"); err != nil {
		t.Fatal(err)
	}
	e.run()
	if got := e.tenant("store-1"); got.Status != fleet.StatusReady || got.SchemaVersion != schema.Embedded().Latest() {
		t.Fatalf("restored: %+v", got)
	}
}

// TestKilledAfterLastStepEndsWell: a runner killed after a job's last
// registry update but before it recorded the job's end leaves the job to
// the next runner, which finds the work done: the job succeeds, and the
// tenant it made is neither failed nor discarded.
func TestKilledAfterLastStepEndsWell(t *testing.T) {
	e := newEnv(t)
	j, err := e.life.Create(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	e.crash(j.ID, 1)
	e.run()
	if got := e.job(j.ID); got.State != fleet.JobSucceeded || got.Attempts != 2 {
		t.Fatalf("create resumed after its last step: %+v", got)
	}
	if got := e.tenant("store-1"); got.Status != fleet.StatusReady {
		t.Fatalf("tenant after its create resumed: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tenants", "store-1.db")); err != nil {
		t.Fatalf("the ready tenant's database: %v", err)
	}

	j, err = e.life.Delete(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	e.crash(j.ID, 1)
	e.run()
	if got := e.job(j.ID); got.State != fleet.JobSucceeded || got.Attempts != 2 {
		t.Fatalf("delete resumed after its last step: %+v", got)
	}
	if got := e.tenant("store-1"); got.Status != fleet.StatusArchived || got.Error != "" {
		t.Fatalf("tenant after its delete resumed: %+v", got)
	}
}

func TestCloneKeepsSourceVersionAndParent(t *testing.T) {
	e := newEnv(t)
	if _, err := e.life.Create(t.Context(), "tester", "src"); err != nil {
		t.Fatal(err)
	}
	e.run()
	j, err := e.life.Clone(t.Context(), "tester", "src", "dst", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.crash(j.ID, 1) // died before copying anything
	e.run()
	got := e.tenant("dst")
	if got.Status != fleet.StatusReady || got.Parent != "src" || got.SchemaVersion != schema.Embedded().Latest() {
		t.Fatalf("branch: %+v", got)
	}
	// Refusals touch nothing and are audited.
	for _, tc := range []struct{ src, dst, code string }{
		{"src", "dst", fleet.ECONFLICT}, {"nope", "x", fleet.ENOTFOUND}, {"src", "Bad", fleet.EINVALID}, {"src", "src", fleet.EINVALID},
	} {
		if _, err := e.life.Clone(t.Context(), "tester", tc.src, tc.dst, time.Time{}); fleet.ErrorCode(err) != tc.code {
			t.Errorf("clone %s→%s: %v, want %s", tc.src, tc.dst, err, tc.code)
		}
	}
	log, err := e.db.AuditLog(t.Context(), central.AuditFilter{Action: fleet.JobClone})
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused int
	for _, a := range log {
		if a.Outcome == "ok" {
			ok++
		} else {
			refused++
		}
	}
	if ok != 1 || refused != 4 {
		t.Fatalf("audit: %d ok, %d refused; want 1 and 4", ok, refused)
	}
}

func TestImportBaselinesPlainSQLite(t *testing.T) {
	e := newEnv(t)
	// A store database made by plain SQLite with seed 000's schema and data.
	src := filepath.Join(t.TempDir(), "plain.db")
	p2, _ := local.New(t.TempDir())
	if _, err := p2.Create(t.Context(), "plain"); err != nil {
		t.Fatal(err)
	}
	db, _ := p2.Open(t.Context(), "plain")
	for _, s := range []string{
		`CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, description TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, total_amount INTEGER NOT NULL, status TEXT DEFAULT 'pending', created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
		`INSERT INTO orders(total_amount) VALUES (500), (700)`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	f, _ := os.Create(src)
	if err := p2.Export(t.Context(), "plain", f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := e.life.Import(t.Context(), "tester", "imported", src); err != nil {
		t.Fatal(err)
	}
	e.run()
	got := e.tenant("imported")
	if got.Status != fleet.StatusReady || got.SchemaVersion != schema.Embedded().Latest() {
		t.Fatalf("imported: %+v", got)
	}
	tdb, _ := e.p.Open(t.Context(), "imported")
	defer tdb.Close()
	var n int
	if err := tdb.QueryRow(`SELECT count(*) FROM orders`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("orders after import: %d %v", n, err)
	}
	if err := tdb.QueryRow(`SELECT count(*) FROM carts`).Scan(&n); err != nil {
		t.Fatalf("missing table not created: %v", err)
	}
}

// TestTenantCountsFollowTheRegistry proves the per-status counts the
// overview reads, kept by triggers, equal counts over the registry through
// creates, branches, deletes, restores, a vanished file and a rescan.
func TestTenantCountsFollowTheRegistry(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	check := func(when string) {
		t.Helper()
		got, err := e.db.CountTenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := e.db.SQL().Query(`SELECT status, count(*), sum(size_bytes) FROM tenants GROUP BY status ORDER BY status`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var want []central.StatusCount
		for rows.Next() {
			var c central.StatusCount
			if err := rows.Scan(&c.Status, &c.Count, &c.Bytes); err != nil {
				t.Fatal(err)
			}
			want = append(want, c)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: counts %v, registry %v", when, got, want)
		}
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := e.life.Create(ctx, "tester", n); err != nil {
			t.Fatal(err)
		}
	}
	check("creating")
	e.run()
	check("created")
	if _, err := e.life.Clone(ctx, "tester", "a", "a-copy", time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.run()
	if _, err := e.life.Delete(ctx, "tester", "b"); err != nil {
		t.Fatal(err)
	}
	e.run()
	check("after a branch and a delete")
	if _, err := e.life.Restore(ctx, "tester", "b"); err != nil {
		t.Fatal(err)
	}
	e.run()
	if err := e.p.Delete(ctx, "c"); err != nil { // the file vanishes behind our back
		t.Fatal(err)
	}
	if _, err := e.life.Rescan(ctx, ""); err != nil {
		t.Fatal(err)
	}
	check("after a restore and a rescan")
}

// TestMoveQueuesJobWithRowOrNothing: a delete's job and its tenant row's
// "deleting" are one write, so no crash can leave a delete job queued for
// a tenant the registry still calls ready (its next run would archive a
// live tenant and then fail). A move whose row changed meanwhile queues
// nothing.
func TestMoveQueuesJobWithRowOrNothing(t *testing.T) {
	e := newEnv(t)
	if _, err := e.life.Create(t.Context(), "tester", "store-1"); err != nil {
		t.Fatal(err)
	}
	e.run()
	count := func() (n int) {
		if err := e.db.SQL().QueryRow(`SELECT count(*) FROM jobs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	deleting := fleet.StatusDeleting
	j := &fleet.Job{Kind: fleet.JobDelete, Tenant: "store-1", CreatedBy: "tester"}
	err := e.db.MoveTenant(t.Context(), j, "store-1", central.TenantUpdate{Status: &deleting, IfStatus: []string{fleet.StatusArchived}})
	if fleet.ErrorCode(err) != fleet.ECONFLICT {
		t.Fatalf("move from the wrong state: %v, want a conflict", err)
	}
	if n := count(); n != before {
		t.Fatalf("a refused move left %d jobs behind", n-before)
	}
	j = &fleet.Job{Kind: fleet.JobDelete, Tenant: "store-1", CreatedBy: "tester"}
	if err := e.db.MoveTenant(t.Context(), j, "store-1", central.TenantUpdate{Status: &deleting, IfStatus: []string{fleet.StatusReady}}); err != nil {
		t.Fatal(err)
	}
	if got := e.tenant("store-1"); got.Status != fleet.StatusDeleting || got.JobID != j.ID || j.ID == 0 {
		t.Fatalf("after the move: tenant %+v, job %d", got, j.ID)
	}
}

// TestGivenUpCreateKeepsAnotherJobsTenant: a create killed after its
// tenant was ready, and deleted before the create resumed, fails on
// resume, and its clean-up leaves the database alone: it is a real
// tenant's, which the delete archives.
func TestGivenUpCreateKeepsAnotherJobsTenant(t *testing.T) {
	e := newEnv(t)
	j, err := e.life.Create(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	e.crash(j.ID, 3) // its last attempt, killed after the tenant was ready
	del, err := e.life.Delete(t.Context(), "tester", "store-1")
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	if got := e.job(del.ID); got.State != fleet.JobSucceeded {
		t.Fatalf("delete: %+v", got)
	}
	if got := e.tenant("store-1"); got.Status != fleet.StatusArchived {
		t.Fatalf("tenant: %+v", got)
	}
	if m, _ := filepath.Glob(filepath.Join(e.dir, "archive", "store-1*")); len(m) == 0 {
		t.Fatal("the archive holds nothing of store-1: the create's clean-up discarded it")
	}
}
