package local_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Both ways of writing a snapshot, streamed out of one read transaction
// or through a backup into a work file, give a whole, checked database,
// in either journal mode, and refuse a damaged one before writing a byte.
func TestWriteSnapshot(t *testing.T) {
	for _, c := range []struct {
		name      string
		streamMax int64
		wal       bool
	}{{"streamed", 1 << 30, false}, {"streamed, WAL", 1 << 30, true}, {"through a file", 0, false}, {"through a file, WAL", 0, true}} {
		t.Run(c.name, func(t *testing.T) {
			defer local.SetStreamMax(c.streamMax)()
			ctx := context.Background()
			p, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Create(ctx, "store-1"); err != nil {
				t.Fatal(err)
			}
			db, _ := p.Open(ctx, "store-1")
			for _, q := range []string{
				`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`,
				`CREATE INDEX t_v ON t (v)`,
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t (v) SELECT hex(randomblob(40)) FROM n`,
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			if c.wal {
				db.Exec(`PRAGMA journal_mode = WAL`)
				db.Exec(`INSERT INTO t (v) VALUES ('in the WAL only')`)
			} else {
				db.Exec(`INSERT INTO t (v) VALUES ('committed last')`)
			}
			defer db.Close()
			work := t.TempDir()
			var buf bytes.Buffer
			n, err := p.WriteSnapshot(ctx, "store-1", work, &buf)
			if err != nil || n != int64(buf.Len()) {
				t.Fatalf("%d bytes, %d written: %v", n, buf.Len(), err)
			}
			path := filepath.Join(t.TempDir(), "copy.db")
			os.WriteFile(path, buf.Bytes(), 0o600)
			if err := tenantdb.CheckScratch(ctx, path, "integrity_check"); err != nil {
				t.Fatal(err)
			}
			copyDB, _ := sql.Open("sqlite", "file:"+path)
			var rows int
			copyDB.QueryRow(`SELECT count(*) FROM t`).Scan(&rows)
			copyDB.Close()
			if rows != 5001 {
				t.Fatalf("the copy holds %d rows, want 5001", rows)
			}
			if left, _ := os.ReadDir(work); len(left) != 0 {
				t.Fatalf("left in the work directory: %v", left)
			}

			// Damaged: refused, nothing written.
			db.Exec(`PRAGMA journal_mode = DELETE`)
			db.Close()
			d, _ := p.Get(ctx, "store-1")
			b, _ := os.ReadFile(d.ID)
			for i := len(b) / 2; i < len(b)/2+8192; i++ {
				b[i] = 0x5a
			}
			os.WriteFile(d.ID, b, 0o640)
			buf.Reset()
			_, err = p.WriteSnapshot(ctx, "store-1", work, &buf)
			if !errors.Is(err, tenantdb.ErrDamaged) || buf.Len() != 0 {
				t.Fatalf("a damaged tenant: %v, %d bytes written", err, buf.Len())
			}
			if left, _ := os.ReadDir(work); len(left) != 0 {
				t.Fatalf("left in the work directory: %v", left)
			}
		})
	}
}

// A streamed snapshot in rollback-journal mode is read from the file
// itself, but only the database's pages: bytes past its last page (a file
// extended by hand, or by a writer that crashed) are not in the copy.
func TestWriteSnapshotOnlyPages(t *testing.T) {
	ctx := context.Background()
	p, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, "store-1"); err != nil {
		t.Fatal(err)
	}
	db, _ := p.Open(ctx, "store-1")
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b')`); err != nil {
		t.Fatal(err)
	}
	var pages, pageSize int64
	db.QueryRow(`PRAGMA page_count`).Scan(&pages)
	db.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	db.Close()
	d, _ := p.Get(ctx, "store-1")
	before, _ := os.ReadFile(d.ID)
	if int64(len(before)) != pages*pageSize {
		t.Fatalf("the file is %d bytes, %d pages of %d", len(before), pages, pageSize)
	}
	f, _ := os.OpenFile(d.ID, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(bytes.Repeat([]byte{0x5a}, 3*int(pageSize)))
	f.Close()

	var buf bytes.Buffer
	n, err := p.WriteSnapshot(ctx, "store-1", t.TempDir(), &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("%d bytes, %d written: %v", n, buf.Len(), err)
	}
	if !bytes.Equal(buf.Bytes(), before) {
		t.Fatalf("the snapshot is %d bytes, want the %d of the database's pages", buf.Len(), len(before))
	}
}
