package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// benchFleet returns a directory of n tenant databases with the store
// schema and 20 to 60 orders each, made once under .bench/ (or
// $TENANTRY_BENCH_DIR) by copying one migrated template.
func benchFleet(b *testing.B, n int) string {
	b.Helper()
	root := os.Getenv("TENANTRY_BENCH_DIR")
	if root == "" {
		root = filepath.Join("..", "..", ".bench")
	}
	dir, err := filepath.Abs(filepath.Join(root, fmt.Sprintf("console-%d", n)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "READY")); err == nil {
		return dir
	}
	b.Logf("generating %d tenants in %s (once)", n, dir)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
	db.Close()
	tplBytes, err := os.ReadFile(tpl)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf("store-%05d.db", i))
		if err := os.WriteFile(path, tplBytes, 0o644); err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ?1)
			INSERT INTO orders(total_amount, status, created_at) SELECT x * 100, 'paid', '2026-11-01 10:00:00' FROM c`, 20+i%41); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	os.Remove(tpl)
	if err := os.WriteFile(filepath.Join(dir, "READY"), []byte("1"), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

type countSink struct{ rows, failed int }

func (s *countSink) Columns([]console.Column) error   { return nil }
func (s *countSink) Row(string, []any) error          { s.rows++; return nil }
func (s *countSink) Fail(e console.TenantError) error { s.failed++; return nil }
func (s *countSink) TenantTruncated(string) error     { return nil }
func (s *countSink) Progress(done, failed, total int) {}

// heapPeak samples the live heap while fn runs.
func heapPeak(fn func()) (peak uint64) {
	done := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64())
			}
		}
	}()
	fn()
	close(done)
	return peak
}

// BenchmarkFanOut10k runs SELECT count(*) FROM orders over 10,000 local
// tenants, as `tenantry sql --all` does. Target: under 3 s, memory
// bounded (the live heap is sampled throughout).
func BenchmarkFanOut10k(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("TENANTRY_BENCH_STORES")); err == nil && v > 0 {
		n = v
	}
	dir := benchFleet(b, n)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("store-%05d", i)
	}
	// Read every file once, as a fleet in use sits in the page cache.
	for _, name := range names {
		f, _ := os.Open(filepath.Join(dir, name+".db"))
		io.Copy(io.Discard, f)
		f.Close()
	}
	open := func(ctx context.Context, name string) (console.Conn, error) {
		return tenantdb.OpenConsoleFile(ctx, filepath.Join(dir, name+".db"), false)
	}
	for _, workers := range []int{runtime.GOMAXPROCS(0), 2 * runtime.GOMAXPROCS(0), 4 * runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var took time.Duration
			var peak uint64
			for b.Loop() {
				s := &countSink{}
				start := time.Now()
				peak = max(peak, heapPeak(func() {
					_, err := console.FanOut{Tenants: names, Open: open, Request: console.Request{SQL: `SELECT count(*) FROM orders`},
						Limits: console.Limits{}.WithDefaults(), Workers: workers}.Run(context.Background(), s)
					if err != nil {
						b.Fatal(err)
					}
				}))
				took = time.Since(start)
				if s.rows != n || s.failed != 0 {
					b.Fatalf("%d rows, %d failed", s.rows, s.failed)
				}
			}
			b.ReportMetric(took.Seconds(), "s/fan-out")
			b.ReportMetric(float64(peak)/(1<<20), "MB-heap-peak")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkConsoleOverhead compares one console query on a tenant
// (open the guarded connection, run within limits, close) with the same
// query through the bare driver (open, query, scan, close). Target: the
// console adds under 1 ms.
func BenchmarkConsoleOverhead(b *testing.B) {
	dir := b.TempDir()
	path := tenant(b, dir, "one", 500)
	q := `SELECT id, total_amount, note FROM orders WHERE id > 100 ORDER BY id LIMIT 200`
	bare := func() {
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			b.Fatal(err)
		}
		rows, err := db.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		var id, total int64
		var note string
		for rows.Next() {
			if err := rows.Scan(&id, &total, &note); err != nil {
				b.Fatal(err)
			}
		}
		rows.Close()
		db.Close()
	}
	ours := func() {
		c, err := tenantdb.OpenConsoleFile(context.Background(), path, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := console.Run(context.Background(), c, console.Request{SQL: q}, console.Limits{}.WithDefaults()); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	// Side by side, interleaved, so both see the same machine.
	var tb, to time.Duration
	for b.Loop() {
		start := time.Now()
		bare()
		tb += time.Since(start)
		start = time.Now()
		ours()
		to += time.Since(start)
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64((tb / n).Microseconds()), "µs-bare")
	b.ReportMetric(float64((to / n).Microseconds()), "µs-console")
	b.ReportMetric(float64((to-tb)/n)/1000, "µs-overhead")
	b.ReportMetric(0, "ns/op")
}
