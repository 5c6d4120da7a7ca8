package snapshot_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// newLocal returns a local platform over a fresh data directory and a
// snapshot directory in it.
func newLocal(t testing.TB) (*local.Platform, *snapshot.Dir) {
	t.Helper()
	dir := t.TempDir()
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Settle = 0 // the tests write and snapshot within a second
	return p, openDir(t, filepath.Join(dir, "snapshots"))
}

// makeTenant creates a tenant with rows rows in a table "items" (and an
// index, so that quick_check has something to walk) and user_version 7.
func makeTenant(t testing.TB, p platform.Platform, name string, rows int) {
	t.Helper()
	ctx := context.Background()
	if _, err := p.Create(ctx, name); err != nil {
		t.Fatal(err)
	}
	db, err := p.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`,
		`CREATE INDEX items_body ON items (body)`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO items (id, body) SELECT i, printf('item %%d %%s', i, hex(randomblob(20))) FROM n`, rows),
		`PRAGMA user_version = 7`,
	} {
		if rows == 0 && strings.Contains(q, "INSERT") {
			continue
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// countFile counts the items of a SQLite file and reads its user_version.
func countFile(t testing.TB, path string) (items, version int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM items`).Scan(&items); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	return items, version
}

func countTenant(t testing.TB, p platform.Platform, name string) int64 {
	t.Helper()
	db, err := p.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM items`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// storedSum is the SHA-256 of the stored file.
func storedSum(t testing.TB, d *snapshot.Dir, key string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Path(), key))
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), int64(len(b))
}

func TestTakeAndFetch(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "store-1", 2000)
	before := time.Now()
	snap, err := snapshot.Take(ctx, p, d, "store-1", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tenant, at, err := snapshot.ParseKey(snap.Key); err != nil || tenant != "store-1" || at.Before(before) || at.After(snap.TakenAt) {
		t.Fatalf("key %s: %s %s %v", snap.Key, tenant, at, err)
	}
	if snap.Tenant != "store-1" || snap.TakenAt.Before(before) || snap.TakenAt.After(time.Now()) || snap.TakenAt.Location() != time.UTC {
		t.Fatalf("snapshot %+v", snap)
	}
	if snap.ID != 0 || snap.RunID != 0 {
		t.Fatalf("the snapshot is recorded by the caller, not here: %+v", snap)
	}
	sum, size := storedSum(t, d, snap.Key)
	if fi, _ := os.Stat(tenantPath(t, p, "store-1")); snap.SHA256 != sum || snap.Size != size || snap.RawSize != fi.Size() || snap.RawSize <= size {
		t.Fatalf("snapshot %+v; stored %d bytes, SHA-256 %s", snap, size, sum)
	}
	if fp := snapshot.Fingerprints(ctx, p, []string{"store-1"}); snap.Fingerprint == "" || fp[0] != snap.Fingerprint {
		t.Fatalf("fingerprint %q, now %q", snap.Fingerprint, fp[0])
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("left in the work directory: %v", got)
	}

	dst := filepath.Join(t.TempDir(), "restored.db")
	if err := snapshot.Fetch(ctx, d, snap, dst); err != nil {
		t.Fatal(err)
	}
	if n, v := countFile(t, dst); n != 2000 || v != 7 {
		t.Fatalf("restored %d items, user_version %d; want 2000 and 7", n, v)
	}
	if fi, _ := os.Stat(dst); fi.Size() != snap.RawSize {
		t.Fatalf("restored %d bytes, want %d", fi.Size(), snap.RawSize)
	}
	if got := entries(t, filepath.Dir(dst)); len(got) != 1 {
		t.Fatalf("beside the restored file: %v", got)
	}
	wantCode(t, snapshot.Fetch(ctx, d, snap, dst), fleet.ECONFLICT, "already exists")
}

// A snapshot taken while a writer commits transactions of ten rows holds
// whole transactions only, and is an intact database.
func TestTakeDuringWrites(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "busy", 0)
	db, err := p.Open(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA journal_mode = WAL`); err != nil {
		t.Fatal(err)
	}
	stop, committed := make(chan struct{}), make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tx, err := db.Begin()
			if err != nil {
				t.Error(err)
				return
			}
			for j := range 10 {
				if _, err := tx.Exec(`INSERT INTO items (body) VALUES (?)`, fmt.Sprintf("batch %d row %d %s", i, j, strings.Repeat("x", 500))); err != nil {
					t.Error(err)
					tx.Rollback()
					return
				}
			}
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
			select {
			case committed <- struct{}{}:
			default:
			}
		}
	})
	var snaps []fleet.Snapshot
	for range 3 {
		<-committed
		snap, err := snapshot.Take(ctx, p, d, "busy", snapshot.Options{})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, snap)
	}
	close(stop)
	wg.Wait()
	for i, snap := range snaps {
		dst := filepath.Join(t.TempDir(), "copy.db")
		if err := snapshot.Fetch(ctx, d, snap, dst); err != nil {
			t.Fatal(err)
		}
		n, _ := countFile(t, dst)
		if n == 0 || n%10 != 0 {
			t.Fatalf("snapshot %d holds %d rows: not whole transactions of 10", i, n)
		}
	}
}

// collectResults is a sink that keeps every result.
type collectResults struct {
	mu  sync.Mutex
	got map[string]snapshot.Result
}

func (c *collectResults) sink(batch []snapshot.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string]snapshot.Result{}
	}
	for _, r := range batch {
		c.got[r.Tenant] = r
	}
	return nil
}

// TakeAll takes every changed tenant, skips unchanged ones, and records a
// failing tenant's error while the others go on.
func TestTakeAll(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	names := []string{"store-1", "store-2", "store-3"}
	for _, n := range names {
		makeTenant(t, p, n, 300)
	}
	targets := []snapshot.Target{{Tenant: "store-1"}, {Tenant: "gone"}, {Tenant: "store-2"}, {Tenant: "store-3"}}
	var first collectResults
	if err := snapshot.TakeAll(ctx, p, d, snapshot.Options{Workers: 2}, snapshot.Targets(targets...), first.sink); err != nil {
		t.Fatal(err)
	}
	if len(first.got) != 4 {
		t.Fatalf("results: %v", first.got)
	}
	for _, n := range names {
		if r := first.got[n]; !r.Taken() || r.Snapshot.Tenant != n || r.Snapshot.Key == "" {
			t.Fatalf("%s: %+v", n, r)
		}
	}
	if r := first.got["gone"]; r.Taken() || fleet.ErrorCode(r.Err) != fleet.ENOTFOUND || !strings.Contains(r.Err.Error(), `"gone"`) {
		t.Fatalf("gone: %+v", r)
	}
	if got := keys(t, d); len(got) != 3 {
		t.Fatalf("stored %v", got)
	}

	// Nothing written since: nothing taken.
	for i := range targets {
		targets[i].Last = first.got[targets[i].Tenant].Snapshot.Fingerprint
	}
	var second collectResults
	if err := snapshot.TakeAll(ctx, p, d, snapshot.Options{}, snapshot.Targets(targets...), second.sink); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if r := second.got[n]; !r.Unchanged || r.Taken() {
			t.Fatalf("%s unchanged: %+v", n, r)
		}
	}
	if r := second.got["gone"]; r.Err == nil {
		t.Fatalf("gone: %+v", r)
	}

	// One written to: that one taken again.
	db, _ := p.Open(ctx, "store-2")
	if _, err := db.Exec(`INSERT INTO items (body) SELECT body || 'x' FROM items`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var third collectResults
	if err := snapshot.TakeAll(ctx, p, d, snapshot.Options{}, snapshot.Targets(targets...), third.sink); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if r := third.got[n]; r.Taken() != (n == "store-2") {
			t.Fatalf("%s after a write to store-2: %+v", n, r)
		}
	}
	if got := keys(t, d); len(got) != 4 {
		t.Fatalf("stored %v", got)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("left in the work directory: %v", got)
	}
}

func TestTakeTimeout(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "store-1", 10)
	var res collectResults
	err := snapshot.TakeAll(ctx, p, d, snapshot.Options{Timeout: time.Nanosecond}, snapshot.Targets(snapshot.Target{Tenant: "store-1"}), res.sink)
	if err != nil {
		t.Fatal(err)
	}
	r := res.got["store-1"]
	wantCode(t, r.Err, fleet.EUNAVAILABLE, "timed out after 1ns")
	if got := keys(t, d); len(got) != 0 {
		t.Fatalf("a timed-out snapshot left %v", got)
	}
}

// A full disk while writing the snapshot, or while copying the tenant:
// the snapshot fails with a message that says so, nothing is stored or
// left behind, and the tenant is untouched.
func TestTakeDiskFull(t *testing.T) {
	ctx := context.Background()
	p, _ := newLocal(t)
	makeTenant(t, p, "big", 0)
	db, _ := p.Open(ctx, "big")
	if _, err := db.Exec(`INSERT INTO items (body) SELECT hex(randomblob(1000)) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) SELECT i FROM n)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	full := openDir(t, mountTmpfs(t, "size=1m"))
	work := t.TempDir()
	_, err := snapshot.Take(ctx, p, full, "big", snapshot.Options{TempDir: work})
	wantCode(t, err, fleet.EUNAVAILABLE, "Disk full", full.Path(), "nothing was kept")
	if got := keys(t, full); len(got) != 0 {
		t.Fatalf("a full disk left %v", got)
	}
	if got := entries(t, full.TempDir()); len(got) != 0 {
		t.Fatalf("a full disk left %v in .tmp", got)
	}
	if got := entries(t, work); len(got) != 0 {
		t.Fatalf("a full disk left %v in the work directory", got)
	}
	// A work copy on the full volume (an export's).
	_, err = snapshot.Take(ctx, exportOnly{p}, full, "big", snapshot.Options{})
	wantCode(t, err, fleet.EUNAVAILABLE, "Disk full", "no room in "+full.TempDir()+` for the copy of "big"`)
	if got := entries(t, full.TempDir()); len(got) != 0 {
		t.Fatalf("a full disk left %v in .tmp", got)
	}
	if n := countTenant(t, p, "big"); n != 1500 {
		t.Fatalf("the tenant holds %d items after the failed snapshots, want 1500", n)
	}
}

// A tenant whose copy fails quick_check is not snapshotted.
func TestTakeDamaged(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "broken", 3000)
	path := tenantPath(t, p, "broken")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Scribble over the middle of the file: pages of the table and index,
	// not the header SQLite needs to open it.
	for i := len(b) / 2; i < len(b)/2+8192; i++ {
		b[i] = 0x5a
	}
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = snapshot.Take(ctx, p, d, "broken", snapshot.Options{})
	wantCode(t, err, fleet.EINVALID, `The copy of "broken" failed SQLite's quick_check, so no snapshot was kept`)
	if got := keys(t, d); len(got) != 0 {
		t.Fatalf("a damaged tenant left %v", got)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("left in the work directory: %v", got)
	}
}

func TestTakeInvalid(t *testing.T) {
	p, d := newLocal(t)
	_, err := snapshot.Take(context.Background(), p, d, "../x", snapshot.Options{})
	wantCode(t, err, fleet.EINVALID)
	var none collectResults
	if err := snapshot.TakeAll(context.Background(), p, d, snapshot.Options{}, snapshot.Targets(), none.sink); err != nil || len(none.got) != 0 {
		t.Fatalf("no targets: %v %v", err, none.got)
	}
}

// storeOnly is a Store and nothing more: no work directory of its own.
type storeOnly struct{ snapshot.Store }

func TestTakeNeedsWorkDir(t *testing.T) {
	p, d := newLocal(t)
	makeTenant(t, p, "store-1", 10)
	if _, err := snapshot.Take(context.Background(), p, storeOnly{d}, "store-1", snapshot.Options{}); err == nil || !strings.Contains(err.Error(), "set Options.TempDir") {
		t.Fatalf("no work directory: %v", err)
	}
	if _, err := snapshot.Take(context.Background(), p, storeOnly{d}, "store-1", snapshot.Options{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
}

func tenantPath(t testing.TB, p *local.Platform, name string) string {
	t.Helper()
	db, err := p.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return db.ID
}

// exportOnly is a platform with none of the local platform's extras: its
// snapshots go through Export, and it has no fingerprints.
type exportOnly struct{ platform.Platform }

func TestTakeThroughExport(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "store-1", 500)
	snap, err := snapshot.Take(ctx, exportOnly{p}, d, "store-1", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Fingerprint != "" {
		t.Fatalf("a fingerprint from a platform without: %q", snap.Fingerprint)
	}
	dst := filepath.Join(t.TempDir(), "x.db")
	if err := snapshot.Fetch(ctx, d, snap, dst); err != nil {
		t.Fatal(err)
	}
	if n, v := countFile(t, dst); n != 500 || v != 7 {
		t.Fatalf("restored %d items, user_version %d", n, v)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("left in the work directory: %v", got)
	}
}
