package snapshot_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// A snapshot whose stored bytes changed is refused, named, and nothing is
// left where it was to be restored.
func TestFetchChecksumMismatch(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "store-1", 500)
	snap, err := snapshot.Take(ctx, p, d, "store-1", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stored := filepath.Join(d.Path(), snap.Key)
	b, err := os.ReadFile(stored)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		bytes []byte
	}{
		{"a flipped byte", append(append([]byte{}, b[:len(b)/2]...), append([]byte{b[len(b)/2] ^ 1}, b[len(b)/2+1:]...)...)},
		{"cut short", b[:len(b)-100]},
		{"bytes added", append(append([]byte{}, b...), "more"...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(stored, c.bytes, 0o640); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			err := snapshot.Fetch(ctx, d, snap, filepath.Join(dir, "restored.db"))
			wantCode(t, err, fleet.EINVALID, `The snapshot of "store-1" taken `, snap.Key, "is damaged: its checksum is", "it was not restored")
			if got := entries(t, dir); len(got) != 0 {
				t.Fatalf("a damaged snapshot left %v", got)
			}
		})
	}

	// The recorded checksum is what is checked: a snapshot recorded
	// without one is refused too.
	if err := os.WriteFile(stored, b, 0o640); err != nil {
		t.Fatal(err)
	}
	noSum := snap
	noSum.SHA256 = ""
	wantCode(t, snapshot.Fetch(ctx, d, noSum, filepath.Join(t.TempDir(), "x.db")), fleet.EINVALID, "no checksum")
	if err := snapshot.Fetch(ctx, d, snap, filepath.Join(t.TempDir(), "x.db")); err != nil {
		t.Fatalf("the whole file again: %v", err)
	}
}

func TestFetchMissing(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "store-1", 10)
	snap, err := snapshot.Take(ctx, p, d, "store-1", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, snap.Key); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wantCode(t, snapshot.Fetch(ctx, d, snap, filepath.Join(dir, "x.db")), fleet.ENOTFOUND, snap.Key, "missing")
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
}

// A snapshot whose checksum matches but whose database is damaged (it was
// stored so) fails the check after decompression, and is not restored.
func TestFetchDamagedDatabase(t *testing.T) {
	ctx := context.Background()
	_, d := newLocal(t)
	snap := putRaw(t, d, "store-1", []byte("SQLite format 3\x00 but nothing after the header that SQLite could read"))
	dir := t.TempDir()
	wantCode(t, snapshot.Fetch(ctx, d, snap, filepath.Join(dir, "x.db")), fleet.EINVALID, "is damaged", "it was not restored")
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
}

// The size recorded is checked too: a file that decompresses to other
// bytes than were copied is not restored, whatever its checksum says.
func TestFetchRawSizeMismatch(t *testing.T) {
	ctx := context.Background()
	_, d := newLocal(t)
	raw, err := os.ReadFile(tenantFile(t))
	if err != nil {
		t.Fatal(err)
	}
	snap := putRaw(t, d, "store-1", raw)
	snap.RawSize++
	dir := t.TempDir()
	wantCode(t, snapshot.Fetch(ctx, d, snap, filepath.Join(dir, "x.db")), fleet.EINVALID, "is damaged", "bytes, not the", "it was not restored")
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
}

// tenantFile returns a small SQLite file made by a local platform.
func tenantFile(t *testing.T) string {
	t.Helper()
	p, _ := newLocal(t)
	makeTenant(t, p, "store-1", 10)
	db, err := p.Get(context.Background(), "store-1")
	if err != nil {
		t.Fatal(err)
	}
	return db.ID
}
