package tenantdb_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/tenantdb"
)

// store makes a database file in a tenants directory and returns how to
// open it read-only, with a connection that writes to it.
func store(t *testing.T) (tenantdb.Attachment, *sql.DB) {
	t.Helper()
	f := tenantdb.TenantFile{Dir: filepath.Join(t.TempDir(), "tenants"), Name: "s.db"}
	if err := os.Mkdir(f.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := sql.Open("sqlite", f.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER, at TEXT)`); err != nil {
		t.Fatal(err)
	}
	id, err := f.Identify()
	if err != nil {
		t.Fatal(err)
	}
	return tenantdb.Attachment{URI: "file:" + f.Path() + "?mode=ro", File: f, ID: id}, w
}

// TestLookasideReuse: one lookaside serves connection after connection
// and each reads right; a connection closed with a statement still open
// stays alive as SQLite's "zombie", still using the memory, so its
// lookaside is given up and the next connection gets new memory (the
// collector always closes its rows first; this is the guard should it
// not).
func TestLookasideReuse(t *testing.T) {
	a, w := store(t)
	la := tenantdb.NewLookaside(1200, 50)
	defer la.Free()
	for i := range 20 {
		if _, err := w.Exec(`INSERT INTO orders(total, at) VALUES (?, '2026-11-20')`, i); err != nil {
			t.Fatal(err)
		}
		c, err := a.OpenReadOnly(t.Context(), time.Second, la)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := c.Query(t.Context(), `SELECT count(*), sum(total) FROM orders WHERE at = ?`, "2026-11-20")
		if err != nil {
			t.Fatal(err)
		}
		var n, sum int64
		if !rows.Next() || rows.Scan(&n, &sum) != nil || n != int64(i+1) || sum != int64(i*(i+1)/2) {
			t.Fatalf("connection %d read %d rows summing %d (%v)", i, n, sum, rows.Err())
		}
		rows.Close()
		c.Close()
	}
	before := tenantdb.LookasideMemory(la)
	c, err := a.OpenReadOnly(t.Context(), time.Second, la)
	if err != nil {
		t.Fatal(err)
	}
	open, err := c.Query(t.Context(), `SELECT id FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // with a statement open: a zombie
	if tenantdb.LookasideMemory(la) == before {
		t.Fatal("the lookaside of a connection closed with an open statement was kept for the next")
	}
	c2, err := a.OpenReadOnly(t.Context(), time.Second, la)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c2.Query(t.Context(), `SELECT count(*) FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if !rows.Next() || rows.Scan(&n) != nil || n != 20 {
		t.Fatalf("after a zombie: %d rows", n)
	}
	rows.Close()
	c2.Close()
	_ = open // the driver cannot use a statement after its connection's Close: left to leak
}

// TestSchemaCookie: the cookie read from the file changes with the
// schema, not with the data, and is not read in WAL mode.
func TestSchemaCookie(t *testing.T) {
	a, w := store(t)
	cookie := func() (uint32, bool) {
		c, err := a.OpenReadOnly(t.Context(), time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.SchemaCookie()
	}
	first, ok := cookie()
	if !ok || first == 0 {
		t.Fatalf("cookie %d, %v", first, ok)
	}
	if _, err := w.Exec(`INSERT INTO orders(total) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if got, ok := cookie(); !ok || got != first {
		t.Fatalf("a row changed the cookie: %d, %v; was %d", got, ok, first)
	}
	if _, err := w.Exec(`CREATE INDEX orders_at ON orders(at)`); err != nil {
		t.Fatal(err)
	}
	if got, ok := cookie(); !ok || got == first {
		t.Fatalf("an index left the cookie at %d (%v)", got, ok)
	}
	if _, err := w.Exec(`PRAGMA journal_mode = WAL`); err != nil {
		t.Fatal(err)
	}
	if got, ok := cookie(); ok {
		t.Fatalf("cookie %d read in WAL mode", got)
	}
}

// TestRowsScan: values read as database/sql reads them into the kinds
// the collector uses.
func TestRowsScan(t *testing.T) {
	a, _ := store(t)
	c, err := a.OpenReadOnly(t.Context(), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Query(t.Context(), `SELECT 'x', NULL, 12, 12.0, '7', x'41'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	var s, blob string
	var null sql.NullString
	var i, f, txt int64
	if err := rows.Scan(&s, &null, &i, &f, &txt, &blob); err != nil || s != "x" || null.Valid || i != 12 || f != 12 || txt != 7 || blob != "A" {
		t.Fatalf("scan: %v: %q %v %d %d %d %q", err, s, null, i, f, txt, blob)
	}
	rows2, err := c.Query(t.Context(), `SELECT 12.5`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows2.Close()
	rows2.Next()
	if err := rows2.Scan(&i); err == nil {
		t.Fatal("12.5 read as an integer")
	}
}
