package backups_test

import (
	"context"
	"testing"
	"time"
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
