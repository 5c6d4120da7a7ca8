package tenantdb_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// TestAttachmentCatchesSwap: the collector's ATTACH of a swapped file is
// caught the same way.
func TestAttachmentCatchesSwap(t *testing.T) {
	f, id := swapped(t)
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a := tenantdb.Attachment{URI: "file:" + f.Path() + "?mode=ro", File: f, ID: id}
	if _, err := conn.ExecContext(t.Context(), `ATTACH ? AS t`, a.URI); err != nil {
		t.Fatal(err)
	}
	err = a.Verify(t.Context(), conn, "t")
	if err == nil || !strings.Contains(err.Error(), "changed while it was being opened") {
		t.Fatalf("Verify on the swapped attachment: %v", err)
	}
	// and the check passes on the file itself
	if err := os.Remove(f.Path()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Path()+".old", f.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), `DETACH t`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), `ATTACH ? AS t`, a.URI); err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(t.Context(), conn, "t"); err != nil {
		t.Fatalf("Verify on the real file: %v", err)
	}
}
