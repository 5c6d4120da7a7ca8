package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dropDB writes a small SQLite database at path, as an operator copying
// one into <data>/tenants would.
func dropDB(t *testing.T, path, secret string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (?)`, secret); err != nil {
		t.Fatal(err)
	}
}

// TestCLISQLAdoptsDroppedFile: on a fresh data directory, `tenantry sql`
// finds a database dropped into <data>/tenants at once (CONTRACT.md: the
// console adopts it), and still says not found for a name with no file.
func TestCLISQLAdoptsDroppedFile(t *testing.T) {
	c := newCLI(t)
	dropDB(t, filepath.Join(c.data, "tenants", "store-7.db"), "hello from store-7")
	if out := c.ok("sql", "store-7", "SELECT body FROM notes"); !strings.Contains(out, "hello from store-7") {
		t.Fatalf("sql on a dropped tenant: %q", out)
	}
	code, _, errs := c.run("", "sql", "store-8", "SELECT 1")
	if code != 1 || !strings.Contains(errs, `"store-8" not found`) {
		t.Fatalf("sql on no tenant: exit %d, %q", code, errs)
	}
}

// TestCLISymlinkedTenantRefused: the review's attack, end to end. A tenant
// file swapped for a link to central.db is refused by `tenantry sql` and
// `tenants export` with a clear message; no user or hash is shown.
func TestCLISymlinkedTenantRefused(t *testing.T) {
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = "a long enough password"
	c.ok("users", "add", "admin@example.com", "--role", "admin")
	dropDB(t, filepath.Join(c.data, "tenants", "store-1.db"), "store data")
	c.ok("sql", "store-1", "SELECT count(*) FROM notes") // adopted, ready
	path := filepath.Join(c.data, "tenants", "store-1.db")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../central.db", path); err != nil {
		t.Fatal(err)
	}
	code, out, errs := c.run("", "sql", "store-1", "SELECT email, password_hash FROM users")
	if code != 1 || strings.Contains(out, "admin@example.com") || !strings.Contains(errs, "symbolic link") {
		t.Fatalf("sql through a link to central.db: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	dst := filepath.Join(t.TempDir(), "out.db")
	code, _, errs = c.run("", "tenants", "export", "store-1", dst)
	if code != 1 || !strings.Contains(errs, "symbolic link") {
		t.Fatalf("export through a link to central.db: exit %d, %q", code, errs)
	}
	if b, _ := os.ReadFile(dst); strings.Contains(string(b), "admin@example.com") {
		t.Fatal("export wrote central.db's users")
	}
}
