package schema_test

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/migrations"
	_ "modernc.org/sqlite"
)

// skuMigration adds a column and an index: the benchmark's migration.
const skuMigration = `-- +goose Up
ALTER TABLE products ADD COLUMN sku TEXT;
CREATE INDEX idx_products_sku ON products(sku);

-- +goose Down
DROP INDEX idx_products_sku;
ALTER TABLE products DROP COLUMN sku;
`

// migrationsDir writes the built-in store schema plus extra files to a
// directory: an operator's migrations folder.
func migrationsDir(t testing.TB, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := fs.ReadFile(migrations.Tenant(), "00001_store_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"00001_store_schema.sql": string(b)}
	for k, v := range extra {
		files[k] = v
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadSet(t testing.TB, extra map[string]string) *schema.Set {
	t.Helper()
	s, err := schema.Load(migrationsDir(t, extra))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// plainDB opens a SQLite file with the driver alone: no Tenantry, no goose.
func plainDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// seedSchema is seed 000's store schema as a user would have made it by
// hand, without IF NOT EXISTS and without goose.
var seedSchema = []string{
	`CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, description TEXT,
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
	`CREATE TABLE orders (id INTEGER PRIMARY KEY, total_amount INTEGER NOT NULL, status TEXT DEFAULT 'pending',
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
	`CREATE TABLE carts (id INTEGER PRIMARY KEY, status TEXT DEFAULT 'active',
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
	`CREATE INDEX idx_products_created_at ON products(created_at)`,
	`CREATE INDEX idx_orders_created_at ON orders(created_at)`,
	`CREATE INDEX idx_carts_status ON carts(status, updated_at)`,
	`INSERT INTO products(name, price) VALUES ('tea', 300), ('cup', 900)`,
}

func versions(t testing.TB, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query(`SELECT version_id FROM ` + schema.VersionTable + ` ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func columns(t testing.TB, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// TestBaselineAdoptsPlainSQLite: a database made by plain SQLite with the
// seed's schema (tables without IF NOT EXISTS, no goose table) is
// recognised, baselined at version 1 without running it, and migrated on.
func TestBaselineAdoptsPlainSQLite(t *testing.T) {
	ctx := context.Background()
	db := plainDB(t, filepath.Join(t.TempDir(), "plain.db"))
	exec(t, db, seedSchema...)
	// An operator's first migration without IF NOT EXISTS: running it on
	// this database would fail with "table products already exists".
	first := strings.ReplaceAll(seedSchema[0]+";\n"+seedSchema[1]+";\n"+seedSchema[2]+";", "\t", "")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "00001_store.sql"), []byte("-- +goose Up\n"+first+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "00002_product_sku.sql"), []byte(skuMigration), 0o644)
	set, err := schema.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	st, err := set.Inspect(ctx, db)
	if err != nil || !st.Adoptable || st.Versioned || st.Version != 0 {
		t.Fatalf("inspect: %+v %v", st, err)
	}
	if p := set.Pending(st, 2); len(p) != 1 || p[0].Version != 2 {
		t.Fatalf("pending for an adoptable database: %+v", p)
	}
	o, err := set.Apply(ctx, db, set.Latest())
	if err != nil {
		t.Fatal(err)
	}
	if !o.Baselined || o.Before != 0 || o.After != 2 || !reflect.DeepEqual(o.Applied, []int64{2}) {
		t.Fatalf("outcome: %+v", o)
	}
	if got := versions(t, db); !reflect.DeepEqual(got, []int64{0, 1, 2}) {
		t.Fatalf("goose rows: %v", got)
	}
	if cols := columns(t, db, "products"); cols[len(cols)-1] != "sku" {
		t.Fatalf("products columns: %v", cols)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM products`).Scan(&n)
	if n != 2 {
		t.Fatalf("products lost: %d", n)
	}
	// Again: nothing to do, nothing written.
	o, err = set.Apply(ctx, db, set.Latest())
	if err != nil || o.Baselined || len(o.Applied) != 0 || o.After != 2 {
		t.Fatalf("second apply: %+v %v", o, err)
	}
	if got := versions(t, db); len(got) != 3 {
		t.Fatalf("goose rows after a second apply: %v", got)
	}
}

// TestFailedMigrationRollsBackAlone: a migration failing part-way leaves the
// tenant at the version before it, with nothing of it applied.
func TestFailedMigrationRollsBackAlone(t *testing.T) {
	ctx := context.Background()
	set := loadSet(t, map[string]string{
		"00002_product_sku.sql": skuMigration,
		"00003_cart_owner.sql":  "-- +goose Up\nALTER TABLE carts ADD COLUMN owner TEXT;\nALTER TABLE carts ADD COLUMN total INTEGER;\n",
	})
	db := plainDB(t, filepath.Join(t.TempDir(), "t.db"))
	if _, err := schema.Embedded().Apply(ctx, db, schema.Embedded().Latest()); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `ALTER TABLE carts ADD COLUMN total INTEGER`) // drift: 00003's second statement will fail
	o, err := set.Apply(ctx, db, set.Latest())
	if err == nil {
		t.Fatal("apply over a drifted table succeeded")
	}
	if !strings.Contains(err.Error(), "00003_cart_owner.sql") || !strings.Contains(err.Error(), "duplicate column name: total") {
		t.Fatalf("error does not say which migration failed and why: %v", err)
	}
	if o.Before != 1 || o.After != 2 || !reflect.DeepEqual(o.Applied, []int64{2}) {
		t.Fatalf("outcome: %+v", o)
	}
	if got := versions(t, db); !reflect.DeepEqual(got, []int64{0, 1, 2}) {
		t.Fatalf("goose rows: %v", got)
	}
	for _, c := range columns(t, db, "carts") {
		if c == "owner" {
			t.Fatal("the failed migration's first statement was kept")
		}
	}
}

func TestLoadRefusesBadMigrations(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"bad SQL":         {"00002_bad.sql": "-- +goose Up\nALTER TABLE nosuch ADD COLUMN x TEXT;\n"},
		"bad name":        {"2x_bad.sql": "-- +goose Up\nSELECT 1;\n"},
		"same version":    {"00002_a.sql": skuMigration, "02_b.sql": skuMigration},
		"no goose marker": {"00002_plain.sql": "ALTER TABLE products ADD COLUMN x TEXT;\n"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := schema.Load(migrationsDir(t, files))
			if fleet.ErrorCode(err) != fleet.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			t.Log(fleet.ErrorMessage(err))
		})
	}
	if _, err := schema.Load(filepath.Join(t.TempDir(), "nope")); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("missing directory: %v", err)
	}
}

func TestSetListsMigrations(t *testing.T) {
	set := loadSet(t, map[string]string{"00002_product_sku.sql": skuMigration})
	if set.Latest() != 2 || set.Name(2) != "00002_product_sku.sql" || set.Name(7) != "" {
		t.Fatalf("latest %d, name %q", set.Latest(), set.Name(2))
	}
	if after := set.After(1); len(after) != 1 || !strings.Contains(after[0].SQL, "idx_products_sku") {
		t.Fatalf("after 1: %+v", after)
	}
	if len(set.After(2)) != 0 || len(set.After(0)) != 2 {
		t.Fatal("After bounds")
	}
	if schema.Embedded().Latest() < 1 {
		t.Fatal("embedded schema has no version")
	}
}
