package snapshot_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/snapshot"
)

func openDir(t testing.TB, path string) *snapshot.Dir {
	t.Helper()
	d, err := snapshot.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// keys lists the store's keys.
func keys(t testing.TB, s snapshot.Store) []string {
	t.Helper()
	var out []string
	if err := s.Walk(context.Background(), func(o snapshot.Object) error {
		out = append(out, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// entries lists a directory's names.
func entries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func wantCode(t testing.TB, err error, code string, words ...string) {
	t.Helper()
	if fleet.ErrorCode(err) != code {
		t.Fatalf("error %v (code %q), want code %q", err, fleet.ErrorCode(err), code)
	}
	for _, w := range words {
		if !strings.Contains(fleet.ErrorMessage(err), w) {
			t.Fatalf("message %q does not say %q", fleet.ErrorMessage(err), w)
		}
	}
}

func TestDirPutOpenWalkRemove(t *testing.T) {
	ctx := context.Background()
	d := openDir(t, filepath.Join(t.TempDir(), "snapshots"))
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	k1, k2 := snapshot.NewKey("store-b", at), snapshot.NewKey("store-a", at.Add(time.Hour))
	for _, k := range []string{k1, k2} {
		n, err := d.Put(ctx, k, strings.NewReader("bytes of "+k))
		if err != nil || n != int64(len("bytes of "+k)) {
			t.Fatalf("put %s: %d, %v", k, n, err)
		}
	}
	if got := keys(t, d); len(got) != 2 || got[0] != k2 || got[1] != k1 {
		t.Fatalf("walk: %v, want [%s %s]", got, k2, k1)
	}
	rc, err := d.Open(ctx, k1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "bytes of "+k1 {
		t.Fatalf("read back %q", b)
	}
	u, err := d.Usage(ctx)
	if err != nil || u.Files != 2 || u.Bytes != int64(len("bytes of "+k1)+len("bytes of "+k2)) || u.Free <= 0 {
		t.Fatalf("usage %+v, %v", u, err)
	}
	_, err = d.Put(ctx, k1, strings.NewReader("again"))
	wantCode(t, err, fleet.ECONFLICT)
	if err := d.Remove(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, k1); err != nil {
		t.Fatalf("removing a removed key: %v", err)
	}
	_, err = d.Open(ctx, k1)
	wantCode(t, err, fleet.ENOTFOUND, k1, "missing")
	if err := os.Mkdir(filepath.Join(d.Path(), k1), 0o750); err != nil {
		t.Fatal(err)
	}
	_, err = d.Open(ctx, k1)
	wantCode(t, err, fleet.EINVALID, "not a regular file")
	if got := keys(t, d); len(got) != 1 {
		t.Fatalf("walk lists a directory: %v", got)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("left in .tmp: %v", got)
	}
}

func TestKeys(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 5, time.FixedZone("x", 3600))
	k := snapshot.NewKey("store-1", at)
	tenant, got, err := snapshot.ParseKey(k)
	if err != nil || tenant != "store-1" || !got.Equal(at) {
		t.Fatalf("ParseKey(%s) = %s %s %v", k, tenant, got, err)
	}
	if k2 := snapshot.NewKey("store-1", at); k2 == k {
		t.Fatal("two keys of the same instant are the same")
	}
	for _, bad := range []string{
		"", "store-1", "../x", "/etc/passwd", "store-1/../../x.db.zst", "Store/20261201T100000.000000000Z-0123abcd.db.zst",
		"store-1/20261201T100000.000000000Z-0123abcd.db", "store-1/x/20261201T100000.000000000Z-0123abcd.db.zst",
		".tmp/20261201T100000.000000000Z-0123abcd.db.zst", "store-1/20261301T100000.000000000Z-0123abcd.db.zst",
	} {
		if _, _, err := snapshot.ParseKey(bad); fleet.ErrorCode(err) != fleet.EINVALID {
			t.Errorf("ParseKey(%q): %v", bad, err)
		}
	}
}

// Keys are checked before any path is made of them, and a tenant
// directory that is a link out of the store is not followed.
func TestDirConfined(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	d := openDir(t, filepath.Join(base, "snapshots"))
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../outside/x", "store-1/../../outside/20261201T100000.000000000Z-0123abcd.db.zst"} {
		_, err := d.Put(ctx, bad, strings.NewReader("x"))
		wantCode(t, err, fleet.EINVALID, "not a snapshot key")
		_, err = d.Open(ctx, bad)
		wantCode(t, err, fleet.EINVALID)
		wantCode(t, d.Remove(ctx, bad), fleet.EINVALID)
	}
	if err := os.Symlink(outside, filepath.Join(d.Path(), "store-x")); err != nil {
		t.Fatal(err)
	}
	planted := snapshot.NewKey("store-x", time.Now())
	if err := os.WriteFile(filepath.Join(outside, strings.TrimPrefix(planted, "store-x/")), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, snapshot.NewKey("store-x", time.Now()), strings.NewReader("x")); err == nil {
		t.Fatal("put through a link out of the store")
	}
	if _, err := d.Open(ctx, planted); err == nil {
		t.Fatal("opened a file through a link out of the store")
	}
	if got := keys(t, d); len(got) != 0 {
		t.Fatalf("walk followed the link: %v", got)
	}
	if got := entries(t, outside); len(got) != 1 {
		t.Fatalf("written outside the store: %v", got)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("left in .tmp: %v", got)
	}
}

// failingReader fails after some bytes, as a compressor whose input
// broke off.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("input broke off")
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestDirPutFailsWhole(t *testing.T) {
	ctx := context.Background()
	d := openDir(t, t.TempDir())
	k := snapshot.NewKey("store-1", time.Now())
	if _, err := d.Put(ctx, k, &failingReader{n: 100_000}); err == nil {
		t.Fatal("put of a broken reader succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Put(cctx, k, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("put with an ended context: %v", err)
	}
	if got := keys(t, d); len(got) != 0 {
		t.Fatalf("a failed put left %v", got)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("a failed put left %v in .tmp", got)
	}
}

// mountTmpfs mounts a tmpfs of the given size and options at a new
// directory, or skips the test where mounting is not allowed.
func mountTmpfs(t testing.TB, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// A full disk while writing: the write fails with a message that says
// so, and nothing is left, neither the key nor its unfinished file.
func TestDirDiskFull(t *testing.T) {
	ctx := context.Background()
	d := openDir(t, mountTmpfs(t, "size=1m"))
	big := make([]byte, 2<<20)
	rand.Read(big)
	k := snapshot.NewKey("store-1", time.Now())
	_, err := d.Put(ctx, k, bytes.NewReader(big))
	wantCode(t, err, fleet.EUNAVAILABLE, "Disk full", d.Path(), k, "nothing was kept")
	if got := keys(t, d); len(got) != 0 {
		t.Fatalf("a full disk left %v", got)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("a full disk left %v in .tmp", got)
	}
	// The room it took is given back.
	if _, err := d.Put(ctx, k, bytes.NewReader(big[:512<<10])); err != nil {
		t.Fatalf("put after a full disk: %v", err)
	}
}

func TestOpenDirNotWritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := snapshot.OpenDir(file)
	wantCode(t, err, fleet.EUNAVAILABLE, "The snapshot directory "+file+" is not writable: not a directory")

	if os.Geteuid() != 0 { // root writes through permissions: a read-only mount stops it
		ro := t.TempDir()
		os.Chmod(ro, 0o500)
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
		_, err = snapshot.OpenDir(ro)
		wantCode(t, err, fleet.EUNAVAILABLE, "The snapshot directory "+ro+" is not writable: permission denied")
		return
	}
	ro := mountTmpfs(t, "size=1m")
	if err := os.Mkdir(filepath.Join(ro, ".tmp"), 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
	_, err = snapshot.OpenDir(ro)
	wantCode(t, err, fleet.EUNAVAILABLE, "The snapshot directory "+ro+" is not writable: read-only file system")
}

// Sweep removes what is old and unrecorded, and only that.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	d := openDir(t, t.TempDir())
	now := time.Now()
	old := now.Add(-snapshot.SweepAge - time.Minute)
	put := func(tenant string, mod time.Time) string {
		k := snapshot.NewKey(tenant, mod)
		if _, err := d.Put(ctx, k, strings.NewReader("0123456789")); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(d.Path(), k), mod, mod); err != nil {
			t.Fatal(err)
		}
		return k
	}
	oldRecorded, oldOrphan, newOrphan := put("store-1", old), put("store-1", old), put("store-2", now)
	tmp := func(name string, mod time.Time) {
		p := filepath.Join(d.TempDir(), name)
		if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	tmp("put-old", old)
	tmp("copy-old.db-journal", old)
	tmp("put-new", now)
	var asked []string
	sw, err := snapshot.Sweep(ctx, d, now, func(ctx context.Context, keys []string) ([]bool, error) {
		asked = append(asked, keys...)
		out := make([]bool, len(keys))
		for i, k := range keys {
			out[i] = k == oldRecorded
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sw.Unfinished != 2 || sw.Orphans != 1 || sw.Bytes != 10 {
		t.Fatalf("swept %+v, want 2 unfinished and 1 orphan of 10 bytes", sw)
	}
	if len(asked) != 2 {
		t.Fatalf("asked about %v: only files older than an hour are asked about", asked)
	}
	got := keys(t, d)
	if len(got) != 2 || !contains(got, oldRecorded) || !contains(got, newOrphan) || contains(got, oldOrphan) {
		t.Fatalf("after the sweep: %v; want %s and %s", got, oldRecorded, newOrphan)
	}
	if got := entries(t, d.TempDir()); len(got) != 1 || got[0] != "put-new" {
		t.Fatalf(".tmp after the sweep: %v", got)
	}
	// An answer it cannot have keeps everything.
	if _, err := snapshot.Sweep(ctx, d, now.Add(2*time.Hour), func(context.Context, []string) ([]bool, error) {
		return nil, errors.New("central is down")
	}); err == nil || len(keys(t, d)) != 2 {
		t.Fatalf("sweep without answers: %v, left %v", err, keys(t, d))
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
