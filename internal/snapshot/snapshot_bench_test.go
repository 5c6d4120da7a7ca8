package snapshot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/demo/demotest"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/snapshot"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// childEnv carries a fleet run's orders to the child process that runs it.
const childEnv = "TENANTRY_SNAPSHOT_CHILD"

// childRun is what the child is told to do and what it found.
type childRun struct {
	Fleet string // data directory
	Store string // snapshot directory
	Last  string // file of the previous run's fingerprints ("" for none)
	Out   string // where the child writes its summary and fingerprints

	Taken, Unchanged, Failed int
	Bytes, RawBytes          int64
	Errors                   []string
	Fingerprints             map[string]string
}

// TestSnapshotChild is the child process of the fleet benchmark: a
// snapshot run of the whole fleet, 2 workers, in a process of its own so
// that its peak RSS is its own. It does nothing in a normal test run.
func TestSnapshotChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("the fleet benchmark's child process")
	}
	var run childRun
	if err := json.Unmarshal([]byte(spec), &run); err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	if run.Last != "" {
		b, err := os.ReadFile(run.Last)
		if err != nil {
			t.Fatal(err)
		}
		var prev childRun
		if err := json.Unmarshal(b, &prev); err != nil {
			t.Fatal(err)
		}
		last = prev.Fingerprints
	}
	ctx := context.Background()
	p, err := local.New(run.Fleet)
	if err != nil {
		t.Fatal(err)
	}
	d, err := snapshot.OpenDir(run.Store)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dbs, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	source := func(ctx context.Context, emit func(snapshot.Target) bool) error {
		for _, db := range dbs {
			if !emit(snapshot.Target{Tenant: db.Name, Last: last[db.Name]}) {
				return ctx.Err()
			}
		}
		return nil
	}
	run.Fingerprints = map[string]string{}
	err = snapshot.TakeAll(ctx, p, d, snapshot.Options{Workers: 2, Batch: 100}, source, func(batch []snapshot.Result) error {
		for _, r := range batch {
			switch {
			case r.Err != nil:
				run.Failed++
				if len(run.Errors) < 5 {
					run.Errors = append(run.Errors, r.Tenant+": "+r.Err.Error())
				}
			case r.Unchanged:
				run.Unchanged++
				run.Fingerprints[r.Tenant] = last[r.Tenant]
			default:
				run.Taken++
				run.Bytes += r.Snapshot.Size
				run.RawBytes += r.Snapshot.RawSize
				run.Fingerprints[r.Tenant] = r.Snapshot.Fingerprint
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(run)
	if err := os.WriteFile(run.Out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// cost is what a process took: wall time from outside, CPU time (user
// and system, its children's included) and peak RSS from getrusage. On a
// shared machine the CPU time says more than the wall time of what a
// change saved.
type cost struct {
	wall, cpu time.Duration
	rss       int64 // bytes
}

func (c cost) String() string {
	return fmt.Sprintf("%s (CPU %s)", c.wall.Round(time.Millisecond), c.cpu.Round(10*time.Millisecond))
}

// runCmd runs cmd and measures it.
func runCmd(b *testing.B, what string, cmd *exec.Cmd) cost {
	b.Helper()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s", what, err, out)
	}
	ps := cmd.ProcessState
	return cost{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), rss: ps.SysUsage().(*syscall.Rusage).Maxrss * 1024}
}

// measured is a child's run and what it cost.
type measured struct {
	childRun
	cost
}

func runChild(b *testing.B, run childRun) measured {
	b.Helper()
	spec, _ := json.Marshal(run)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSnapshotChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	var m measured
	m.cost = runCmd(b, "snapshot run", cmd)
	raw, err := os.ReadFile(run.Out)
	if err != nil {
		b.Fatalf("snapshot run wrote nothing: %v", err)
	}
	if err := json.Unmarshal(raw, &m.childRun); err != nil {
		b.Fatal(err)
	}
	return m
}

// runFloor runs the floor (TestFloorChild) in a child process and returns
// what it cost and the bytes it wrote, which it then removes.
func runFloor(b *testing.B, run floorRun, files int) (cost, int64) {
	b.Helper()
	if err := os.MkdirAll(run.Out, 0o750); err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(run.Out)
	spec, _ := json.Marshal(run)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloorChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), floorEnv+"="+string(spec))
	c := runCmd(b, "floor", cmd)
	es, err := os.ReadDir(run.Out)
	if err != nil || len(es) != files {
		b.Fatalf("floor wrote %d files of %d: %v", len(es), files, err)
	}
	var size int64
	for _, e := range es {
		if fi, err := e.Info(); err == nil {
			size += fi.Size()
		}
	}
	return c, size
}

// runTar runs `tar -c FILES | zstd -1` and returns what it cost and the
// size of its output, which it then removes.
func runTar(b *testing.B, dir string, files []string, out string) (cost, int64) {
	b.Helper()
	defer os.Remove(out)
	cmd := exec.Command("sh", "-c", `tar -cf - -C "$1" -T - | zstd -1 -q -o "$2"`, "sh", dir, out)
	cmd.Stdin = strings.NewReader(strings.Join(files, "\n") + "\n")
	c := runCmd(b, "tar | zstd -1", cmd)
	fi, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	return c, fi.Size()
}

// BenchmarkSnapshotFleet measures fleet snapshots on the benchmark fleet
// (10,000 stores with 90 days of history; TENANTRY_BENCH_STORES shrinks
// it), each store file read once beforehand so that every side starts
// from the page cache:
//
//   - the first full snapshot of the fleet, 2 workers, in a process of
//     its own (wall time, CPU time and peak RSS), side by side in the same
//     run with `tar -c FILES | zstd -1` over the same files and with the
//     floor (TestFloorChild: a bare program doing only the work a
//     snapshot cannot do without), each iteration running all three;
//   - the hourly run after writes to 1 % of the stores.
func BenchmarkSnapshotFleet(b *testing.B) {
	fleetDir := demotest.Fleet(b, demotest.Stores(), 90)
	tenants := filepath.Join(fleetDir, "tenants")
	var files []string
	es, err := os.ReadDir(tenants)
	if err != nil {
		b.Fatal(err)
	}
	var raw int64
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".db") {
			files = append(files, e.Name())
			if fi, err := e.Info(); err == nil {
				raw += fi.Size()
			}
		}
	}
	warmFiles(b, tenants, files)
	_, zstdErr := exec.LookPath("zstd")
	if zstdErr != nil {
		b.Logf("no zstd on this machine (%v): the tar | zstd -1 baseline is skipped", zstdErr)
	}
	for b.Loop() {
		work := b.TempDir()
		var tar cost
		var tarSize int64
		if zstdErr == nil {
			tar, tarSize = runTar(b, tenants, files, filepath.Join(work, "fleet.tar.zst"))
		}
		floor, floorSize := runFloor(b, floorRun{Dir: tenants, Out: filepath.Join(work, "floor")}, len(files))
		store := filepath.Join(work, "snapshots")
		first := runChild(b, childRun{Fleet: fleetDir, Store: store, Out: filepath.Join(work, "first.json")})
		if first.Taken != len(files) || first.Failed != 0 {
			b.Fatalf("first run: %d taken, %d failed of %d: %v", first.Taken, first.Failed, len(files), first.Errors)
		}

		// The hourly run: 1 % of the stores written to since.
		touched := 0
		for i := 0; i < len(files); i += 100 {
			touchStore(b, filepath.Join(tenants, files[i]))
			touched++
		}
		hourly := runChild(b, childRun{Fleet: fleetDir, Store: store, Last: filepath.Join(work, "first.json"), Out: filepath.Join(work, "hourly.json")})
		if hourly.Taken != touched || hourly.Unchanged != len(files)-touched || hourly.Failed != 0 {
			b.Fatalf("hourly run: %d taken, %d unchanged, %d failed; want %d taken: %v", hourly.Taken, hourly.Unchanged, hourly.Failed, touched, hourly.Errors)
		}

		b.ReportMetric(first.wall.Seconds(), "s-first-full")
		b.ReportMetric(floor.wall.Seconds(), "s-floor")
		b.ReportMetric(first.wall.Seconds()/floor.wall.Seconds(), "x-of-floor")
		b.ReportMetric(float64(first.rss)/(1<<20), "MB-peak-rss")
		b.ReportMetric(hourly.wall.Seconds(), "s-hourly-1pct")
		msg := fmt.Sprintf("stores %d (%.2f GB), first full snapshot, 2 workers", len(files), float64(raw)/(1<<30))
		if zstdErr == nil {
			msg += fmt.Sprintf(" | tar | zstd -1: %s, %.0f MB", tar, float64(tarSize)/(1<<20))
		}
		msg += fmt.Sprintf(" | floor: %s, %.0f MB | ours: %s, %.0f MB (%.1f%%), peak RSS %.1f MB | ours/floor %.2fx",
			floor, float64(floorSize)/(1<<20), first.cost, float64(first.Bytes)/(1<<20),
			100*float64(first.Bytes)/float64(first.RawBytes), float64(first.rss)/(1<<20), first.wall.Seconds()/floor.wall.Seconds())
		if zstdErr == nil {
			ratio := first.wall.Seconds() / tar.wall.Seconds()
			b.ReportMetric(tar.wall.Seconds(), "s-tar-zstd-1")
			b.ReportMetric(ratio, "x-of-tar-zstd")
			b.ReportMetric(floor.wall.Seconds()/tar.wall.Seconds(), "x-floor-of-tar")
			msg += fmt.Sprintf(", ours/tar %.2fx (target <= 1.5x), floor/tar %.2fx", ratio, floor.wall.Seconds()/tar.wall.Seconds())
		}
		msg += fmt.Sprintf(" | hourly after writes to %d stores: %s (peak RSS %.1f MB)", touched, hourly.cost, float64(hourly.rss)/(1<<20))
		b.ReportMetric(0, "ns/op")
		b.Log(msg)
	}
}

// warmFiles reads every file once.
func warmFiles(b *testing.B, dir string, files []string) {
	b.Helper()
	buf := make([]byte, 1<<20)
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, name))
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

// touchStore writes to a store and takes the write back: what it holds is
// the same, but its file changed, and so did its fingerprint.
func touchStore(b *testing.B, path string) {
	b.Helper()
	u, _ := tenantdb.FileURL(path, false)
	db, err := tenantdb.Open(u)
	if err != nil {
		b.Fatal(err)
	}
	defer tenantdb.Forget(u)
	defer db.Close()
	for _, q := range []string{
		`INSERT INTO products(name, price, created_at) VALUES ('touch', 1, '1999-01-01 00:00:00')`,
		`DELETE FROM products WHERE created_at = '1999-01-01 00:00:00'`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetch50MB measures bringing back a 50 MB tenant from its
// snapshot: the file alone (Fetch: decompress, checksum, quick_check),
// and as a new tenant (a branch: Fetch, then the platform's Import).
func BenchmarkFetch50MB(b *testing.B) {
	ctx := context.Background()
	p, d := newLocal(b)
	makeTenant(b, p, "big", 0)
	db, _ := p.Open(ctx, "big")
	// Rows like a store's: text that compresses about as much.
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 62000)
		INSERT INTO items (id, body) SELECT i, printf('order %d of customer %d: %s', i, i % 977, hex(randomblob(180))) FROM n`); err != nil {
		b.Fatal(err)
	}
	db.Close()
	info, _ := p.Get(ctx, "big")
	start := time.Now()
	snap, err := snapshot.Take(ctx, p, d, "big", snapshot.Options{})
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	for i := 0; b.Loop(); i++ {
		dst := filepath.Join(b.TempDir(), "big.db")
		start := time.Now()
		if err := snapshot.Fetch(ctx, d, snap, dst); err != nil {
			b.Fatal(err)
		}
		fetch := time.Since(start)
		f, err := os.Open(dst)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Import(ctx, fmt.Sprintf("branch-%d", i), f); err != nil {
			b.Fatal(err)
		}
		f.Close()
		branch := time.Since(start)
		b.ReportMetric(fetch.Seconds(), "s-fetch")
		b.ReportMetric(branch.Seconds(), "s-branch")
		b.ReportMetric(0, "ns/op")
		b.Logf("tenant %.1f MB, snapshot %.1f MB taken in %s | fetch %s (target < 1 s) | fetch + import as a branch %s",
			float64(info.SizeBytes)/(1<<20), float64(snap.Size)/(1<<20), took.Round(time.Millisecond), fetch.Round(time.Millisecond), branch.Round(time.Millisecond))
	}
}
