package collect_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/demo"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/schema"
	"golang.org/x/sync/errgroup"
)

// benchEnd is the last day of every benchmark fleet's history.
var benchEnd = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// benchFleet returns the data directory of a generated fleet of n demo
// stores with days of history, made once and kept under .bench/ (or
// $TENANTRY_BENCH_DIR): the 10,000-store fleet takes minutes to make. Its
// central database holds the registry only; benchmarks copy it.
func benchFleet(b *testing.B, n, days int) string {
	b.Helper()
	root := os.Getenv("TENANTRY_BENCH_DIR")
	if root == "" {
		root = filepath.Join("..", "..", ".bench")
	}
	dir, err := filepath.Abs(filepath.Join(root, fmt.Sprintf("fleet-%dx%d", n, days)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "READY")); err == nil {
		return dir
	}
	b.Logf("generating a fleet of %d stores x %d days in %s (once)", n, days, dir)
	start := time.Now()
	os.RemoveAll(dir)
	ctx := context.Background()
	p, err := local.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	// One migrated template, copied per store: creating 10,000 tenants
	// through the lifecycle would measure the lifecycle, not collection.
	if _, err := p.Create(ctx, "template"); err != nil {
		b.Fatal(err)
	}
	tdb, _ := p.Open(ctx, "template")
	if _, err := schema.Migrate(ctx, tdb); err != nil {
		b.Fatal(err)
	}
	tdb.Close()
	if err := p.Delete(ctx, "template"); err != nil { // checkpointed into one file
		b.Fatal(err)
	}
	tmpl, _ := filepath.Glob(filepath.Join(dir, "archive", "template.*.db"))
	data, err := os.ReadFile(tmpl[0])
	if err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "archive"))
	profiles := demo.Profiles(n, 2026)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.NumCPU())
	var done atomic.Int64
	for _, pr := range profiles {
		g.Go(func() error {
			path := filepath.Join(dir, "tenants", pr.Name+".db")
			if err := os.WriteFile(path, data, 0o640); err != nil {
				return err
			}
			db, err := p.Open(gctx, pr.Name)
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := demo.Fill(gctx, db, pr, days, benchEnd, benchEnd.Add(23*time.Hour)); err != nil {
				return fmt.Errorf("%s: %w", pr.Name, err)
			}
			// Leave each store as a quiet one looks: checkpointed, no WAL.
			if _, err := db.ExecContext(gctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				return err
			}
			if k := done.Add(1); k%1000 == 0 {
				b.Logf("%d/%d stores", k, n)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	cdb, err := central.Open(ctx, "file:"+filepath.Join(dir, "central.db"), "")
	if err != nil {
		b.Fatal(err)
	}
	dbs, err := p.List(ctx)
	if err != nil {
		b.Fatal(err)
	}
	seen := make([]central.Observed, len(dbs))
	for i, d := range dbs {
		seen[i] = central.Observed{Name: d.Name, PlatformID: d.ID, URL: d.URL, SizeBytes: d.SizeBytes, ModifiedAt: d.ModifiedAt}
	}
	if _, err := cdb.Reconcile(ctx, "local", seen); err != nil {
		b.Fatal(err)
	}
	if _, err := cdb.SQL().Exec(`UPDATE tenants SET schema_version = 1`); err != nil {
		b.Fatal(err)
	}
	if _, err := cdb.SQL().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	cdb.Close()
	if err := os.WriteFile(filepath.Join(dir, "READY"), []byte(time.Now().String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("fleet generated in %s", time.Since(start).Round(time.Second))
	return dir
}

// freshCentral copies the fleet's registry-only central database so each
// measured run starts from the same state.
func freshCentral(b *testing.B, fleetDir string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "central.db")
	src, err := os.Open(filepath.Join(fleetDir, "central.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		b.Fatal(err)
	}
	out.Close()
	return dst
}
