package backups_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/snapshot"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// env is a console's services over a platform, with a snapshot store and
// a clock the test moves.
type env struct {
	t      testing.TB
	dir    string
	clock  *centraltest.Clock
	db     *central.DB
	p      platform.Platform
	runner *jobs.Runner
	life   *lifecycle.Service
	svc    *backups.Service
	store  string
}

func newEnv(t testing.TB, p func(dir string, db *central.DB) platform.Platform) *env {
	t.Helper()
	dir := t.TempDir()
	clock := &centraltest.Clock{}
	clock.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	u, err := tenantdb.CentralURL(filepath.Join(dir, "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := central.Open(context.Background(), u, "", central.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, dir: dir, clock: clock, db: db, p: p(dir, db), store: filepath.Join(dir, "snapshots")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.runner = jobs.NewRunner(db, log)
	e.life = lifecycle.New(db, e.p, e.runner, log)
	open := func() (snapshot.Store, error) { return snapshot.OpenDir(e.store) }
	if e.svc, err = backups.New(db, e.p, open, e.runner, log, backups.Options{Every: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.svc.Close() })
	e.life.Snapshots = e.svc
	return e
}

func localPlatform(dir string, _ *central.DB) platform.Platform {
	p, err := local.New(dir)
	if err != nil {
		panic(err)
	}
	p.Settle = 50 * time.Millisecond // the tests wait for it, not 2 s
	return p
}

func (e *env) run() {
	e.t.Helper()
	if err := e.runner.RunPending(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// create makes a ready tenant with n orders.
func (e *env) create(name string, n int) {
	e.t.Helper()
	if _, err := e.life.Create(context.Background(), "test", name); err != nil {
		e.t.Fatal(err)
	}
	e.run()
	e.exec(name, fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < %d)
		INSERT INTO orders(id, created_at, total_amount, status) SELECT i, '2026-02-01', i, 'paid' FROM c`, n))
}

func (e *env) exec(name, q string) {
	e.t.Helper()
	db, err := e.p.Open(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) orders(name string) int {
	e.t.Helper()
	db, err := e.p.Open(context.Background(), name)
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

func (e *env) userVersion(name string) int {
	e.t.Helper()
	db, err := e.p.Open(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// take runs a snapshot run (of the fleet, or one tenant) to its end.
func (e *env) take(tenant string) *fleet.SnapshotRun {
	e.t.Helper()
	r, _, err := e.svc.Submit(context.Background(), "test", "cli", tenant)
	if err != nil {
		e.t.Fatal(err)
	}
	e.run()
	r, err = e.db.SnapshotRunByID(context.Background(), r.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) snapshots(tenant string) []fleet.Snapshot {
	e.t.Helper()
	s, err := e.svc.Snapshots(context.Background(), tenant, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// A run snapshots every ready tenant, then only those that changed; one
// broken tenant is recorded and the rest go on.
func TestRunTakesWhatChanged(t *testing.T) {
	e := newEnv(t, localPlatform)
	ctx := context.Background()
	for i := range 3 {
		e.create(fmt.Sprintf("store-%d", i), 10)
		waitFingerprint(t, e, fmt.Sprintf("store-%d", i))
	}
	r := e.take("")
	if r.State != fleet.RunSucceeded || r.Tenants != 3 || r.Snapshotted != 3 || r.Failed != 0 {
		t.Fatalf("first run: %+v", r)
	}
	e.clock.Add(time.Hour)
	// Let the file system's clock pass the snapshot's fingerprint, then
	// write to one tenant.
	waitFingerprint(t, e, "store-1")
	e.exec("store-1", `INSERT INTO orders(id, created_at, total_amount, status) VALUES (100, '2026-02-02', 5, 'paid')`)
	waitFingerprint(t, e, "store-1")
	r = e.take("")
	if r.Snapshotted != 1 || r.Unchanged != 2 || r.Failed != 0 {
		t.Fatalf("second run: %+v", r)
	}
	// A tenant whose file is not a database fails alone.
	path := filepath.Join(e.dir, "tenants", "store-2.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 500)), 0o640); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	r = e.take("")
	if r.State != fleet.RunFailed || r.Failed != 1 || len(r.Errors) != 1 || r.Errors[0].Tenant != "store-2" || r.Unchanged != 2 ||
		!strings.Contains(r.Errors[0].Error, "not a database") {
		t.Fatalf("run with a broken tenant: %+v", r)
	}
	st, err := e.svc.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastFailed == nil || st.LastFailed.ID != r.ID || st.Totals.Snapshots != 4 || st.Coverage.Tenants != 3 || st.Coverage.Fresh != 3 {
		t.Fatalf("status: %+v, last failed %+v, totals %+v, coverage %+v", st, st.LastFailed, st.Totals, st.Coverage)
	}
	// Two hours later nothing is fresh: all three are late.
	e.clock.Add(2*time.Hour + time.Minute)
	late, err := e.svc.Late(ctx)
	if err != nil || late.Late != 3 {
		t.Fatalf("late: %+v %v", late, err)
	}
}

// waitFingerprint waits until the platform can tell the tenant's state
// (a file written a moment ago has no fingerprint yet).
func waitFingerprint(t *testing.T, e *env, name string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); snapshot.Fingerprints(context.Background(), e.p, []string{name})[0] == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no fingerprint for %s", name)
		}
	}
}

// A second run of the same scope while one is queued is refused, naming
// it; one tenant's run and the fleet's may be queued together.
func TestSubmitConflicts(t *testing.T) {
	e := newEnv(t, localPlatform)
	ctx := context.Background()
	e.create("acme", 1)
	r, _, err := e.svc.Submit(ctx, "test", "cli", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Submit(ctx, "test", "cli", ""); fleet.ErrorCode(err) != fleet.ECONFLICT || !strings.Contains(err.Error(), fmt.Sprintf("run %d", r.ID)) {
		t.Fatalf("second fleet run: %v", err)
	}
	if _, _, err := e.svc.Submit(ctx, "test", "cli", "acme"); err != nil {
		t.Fatalf("a tenant's run beside the fleet's: %v", err)
	}
	for _, bad := range []struct{ name, code string }{{"Bad_Name", fleet.EINVALID}, {"nobody", fleet.ENOTFOUND}} {
		if _, _, err := e.svc.Submit(ctx, "test", "cli", bad.name); fleet.ErrorCode(err) != bad.code {
			t.Errorf("submit %q: %v", bad.name, err)
		}
	}
}

// Restore and branch at a time between snapshots use the newest snapshot
// at or before it; the restore keeps the replaced database as a snapshot,
// so it can be undone; bad times are refused and touch nothing.
func TestRestoreAndBranchPickTheRightSnapshot(t *testing.T) {
	restoreAndBranch(t, newEnv(t, localPlatform))
}

// The same on a real sqld.
func TestRestoreAndBranchOnSqld(t *testing.T) {
	restoreAndBranch(t, newEnv(t, func(dir string, db *central.DB) platform.Platform {
		srv := sqldtest.Start(t, sqldtest.Options{AdminKey: "admin-secret"})
		p, err := sqld.New(sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, AdminKey: srv.AdminKey, SigningKey: srv.Key, Catalog: db.Catalog("sqld")})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}))
}

func restoreAndBranch(t *testing.T, e *env) {
	ctx := context.Background()
	e.create("acme", 10)
	e.exec("acme", `PRAGMA user_version = 3`) // restored too
	t0 := e.clock.Now()
	e.take("acme") // 10 orders at t0
	e.clock.Add(time.Hour)
	waitFingerprint2(t, e, "acme")
	e.exec("acme", `INSERT INTO orders(id, created_at, total_amount, status) VALUES (11, '2026-02-02', 5, 'paid')`)
	waitFingerprint2(t, e, "acme")
	t1 := e.clock.Now()
	e.take("acme") // 11 orders at t1
	e.clock.Add(time.Hour)
	e.exec("acme", `DELETE FROM orders`)

	// Between the two snapshots: the first.
	between := t0.Add(30 * time.Minute)
	if _, err := e.life.Clone(ctx, "test", "acme", "acme-then", between); err != nil {
		t.Fatal(err)
	}
	e.run()
	b, err := e.db.Tenant(ctx, "acme-then")
	if err != nil || b.Status != fleet.StatusReady || !b.BranchedAt.Equal(t0) {
		t.Fatalf("branch: %+v %v", b, err)
	}
	if n := e.orders("acme-then"); n != 10 {
		t.Fatalf("branch at %s has %d orders, want 10 (the snapshot at %s)", between, n, t0)
	}

	// Restore to just after the second: 11 orders come back.
	j, err := e.life.Rollback(ctx, "test", "acme", t1.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if tn, _ := e.db.Tenant(ctx, "acme"); tn.Status != fleet.StatusRestoring {
		t.Fatalf("status while queued: %s", tn.Status)
	}
	e.run()
	if j, _ = e.db.Job(ctx, j.ID); j.State != fleet.JobSucceeded {
		t.Fatalf("rollback job: %+v", j)
	}
	if tn, _ := e.db.Tenant(ctx, "acme"); tn.Status != fleet.StatusReady {
		t.Fatalf("status after: %+v", tn)
	}
	if n := e.orders("acme"); n != 11 {
		t.Fatalf("restored %d orders, want 11", n)
	}
	if v := e.userVersion("acme"); v != 3 {
		t.Fatalf("restored user_version %d, want 3", v)
	}
	// The emptied database was kept: rolling back to now brings it back.
	snaps := e.snapshots("acme")
	if len(snaps) != 3 {
		t.Fatalf("snapshots after the restore: %d, want 3 (the kept one)", len(snaps))
	}
	if _, err := e.life.Rollback(ctx, "test", "acme", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.run()
	if n := e.orders("acme"); n != 0 {
		t.Fatalf("undoing the restore: %d orders, want 0", n)
	}

	// Bad times and tenants are refused with a clear message, and touch
	// nothing.
	for _, c := range []struct {
		name string
		at   time.Time
		code string
		says string
	}{
		{"acme", e.clock.Now().Add(time.Hour), fleet.EINVALID, "future"},
		{"acme", t0.Add(-time.Hour), fleet.ENOTFOUND, "the oldest is from " + t0.Format(time.RFC3339)},
		{"acme", time.Time{}, fleet.EINVALID, "time"},
		{"nobody", t0, fleet.ENOTFOUND, "nobody"},
		{"acme-then", t0, fleet.ENOTFOUND, "no snapshot"},
	} {
		_, err := e.life.Rollback(ctx, "test", c.name, c.at)
		if fleet.ErrorCode(err) != c.code || !strings.Contains(fleet.ErrorMessage(err), c.says) {
			t.Errorf("rollback %s to %v: %v, want %s saying %q", c.name, c.at, err, c.code, c.says)
		}
	}
	if _, err := e.life.Clone(ctx, "test", "acme", "too-early", t0.Add(-time.Hour)); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Errorf("branch before the oldest snapshot: %v", err)
	}
	if _, err := e.db.Tenant(ctx, "too-early"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Errorf("a refused branch left a tenant: %v", err)
	}
	if n := e.orders("acme"); n != 0 {
		t.Errorf("refusals changed acme: %d orders", n)
	}
}

// waitFingerprint2 is waitFingerprint where the platform has fingerprints.
func waitFingerprint2(t *testing.T, e *env, name string) {
	if _, ok := e.p.(*local.Platform); ok {
		waitFingerprint(t, e, name)
	}
}

// A snapshot whose bytes changed in the store is refused, named, and
// never restored; the tenant is left as it was.
func TestRestoreRefusesDamagedSnapshot(t *testing.T) {
	e := newEnv(t, localPlatform)
	ctx := context.Background()
	e.create("acme", 5)
	e.take("acme")
	snap := e.snapshots("acme")[0]
	path := filepath.Join(e.store, filepath.FromSlash(snap.Key))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	// The drill reports it.
	drills, err := e.svc.Verify(ctx, "test", "acme", 0)
	if err != nil || len(drills) != 1 || drills[0].Error == "" {
		t.Fatalf("drill of a damaged snapshot: %+v %v", drills, err)
	}
	e.exec("acme", `DELETE FROM orders WHERE id > 2`)
	j, err := e.life.Rollback(ctx, "test", "acme", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	j, _ = e.db.Job(ctx, j.ID)
	if j.State != fleet.JobFailed || !strings.Contains(j.Error, snap.Key) {
		t.Fatalf("rollback from a damaged snapshot: %+v", j)
	}
	if tn, _ := e.db.Tenant(ctx, "acme"); tn.Status != fleet.StatusReady {
		t.Fatalf("tenant after the refused restore: %+v", tn)
	}
	if n := e.orders("acme"); n != 2 {
		t.Fatalf("tenant changed: %d orders, want 2", n)
	}
}

// The drill restores the newest snapshots and counts their rows, and
// marks them verified.
func TestVerify(t *testing.T) {
	e := newEnv(t, localPlatform)
	ctx := context.Background()
	e.create("a", 3)
	e.create("b", 4)
	e.take("")
	drills, err := e.svc.Verify(ctx, "test", "", 0)
	if err != nil || len(drills) != 2 {
		t.Fatalf("drill: %+v %v", drills, err)
	}
	for _, d := range drills {
		want := map[string]int64{"a": 3, "b": 4}[d.Snapshot.Tenant]
		if d.Error != "" || d.Tables["orders"] != want {
			t.Errorf("drill of %s: %+v", d.Snapshot.Tenant, d)
		}
	}
	if s := e.snapshots("a")[0]; s.VerifiedAt.IsZero() {
		t.Error("a drilled snapshot is not marked verified")
	}
	if one, err := e.svc.Verify(ctx, "test", "", 1); err != nil || len(one) != 1 {
		t.Errorf("sample of 1: %d %v", len(one), err)
	}
	if _, err := e.svc.Verify(ctx, "test", "", -1); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Errorf("negative sample: %v", err)
	}
}

// Over a year of hourly runs, with writes before each, exactly the
// policy's set survives: every snapshot of the last 48 hours, the newest
// of each of the 30 days before, the newest of each of 12 months.
func TestRetentionOverAYear(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of hourly runs")
	}
	e := newEnv(t, localPlatform)
	ctx := context.Background()
	e.create("acme", 1)
	// Snapshots are recorded directly, hour by hour (taking 8,760 real
	// ones would test the disk, not the policy); each run prunes.
	var all []fleet.Snapshot
	start := e.clock.Now()
	for h := range 365 * 24 {
		e.clock.Set(start.Add(time.Duration(h) * time.Hour))
		s := fleet.Snapshot{Tenant: "acme", TakenAt: e.clock.Now(), Key: snapshot.NewKey("acme", e.clock.Now()),
			Size: 1, RawSize: 1, SHA256: strings.Repeat("0", 64)}
		if err := e.db.RecordSnapshot(ctx, &s); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
		if h%24 == 23 { // a daily pass is enough to prove the set; the job runs it after every run
			if _, err := e.svc.Prune(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.svc.Prune(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	keep, _ := snapshot.DefaultPolicy.Prune(all, e.clock.Now())
	got := e.snapshots("acme")
	if len(got) != len(keep) {
		t.Fatalf("%d snapshots survive, the policy keeps %d", len(got), len(keep))
	}
	want := map[int64]bool{}
	for _, k := range keep {
		want[k.ID] = true
	}
	for _, g := range got {
		if !want[g.ID] {
			t.Fatalf("snapshot %d (%s) survived, the policy drops it", g.ID, g.TakenAt)
		}
	}
	// 48 hourly, 30 daily (minus the days the 48 hours cover), 12 monthly.
	if len(got) < 48+28 || len(got) > 48+30+12 {
		t.Fatalf("%d survive", len(got))
	}
}

// A new process's first run over the fleet does the full maintenance:
// the store swept of what is an hour old and unrecorded, the central
// history pruned past its policy. Runs within a day of it prune only
// what they snapshotted; the next day's run does it all again.
func TestMaintenance(t *testing.T) {
	e := newEnv(t, localPlatform)
	ctx := context.Background()
	e.create("acme", 1)
	old := e.clock.Now().Add(-500 * 24 * time.Hour)
	if err := e.db.Audit(ctx, fleet.AuditEntry{At: old, Actor: "test", Action: "ancient"}); err != nil {
		t.Fatal(err)
	}
	orphan := func() string {
		t.Helper()
		key := snapshot.NewKey("gone", e.clock.Now().Add(-3*time.Hour))
		path := filepath.Join(e.store, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("left by a crash"), 0o640); err != nil {
			t.Fatal(err)
		}
		hourAgo := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(path, hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ancient := func() int {
		var n int
		if err := e.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'ancient'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := e.svc.Open(); err != nil {
		t.Fatal(err)
	}
	first := orphan()
	e.take("")
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("the first run left the orphan: %v", err)
	}
	if ancient() != 0 {
		t.Fatal("the first run kept an audit entry older than the policy")
	}
	second := orphan()
	e.clock.Add(time.Hour)
	e.take("")
	if _, err := os.Stat(second); err != nil {
		t.Fatalf("an hourly run swept: %v", err)
	}
	e.clock.Add(backups.MaintainEvery)
	e.take("")
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Fatalf("the next day's run left the orphan: %v", err)
	}
}

// A tenant whose database was lost (missing from the platform) comes back
// from its snapshot.
func TestRestoreMissingTenant(t *testing.T) {
	e := newEnv(t, localPlatform)
	ctx := context.Background()
	e.create("acme", 7)
	e.take("acme")
	if err := os.Remove(filepath.Join(e.dir, "tenants", "acme.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.life.Rescan(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if tn, _ := e.db.Tenant(ctx, "acme"); tn.Status != fleet.StatusMissing {
		t.Fatalf("after losing its file: %s", tn.Status)
	}
	if _, err := e.life.Rollback(ctx, "test", "acme", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.run()
	if tn, _ := e.db.Tenant(ctx, "acme"); tn.Status != fleet.StatusReady {
		t.Fatalf("after the restore: %+v", tn)
	}
	if n := e.orders("acme"); n != 7 {
		t.Fatalf("restored %d orders, want 7", n)
	}
}
