package collect_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

func benchStores() int {
	if n, err := strconv.Atoi(os.Getenv("TENANTRY_BENCH_STORES")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

// cliRun is one "tenantry collect" process: its summary, wall time and
// peak resident memory.
type cliRun struct {
	sum  collect.Summary
	wall time.Duration
	rss  int64 // bytes
}

func runCLI(b *testing.B, bin, fleetDir, centralPath string, args ...string) cliRun {
	b.Helper()
	cmd := exec.Command(bin, append([]string{"--data", fleetDir, "--central", "file:" + centralPath, "collect", "--json"}, args...)...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("tenantry collect: %v\n%s", err, out)
	}
	var r cliRun
	if err := json.Unmarshal(out, &r.sum); err != nil {
		b.Fatalf("collect --json: %v\n%s", err, out)
	}
	r.wall = wall
	r.rss = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	return r
}

// seedRun is seed 000's approach: one store after another, its literal
// query once per store and day, and its upsert, one statement at a time.
func seedRun(b *testing.B, fleetDir, centralPath string, names []string, days []string) time.Duration {
	b.Helper()
	ctx := context.Background()
	cu, _ := tenantdb.FileURL(centralPath, false)
	cdb, err := tenantdb.Open(cu)
	if err != nil {
		b.Fatal(err)
	}
	defer cdb.Close()
	start := time.Now()
	for _, name := range names {
		u, _ := tenantdb.FileURL(filepath.Join(fleetDir, "tenants", name+".db"), false)
		db, err := tenantdb.Open(u)
		if err != nil {
			b.Fatal(err)
		}
		for _, day := range days {
			m, err := readSeed(ctx, db, name, day)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := cdb.ExecContext(ctx, `INSERT INTO metrics (date, database_name, total_orders, total_revenue, active_carts, new_products)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (date, database_name)
				DO UPDATE SET
				total_orders = excluded.total_orders,
				total_revenue = excluded.total_revenue,
				active_carts = excluded.active_carts,
				new_products = excluded.new_products,
				created_at = CURRENT_TIMESTAMP`, m.Date, m.Tenant, m.Orders, m.Revenue, m.ActiveCarts, m.NewProducts); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
	}
	return time.Since(start)
}

func tenantNames(b *testing.B, fleetDir string) []string {
	b.Helper()
	es, err := os.ReadDir(filepath.Join(fleetDir, "tenants"))
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if n, ok := cutDB(e.Name()); ok {
			out = append(out, n)
		}
	}
	return out
}

func cutDB(s string) (string, bool) {
	if len(s) > 3 && s[len(s)-3:] == ".db" {
		return s[:len(s)-3], true
	}
	return "", false
}

// warm reads every store file once.
func warm(b *testing.B, fleetDir string, names []string) {
	b.Helper()
	buf := make([]byte, 1<<20)
	for _, n := range names {
		f, err := os.Open(filepath.Join(fleetDir, "tenants", n+".db"))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := f.Read(buf); err != nil {
				break
			}
		}
		f.Close()
	}
}

// touch makes a write that changes no value, so a store counts as changed.
func touch(b *testing.B, fleetDir, name string) {
	u, _ := tenantdb.FileURL(filepath.Join(fleetDir, "tenants", name+".db"), false)
	db, err := tenantdb.Open(u)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE orders SET status = status WHERE id = (SELECT min(id) FROM orders)`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO products(name, price, created_at) VALUES ('touch', 1, '1999-01-01 00:00:00')`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM products WHERE created_at = '1999-01-01 00:00:00'`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCollect10k measures the ETL on a generated fleet of 10,000
// local stores with 90 days of history (TENANTRY_BENCH_STORES overrides
// the size), side by side with seed 000's approach in the same run:
//
//   - one-day collection, a cold "tenantry collect --date" process
//     (every store read), with its peak RSS;
//   - re-collection after a write to 1% of the stores;
//   - a 90-day backfill;
//   - seed 000: its literal query per store (and per day, for the
//     backfill), one store after another. Its backfill is timed on every
//     50th store and scaled, since it would take long run whole.
func BenchmarkCollect10k(b *testing.B) {
	n := benchStores()
	fleetDir := benchFleet(b, n, 90)
	bin := filepath.Join(b.TempDir(), "tenantry")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tenantry").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	names := tenantNames(b, fleetDir)
	day := benchEnd.Format(fleet.DayLayout)
	from := benchEnd.AddDate(0, 0, -89).Format(fleet.DayLayout)
	for b.Loop() {
		// Ours: one day, every store, after an untimed run of the same, so
		// the pages it reads are cached as they would be on a server that
		// collects every hour.
		runCLI(b, bin, fleetDir, freshCentral(b, fleetDir), "--date", day)
		central := freshCentral(b, fleetDir)
		one := runCLI(b, bin, fleetDir, central, "--date", day)
		if one.sum.OK != int64(len(names)) || one.sum.Failed != 0 {
			b.Fatalf("one-day run: %+v", one.sum)
		}
		// Ours: 1% of the stores written to, collected again.
		for i := 0; i < len(names); i += 100 {
			touch(b, fleetDir, names[i])
		}
		re := runCLI(b, bin, fleetDir, central, "--date", day)
		if want := int64((len(names) + 99) / 100); re.sum.OK != want {
			b.Fatalf("re-collection: %+v, want %d collected", re.sum, want)
		}
		// Ours: 90-day backfill.
		back := runCLI(b, bin, fleetDir, freshCentral(b, fleetDir), "--from", from, "--to", day)
		if back.sum.OK != int64(len(names)) || back.sum.RowsWritten != int64(len(names)*90) {
			b.Fatalf("backfill: %+v", back.sum)
		}
		// Seed 000's way, one day, every store. It reads every page of every
		// store, more than the page cache holds here, so a warm-up cannot
		// cache it; reading the files once at least starts it level.
		warm(b, fleetDir, names)
		seedOne := seedRun(b, fleetDir, freshCentral(b, fleetDir), names, []string{day})
		// Seed 000's way, 90 days, every 50th store, scaled.
		var sample []string
		for i := 0; i < len(names); i += 50 {
			sample = append(sample, names[i])
		}
		days := fleet.Days(benchEnd.AddDate(0, 0, -89), benchEnd)
		seedBack := seedRun(b, fleetDir, freshCentral(b, fleetDir), sample, days) * time.Duration(len(names)) / time.Duration(len(sample))

		b.ReportMetric(one.wall.Seconds(), "s-one-day")
		b.ReportMetric(seedOne.Seconds(), "s-seed-one-day")
		b.ReportMetric(seedOne.Seconds()/one.wall.Seconds(), "x-one-day")
		b.ReportMetric(float64(one.rss)/(1<<20), "MB-peak-rss")
		b.ReportMetric(re.wall.Seconds(), "s-recollect-1pct")
		b.ReportMetric(back.wall.Seconds(), "s-backfill-90d")
		b.ReportMetric(seedBack.Seconds(), "s-seed-backfill-90d")
		b.ReportMetric(seedBack.Seconds()/back.wall.Seconds(), "x-backfill")
		b.ReportMetric(0, "ns/op")
		b.Logf("stores %d | one day: ours %s (peak RSS %.1f MB), seed %s, %.1fx | 1%% changed: %s | 90-day backfill: ours %s, seed %s (scaled from %d stores), %.1fx",
			len(names), one.wall.Round(time.Millisecond), float64(one.rss)/(1<<20), seedOne.Round(time.Millisecond), seedOne.Seconds()/one.wall.Seconds(),
			re.wall.Round(time.Millisecond), back.wall.Round(time.Millisecond), seedBack.Round(time.Millisecond), len(sample), seedBack.Seconds()/back.wall.Seconds())
	}
}
