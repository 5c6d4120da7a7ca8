package collect_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// the size), side by side in the same run with the floor and with
// seed 000's approach:
//
//   - the floor (TestCollectFloorChild): a bare program opening each store
//     with a fresh driver connection and running one index-range query,
//     grouped by day, with as many workers as ours;
//   - ours: a "tenantry collect" process, with the collection state of the
//     day before (the steady state of a server collecting every hour:
//     every store changed, its schema version known), for one day and for
//     a 90-day backfill, interleaved with the floor's runs of the same
//     (TENANTRY_BENCH_ROUNDS, default 3; medians, and their ratio);
//   - ours on a fresh central database (no state) once, and the
//     re-collection after a write to 1% of the stores;
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
	workers := 4 // the collector's default on the local platform
	rounds := 3
	if r, err := strconv.Atoi(os.Getenv("TENANTRY_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	for b.Loop() {
		// The state of yesterday's collection; its run also brings the
		// pages the collections read into the page cache.
		state := freshCentral(b, fleetDir)
		runCLI(b, bin, fleetDir, state, "--date", benchEnd.AddDate(0, 0, -1).Format(fleet.DayLayout))
		var floorDay, oursDay, floorBack, oursBack []time.Duration
		var one cliRun
		for range rounds {
			floorDay = append(floorDay, runFloor(b, fleetDir, day, day, workers))
			central := copyCentral(b, state)
			one = runCLI(b, bin, fleetDir, central, "--date", day)
			if one.sum.OK != int64(len(names)) || one.sum.Failed != 0 || one.sum.RowsWritten != int64(len(names)) {
				b.Fatalf("one-day run: %+v", one.sum)
			}
			oursDay = append(oursDay, one.wall)
			floorBack = append(floorBack, runFloor(b, fleetDir, from, day, workers))
			back := runCLI(b, bin, fleetDir, copyCentral(b, state), "--from", from, "--to", day)
			if back.sum.OK != int64(len(names)) || back.sum.RowsWritten != int64(len(names)*89) { // the day before is written already
				b.Fatalf("backfill: %+v", back.sum)
			}
			oursBack = append(oursBack, back.wall)
		}
		// Ours, the first collection on a fresh central database: no state,
		// every version read.
		first := runCLI(b, bin, fleetDir, freshCentral(b, fleetDir), "--date", day)
		// Ours: 1% of the stores written to, collected again.
		central := copyCentral(b, state)
		runCLI(b, bin, fleetDir, central, "--date", day)
		for i := 0; i < len(names); i += 100 {
			touch(b, fleetDir, names[i])
		}
		re := runCLI(b, bin, fleetDir, central, "--date", day)
		if want := int64((len(names) + 99) / 100); re.sum.OK != want {
			b.Fatalf("re-collection: %+v, want %d collected", re.sum, want)
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

		fd, od, fb, ob := median(floorDay), median(oursDay), median(floorBack), median(oursBack)
		b.ReportMetric(od.Seconds(), "s-one-day")
		b.ReportMetric(fd.Seconds(), "s-floor-one-day")
		b.ReportMetric(od.Seconds()/fd.Seconds(), "ratio-one-day")
		b.ReportMetric(ob.Seconds(), "s-backfill-90d")
		b.ReportMetric(fb.Seconds(), "s-floor-backfill-90d")
		b.ReportMetric(ob.Seconds()/fb.Seconds(), "ratio-backfill")
		b.ReportMetric(first.wall.Seconds(), "s-first-run")
		b.ReportMetric(float64(one.rss)/(1<<20), "MB-peak-rss")
		b.ReportMetric(re.wall.Seconds(), "s-recollect-1pct")
		b.ReportMetric(seedOne.Seconds()/od.Seconds(), "x-seed-one-day")
		b.ReportMetric(seedBack.Seconds()/ob.Seconds(), "x-seed-backfill")
		b.ReportMetric(0, "ns/op")
		b.Logf("stores %d, %d workers, %d interleaved rounds (medians)", len(names), workers, rounds)
		b.Logf("one day:  ours %s, floor %s: %.2fx the floor (ours %s, floor %s)", od.Round(time.Millisecond), fd.Round(time.Millisecond), od.Seconds()/fd.Seconds(), roundAll(oursDay), roundAll(floorDay))
		b.Logf("backfill: ours %s, floor %s: %.2fx the floor (ours %s, floor %s)", ob.Round(time.Millisecond), fb.Round(time.Millisecond), ob.Seconds()/fb.Seconds(), roundAll(oursBack), roundAll(floorBack))
		b.Logf("first collection, no state: %s | peak RSS %.1f MB | 1%% changed: %s", first.wall.Round(time.Millisecond), float64(one.rss)/(1<<20), re.wall.Round(time.Millisecond))
		b.Logf("seed 000: one day %s (%.1fx ours), 90 days %s scaled from %d stores (%.1fx ours)", seedOne.Round(time.Millisecond), seedOne.Seconds()/od.Seconds(),
			seedBack.Round(time.Millisecond), len(sample), seedBack.Seconds()/ob.Seconds())
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func roundAll(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, x := range d {
		out[i] = x.Round(10 * time.Millisecond)
	}
	return out
}

// runFloor runs the floor (TestCollectFloorChild) over the fleet's stores
// for from..to in a child process and returns its wall time.
func runFloor(b *testing.B, fleetDir, from, to string, workers int) time.Duration {
	b.Helper()
	hi, err := fleet.ParseDay(to)
	if err != nil {
		b.Fatal(err)
	}
	spec, _ := json.Marshal(floorRun{Dir: filepath.Join(fleetDir, "tenants"), Lo: from, Hi: hi.AddDate(0, 0, 1).Format(fleet.DayLayout), Workers: workers})
	cmd := exec.Command(os.Args[0], "-test.run=^TestCollectFloorChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), floorEnv+"="+string(spec))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("floor: %v\n%s", err, out)
	}
	return time.Since(start)
}
