package local_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local"
)

// TestUnadoptable: every kind of .db file that List leaves out or Probe
// refuses is reported once with its reason; tenants, WAL files and other
// files are not.
func TestUnadoptable(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	p, err := local.New(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, "tenants")
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("store_1.db", "")
	write("-edge.db", "")
	write(".db", "")
	write("x.db", "just some text, long enough to have been a header")
	write("good.db-wal", "")
	write("notes.txt", "")
	for _, err := range []error{
		os.Symlink("good.db", filepath.Join(dir, "y.db")),
		os.Mkdir(filepath.Join(dir, "d.db"), 0o700),
		syscall.Mkfifo(filepath.Join(dir, "f.db"), 0o600),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	listed, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range listed {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"good", "x"}) {
		t.Fatalf("List gives %v, want [good x]: x is for Probe to refuse", names)
	}
	var rejected []string
	for _, n := range names {
		if p.Probe(ctx, n) != nil {
			rejected = append(rejected, n)
		}
	}

	got, err := p.Unadoptable(ctx, rejected)
	if err != nil {
		t.Fatal(err)
	}
	want := []platform.Skipped{
		{File: "-edge.db", Reason: "invalid name (use a-z, 0-9 and -, not - first or last)"},
		{File: ".db", Reason: "invalid name (empty)"},
		{File: "d.db", Reason: "a directory (refused)"},
		{File: "f.db", Reason: "a FIFO (refused)"},
		{File: "store_1.db", Reason: "invalid name (use a-z, 0-9 and -, not - first or last)"},
		{File: "x.db", Reason: "not a SQLite database"},
		{File: "y.db", Reason: "a symbolic link (refused)"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Unadoptable:\n got %q\nwant %q", got, want)
	}

	// Once fixed, a file is no longer reported.
	if err := os.Remove(filepath.Join(dir, "x.db")); err != nil {
		t.Fatal(err)
	}
	got, err = p.Unadoptable(ctx, []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(got, func(s platform.Skipped) bool { return s.File == "x.db" }) {
		t.Errorf("a removed file is still reported: %q", got)
	}
}
