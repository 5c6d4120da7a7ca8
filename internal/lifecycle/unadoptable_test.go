package lifecycle_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local/localtest"
)

// TestRescanReportsUnadoptable: a rescan adopts a good file dropped into
// the tenants directory and remembers, with reasons, the files it cannot
// adopt; fixing them clears the list at the next rescan.
func TestRescanReportsUnadoptable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := filepath.Join(e.dir, "tenants")
	if got := e.life.Unadoptable(); got != nil {
		t.Fatalf("before any rescan: %q", got)
	}
	localtest.PlantBadFiles(t, dir)

	res, err := e.life.Rescan(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Adopted, []string{"dropped"}) {
		t.Errorf("adopted %v, want [dropped]", res.Adopted)
	}
	if tn := e.tenant("dropped"); tn.Status != fleet.StatusReady {
		t.Errorf("dropped.db is %s", tn.Status)
	}
	want := []platform.Skipped{
		{File: "store_1.db", Reason: "invalid name (use a-z, 0-9 and -, not - first or last)"},
		{File: "x.db", Reason: "not a SQLite database"},
		{File: "y.db", Reason: "a symbolic link (refused)"},
	}
	if got := e.life.Unadoptable(); !slices.Equal(got, want) {
		t.Errorf("unadoptable after the rescan:\n got %q\nwant %q", got, want)
	}

	for _, name := range []string{"store_1.db", "x.db", "y.db"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.life.Rescan(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := e.life.Unadoptable(); len(got) != 0 {
		t.Errorf("after removing the files: %q", got)
	}
}
