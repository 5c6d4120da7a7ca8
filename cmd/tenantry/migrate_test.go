package main

import (
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/migrations"
)

// skuDir writes an operator's tenant migrations folder: the built-in
// store schema and a migration that adds a column and an index.
func skuDir(t *testing.T) string {
	t.Helper()
	return skuDirWith(t, "")
}

// skuDirWith is skuDir with more statements in the migration.
func skuDirWith(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := fs.ReadFile(migrations.Tenant(), "00001_store_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "00001_store_schema.sql"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "00002_product_sku.sql"), []byte("-- +goose Up\nALTER TABLE products ADD COLUMN sku TEXT;\n"+
		"CREATE INDEX idx_products_sku ON products(sku);\n"+extra+"\n-- +goose Down\nDROP INDEX idx_products_sku;\nALTER TABLE products DROP COLUMN sku;\n"), 0o644)
	return dir
}

type migrateStatusJSON struct {
	Latest  int64 `json:"latest"`
	Tenants []struct {
		Name    string `json:"name"`
		Version int64  `json:"version"`
		Pending int    `json:"pending"`
		Error   string `json:"error"`
	} `json:"tenants"`
}

type migrateUpJSON struct {
	RunID    int64  `json:"run_id"`
	Mode     string `json:"mode"`
	State    string `json:"state"`
	Total    int64  `json:"total"`
	Migrated int64  `json:"migrated"`
	Failed   int64  `json:"failed"`
	Skipped  int64  `json:"skipped"`
	Tenants  []struct {
		Name    string `json:"name"`
		Outcome string `json:"outcome"`
		From    int64  `json:"from"`
		To      int64  `json:"to"`
		Detail  string `json:"detail"`
		Error   string `json:"error"`
	} `json:"tenants"`
}

func statusVersions(t *testing.T, c *cli) map[string]int64 {
	t.Helper()
	st := decode[migrateStatusJSON](t, c.ok("migrate", "status", "--json"))
	out := map[string]int64{}
	for _, tn := range st.Tenants {
		out[tn.Name] = tn.Version
	}
	return out
}

// TestCLIMigrate rolls a new migration across a fleet from the CLI: status,
// a dry run that changes nothing, a canary, the rest, a database made by
// plain SQLite baselined on the way, a branch that keeps its source's
// version, new tenants born at the latest, and a drifted tenant that fails
// alone.
func TestCLIMigrate(t *testing.T) {
	c := newCLI(t)
	for _, n := range []string{"store-a", "store-b", "store-c"} {
		c.ok("tenants", "create", n)
	}
	// A database made by plain SQLite with seed 000's schema, dropped in.
	plain, err := sql.Open("sqlite", "file:"+filepath.Join(c.data, "tenants", "plain.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, description TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, total_amount INTEGER NOT NULL, status TEXT DEFAULT 'pending', created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
		`CREATE TABLE carts (id INTEGER PRIMARY KEY, status TEXT DEFAULT 'active', created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
	} {
		if _, err := plain.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	plain.Close()

	c.env["TENANTRY_TENANT_MIGRATIONS"] = skuDir(t)
	st := decode[migrateStatusJSON](t, c.ok("migrate", "status", "--json"))
	if st.Latest != 2 || len(st.Tenants) != 4 {
		t.Fatalf("status: %+v", st)
	}
	if v := statusVersions(t, c); !reflect.DeepEqual(v, map[string]int64{"plain": 0, "store-a": 1, "store-b": 1, "store-c": 1}) {
		t.Fatalf("versions before: %v", v)
	}
	if out := c.ok("migrate", "status"); !strings.Contains(out, "00002_product_sku.sql") || !strings.Contains(out, "3 behind") && !strings.Contains(out, "4 behind") {
		t.Fatalf("status text:\n%s", out)
	}

	dry := decode[migrateUpJSON](t, c.ok("migrate", "up", "--dry-run", "--json"))
	if dry.Mode != "dry-run" || dry.Migrated != 4 || len(dry.Tenants) != 4 {
		t.Fatalf("dry run: %+v", dry)
	}
	if dry.Tenants[0].Name != "plain" || !strings.Contains(dry.Tenants[0].Detail, "baseline at version 1") {
		t.Fatalf("dry run does not say plain is baselined: %+v", dry.Tenants[0])
	}
	if v := statusVersions(t, c); v["store-a"] != 1 || v["plain"] != 0 {
		t.Fatalf("a dry run migrated: %v", v)
	}

	// A branch of a tenant at version 1 keeps version 1.
	c.ok("tenants", "clone", "store-a", "branch-a")
	if got := listed(t, c)["branch-a"]; got.SchemaVersion != 1 {
		t.Fatalf("branch at version %d, want its source's 1", got.SchemaVersion)
	}

	canary := decode[migrateUpJSON](t, c.ok("migrate", "up", "--canary", "2", "--json"))
	if canary.Mode != "canary" || canary.Migrated != 2 || canary.Tenants[0].Name != "branch-a" || canary.Tenants[1].Name != "plain" {
		t.Fatalf("canary: %+v", canary)
	}

	// Drift on one tenant: its migration fails and it stays at version 1.
	db := openTenant(t, c, "store-b")
	if _, err := db.Exec(`ALTER TABLE products ADD COLUMN sku TEXT`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs := c.run("", "migrate", "up", "--continue")
	if code != 1 || !strings.Contains(errs, "1 of 5 tenants failed") || !strings.Contains(out, "duplicate column name: sku") {
		t.Fatalf("drifted rollout: exit %d\n%s\n%s", code, out, errs)
	}
	v := statusVersions(t, c)
	if !reflect.DeepEqual(v, map[string]int64{"branch-a": 2, "plain": 2, "store-a": 2, "store-b": 1, "store-c": 2}) {
		t.Fatalf("versions after: %v", v)
	}
	if st := decode[migrateStatusJSON](t, c.ok("migrate", "status", "--json")); !strings.Contains(st.Tenants[3].Error, "duplicate column") {
		t.Fatalf("status does not report the failure: %+v", st.Tenants[3])
	}

	// New tenants are born at the latest version.
	c.ok("tenants", "create", "store-new")
	if got := listed(t, c)["store-new"]; got.SchemaVersion != 2 {
		t.Fatalf("new tenant at version %d", got.SchemaVersion)
	}

	for _, bad := range [][]string{
		{"migrate", "up", "--parallel", "99"},
		{"migrate", "up", "--tenants", "nope"},
		{"migrate", "up", "--canary", "2", "--tenants", "store-a"},
		{"migrate", "up", "--retry", "999"},
	} {
		code, _, errs := c.run("", bad...)
		if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errs)
		}
	}
	if code, _, _ := c.run("", "migrate", "sideways"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}

// TestKillMidRollout kills the tenantry process with SIGKILL while a
// rollout runs, then runs the next command: it finishes the rollout, no
// tenant is migrated twice (goose's table holds each version once, and
// the column exists once), and the run counts every tenant.
func TestKillMidRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildBinary(t)
	c := newCLI(t)
	c.ok("tenants", "create", "store-0000")
	db := openTenant(t, c, "store-0000")
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000)
		INSERT INTO products(name, price) SELECT 'p' || i, i FROM n`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(filepath.Join(c.data, "tenants", "store-0000.db"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := 1; i < n; i++ {
		os.WriteFile(filepath.Join(c.data, "tenants", fmt.Sprintf("store-%04d.db", i)), b, 0o644)
	}
	if got := len(listed(t, c)); got != n {
		t.Fatalf("%d tenants adopted", got)
	}
	// Each tenant's migration also does some work (a few milliseconds), so
	// that the kill lands mid-rollout however busy the machine is.
	dir := skuDirWith(t, "CREATE TABLE sku_work AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 30000) SELECT count(*) AS n FROM c;\n")
	c.env["TENANTRY_TENANT_MIGRATIONS"] = dir

	cmd := exec.Command(bin, "--data", c.data, "--tenant-migrations", dir, "migrate", "up", "--parallel", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some tenants are migrated, well before all are: one
	// tenant at a time in name order, so watching the first 30 is enough.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if migratedFiles(t, c, 30) >= 10 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	mid := migratedFiles(t, c, n)
	if mid == 0 || mid == n {
		t.Fatalf("the kill landed after %d of %d tenants; the test proves nothing", mid, n)
	}
	t.Logf("killed after %d of %d tenants were migrated", mid, n)

	// The next command (the same binary: the test process runs under the
	// race detector, which slows SQLite tenfold) resumes the run; the new
	// rollout it then starts has nothing to do.
	next := exec.Command(bin, "--data", c.data, "--tenant-migrations", dir, "migrate", "up", "--json")
	stdout, err := next.Output()
	if err != nil {
		t.Fatalf("the next migrate up: %v\n%s", err, stdout)
	}
	out := decode[migrateUpJSON](t, string(stdout))
	if out.Migrated != 0 || out.Skipped != n {
		t.Fatalf("rollout after the resumed one: %+v", out)
	}
	cdb := openCentral(t, c)
	defer cdb.Close()
	var state string
	var migrated, failed, skipped, attempts int
	if err := cdb.QueryRow(`SELECT r.state, r.migrated, r.failed, r.skipped, j.attempts FROM migration_runs r JOIN jobs j ON j.id = r.job_id
		WHERE r.id = 1`).Scan(&state, &migrated, &failed, &skipped, &attempts); err != nil {
		t.Fatal(err)
	}
	if state != "succeeded" || migrated != n || failed != 0 || skipped != 0 || attempts != 2 {
		t.Fatalf("interrupted run: %s, %d migrated, %d failed, %d skipped, %d attempts", state, migrated, failed, skipped, attempts)
	}
	for i := range n {
		name := fmt.Sprintf("store-%04d", i)
		db := openTenant(t, c, name)
		var rows string
		if err := db.QueryRow(`SELECT group_concat(version_id, ',') FROM (SELECT version_id FROM goose_db_version ORDER BY id)`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		var cols int
		db.QueryRow(`SELECT count(*) FROM pragma_table_info('products') WHERE name = 'sku'`).Scan(&cols)
		db.Close()
		if rows != "0,1,2" || cols != 1 {
			t.Fatalf("%s: goose rows %s, sku columns %d", name, rows, cols)
		}
	}
	if v := statusVersions(t, c); len(v) != n || v["store-0150"] != 2 {
		t.Fatalf("registry after: %d tenants, store-0150 at %d", len(v), v["store-0150"])
	}
}

// migratedFiles counts tenant files at version 2.
func migratedFiles(t *testing.T, c *cli, n int) int {
	t.Helper()
	got := 0
	for i := range n {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(c.data, "tenants", fmt.Sprintf("store-%04d.db", i))+"?mode=ro&_pragma=busy_timeout(1000)")
		if err != nil {
			t.Fatal(err)
		}
		var v int64
		_ = db.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&v)
		db.Close()
		if v == 2 {
			got++
		}
	}
	return got
}
