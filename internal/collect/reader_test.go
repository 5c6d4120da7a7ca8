package collect

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/platform/local"
)

// TestReaderLooksAgainAtAReplacedFile: a tenant file replaced by another
// regular file between the look that identified it and the read (a
// restore, say) is identified again and read; replaced by a link, it is
// refused, never read.
func TestReaderLooksAgainAtAReplacedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shop", "other"} {
		if _, err := p.Create(ctx, name); err != nil {
			t.Fatal(err)
		}
		db, _ := p.Open(ctx, name)
		if _, err := db.Exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, total_amount INTEGER, created_at TIMESTAMP);
			CREATE TABLE carts (id INTEGER PRIMARY KEY, status TEXT, updated_at TIMESTAMP);
			CREATE TABLE products (id INTEGER PRIMARY KEY, created_at TIMESTAMP);
			INSERT INTO orders(total_amount, created_at) VALUES (100, '2026-11-20 10:00:00')`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	stale := p.Stamps(ctx, []string{"shop"})[0].ID
	path := filepath.Join(dir, "tenants", "shop.db")
	if err := os.Rename(filepath.Join(dir, "tenants", "other.db"), path); err != nil { // replaced by a regular file
		t.Fatal(err)
	}
	r := newReader(p, time.Second)
	defer r.close()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	got, err := r.read(ctx, task{name: "shop", id: stale, version: -1}, day, day)
	if err != nil || len(got.metrics) != 1 || got.metrics[0].Orders != 1 {
		t.Fatalf("read of a replaced file: %+v, %v", got, err)
	}
	stale = p.Stamps(ctx, []string{"shop"})[0].ID
	if err := os.WriteFile(filepath.Join(dir, "secret.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.db", path); err != nil {
		t.Fatal(err)
	}
	if _, err := r.read(ctx, task{name: "shop", id: stale, version: -1}, day, day); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("read of a file replaced by a link: %v", err)
	}
}
