package local_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// ImportChecked publishes a checked file as a new tenant, from the same
// file system (a link) or another (a copy), and refuses a name that is
// taken or invalid without touching anything.
func TestImportChecked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	file := func(in string, rows int) string {
		t.Helper()
		path := filepath.Join(in, "fetched.db")
		u, err := tenantdb.FileURL(path, false)
		if err != nil {
			t.Fatal(err)
		}
		db, err := tenantdb.Open(u)
		if err != nil {
			t.Fatal(err)
		}
		defer tenantdb.Forget(u)
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE t(v)`); err != nil {
			t.Fatal(err)
		}
		for range rows {
			if _, err := db.Exec(`INSERT INTO t VALUES (1)`); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}
	count := func(name string) int {
		t.Helper()
		db, err := p.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	same := t.TempDir() // the test's temp dirs share a file system
	if _, err := p.ImportChecked(ctx, "linked", file(same, 3)); err != nil {
		t.Fatal(err)
	}
	if n := count("linked"); n != 3 {
		t.Fatalf("linked tenant has %d rows", n)
	}
	if shm, err := os.MkdirTemp("/dev/shm", "tenantry-test-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		if _, err := p.ImportChecked(ctx, "copied", file(shm, 2)); err != nil {
			t.Fatal(err)
		}
		if n := count("copied"); n != 2 {
			t.Fatalf("copied tenant has %d rows", n)
		}
	}
	other := file(t.TempDir(), 5)
	if _, err := p.ImportChecked(ctx, "linked", other); fleet.ErrorCode(err) != fleet.ECONFLICT {
		t.Fatalf("over an existing tenant: %v", err)
	}
	if n := count("linked"); n != 3 {
		t.Fatalf("the existing tenant changed: %d rows", n)
	}
	if _, err := p.ImportChecked(ctx, "../escape", other); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("invalid name: %v", err)
	}
	if es, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(es) != 0 {
		t.Fatalf("left in tmp: %v", es)
	}
}
