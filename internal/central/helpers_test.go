package central_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/fleet"
)

func init() { central.SetBcryptCost(4) } // bcrypt is slow on purpose; tests hash often

// start is the clock's time when a test opens its database: a weekday in
// the middle of a month, UTC.
var start = time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)

// migrated is a central database migrated once, which each test copies:
// migrating takes a third of a second under the race detector, opening a
// migrated copy a hundredth.
var migrated string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "central-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	migrated = filepath.Join(dir, "central.db")
	db, err := central.Open(context.Background(), "file:"+migrated, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := os.Stat(migrated + "-wal"); err == nil {
		fmt.Fprintln(os.Stderr, "the migrated database kept a WAL: a copy of its main file alone would lack the migrations")
		return 1
	}
	return m.Run()
}

// openDB opens a fresh migrated central database in the test's temporary
// directory, on a clock the test moves (starting at start).
func openDB(t testing.TB) (*central.DB, *centraltest.Clock) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "central.db")
	b, err := os.ReadFile(migrated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	clk := &centraltest.Clock{}
	clk.Set(start)
	db, err := central.Open(context.Background(), "file:"+path, "", central.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, clk
}

// addTenant registers a tenant in a status, with the job that claims it.
func addTenant(t testing.TB, db *central.DB, name, status string) *fleet.Tenant {
	t.Helper()
	tn := &fleet.Tenant{Name: name, Platform: "local", URL: "file:" + name + ".db", Status: status, CreatedAt: start}
	if err := db.ClaimTenantJob(context.Background(), tn, &fleet.Job{Kind: fleet.JobCreate, Tenant: name, CreatedBy: "test"}, nil); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return tn
}

// wantCode fails unless err carries the domain error code (nil for "no
// error").
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := fleet.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// count runs a count query.
func count(t testing.TB, db *central.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// write writes metrics rows in one batch covering their days.
func write(t *testing.T, db *central.DB, rows ...fleet.Metrics) {
	t.Helper()
	b := central.CollectBatch{From: rows[0].Date, To: rows[0].Date, Metrics: rows}
	for _, m := range rows {
		b.From, b.To = min(b.From, m.Date), max(b.To, m.Date)
	}
	if _, err := db.WriteCollectBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// ptr points at a copy of v, for the optional fields of an update.
func ptr[T any](v T) *T { return &v }
