package snapshot

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/tenantdb"
	"modernc.org/sqlite"
)

func bk(ctx context.Context, f tenantdb.TenantFile, dst string, srcPragma string) error {
	db, err := f.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	conn, _ := db.Conn(ctx)
	defer conn.Close()
	if srcPragma != "" {
		if _, err := conn.ExecContext(ctx, srcPragma); err != nil {
			return err
		}
	}
	return conn.Raw(func(dc any) error {
		src := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		b, err := src.NewBackup(dst)
		if err != nil {
			return err
		}
		if _, err := b.Step(-1); err != nil {
			return err
		}
		return b.Finish()
	})
}

func qc(ctx context.Context, path, pragma string) error {
	q := "?mode=rw"
	if pragma != "" {
		q += "&_pragma=" + url.QueryEscape(pragma)
	}
	db, err := sql.Open("sqlite", "file:"+path+q)
	if err != nil {
		return err
	}
	defer db.Close()
	var s string
	return db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&s)
}

func TestPhases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, _ := local.New(dir)
	for _, c := range []struct {
		name string
		rows int
	}{{"big", 62000}, {"small", 900}} {
		p.Create(ctx, c.name)
		db, _ := p.Open(ctx, c.name)
		db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
		db.Exec(`CREATE INDEX items_body ON items (body)`)
		db.Exec(fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		INSERT INTO items (id, body) SELECT i, printf('order %%d of customer %%d: %%s', i, i %% 977, hex(randomblob(180))) FROM n`, c.rows))
		db.Close()
	}
	d, _ := OpenDir(filepath.Join(dir, "snapshots"))
	type variant struct {
		name, src, dst, qc string
	}
	vs := []variant{
		{"now", "", "journal_mode(off)&_pragma=synchronous(off)", ""},
		{"srcCache", "PRAGMA cache_size = 16", "journal_mode(off)&_pragma=synchronous(off)", ""},
		{"srcCache+dstCache", "PRAGMA cache_size = 16", "journal_mode(off)&_pragma=synchronous(off)&_pragma=cache_size(16)", "cache_size(16)"},
		{"srcMmap+dstCache", "PRAGMA mmap_size = 1073741824", "journal_mode(off)&_pragma=synchronous(off)&_pragma=cache_size(16)", "mmap_size(1073741824)"},
	}
	for _, name := range []string{"big", "small"} {
		f := tenantdb.TenantFile{Dir: filepath.Join(dir, "tenants"), Name: name + ".db"}
		n := 3
		if name == "small" {
			n = 200
		}
		for round := 0; round < 2; round++ {
			for _, v := range vs {
				var tb, tq time.Duration
				for range n {
					tmp := filepath.Join(d.TempDir(), "x.db")
					s := time.Now()
					if err := bk(ctx, f, "file:"+tmp+"?_pragma="+v.dst, v.src); err != nil {
						t.Fatal(err)
					}
					tb += time.Since(s)
					s = time.Now()
					if err := qc(ctx, tmp, v.qc); err != nil {
						t.Fatal(err)
					}
					tq += time.Since(s)
					removeDB(tmp)
				}
				t.Logf("%s %-20s backup %8s quick_check %8s", name, v.name, (tb / time.Duration(n)).Round(10*time.Microsecond), (tq / time.Duration(n)).Round(10*time.Microsecond))
			}
		}
	}
}
