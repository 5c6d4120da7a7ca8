package snapshot_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/snapshot"
)

const crashEnv = "TENANTRY_SNAPSHOT_CRASH"

// crashSpec is what the crash tests' child does until it is killed.
type crashSpec struct {
	Mode  string // "take": snapshot the fleet over and over; "fetch": fetch Snap over and over
	Data  string // the local platform's data directory
	Store string
	Snap  fleet.Snapshot
	Dst   string // fetch: the directory to fetch into
}

// TestCrashChild is the process the crash tests kill; it does nothing in
// a normal test run.
func TestCrashChild(t *testing.T) {
	raw := os.Getenv(crashEnv)
	if raw == "" {
		t.Skip("the crash tests' child process")
	}
	var spec crashSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := snapshot.OpenDir(spec.Store)
	if err != nil {
		t.Fatal(err)
	}
	switch spec.Mode {
	case "take":
		p, err := local.New(spec.Data)
		if err != nil {
			t.Fatal(err)
		}
		dbs, err := p.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for {
			var targets []snapshot.Target
			for _, db := range dbs {
				targets = append(targets, snapshot.Target{Tenant: db.Name})
			}
			if err := snapshot.TakeAll(ctx, p, d, snapshot.Options{Workers: 2}, snapshot.Targets(targets...), func([]snapshot.Result) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
	case "fetch":
		for i := 0; ; i++ {
			if err := snapshot.Fetch(ctx, d, spec.Snap, filepath.Join(spec.Dst, fmt.Sprintf("restored-%d.db", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// startCrashChild runs the child and returns it; the caller kills it.
func startCrashChild(t *testing.T, spec crashSpec) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+string(b))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// waitFor polls cond until it holds, or fails the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill -9 in the middle of a snapshot run: every file under a key is a
// whole snapshot; what the run was writing is only ever in .tmp or a
// .put-* file beside it, which the sweep removes once an hour old.
func TestCrashDuringTake(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	for i := range 8 {
		makeTenant(t, p, fmt.Sprintf("store-%d", i), 20000)
	}
	cmd := startCrashChild(t, crashSpec{Mode: "take", Data: filepath.Dir(d.Path()), Store: d.Path()})
	waitFor(t, "a dozen snapshots", func() bool { return len(keys(t, d)) >= 12 })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	stored := keys(t, d)
	for _, k := range stored {
		b, err := os.ReadFile(filepath.Join(d.Path(), k))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		tenant, at, _ := snapshot.ParseKey(k)
		snap := fleet.Snapshot{Tenant: tenant, TakenAt: at, Key: k, SHA256: hex.EncodeToString(sum[:])}
		dst := filepath.Join(t.TempDir(), "x.db")
		if err := snapshot.Fetch(ctx, d, snap, dst); err != nil {
			t.Fatalf("%s after kill -9: %v", k, err)
		}
		if n, _ := countFile(t, dst); n != 20000 {
			t.Fatalf("%s holds %d items", k, n)
		}
	}
	left := entries(t, d.TempDir())
	t.Logf("%d whole snapshots; left in .tmp: %v", len(stored), left)
	recordedAll := func(ctx context.Context, keys []string) ([]bool, error) {
		out := make([]bool, len(keys))
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	if _, err := snapshot.Sweep(ctx, d, time.Now(), recordedAll); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, d.TempDir()); len(got) != len(left) {
		t.Fatalf("a sweep removed files younger than an hour: %v, then %v", left, got)
	}
	if _, err := snapshot.Sweep(ctx, d, time.Now().Add(snapshot.SweepAge+time.Minute), recordedAll); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("after the sweep, .tmp holds %v", got)
	}
	if got := keys(t, d); len(got) != len(stored) {
		t.Fatalf("the sweep removed recorded snapshots: %d of %d left", len(got), len(stored))
	}
}

// kill -9 in the middle of a fetch: a restored file is either absent or
// whole, never a part of one under its name.
func TestCrashDuringFetch(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "big", 60000)
	snap, err := snapshot.Take(ctx, p, d, "big", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	cmd := startCrashChild(t, crashSpec{Mode: "fetch", Store: d.Path(), Snap: snap, Dst: dst})
	waitFor(t, "three restored files", func() bool {
		n := 0
		for _, name := range entries(t, dst) {
			if !strings.HasPrefix(name, ".") {
				n++
			}
		}
		return n >= 3
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	whole := 0
	for _, name := range entries(t, dst) {
		if strings.HasPrefix(name, ".") {
			continue // the one being written: never under the name asked for
		}
		if n, _ := countFile(t, filepath.Join(dst, name)); n != 60000 {
			t.Fatalf("%s holds %d items after kill -9", name, n)
		}
		whole++
	}
	if whole < 3 {
		t.Fatalf("%d whole files", whole)
	}
}
