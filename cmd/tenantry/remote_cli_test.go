package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/platform/turso"
	"github.com/tenantry/tenantry/internal/platform/turso/tursotest"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// sqldCLI is a CLI on the sqld platform, against a real sqld that checks
// tokens (signed with the key Tenantry is given) and an admin key.
func sqldCLI(t *testing.T) (*cli, *sqldtest.Server) {
	srv := sqldtest.Start(t, sqldtest.Options{AdminKey: "admin-key"})
	c := newCLI(t)
	c.env = map[string]string{"TENANTRY_PLATFORM": "sqld", "TENANTRY_SQLD_URL": srv.URL, "TENANTRY_SQLD_ADMIN_URL": srv.AdminURL,
		"TENANTRY_SQLD_ADMIN_KEY": "admin-key", "TENANTRY_SQLD_JWT_KEY_FILE": srv.KeyFile}
	return c, srv
}

// TestCLISqld runs the whole life of tenants on a real sqld through the
// CLI: create (born at the latest schema), write, branch (point in time
// refused with the reason), collect, query one and all (read-only by
// token), migrate, export, import, delete and restore.
func TestCLISqld(t *testing.T) {
	c, srv := sqldCLI(t)
	created := decode[tenantJSON](t, c.ok("tenants", "create", "store-1", "--json"))
	if created.Status != "ready" || created.SchemaVersion != 1 || !strings.HasPrefix(created.URL, srv.URL) {
		t.Fatalf("create = %+v", created)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "data", "dbs", "store-1")); err != nil {
		t.Fatalf("sqld holds no namespace store-1: %v", err)
	}
	today := time.Now().UTC().Format("2006-01-02")
	c.ok("sql", "store-1", "INSERT INTO orders(total_amount, created_at) VALUES (1000, '"+today+" 10:00:00'), (2500, '"+today+" 11:00:00')", "--write", "--yes")

	branch := decode[tenantJSON](t, c.ok("tenants", "clone", "store-1", "store-2", "--json"))
	if branch.Status != "ready" || branch.SchemaVersion != 1 {
		t.Fatalf("clone = %+v", branch)
	}
	code, _, errs := c.run("", "tenants", "clone", "store-1", "store-past", "--at", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	if code != 1 || !strings.Contains(errs, "has no snapshot yet. Point-in-time branches on the sqld platform are made from snapshots") {
		t.Fatalf("point-in-time clone: exit %d %q", code, errs)
	}
	if _, ok := listed(t, c)["store-past"]; ok {
		t.Fatal("a refused point-in-time clone left a tenant")
	}

	type collected struct {
		Tenants, OK, Failed int
	}
	if r := decode[collected](t, c.ok("collect", "--date", today, "--json")); r.Tenants != 2 || r.OK != 2 || r.Failed != 0 {
		t.Fatalf("collect = %+v", r)
	}
	if out := c.ok("sql", "--all", "SELECT count(*) AS n, sum(total_amount) AS s FROM orders", "--format", "csv"); out != "tenant,n,s\nstore-1,2,3500\nstore-2,2,3500\n" {
		t.Fatalf("--all: %q", out)
	}
	code, _, errs = c.run("", "sql", "store-1", "DELETE FROM orders")
	if code != 1 || !strings.Contains(strings.ToLower(errs), "permission") {
		t.Fatalf("a write on the read-only console: exit %d %q", code, errs)
	}
	if out := c.ok("sql", "store-1", "SELECT count(*) AS n FROM orders", "--format", "csv"); out != "n\n2\n" {
		t.Fatalf("the refused write changed the tenant: %q", out)
	}

	// Fleet migration over Hrana.
	dir := skuDir(t)
	c.ok("--tenant-migrations", dir, "migrate", "up")
	type status struct {
		Latest  int64 `json:"latest"`
		Tenants []struct {
			Name    string `json:"name"`
			Version int64  `json:"version"`
		} `json:"tenants"`
	}
	st := decode[status](t, c.ok("--tenant-migrations", dir, "migrate", "status", "--json"))
	if st.Latest != 2 || len(st.Tenants) != 2 || st.Tenants[0].Version != 2 || st.Tenants[1].Version != 2 {
		t.Fatalf("after the rollout: %+v", st)
	}
	if out := c.ok("sql", "store-2", "SELECT count(*) AS n FROM pragma_table_info('products') WHERE name = 'sku'", "--format", "csv"); out != "n\n1\n" {
		t.Fatalf("sku column: %q", out)
	}

	// Export, import, delete (archived first) and restore.
	file := filepath.Join(t.TempDir(), "store-1.db")
	c.ok("tenants", "export", "store-1", file)
	if b, err := os.ReadFile(file); err != nil || !strings.HasPrefix(string(b), "SQLite format 3\x00") {
		t.Fatalf("export: %v", err)
	}
	imported := decode[tenantJSON](t, c.ok("--tenant-migrations", dir, "tenants", "import", "store-3", file, "--json"))
	if imported.Status != "ready" || imported.SchemaVersion != 2 {
		t.Fatalf("import = %+v", imported)
	}
	c.ok("tenants", "delete", "store-2", "--yes")
	if got := listed(t, c)["store-2"]; got.Status != "archived" {
		t.Fatalf("after delete: %+v", got)
	}
	c.ok("tenants", "restore", "store-2")
	if out := c.ok("sql", "store-2", "SELECT count(*) AS n FROM orders", "--format", "csv"); out != "n\n2\n" {
		t.Fatalf("restored: %q", out)
	}
}

// TestCLITurso runs a fleet on Turso Cloud's Platform API (its double,
// whose data plane is a real sqld) through the CLI: create (polled until
// it answers), write, collect, query, branch now and at a point in time,
// delete (delete protection surfaced), with the API token only in the
// environment and never in output.
func TestCLITurso(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	api := tursotest.New(t, sq, tursotest.Options{ReadyDelay: 300 * time.Millisecond, PageSize: 2})
	prev := tursoHook
	tursoHook = func(o *turso.Options) { o.DataProxy = sq.URL }
	t.Cleanup(func() { tursoHook = prev })
	c := newCLI(t)
	c.env = map[string]string{"TENANTRY_PLATFORM": "turso", "TURSO_ORG": api.Org, "TURSO_API_TOKEN": api.Token, "TURSO_GROUP": api.Group, "TURSO_API_URL": api.URL}
	api.AddSchemaDatabase("parent-schema") // seed 000 skips schema databases, and so do we

	created := decode[tenantJSON](t, c.ok("tenants", "create", "store-1", "--json"))
	if created.Status != "ready" || created.SchemaVersion != 1 || !strings.Contains(created.URL, api.Hostname("store-1")) {
		t.Fatalf("create = %+v", created)
	}
	c.ok("tenants", "create", "store-2")
	c.ok("tenants", "create", "store-3")
	today := time.Now().UTC().Format("2006-01-02")
	c.ok("sql", "store-1", "INSERT INTO orders(total_amount, created_at) VALUES (1000, '"+today+" 10:00:00')", "--write", "--yes")
	snap := api.Snapshot(t, "store-1")
	c.ok("sql", "store-1", "INSERT INTO orders(total_amount, created_at) VALUES (4000, '"+today+" 12:00:00')", "--write", "--yes")

	// Listed across pages of two, the schema database left out.
	got := listed(t, c)
	if len(got) != 3 || got["parent-schema"].Name != "" {
		t.Fatalf("list = %+v", got)
	}
	type collected struct{ Tenants, OK, Failed int }
	if r := decode[collected](t, c.ok("collect", "--date", today, "--json")); r.Tenants != 3 || r.OK != 3 || r.Failed != 0 {
		t.Fatalf("collect = %+v", r)
	}
	if out := c.ok("sql", "--all", "SELECT count(*) AS n, coalesce(sum(total_amount), 0) AS s FROM orders", "--format", "csv"); out != "tenant,n,s\nstore-1,2,5000\nstore-2,0,0\nstore-3,0,0\n" {
		t.Fatalf("--all: %q", out)
	}
	code, _, errs := c.run("", "sql", "store-1", "DELETE FROM orders")
	if code != 1 {
		t.Fatalf("a write on the read-only console: exit %d %q", code, errs)
	}

	// Branch now, and as of the snapshot.
	c.ok("tenants", "clone", "store-1", "store-1-copy")
	c.ok("tenants", "clone", "store-1", "store-1-then", "--at", snap.Add(time.Millisecond).UTC().Format(time.RFC3339Nano))
	if out := c.ok("sql", "--all", "SELECT count(*) AS n FROM orders WHERE 1", "--format", "csv"); !strings.Contains(out, "store-1-copy,2\n") || !strings.Contains(out, "store-1-then,1\n") {
		t.Fatalf("branches: %q", out)
	}

	// Delete protection is surfaced, and nothing is deleted.
	api.SetDeleteProtection("store-2", true)
	code, _, errs = c.run("", "tenants", "delete", "store-2", "--yes")
	if code != 1 || !strings.Contains(errs, "delete") || !strings.Contains(strings.ToLower(errs), "protect") || !api.Has("store-2") {
		t.Fatalf("delete of a protected database: exit %d %q", code, errs)
	}
	c.ok("tenants", "delete", "store-3", "--yes")
	if api.Has("store-3") {
		t.Fatal("store-3 is still on Turso")
	}
	for _, r := range api.Requests() {
		if strings.Contains(r.Path+"?"+r.Query, api.Token) {
			t.Fatalf("the API token was sent in a URL: %s?%s", r.Path, r.Query)
		}
	}

	// Turso keeps history itself: no snapshots here, said so. serve
	// still prunes the central database's own history.
	if code, _, errs := c.run("", "snapshots", "take"); code != 1 || !strings.Contains(errs, "Turso Cloud keeps its own history") {
		t.Fatalf("snapshots take on turso: exit %d %q", code, errs)
	}
	u, err := tenantdb.FileURL(filepath.Join(c.data, "central.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	cdb, err := tenantdb.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	if _, err := cdb.Exec(`INSERT INTO audit_log(at, actor, action, outcome) VALUES ('2020-01-01T00:00:00.000Z', 'test', 'ancient', 'ok')`); err != nil {
		t.Fatal(err)
	}
	c.serve("--collect-every", "0")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := cdb.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'ancient'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve on turso kept an audit entry older than the history policy")
		}
	}
}
