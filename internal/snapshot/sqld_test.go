package snapshot_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/snapshot"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// newSqld returns a sqld platform over a real sqld, its catalog in a
// fresh central database.
func newSqld(t *testing.T) *sqld.Platform {
	t.Helper()
	srv := sqldtest.Start(t, sqldtest.Options{AdminKey: "admin-secret"})
	u, err := tenantdb.CentralURL(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := central.Open(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := sqld.New(sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, AdminKey: srv.AdminKey, SigningKey: srv.Key, Catalog: db.Catalog("sqld")})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// On sqld a snapshot is the namespace's dump, loaded into a file; sqld
// tells no last write, so every run takes one.
func TestTakeSqld(t *testing.T) {
	ctx := context.Background()
	p := newSqld(t)
	makeTenant(t, p, "store-1", 700)
	d := openDir(t, t.TempDir())
	var res collectResults
	err := snapshot.TakeAll(ctx, p, d, snapshot.Options{}, snapshot.Targets(snapshot.Target{Tenant: "store-1"}, snapshot.Target{Tenant: "gone"}), res.sink)
	if err != nil {
		t.Fatal(err)
	}
	r := res.got["store-1"]
	if !r.Taken() || r.Snapshot.Fingerprint != "" {
		t.Fatalf("store-1: %+v", r)
	}
	if r := res.got["gone"]; r.Err == nil {
		t.Fatalf("gone: %+v", r)
	}
	dst := filepath.Join(t.TempDir(), "restored.db")
	if err := snapshot.Fetch(ctx, d, r.Snapshot, dst); err != nil {
		t.Fatal(err)
	}
	if n, v := countFile(t, dst); n != 700 || v != 7 {
		t.Fatalf("restored %d items, user_version %d; want 700 and 7", n, v)
	}
	var again collectResults
	tg := snapshot.Target{Tenant: "store-1", Last: r.Snapshot.Fingerprint}
	if err := snapshot.TakeAll(ctx, p, d, snapshot.Options{}, snapshot.Targets(tg), again.sink); err != nil || !again.got["store-1"].Taken() {
		t.Fatalf("second run on sqld: %v %+v", err, again.got)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("left in the work directory: %v", got)
	}
}
