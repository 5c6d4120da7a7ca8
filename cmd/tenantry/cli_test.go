package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/platform/platformtest"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

type tenantJSON struct {
	Name          string `json:"name"`
	Status        string `json:"status"`
	URL           string `json:"url"`
	SchemaVersion int64  `json:"schema_version"`
	CreatedAt     string `json:"created_at"`
	Parent        string `json:"parent"`
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func listed(t *testing.T, c *cli) map[string]tenantJSON {
	t.Helper()
	out := map[string]tenantJSON{}
	for _, tj := range decode[[]tenantJSON](t, c.ok("tenants", "list", "--json")) {
		out[tj.Name] = tj
	}
	return out
}

func TestCLILifecycle(t *testing.T) {
	c := newCLI(t)
	if got := listed(t, c); len(got) != 0 {
		t.Fatalf("fresh data dir lists %v", got)
	}
	created := decode[tenantJSON](t, c.ok("tenants", "create", "store-1", "--json"))
	if created.Name != "store-1" || created.Status != "ready" || created.SchemaVersion != 1 || !strings.HasPrefix(created.URL, "file:") || created.CreatedAt == "" {
		t.Fatalf("create --json = %+v", created)
	}
	// Write a row so the branch and the export can be told apart from empty ones.
	db := openTenant(t, c, "store-1")
	if _, err := db.Exec(`INSERT INTO orders(total_amount) VALUES (1999)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	branch := decode[tenantJSON](t, c.ok("tenants", "clone", "store-1", "store-2", "--json"))
	if branch.Status != "ready" || branch.SchemaVersion != 1 || branch.Parent != "store-1" {
		t.Fatalf("clone --json = %+v", branch)
	}
	if n := countOrders(t, c, "store-2"); n != 1 {
		t.Fatalf("branch has %d orders, want 1", n)
	}

	code, _, errs := c.run("", "tenants", "delete", "store-2")
	if code != 2 || !strings.Contains(errs, "--yes") {
		t.Fatalf("delete without --yes and no terminal: exit %d, %q", code, errs)
	}
	c.ok("tenants", "delete", "store-2", "--yes")
	if got := listed(t, c)["store-2"]; got.Status != "archived" {
		t.Fatalf("after delete store-2 is %+v", got)
	}
	if _, err := os.Stat(filepath.Join(c.data, "tenants", "store-2.db")); !os.IsNotExist(err) {
		t.Fatalf("deleted tenant's file still live: %v", err)
	}
	restored := decode[tenantJSON](t, c.ok("tenants", "restore", "store-2", "--json"))
	if restored.Status != "ready" || countOrders(t, c, "store-2") != 1 {
		t.Fatalf("restore = %+v", restored)
	}

	out := filepath.Join(t.TempDir(), "copy.db")
	c.ok("tenants", "export", "store-1", out)
	code, _, errs = c.run("", "tenants", "export", "store-1", out)
	if code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("export over an existing file: exit %d %q", code, errs)
	}
	imported := decode[tenantJSON](t, c.ok("tenants", "import", "store-3", out, "--json"))
	if imported.Status != "ready" || countOrders(t, c, "store-3") != 1 {
		t.Fatalf("import = %+v", imported)
	}
}

func openTenant(t *testing.T, c *cli, name string) *sql.DB {
	t.Helper()
	u, err := tenantdb.FileURL(filepath.Join(c.data, "tenants", name+".db"), false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func countOrders(t *testing.T, c *cli, name string) int {
	t.Helper()
	db := openTenant(t, c, name)
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM orders`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCLIBadInput: every bad input gets exit 1 (or 2 for usage), one clear
// line, and leaves the data directory as it was.
func TestCLIBadInput(t *testing.T) {
	c := newCLI(t)
	c.ok("tenants", "create", "store-1")
	notSQLite := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notSQLite, []byte("just text"), 0o600)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tenants", "create", "store-1"}, 1, "already exists"},
		{[]string{"tenants", "clone", "nope", "x"}, 1, "not found"},
		{[]string{"tenants", "clone", "store-1", "store-1"}, 1, "different"},
		{[]string{"tenants", "clone", "store-1", "new", "--at", "yesterday"}, 2, "RFC 3339"},
		{[]string{"tenants", "clone", "store-1", "new", "--at", "2020-01-01T00:00:00Z"}, 1, "has no snapshot yet. Point-in-time branches on the local platform are made from snapshots"},
		{[]string{"tenants", "delete", "nope", "--yes"}, 1, "not found"},
		{[]string{"tenants", "restore", "store-1"}, 1, "cannot be restored"},
		{[]string{"tenants", "import", "store-9", notSQLite}, 1, "not a SQLite database"},
		{[]string{"tenants", "import", "store-9", "/no/such/file.db"}, 1, "Cannot read"},
		{[]string{"tenants", "export", "nope", filepath.Join(t.TempDir(), "x.db")}, 1, "not found"},
		{[]string{"tenants", "create"}, 2, "expected 1 argument"},
		{[]string{"tenants", "frobnicate"}, 2, "unknown"},
		{[]string{"nonsense"}, 2, "unknown command"},
		{[]string{"--platform", "mars", "tenants", "list"}, 2, "--platform"},
		{[]string{"users", "add", "not-an-email"}, 1, "not a valid e-mail"},
	}
	for _, n := range platformtest.InvalidNames {
		cases = append(cases, struct {
			args []string
			code int
			want string
		}{[]string{"tenants", "create", "--", n}, 1, "Tenant name"})
	}
	before := listFiles(t, c.data)
	for _, tc := range cases {
		code, out, errs := c.run("", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("tenantry %q: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errs, tc.code, tc.want)
		}
		if tc.code == 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("tenantry %q: stderr is not one line: %q", tc.args, errs)
		}
		if strings.Contains(errs, "goroutine") || strings.Contains(out, "panic") {
			t.Errorf("tenantry %q: stack trace", tc.args)
		}
	}
	if after := listFiles(t, c.data); after != before {
		t.Fatalf("bad input changed the data directory:\nbefore %s\nafter  %s", before, after)
	}
	if got := listed(t, c); len(got) != 1 {
		t.Fatalf("registry after bad input: %v", got)
	}
}

// listFiles lists the tenant and archive files (not the central database,
// which records refusals in the audit log).
func listFiles(t *testing.T, data string) string {
	var names []string
	for _, d := range []string{"tenants", "archive", "tmp"} {
		es, _ := os.ReadDir(filepath.Join(data, d))
		for _, e := range es {
			if !strings.HasSuffix(e.Name(), "-shm") && !strings.HasSuffix(e.Name(), "-wal") {
				names = append(names, d+"/"+e.Name())
			}
		}
	}
	return strings.Join(names, ",")
}

func TestCLIHelp(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"--help"}, {"tenants", "create", "--help"}, {"serve", "--help"}, {"users", "add", "--help"}, {"demo", "--help"}, {"tenants", "delete", "-h"}} {
		code, _, errs := c.run("", args...)
		if code != 0 || !strings.Contains(errs, "Usage") {
			t.Errorf("tenantry %q: exit %d, %q", args, code, errs)
		}
	}
	code, _, errs := c.run("")
	if code != 2 || !strings.Contains(errs, "Usage") {
		t.Errorf("no command: exit %d %q", code, errs)
	}
}

// TestAdoptAndMissing: a SQLite file dropped into tenants/ becomes a
// tenant; one removed behind our back is marked missing, not forgotten.
func TestAdoptAndMissing(t *testing.T) {
	c := newCLI(t)
	c.ok("tenants", "create", "store-1")
	// A database made by plain SQLite with seed 000's schema.
	src := filepath.Join(t.TempDir(), "x.db")
	u, _ := tenantdb.FileURL(src, false)
	db, _ := tenantdb.Open(u)
	if _, err := db.Exec(`CREATE TABLE orders(id INTEGER PRIMARY KEY, total_amount INTEGER NOT NULL, status TEXT, created_at TIMESTAMP, updated_at TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, _ := os.ReadFile(src)
	os.WriteFile(filepath.Join(c.data, "tenants", "dropped-in.db"), data, 0o600)
	os.WriteFile(filepath.Join(c.data, "tenants", "Not_A_Tenant.db"), data, 0o600)
	os.WriteFile(filepath.Join(c.data, "tenants", "notes.db"), []byte("a text file named like a database"), 0o600)
	got := listed(t, c)
	if got["dropped-in"].Status != "ready" || len(got) != 2 {
		t.Fatalf("after dropping a file: %+v", got)
	}
	os.Remove(filepath.Join(c.data, "tenants", "store-1.db"))
	os.Remove(filepath.Join(c.data, "tenants", "store-1.db-wal"))
	os.Remove(filepath.Join(c.data, "tenants", "store-1.db-shm"))
	if got := listed(t, c); got["store-1"].Status != "missing" {
		t.Fatalf("after removing a file: %+v", got["store-1"])
	}
	code, _, errs := c.run("", "tenants", "create", "store-1")
	if code != 1 || !strings.Contains(errs, "missing") {
		t.Fatalf("create over a missing tenant: %d %q", code, errs)
	}
}

func TestUsersAdd(t *testing.T) {
	c := newCLI(t)
	code, _, errs := c.run("short\n", "users", "add", "a@example.com")
	if code != 1 || !strings.Contains(errs, "too short") {
		t.Fatalf("short password: %d %q", code, errs)
	}
	if code, out, errs := c.run("a-long-enough-password\n", "users", "add", "a@example.com"); code != 0 || !strings.Contains(out, "a@example.com (admin)") {
		t.Fatalf("users add: %d %q %q", code, out, errs)
	}
	c.env["TENANTRY_PASSWORD"] = "another-long-password"
	if out := c.ok("users", "add", "v@example.com", "--role", "viewer"); !strings.Contains(out, "viewer") {
		t.Fatalf("viewer: %q", out)
	}
	code, _, errs = c.run("", "users", "add", "A@example.com")
	if code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate user: %d %q", code, errs)
	}
	code, _, errs = c.run("", "users", "add", "x@example.com", "--role", "root")
	if code != 1 || !strings.Contains(errs, "Role") {
		t.Fatalf("bad role: %d %q", code, errs)
	}
}
