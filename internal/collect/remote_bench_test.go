package collect_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// BenchmarkCollectSqld1k collects one day from 1,000 sqld namespaces
// behind a proxy that adds 25 ms to every round trip, twice in one run:
// seed 000's way (one store after another: open, its query, its upsert)
// and Tenantry's collector (32 workers, one statement per store, batched
// central writes), and reports both and their ratio.
// TENANTRY_BENCH_STORES and TENANTRY_BENCH_LATENCY (ms) change the fleet
// and the delay.
func BenchmarkCollectSqld1k(b *testing.B) {
	stores := 1000
	if n, err := strconv.Atoi(os.Getenv("TENANTRY_BENCH_STORES")); err == nil && n > 0 {
		stores = n
	}
	latency := 25 * time.Millisecond
	if n, err := strconv.Atoi(os.Getenv("TENANTRY_BENCH_LATENCY")); err == nil && n >= 0 {
		latency = time.Duration(n) * time.Millisecond
	}
	ctx := context.Background()
	srv := sqldtest.Start(b, sqldtest.Options{NoAuth: os.Getenv("TENANTRY_BENCH_NOAUTH") != ""})
	proxy := sqldtest.StartLatencyProxy(b, srv.URL[len("http://"):], latency)
	dir := b.TempDir()
	cu, _ := tenantdb.CentralURL(filepath.Join(dir, "central.db"))
	db, err := central.Open(ctx, cu, "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// The data plane goes through the proxy; the admin API (used only to
	// build the fleet) does not.
	p, err := sqld.New(sqld.Options{URL: "http://" + proxy.Addr, AdminURL: srv.AdminURL, SigningKey: srv.Key, Catalog: db.Catalog("sqld")})
	if err != nil {
		b.Fatal(err)
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	names := buildSqldFleet(b, p, stores, day)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	life := lifecycle.New(db, p, jobs.NewRunner(db, log), log)
	if _, err := life.Rescan(ctx, ""); err != nil {
		b.Fatal(err)
	}
	rescan := func(ctx context.Context) error { _, err := life.Rescan(ctx, ""); return err }
	workers, _ := strconv.Atoi(os.Getenv("TENANTRY_BENCH_WORKERS")) // 0: the default, 32
	c := collect.New(db, p, rescan, collect.Options{Workers: workers}, log)
	// Warm up: sqld loads a namespace on its first request, and the
	// first connections are opened; both ways then start alike.
	if _, err := c.Run(ctx, collect.Spec{From: day, To: day, Trigger: "bench"}, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		seed := seedSqld(b, p, srv, db, names, day.Format(fleet.DayLayout))
		start, sqldCPU, ownCPU := time.Now(), srv.CPUTime(), processCPU()
		sum, err := c.Run(ctx, collect.Spec{From: day, To: day, Trigger: "bench"}, nil)
		ours := time.Since(start)
		b.Logf("during the collection: sqld used %v of CPU, this process %v; sqld log %d bytes", srv.CPUTime()-sqldCPU, processCPU()-ownCPU, len(srv.Log()))
		if err != nil || sum.OK != int64(stores) || sum.Failed != 0 {
			b.Fatalf("collection: %+v %v", sum, err)
		}
		b.ReportMetric(seed.Seconds(), "seed-s")
		b.ReportMetric(ours.Seconds(), "tenantry-s")
		b.ReportMetric(seed.Seconds()/ours.Seconds(), "x-faster")
		b.Logf("%d namespaces, %v per round trip: seed %.2f s (%.1f ms/store), tenantry %.3f s, %.1fx",
			stores, latency, seed.Seconds(), seed.Seconds()*1000/float64(stores), ours.Seconds(), seed.Seconds()/ours.Seconds())
	}
}

// buildSqldFleet makes one store with the schema and a day's orders,
// carts and products, and forks it into the fleet.
func buildSqldFleet(b *testing.B, p *sqld.Platform, stores int, day time.Time) []string {
	ctx := context.Background()
	if _, err := p.Create(ctx, "template"); err != nil {
		b.Fatal(err)
	}
	tdb, err := p.Open(ctx, "template")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := schema.Embedded().Apply(ctx, tdb, schema.Embedded().Latest()); err != nil {
		b.Fatal(err)
	}
	d := day.Format(fleet.DayLayout)
	for _, q := range []string{
		`INSERT INTO products(name, price, created_at) VALUES ('mug', 1200, '` + d + ` 08:00:00'), ('tee', 2500, '` + d + ` 09:30:00')`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 40) INSERT INTO orders(total_amount, created_at) SELECT 1000 + i*37, '` + d + ` ' || printf('%02d', i % 24) || ':15:00' FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 8) INSERT INTO carts(status, updated_at) SELECT 'active', '` + d + ` 12:00:00' FROM n`,
	} {
		if _, err := tdb.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	tdb.Close()
	names := make([]string, stores)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range names {
		names[i] = fmt.Sprintf("store-%04d", i)
		g.Go(func() error { _, err := p.Clone(gctx, "template", names[i], time.Time{}); return err })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	if err := p.Discard(ctx, "template"); err != nil {
		b.Fatal(err)
	}
	return names
}

// seedSqld is seed 000's collection over the network: one store after
// another, a connection, seed 000's query for the day, the upsert.
func seedSqld(b *testing.B, p *sqld.Platform, srv *sqldtest.Server, db *central.DB, names []string, day string) time.Duration {
	ctx := context.Background()
	start := time.Now()
	for _, name := range names {
		tdb, err := p.Open(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		m, err := readSeed(ctx, tdb, name, day)
		if err != nil {
			b.Fatal(err)
		}
		tdb.Close()
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO metrics (date, database_name, total_orders, total_revenue, active_carts, new_products)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (date, database_name) DO UPDATE SET total_orders = excluded.total_orders, total_revenue = excluded.total_revenue,
			active_carts = excluded.active_carts, new_products = excluded.new_products`,
			m.Date, m.Tenant, m.Orders, m.Revenue, m.ActiveCarts, m.NewProducts); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// processCPU is the processor time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
