package snapshot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/snapshot"
)

// TakeAll's workers leave a snapshot's name to be synced, but its sink
// sees no snapshot before the directories that hold its name are synced:
// the tenant's, and the store's own, which holds the new tenant
// directories.
func TestTakeAllSyncsNamesBeforeTheSink(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	var tenants []snapshot.Target
	for i := range 7 {
		name := fmt.Sprintf("store-%d", i)
		makeTenant(t, p, name, 50)
		tenants = append(tenants, snapshot.Target{Tenant: name})
	}
	var mu sync.Mutex
	synced := map[string]int{}
	defer snapshot.OnDirSync(func(name string) {
		mu.Lock()
		defer mu.Unlock()
		synced[name]++
	})()
	taken := 0
	err := snapshot.TakeAll(ctx, p, d, snapshot.Options{Workers: 2, Batch: 3}, snapshot.Targets(tenants...), func(batch []snapshot.Result) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range batch {
			if !r.Taken() {
				t.Errorf("%s: %v", r.Tenant, r.Err)
				continue
			}
			taken++
			tenant, _, _ := strings.Cut(r.Snapshot.Key, "/")
			if synced[tenant] == 0 || synced["."] == 0 {
				t.Errorf("the sink saw %s before its name was synced (synced: %v)", r.Snapshot.Key, synced)
			}
		}
		return nil
	})
	if err != nil || taken != len(tenants) {
		t.Fatalf("%d taken: %v", taken, err)
	}
	// One sync per tenant directory, and one of the store's per batch at
	// most: not one per snapshot of each.
	for _, tg := range tenants {
		if synced[tg.Tenant] != 1 {
			t.Errorf("%s synced %d times", tg.Tenant, synced[tg.Tenant])
		}
	}
	if n := synced["."]; n == 0 || n > 3 {
		t.Errorf("the store's directory synced %d times for 3 batches", n)
	}
	if got := keys(t, d); len(got) != len(tenants) || !slices.IsSorted(got) {
		t.Fatalf("stored: %v", got)
	}
}

// A file being put is written beside its tenant's snapshots: a failed
// put leaves nothing there, and what a crash leaves there (.put-*) is
// swept once it is an hour old, like the leftovers in .tmp, while
// anything else in the directory is left alone.
func TestDirUnfinishedBesideTheTenant(t *testing.T) {
	ctx := context.Background()
	d := openDir(t, t.TempDir())
	k := snapshot.NewKey("store-1", time.Now())
	if _, err := d.Put(ctx, k, &failingReader{n: 100_000}); err == nil {
		t.Fatal("put of a broken reader succeeded")
	}
	if got := entries(t, filepath.Join(d.Path(), "store-1")); len(got) != 0 {
		t.Fatalf("a failed put left %v", got)
	}

	now := time.Now()
	old := now.Add(-snapshot.SweepAge - time.Minute)
	for name, mod := range map[string]time.Time{".put-0123abcd": old, ".put-4567cdef": now, "notes.txt": old} {
		p := filepath.Join(d.Path(), "store-1", name)
		if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	if got := keys(t, d); len(got) != 0 {
		t.Fatalf("unfinished files listed as snapshots: %v", got)
	}
	sw, err := snapshot.Sweep(ctx, d, now, func(ctx context.Context, keys []string) ([]bool, error) {
		return make([]bool, len(keys)), nil
	})
	if err != nil || sw.Unfinished != 1 {
		t.Fatalf("swept %+v, want 1 unfinished: %v", sw, err)
	}
	if got := entries(t, filepath.Join(d.Path(), "store-1")); !slices.Equal(got, []string{".put-4567cdef", "notes.txt"}) {
		t.Fatalf("left after the sweep: %v", got)
	}
}
