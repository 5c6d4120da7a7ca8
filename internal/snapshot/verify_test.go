package snapshot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// putRaw stores raw as a snapshot of tenant, as Take would have, and
// returns its record.
func putRaw(t testing.TB, s snapshot.Store, tenant string, raw []byte) fleet.Snapshot {
	t.Helper()
	var buf bytes.Buffer
	enc, _ := zstd.NewWriter(&buf)
	enc.Write(raw)
	enc.Close()
	sum := sha256.Sum256(buf.Bytes())
	at := time.Now().UTC()
	snap := fleet.Snapshot{Tenant: tenant, TakenAt: at, Key: snapshot.NewKey(tenant, at), RawSize: int64(len(raw)), SHA256: hex.EncodeToString(sum[:])}
	n, err := s.Put(context.Background(), snap.Key, &buf)
	if err != nil {
		t.Fatal(err)
	}
	snap.Size = n
	return snap
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	p, d := newLocal(t)
	makeTenant(t, p, "store-1", 1234)
	db, _ := p.Open(ctx, "store-1")
	if _, err := db.Exec(`CREATE TABLE notes (x); INSERT INTO notes VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	snap, err := snapshot.Take(ctx, p, d, "store-1", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	drill, err := snapshot.Verify(ctx, d, snap, "")
	if err != nil {
		t.Fatal(err)
	}
	if drill.Tables["items"] != 1234 || drill.Tables["notes"] != 3 || len(drill.Tables) != 2 || drill.Rows != 1237 || drill.Snapshot.Key != snap.Key {
		t.Fatalf("drill %+v", drill)
	}
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("the drill left %v", got)
	}

	// A damaged snapshot fails the drill, named.
	stored := filepath.Join(d.Path(), snap.Key)
	b, _ := os.ReadFile(stored)
	b[len(b)/3] ^= 0xff
	os.WriteFile(stored, b, 0o640)
	_, err = snapshot.Verify(ctx, d, snap, "")
	wantCode(t, err, fleet.EINVALID, snap.Key, "checksum")
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("the failed drill left %v", got)
	}
}

// The drill runs integrity_check, which finds what quick_check does not:
// an index whose entries do not match its table.
func TestVerifyIntegrityCheck(t *testing.T) {
	ctx := context.Background()
	_, d := newLocal(t)
	path := filepath.Join(t.TempDir(), "bad.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE t (a, b)`,
		`CREATE INDEX t_a ON t (a)`,
		`INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)`,
		`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = 'CREATE INDEX t_a ON t (b)' WHERE name = 't_a'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	snap := putRaw(t, d, "store-1", raw)
	if err := snapshot.Fetch(ctx, d, snap, filepath.Join(t.TempDir(), "x.db")); err != nil {
		t.Fatalf("quick_check should pass this one: %v", err)
	}
	_, err = snapshot.Verify(ctx, d, snap, "")
	wantCode(t, err, fleet.EINVALID, "is damaged", "integrity_check")
	if got := entries(t, d.TempDir()); len(got) != 0 {
		t.Fatalf("the failed drill left %v", got)
	}
}
