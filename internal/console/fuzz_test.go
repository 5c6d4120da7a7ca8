package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/demo"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/schema"
)

// FuzzReadOnlyGuard runs fuzzed SQL on the console's read-only connection
// to real store databases, one in rollback-journal mode and one in WAL
// mode: whatever the SQL says, no byte of either database (or its WAL)
// changes, and no file appears, in the data directory or the working
// directory. "$DIR" in a seed stands for the tenants' directory, so that
// seeds can aim ATTACH and VACUUM INTO at the real files.
func FuzzReadOnlyGuard(f *testing.F) {
	ctx := context.Background()
	data := f.TempDir()
	p, err := local.New(data)
	if err != nil {
		f.Fatal(err)
	}
	profile := demo.Profiles(1, 5)[0]
	for _, name := range []string{"store-1", "store-wal"} {
		if _, err := p.Create(ctx, name); err != nil {
			f.Fatal(err)
		}
		db, err := p.Open(ctx, name)
		if err != nil {
			f.Fatal(err)
		}
		if name == "store-wal" {
			if _, err := db.Exec(`PRAGMA journal_mode = WAL`); err != nil {
				f.Fatal(err)
			}
		}
		if _, err := schema.Embedded().Apply(ctx, db, schema.Embedded().Latest()); err != nil {
			f.Fatal(err)
		}
		now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		if _, err := demo.Fill(ctx, db, profile, 20, now, now); err != nil {
			f.Fatal(err)
		}
		db.Close()
	}
	dir := filepath.Join(data, "tenants")
	cwd, _ := os.Getwd()
	// The connection must be able to read both, or the fuzzing proves
	// nothing about it. (Reading a WAL database the first time creates its
	// empty -wal and its -shm: SQLite's way, not a write.)
	for _, name := range []string{"store-1", "store-wal"} {
		c, err := p.OpenConsole(ctx, name, false)
		if err != nil {
			f.Fatal(err)
		}
		res, err := console.Run(ctx, c, console.Request{SQL: `SELECT count(*) FROM orders`}, console.Limits{}.WithDefaults())
		c.Close()
		if err != nil || res.Rows[0][0].(int64) == 0 {
			f.Fatalf("%s: %v, %v", name, res, err)
		}
	}
	wantData, wantCwd := snapshot(f, data), snapshot(f, cwd)

	for _, s := range []string{
		`SELECT count(*) FROM orders`,
		`DELETE FROM orders`,
		`INSERT INTO orders(total_amount) VALUES (1)`,
		`UPDATE products SET price = 0`,
		`DROP TABLE orders`,
		`CREATE TABLE x(a)`,
		`CREATE TEMP TABLE x(a); INSERT INTO x VALUES (1); SELECT * FROM x`,
		`PRAGMA query_only = 0; DELETE FROM orders`,
		`PRAGMA query_only = OFF; PRAGMA user_version = 42`,
		`PRAGMA journal_mode = DELETE`,
		`PRAGMA journal_mode = WAL`,
		`PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'x' WHERE name = 'orders'`,
		`PRAGMA wal_checkpoint(TRUNCATE)`,
		`PRAGMA optimize`,
		`ANALYZE`,
		`REINDEX`,
		`VACUUM`,
		`PRAGMA auto_vacuum = FULL; VACUUM`,
		`PRAGMA incremental_vacuum`,
		`PRAGMA page_size = 1024; VACUUM`,
		`PRAGMA schema_version = 1`,
		`ATTACH '$DIR/store-1.db' AS w; DELETE FROM w.orders`,
		`ATTACH 'file:$DIR/new.db?mode=rwc' AS n; CREATE TABLE n.t(a)`,
		`ATTACH ':memory:' AS m`,
		`VACUUM INTO '$DIR/copy.db'`,
		`VACUUM INTO 'copy.db'`,
		`VACUUM main INTO 'file:$DIR/copy2.db'`,
		`WITH x AS (SELECT 1) INSERT INTO orders(total_amount) SELECT 1 FROM x`,
		`WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d`,
		`DELETE FROM orders RETURNING id`,
		`SELECT 1; DELETE FROM orders`,
		`SELECT 1 /* ; */ ; DELETE FROM orders -- ;`,
		"-- comment\nDELETE FROM orders",
		`/* SELECT */ DELETE FROM orders`,
		"SELECT 1;\x00DELETE FROM orders",
		`SELECT load_extension('/tmp/evil.so')`,
		`SELECT load_extension('libc.so.6', 'system')`,
		`SELECT writefile('$DIR/x', 'y')`,
		`BEGIN; DELETE FROM orders; COMMIT`,
		`BEGIN IMMEDIATE; SELECT 1`,
		`SAVEPOINT a; DELETE FROM orders; RELEASE a`,
		`INSERT OR REPLACE INTO products(id, name, price) VALUES (1, 'x', 0)`,
		`REPLACE INTO orders(id, total_amount) VALUES (1, 0)`,
		`CREATE TRIGGER t AFTER INSERT ON orders BEGIN DELETE FROM orders; END`,
		`CREATE VIEW v AS SELECT 1`,
		`PRAGMA legacy_alter_table = 1; ALTER TABLE orders RENAME TO o`,
		`PRAGMA temp_store_directory = '$DIR'`,
		`PRAGMA locking_mode = EXCLUSIVE; SELECT count(*) FROM orders`,
		`DETACH main`,
		`SELECT * FROM orders WHERE id = :id`,
		`SELECT * FROM pragma_table_info('orders'); PRAGMA foreign_keys = ON; DELETE FROM products`,
		`UPDATE goose_db_version SET is_applied = 0`,
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
	}
	limits := console.Limits{Timeout: 200 * time.Millisecond, MaxRows: 50}
	f.Fuzz(func(t *testing.T, sql string, which uint8) {
		name := "store-1"
		if which%2 == 1 {
			name = "store-wal"
		}
		sql = strings.ReplaceAll(sql, "$DIR", dir)
		c, err := p.OpenConsole(ctx, name, false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = console.Run(ctx, c, console.Request{SQL: sql}, limits)
		c.Close()
		if got := snapshot(t, data); !slices.Equal(got, wantData) {
			t.Fatalf("after %q (%v) the data directory changed:\n%s\nwas\n%s", sql, err, strings.Join(got, "\n"), strings.Join(wantData, "\n"))
		}
		if got := snapshot(t, cwd); !slices.Equal(got, wantCwd) {
			t.Fatalf("after %q (%v) the working directory changed: %v", sql, err, got)
		}
	})
}

// snapshot lists every file under root with its content's hash; the WAL
// index (-shm) is shared memory that readers write by design, so only its
// presence counts.
func snapshot(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasSuffix(path, "-shm") || !strings.HasSuffix(path, ".db") && !strings.Contains(path, ".db-") {
			out = append(out, rel)
			return nil
		}
		fh, err := os.Open(path)
		if err != nil {
			return err
		}
		defer fh.Close()
		h := sha256.New()
		if _, err := io.Copy(h, fh); err != nil {
			return err
		}
		out = append(out, rel+" "+hex.EncodeToString(h.Sum(nil)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
