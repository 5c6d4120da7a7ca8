package backups_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/demo/demotest"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/snapshot"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// BenchmarkRestore50MB measures, end to end as a user runs them, a
// rollback of a 50 MB local tenant to its snapshot (fetch and check the
// snapshot, keep the current database as a snapshot, swap, check) and a
// branch of it at a time (fetch, check, import): each from the call to
// the job's end. The target is under 1 s each.
func BenchmarkRestore50MB(b *testing.B) {
	e := newEnv(b, localPlatform)
	ctx := context.Background()
	if _, err := e.life.Create(ctx, "test", "big"); err != nil {
		b.Fatal(err)
	}
	e.run()
	// Orders with text that compresses about as a store's rows do.
	e.exec("big", `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 240000)
		INSERT INTO orders (id, total_amount, status, created_at) SELECT i, i % 9973, printf('paid by customer %d %s', i % 977, hex(randomblob(60))), '2026-02-01' FROM n`)
	info, err := e.p.Get(ctx, "big")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	e.take("big")
	took := time.Since(start)
	at := e.clock.Now()
	for i := 0; b.Loop(); i++ {
		e.clock.Add(time.Minute)
		e.exec("big", `DELETE FROM orders WHERE id % 10 = 0`) // the write a rollback undoes
		start := time.Now()
		if _, err := e.life.Rollback(ctx, "test", "big", at); err != nil {
			b.Fatal(err)
		}
		e.run()
		rollback := time.Since(start)
		start = time.Now()
		if _, err := e.life.Clone(ctx, "test", "big", "branch-"+string(rune('a'+i%26))+time.Now().Format("150405000"), at); err != nil {
			b.Fatal(err)
		}
		e.run()
		branch := time.Since(start)
		b.ReportMetric(rollback.Seconds(), "s-restore")
		b.ReportMetric(branch.Seconds(), "s-branch")
		b.ReportMetric(0, "ns/op")
		b.Logf("tenant %.1f MB, first snapshot in %s | restore to it (keeping the current one first) %s | branch at it %s (target < 1 s each)",
			float64(info.SizeBytes)/(1<<20), took.Round(time.Millisecond), rollback.Round(time.Millisecond), branch.Round(time.Millisecond))
	}
}

// BenchmarkHourlyRun measures the snapshot job end to end on the
// benchmark fleet (demotest.Fleet: 10,000 stores × 90 days; set
// TENANTRY_BENCH_STORES to shrink it), as serve runs it: the first run
// (every store copied, the full maintenance), an hourly run after writes
// to 1 % of the stores (the target: under 3 s), and the next
// day's run over a quiet fleet, which applies the retention policy to
// every tenant, sweeps the store and prunes the central history.
func BenchmarkHourlyRun(b *testing.B) {
	n := demotest.Stores()
	fleetDir := demotest.Fleet(b, n, 90)
	dir := b.TempDir()
	copyFile(b, filepath.Join(fleetDir, "central.db"), filepath.Join(dir, "central.db"))
	clock := &centraltest.Clock{}
	clock.Set(demotest.FleetEnd.Add(12 * time.Hour))
	u, _ := tenantdb.CentralURL(filepath.Join(dir, "central.db"))
	db, err := central.Open(context.Background(), u, "", central.WithClock(clock.Now))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	p, err := local.New(fleetDir)
	if err != nil {
		b.Fatal(err)
	}
	p.Settle = 10 * time.Millisecond
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := jobs.NewRunner(db, log)
	store := filepath.Join(dir, "snapshots")
	svc, err := backups.New(db, p, func() (snapshot.Store, error) { return snapshot.OpenDir(store) }, runner, log, backups.Options{Every: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	ctx := context.Background()
	run := func() (*fleet.SnapshotRun, time.Duration) {
		b.Helper()
		start := time.Now()
		r, _, err := svc.Submit(ctx, "bench", "schedule", "")
		if err != nil {
			b.Fatal(err)
		}
		if err := runner.RunPending(ctx); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		if r, err = db.SnapshotRunByID(ctx, r.ID); err != nil || r.State != fleet.RunSucceeded {
			b.Fatalf("run: %+v %v", r, err)
		}
		return r, took
	}
	for b.Loop() {
		first, firstTook := run()
		names, err := db.ReadyNamesAfter(ctx, "", n)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(names); i += 100 {
			e := &env{t: b, p: p}
			// A write taken back: the same rows, a changed file.
			e.exec(names[i], `INSERT INTO products(name, price, created_at) VALUES ('touch', 1, '1999-01-01 00:00:00')`)
			e.exec(names[i], `DELETE FROM products WHERE created_at = '1999-01-01 00:00:00'`)
		}
		for deadline := time.Now().Add(time.Minute); snapshot.Fingerprints(ctx, p, names[len(names)-1:])[0] == ""; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("no fingerprint")
			}
		}
		clock.Add(time.Hour)
		hourly, hourlyTook := run()
		clock.Add(backups.MaintainEvery)
		daily, dailyTook := run()
		b.ReportMetric(firstTook.Seconds(), "s-first")
		b.ReportMetric(hourlyTook.Seconds(), "s-hourly")
		b.ReportMetric(dailyTook.Seconds(), "s-daily")
		b.ReportMetric(0, "ns/op")
		b.Logf("stores %d | first run (every store, full maintenance) %s: %d snapshotted | hourly run after writes to 1 %%: %s, %d snapshotted, %d unchanged (target < 3 s) | next day's run, quiet fleet, full maintenance: %s, %d unchanged",
			n, firstTook.Round(time.Millisecond), first.Snapshotted, hourlyTook.Round(time.Millisecond), hourly.Snapshotted, hourly.Unchanged,
			dailyTook.Round(time.Millisecond), daily.Unchanged)
	}
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o640); err != nil {
		b.Fatal(err)
	}
}
