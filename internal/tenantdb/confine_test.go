package tenantdb_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/tenantdb"
)

// swapped makes <dir>/tenants/t.db, identifies it as the open path would,
// then swaps it for a link to <dir>/central.db (which holds a secret): the
// moment between a check and SQLite's open, frozen.
func swapped(t *testing.T) (tenantdb.TenantFile, tenantdb.FileID) {
	t.Helper()
	dir := t.TempDir()
	central := filepath.Join(dir, "central.db")
	c, err := sql.Open("sqlite", central)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Exec(`CREATE TABLE users (password_hash TEXT); INSERT INTO users VALUES ('SECRET')`); err != nil {
		t.Fatal(err)
	}
	f := tenantdb.TenantFile{Dir: filepath.Join(dir, "tenants"), Name: "t.db"}
	if err := os.Mkdir(f.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Path(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := f.Identify()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Path(), f.Path()+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../central.db", f.Path()); err != nil {
		t.Fatal(err)
	}
	return f, id
}

// TestVerifyCatchesSwapBeforeOpen: a file checked and then swapped for a
// link before SQLite opens it is caught by the check of the descriptor
// SQLite holds, before anything is read.
func TestVerifyCatchesSwapBeforeOpen(t *testing.T) {
	f, id := swapped(t)
	db, err := sql.Open("sqlite", f.Path()) // SQLite follows the link
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = f.Verify(t.Context(), conn, "main", id)
	if err == nil || !strings.Contains(err.Error(), "changed while it was being opened") {
		t.Fatalf("Verify on the swapped file: %v", err)
	}
}

// TestOpenReadOnlyCatchesSwap: the collector's read-only connection to a
// file swapped for a link after it was identified is refused before it
// reads anything, with ErrSwapped as its cause; on the file itself it
// opens.
func TestOpenReadOnlyCatchesSwap(t *testing.T) {
	f, id := swapped(t)
	a := tenantdb.Attachment{URI: "file:" + f.Path() + "?mode=ro", File: f, ID: id}
	la := tenantdb.NewLookaside(1200, 10)
	defer la.Free()
	c, err := a.OpenReadOnly(t.Context(), time.Second, la)
	if err == nil {
		c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "changed while it was being opened") || !errors.Is(err, tenantdb.ErrSwapped) {
		t.Fatalf("OpenReadOnly on the swapped file: %v", err)
	}
	if err := os.Remove(f.Path()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Path()+".old", f.Path()); err != nil {
		t.Fatal(err)
	}
	c, err = a.OpenReadOnly(t.Context(), time.Second, la) // the lookaside is free again
	if err != nil {
		t.Fatalf("OpenReadOnly on the real file: %v", err)
	}
	c.Close()
}
