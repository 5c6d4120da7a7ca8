package schema_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/schema"
)

type fleetEnv struct {
	t      testing.TB
	dir    string
	db     *central.DB
	p      *local.Platform
	runner *jobs.Runner
	life   *lifecycle.Service
	ro     *schema.Rollouts
	names  []string
}

// newFleet makes n tenants at the built-in schema (version 1), adopted into
// the registry the way a rescan adopts files, and a rollout service for set.
func newFleet(t testing.TB, n int, set *schema.Set) *fleetEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := central.Open(ctx, "file:"+filepath.Join(dir, "central.db"), "")
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
	e := &fleetEnv{t: t, dir: dir, db: db, p: p, runner: runner, life: lifecycle.New(db, p, runner, log)}
	e.ro = schema.NewRollouts(db, p, set, log)
	e.ro.Register(runner)
	tmpl := filepath.Join(dir, "template.db")
	tdb := plainDB(t, tmpl)
	if _, err := schema.Embedded().Apply(ctx, tdb, schema.Embedded().Latest()); err != nil {
		t.Fatal(err)
	}
	exec(t, tdb, `INSERT INTO products(name, price) VALUES ('tea', 300)`)
	tdb.Close()
	b, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("store-%03d", i)
		if err := os.WriteFile(filepath.Join(dir, "tenants", name+".db"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		e.names = append(e.names, name)
	}
	if _, err := e.life.Rescan(ctx, ""); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *fleetEnv) submit(s schema.Spec) *central.MigrationRun {
	e.t.Helper()
	run, _, err := e.ro.Submit(context.Background(), e.runner, s)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.runner.RunPending(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	got, err := e.db.MigrationRunByID(context.Background(), run.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func (e *fleetEnv) tenantDB(name string) *sql.DB {
	e.t.Helper()
	db, err := e.p.Open(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

func (e *fleetEnv) results(runID int64, outcome string) map[string]central.MigrationResult {
	e.t.Helper()
	rs, err := e.db.MigrationResults(context.Background(), runID, central.ResultFilter{Outcome: outcome, Limit: 100000})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]central.MigrationResult{}
	for _, r := range rs {
		out[r.Tenant] = r
	}
	return out
}

func (e *fleetEnv) version(name string) (registry int64, migErr string) {
	e.t.Helper()
	tn, err := e.db.Tenant(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return tn.SchemaVersion, tn.MigrationError
}

func fileHashes(t testing.TB, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	files, _ := filepath.Glob(filepath.Join(dir, "tenants", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = sha256.Sum256(b)
	}
	return out
}

// TestRolloutDryRunCanaryFull walks the operator's path: a dry run that
// changes no byte, a canary of three, then the full rollout, with the
// registry mirroring every tenant's version.
func TestRolloutDryRunCanaryFull(t *testing.T) {
	set := loadSet(t, map[string]string{"00002_product_sku.sql": skuMigration})
	e := newFleet(t, 12, set)
	ctx := context.Background()

	before := fileHashes(t, e.dir)
	dry := e.submit(schema.Spec{DryRun: true, Actor: "alice"})
	if dry.State != central.RunSucceeded || dry.Mode != central.ModeDryRun || dry.Total != 12 || dry.Migrated != 12 || dry.Failed != 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	if after := fileHashes(t, e.dir); !reflect.DeepEqual(before, after) {
		t.Fatal("a dry run changed tenant files")
	}
	pending := e.results(dry.ID, central.OutcomePending)
	if r := pending["store-005"]; r.From != 1 || r.Detail != "would apply 00002_product_sku.sql" {
		t.Fatalf("dry-run result: %+v", r)
	}

	canary := e.submit(schema.Spec{Canary: 3, Parallel: 2, Actor: "alice"})
	if canary.Mode != central.ModeCanary || canary.Total != 3 || canary.Migrated != 3 || canary.State != central.RunSucceeded {
		t.Fatalf("canary: %+v", canary)
	}
	for i, name := range e.names {
		v, _ := e.version(name)
		want := int64(1)
		if i < 3 {
			want = 2
		}
		if v != want {
			t.Fatalf("%s at version %d in the registry after the canary, want %d", name, v, want)
		}
	}
	for name, r := range e.results(canary.ID, central.OutcomeMigrated) {
		if r.Duration <= 0 || r.From != 1 || r.To != 2 {
			t.Fatalf("%s result: %+v", name, r)
		}
	}
	if cols := columns(t, e.tenantDB("store-000"), "products"); !slices.Contains(cols, "sku") {
		t.Fatalf("canary tenant lacks the column: %v", cols)
	}

	full := e.submit(schema.Spec{Parallel: 4, Actor: "alice"})
	if full.Total != 12 || full.Migrated != 9 || full.Skipped != 3 || full.Failed != 0 || full.State != central.RunSucceeded {
		t.Fatalf("full: %+v", full)
	}
	if r := e.results(full.ID, central.OutcomeSkipped)["store-001"]; r.Detail != "already at version 2" {
		t.Fatalf("skipped result: %+v", r)
	}
	counts, err := e.db.SchemaVersions(ctx)
	if err != nil || !reflect.DeepEqual(counts, []central.VersionCount{{Version: 2, Tenants: 12}}) {
		t.Fatalf("versions: %+v %v", counts, err)
	}
	for _, name := range e.names {
		if got := versions(t, e.tenantDB(name)); !reflect.DeepEqual(got, []int64{0, 1, 2}) {
			t.Fatalf("%s goose rows %v", name, got)
		}
	}
	// Every tenant at the target: nothing left to do.
	again := e.submit(schema.Spec{Actor: "alice"})
	if again.Migrated != 0 || again.Skipped != 12 {
		t.Fatalf("second full rollout: %+v", again)
	}
}

// TestRolloutFailuresContinueStopRetry: a tenant whose table drifted fails
// and stays at its version; continue goes on, stop stops, retry finishes.
func TestRolloutFailuresContinueStopRetry(t *testing.T) {
	set := loadSet(t, map[string]string{"00002_product_sku.sql": skuMigration})
	e := newFleet(t, 10, set)
	ctx := context.Background()
	exec(t, e.tenantDB("store-004"), `ALTER TABLE products ADD COLUMN sku TEXT`) // drift
	os.WriteFile(filepath.Join(e.dir, "tenants", "store-007.db"), []byte(strings.Repeat("not a database ", 500)), 0o644)

	// Stop at the first failure, one tenant at a time: store-004 fails, and
	// nothing after it is touched.
	stop := e.submit(schema.Spec{Parallel: 1, OnError: "stop", Actor: "bob"})
	if stop.State != central.RunStopped || stop.Migrated != 4 || stop.Failed != 1 || stop.Done() != 5 {
		t.Fatalf("stop: %+v", stop)
	}
	failed := e.results(stop.ID, central.OutcomeFailed)["store-004"]
	if !strings.Contains(failed.Error, "00002_product_sku.sql") || !strings.Contains(failed.Error, "duplicate column name: sku") || failed.To != 1 {
		t.Fatalf("failure: %+v", failed)
	}
	if v, msg := e.version("store-004"); v != 1 || !strings.Contains(msg, "duplicate column") {
		t.Fatalf("registry of the failed tenant: %d %q", v, msg)
	}
	if v, _ := e.version("store-005"); v != 1 {
		t.Fatal("a tenant after the failure was migrated")
	}

	// Continue: every other tenant is migrated; both bad ones are reported.
	cont := e.submit(schema.Spec{Parallel: 3, OnError: "continue", Actor: "bob"})
	if cont.State != central.RunFailed || cont.Failed != 2 || cont.Migrated != 4 || cont.Skipped != 4 {
		t.Fatalf("continue: %+v", cont)
	}
	if f := e.results(cont.ID, central.OutcomeFailed); len(f) != 2 || f["store-007"].Error == "" {
		t.Fatalf("failures: %+v", f)
	}
	names, err := e.db.TenantVersions(ctx, 0, true, "", 0)
	if err != nil || len(names) != 2 || names[0].Name != "store-004" || names[1].Name != "store-007" {
		t.Fatalf("failed tenants: %+v %v", names, err)
	}

	// Retry after fixing one of them: only the failed ones are visited. It
	// continues past the failure, as the console's retry inherits the run's
	// choice: in stop mode the order in which the two finish would decide
	// whether the other is started.
	exec(t, e.tenantDB("store-004"), `ALTER TABLE products DROP COLUMN sku`)
	retry := e.submit(schema.Spec{RetryOf: cont.ID, OnError: "continue", Actor: "bob"})
	if retry.Mode != central.ModeRetry || retry.Total != 2 || retry.Migrated != 1 || retry.Failed != 1 {
		t.Fatalf("retry: %+v", retry)
	}
	if v, msg := e.version("store-004"); v != 2 || msg != "" {
		t.Fatalf("retried tenant: %d %q", v, msg)
	}
	hist, err := e.db.TenantMigrationResults(ctx, "store-004", 10)
	if err != nil || len(hist) != 3 || hist[0].Outcome != central.OutcomeMigrated || hist[2].Outcome != central.OutcomeFailed {
		t.Fatalf("tenant history: %+v %v", hist, err)
	}
}

// TestRolloutResumesWithoutMigratingTwice interrupts a rollout part-way
// (the process dies: its context ends, its lease is left behind) and
// resumes it: the run finishes, every tenant has each version once, and
// the tenants migrated before the interruption are counted as migrated.
func TestRolloutResumesWithoutMigratingTwice(t *testing.T) {
	set := loadSet(t, map[string]string{"00002_product_sku.sql": skuMigration})
	e := newFleet(t, 40, set)
	ctx, cancel := context.WithCancel(context.Background())
	run, j, err := e.ro.Submit(ctx, e.runner, schema.Spec{Parallel: 2, Actor: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	// Kill the first attempt once a few tenants are migrated in their own
	// databases, before the registry has heard of all of them.
	go func() {
		for {
			n := 0
			for _, name := range e.names[:10] {
				if v, _ := schema.Version(context.Background(), e.tenantDB(name)); v == 2 {
					n++
				}
			}
			if n >= 5 {
				cancel()
				return
			}
		}
	}()
	if _, err := e.runner.RunNow(ctx, j.ID); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	mid, _ := e.db.MigrationRunByID(context.Background(), run.ID)
	if mid.Finished() {
		t.Fatalf("the interrupted run finished: %+v", mid)
	}
	host, _ := os.Hostname()
	if _, err := e.db.SQL().Exec(`UPDATE jobs SET lease_owner = ? WHERE id = ?`, host+":999999999:dead", j.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	fin, _ := e.db.MigrationRunByID(context.Background(), run.ID)
	if fin.State != central.RunSucceeded || fin.Migrated != 40 || fin.Done() != 40 {
		t.Fatalf("resumed run: %+v (interrupted at %d done)", fin, mid.Done())
	}
	for _, name := range e.names {
		if got := versions(t, e.tenantDB(name)); !reflect.DeepEqual(got, []int64{0, 1, 2}) {
			t.Fatalf("%s goose rows %v: migrated twice or not at all", name, got)
		}
	}
	if job, _ := e.db.Job(context.Background(), j.ID); job.State != fleet.JobSucceeded || job.Attempts != 2 {
		t.Fatalf("job: %+v", job)
	}
}

func TestRolloutRefusals(t *testing.T) {
	set := loadSet(t, map[string]string{"00002_product_sku.sql": skuMigration})
	e := newFleet(t, 3, set)
	ctx := context.Background()
	for name, s := range map[string]schema.Spec{
		"parallel":       {Parallel: 65},
		"negative":       {Parallel: -1},
		"on error":       {OnError: "maybe"},
		"canary size":    {Canary: -2},
		"two subsets":    {Canary: 2, Tenants: []string{"store-000"}},
		"unknown tenant": {Tenants: []string{"store-000", "nope"}},
		"invalid name":   {Tenants: []string{"../etc"}},
		"retry unknown":  {RetryOf: 99},
	} {
		if _, _, err := e.ro.Submit(ctx, e.runner, s); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %s", name, fleet.ErrorMessage(err))
		}
	}
	// Never two at once.
	first, _, err := e.ro.Submit(ctx, e.runner, schema.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.ro.Submit(ctx, e.runner, schema.Spec{DryRun: true})
	if fleet.ErrorCode(err) != fleet.ECONFLICT || !strings.Contains(fleet.ErrorMessage(err), fmt.Sprint(first.ID)) {
		t.Fatalf("second rollout: %v", err)
	}
	if err := e.runner.RunPending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.ro.Submit(ctx, e.runner, schema.Spec{DryRun: true}); err != nil {
		t.Fatalf("after the first finished: %v", err)
	}
}
