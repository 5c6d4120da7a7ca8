package lifecycle_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// median reports the median and the slowest of samples as metrics.
func report(b *testing.B, samples []time.Duration) {
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(samples[len(samples)-1].Microseconds())/1000, "ms-max")
	b.ReportMetric(0, "ns/op") // the per-op mean of a sampled loop says nothing
}

// BenchmarkCreateTenant times the whole create path: claim, durable job,
// empty database, schema migration, readiness check, registry update.
// Target: median under 30 ms.
func BenchmarkCreateTenant(b *testing.B) {
	e := newEnv(b)
	var samples []time.Duration
	i := 0
	for b.Loop() {
		for range 50 {
			i++
			start := time.Now()
			j, err := e.life.Create(context.Background(), "bench", fmt.Sprintf("store-%d", i))
			if err != nil {
				b.Fatal(err)
			}
			if fin, err := e.runner.RunNow(context.Background(), j.ID); err != nil || fin.State != fleet.JobSucceeded {
				b.Fatalf("create: %v %+v", err, fin)
			}
			samples = append(samples, time.Since(start))
		}
	}
	report(b, samples)
}

// BenchmarkBranch50MB times branching a 50 MB tenant (online backup into
// tmp, fsync, atomic publish, registry update). Target: under 0.5 s.
func BenchmarkBranch50MB(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	j, _ := e.life.Create(ctx, "bench", "big")
	if _, err := e.runner.RunNow(ctx, j.ID); err != nil {
		b.Fatal(err)
	}
	db, _ := e.p.Open(ctx, "big")
	// ~50 MB of orders and products with their indexes.
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 280000)
		INSERT INTO orders(total_amount, status, created_at, updated_at)
		SELECT abs(random()) % 50000, 'paid', datetime('2026-01-01', '+' || (i % 300) || ' days', '+' || (i % 86400) || ' seconds'),
		datetime('2026-01-01', '+' || (i % 300) || ' days') FROM n`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 40000)
		INSERT INTO products(name, price, description) SELECT 'Product ' || i, i % 9000, hex(randomblob(250)) FROM n`); err != nil {
		b.Fatal(err)
	}
	db.Close()
	var samples []time.Duration
	i := 0
	for b.Loop() {
		for range 5 {
			i++
			start := time.Now()
			j, err := e.life.Clone(ctx, "bench", "big", fmt.Sprintf("branch-%d", i), time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			if fin, err := e.runner.RunNow(ctx, j.ID); err != nil || fin.State != fleet.JobSucceeded {
				b.Fatalf("clone: %v %+v", err, fin)
			}
			samples = append(samples, time.Since(start))
		}
	}
	d, _ := e.p.Get(ctx, "big")
	b.ReportMetric(float64(d.SizeBytes)/1e6, "MB-source")
	report(b, samples)
}
