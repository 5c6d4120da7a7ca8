package central_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func TestOpenMakesDirectoryAndKeepsDataAcrossReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "central.db")
	db, err := central.Open(ctx, "file:"+path, "")
	if err != nil {
		t.Fatal(err)
	}
	must(t, db.SetKV(ctx, "k", "v"))
	must(t, db.Close())
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	// A second Open finds every migration applied and the data in place.
	db, err = central.Open(ctx, "file:"+path, "")
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if v, err := db.GetKV(ctx, "k"); err != nil || v != "v" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
}

func TestOpenRejectsAnUnparsableFileURL(t *testing.T) {
	_, err := central.Open(context.Background(), "file:"+filepath.Join(t.TempDir(), "%zz.db"), "")
	wantCode(t, err, fleet.EINVALID)
}

// A file: URL without a query gets the pragmas the central database
// relies on: WAL for readers beside a writer, and foreign keys for the
// cascades (a user's sessions, a run's results).
func TestOpenSetsPragmasOnAPlainFileURL(t *testing.T) {
	db, _ := openDB(t)
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"temp_store", "2"}, // memory
	} {
		var got string
		if err := db.SQL().QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
	must(t, db.Ping(context.Background()))
}

func TestKV(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if v, err := db.GetKV(ctx, "unset"); err != nil || v != "" {
		t.Fatalf("unset key: %q, %v; want empty, no error", v, err)
	}
	for _, v := range []string{"one", "two", ""} {
		must(t, db.SetKV(ctx, "k", v))
		if got, err := db.GetKV(ctx, "k"); err != nil || got != v {
			t.Fatalf("after SetKV(%q): %q, %v", v, got, err)
		}
	}
}

// The clock given to Open (WithClock) is the one everything the database
// stamps is read from.
func TestClockStampsRows(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	for _, at := range []int{0, 90} {
		clk.Set(start.AddDate(0, 0, at))
		j := &fleet.Job{Kind: fleet.JobCreate}
		id, err := db.InsertJob(ctx, j)
		must(t, err)
		got, err := db.Job(ctx, id)
		must(t, err)
		if !got.CreatedAt.Equal(clk.Now()) {
			t.Errorf("job created at %v, want the clock's %v", got.CreatedAt, clk.Now())
		}
	}
}
