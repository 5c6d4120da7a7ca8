package schema_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/schema"
)

// rolloutBase returns a data directory of n local tenants at the built-in
// schema (version 1), each a small store (300 products, 600 orders, 100
// carts), adopted into a central registry: made once under .bench/ (or
// $TENANTRY_BENCH_DIR).
func rolloutBase(b *testing.B, n int) string {
	b.Helper()
	root := os.Getenv("TENANTRY_BENCH_DIR")
	if root == "" {
		root = filepath.Join("..", "..", ".bench")
	}
	dir, err := filepath.Abs(filepath.Join(root, fmt.Sprintf("rollout-%d", n)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "READY")); err == nil {
		return dir
	}
	b.Logf("generating %d tenants in %s (once)", n, dir)
	os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o755); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	tpl := filepath.Join(dir, "template.db")
	db, err := sql.Open("sqlite", "file:"+tpl)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := schema.Embedded().Apply(ctx, db, schema.Embedded().Latest()); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 300)
		 INSERT INTO products(name, price, description, created_at) SELECT 'product ' || x, x * 100, 'a fine thing', datetime('2026-06-01', '+' || (x % 150) || ' days') FROM c`,
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 600)
		 INSERT INTO orders(total_amount, status, created_at) SELECT x * 37 % 9000, 'paid', datetime('2026-08-01', '+' || (x % 90) || ' days') FROM c`,
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100)
		 INSERT INTO carts(status, updated_at) SELECT CASE WHEN x % 3 = 0 THEN 'active' ELSE 'abandoned' END, datetime('2026-10-01', '+' || (x % 50) || ' days') FROM c`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	tplBytes, err := os.ReadFile(tpl)
	if err != nil {
		b.Fatal(err)
	}
	os.Remove(tpl)
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, "tenants", fmt.Sprintf("store-%05d.db", i)), tplBytes, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cdb, err := central.Open(ctx, "file:"+filepath.Join(dir, "central.db"), "")
	if err != nil {
		b.Fatal(err)
	}
	p, err := local.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := lifecycle.New(cdb, p, jobs.NewRunner(cdb, log), log).Rescan(ctx, ""); err != nil {
		b.Fatal(err)
	}
	cdb.SQL().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	cdb.Close()
	if err := os.WriteFile(filepath.Join(dir, "READY"), []byte("1"), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// copyTree copies a data directory's files (one level of subdirectories).
func copyTree(b *testing.B, src, dst string) {
	b.Helper()
	os.RemoveAll(dst)
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRollout10k rolls a migration that adds a column and an index
// across 10,000 local tenants through the rollout job (registry mirrored,
// results recorded), and reports the wall time, the rate and the longest
// gap between progress updates.
//
//	go test -run '^$' -bench Rollout10k -benchtime 1x -v ./internal/schema/
func BenchmarkRollout10k(b *testing.B) {
	n := 10000
	if s := os.Getenv("TENANTRY_BENCH_TENANTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	base := rolloutBase(b, n)
	set, err := schema.Load(migrationsDir(b, map[string]string{"00002_product_sku.sql": skuMigration}))
	if err != nil {
		b.Fatal(err)
	}
	parallel := schema.DefaultParallel
	if s := os.Getenv("TENANTRY_BENCH_PARALLEL"); s != "" {
		parallel, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		work := base + "-work"
		copyTree(b, base, work)
		cdb, err := central.Open(ctx, "file:"+filepath.Join(work, "central.db"), "")
		if err != nil {
			b.Fatal(err)
		}
		p, err := local.New(work)
		if err != nil {
			b.Fatal(err)
		}
		runner := jobs.NewRunner(cdb, log)
		ro := schema.NewRollouts(cdb, p, set, log)
		ro.Register(runner)
		run, j, err := ro.Submit(ctx, runner, schema.Spec{Parallel: parallel, Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		// Watch the job's progress as the console does: the longest time
		// between two changes of its recorded count.
		stop := make(chan struct{})
		gaps := make(chan time.Duration, 1)
		go func() {
			var maxGap time.Duration
			last, lastDone := time.Now(), int64(-1)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					gaps <- maxGap
					return
				case <-t.C:
				}
				jj, err := cdb.Job(ctx, j.ID)
				if err != nil || jj.Done == lastDone {
					continue
				}
				if lastDone >= 0 {
					maxGap = max(maxGap, time.Since(last))
				}
				last, lastDone = time.Now(), jj.Done
			}
		}()
		b.StartTimer()
		start := time.Now()
		fin, err := runner.RunNow(ctx, j.ID)
		took := time.Since(start)
		b.StopTimer()
		close(stop)
		maxGap := <-gaps
		if err != nil || fin == nil || fin.State != "succeeded" {
			b.Fatalf("job: %+v %v", fin, err)
		}
		got, _ := cdb.MigrationRunByID(ctx, run.ID)
		if got.Migrated != int64(n) || got.Failed != 0 {
			b.Fatalf("run: %+v", got)
		}
		vs, _ := cdb.SchemaVersions(ctx)
		if len(vs) != 1 || vs[0].Version != 2 || vs[0].Tenants != int64(n) {
			b.Fatalf("registry after the rollout: %+v", vs)
		}
		b.ReportMetric(took.Seconds(), "s/rollout")
		b.ReportMetric(float64(n)/took.Seconds(), "tenants/s")
		b.ReportMetric(float64(maxGap.Milliseconds()), "max-progress-gap-ms")
		b.Logf("%d tenants, parallel %d: %s (%.0f tenants/s), longest gap between progress updates %s",
			n, parallel, took.Round(time.Millisecond), float64(n)/took.Seconds(), maxGap.Round(time.Millisecond))
		cdb.Close()
		b.StartTimer()
	}
}
