package local_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/platform/platformtest"
)

func TestContract(t *testing.T) {
	platformtest.Run(t, func(t *testing.T) platform.Platform {
		p, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}

// TestNothingOutsideData proves invalid names never create files outside
// (or inside) the data directory.
func TestNothingOutsideData(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	p, err := local.New(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range platformtest.InvalidNames {
		_, _ = p.Create(t.Context(), n)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != "data" {
		t.Fatalf("files appeared outside the data directory: %v", entries)
	}
	for _, d := range []string{"tenants", "archive", "tmp"} {
		if e, _ := os.ReadDir(filepath.Join(data, d)); len(e) != 0 {
			t.Fatalf("%s holds %v", d, e)
		}
	}
}

func TestListSkipsNonTenants(t *testing.T) {
	dir := t.TempDir()
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"Bad_Name.db": "", "notes.txt": "x", "junk.db": "not sqlite at all"} {
		if err := os.WriteFile(filepath.Join(dir, "tenants", name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Create(t.Context(), "real"); err != nil {
		t.Fatal(err)
	}
	dbs, err := p.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Names decide what List returns; Probe decides what is a database.
	if len(dbs) != 2 || dbs[0].Name != "junk" || dbs[1].Name != "real" {
		t.Fatalf("list = %+v", dbs)
	}
	if err := p.Probe(t.Context(), "junk"); err == nil {
		t.Fatal("a text file passed the probe")
	}
	if err := p.Probe(t.Context(), "real"); err != nil {
		t.Fatal(err)
	}
}

// TestFingerprints proves a tenant's fingerprint changes with every kind of
// write, is withheld while a write is too recent to tell apart from the
// next, and is empty for a tenant that is not there.
func TestFingerprints(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tenants", "shop.db")
	age := func() { // pretend the last write was a minute ago
		old := time.Now().Add(-time.Minute)
		for _, f := range []string{path, path + "-wal"} {
			_ = os.Chtimes(f, old, old)
		}
	}
	fp := func() string { return p.Fingerprints(ctx, []string{"shop"})[0] }
	if got := fp(); got != "" {
		t.Fatalf("fingerprint of a file written just now = %q, want none", got)
	}
	age()
	first := fp()
	if first == "" || fp() != first {
		t.Fatalf("fingerprint of an unchanged file: %q then %q", first, fp())
	}
	db, err := p.Open(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	age()
	second := fp()
	if second == "" || second == first {
		t.Fatalf("a rollback-journal write left the fingerprint at %q", second)
	}
	if _, err := db.Exec(`PRAGMA journal_mode=WAL; INSERT INTO t VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	age()
	if third := fp(); third == "" || third == second {
		t.Fatalf("a WAL write left the fingerprint at %q", third)
	}
	if got := p.Fingerprints(ctx, []string{"nope", "../x"}); got[0] != "" || got[1] != "" {
		t.Fatalf("fingerprints of missing and invalid tenants = %q", got)
	}
	// Stamps identify the file itself, as an open does.
	at, err := p.Attachment("shop")
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Stamps(ctx, []string{"shop"})[0]; st.ID != at.ID || st.Fingerprint == "" {
		t.Fatalf("stamp %+v, file %+v", st, at.ID)
	}
}
