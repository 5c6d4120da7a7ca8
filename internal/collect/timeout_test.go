package collect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/platform/local"
)

// TestTimeoutDuringLockWaitSaysLocked: when the per-tenant deadline passes
// while a read waits for a tenant's lock (the wait outlasting it, as on a
// machine too busy to keep the margin), the error says both: it timed
// out, and on what.
func TestTimeoutDuringLockWaitSaysLocked(t *testing.T) {
	ctx := context.Background()
	p, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, "locked"); err != nil {
		t.Fatal(err)
	}
	db, err := p.Open(ctx, "locked")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)

	const timeout = 100 * time.Millisecond
	c := &Collector{p: p, opts: Options{Timeout: timeout}}
	r := newReader(p, 10*timeout) // waits for the lock past the deadline
	defer r.close()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	_, err = c.read(ctx, r, task{name: "locked"}, day, day)
	if err == nil || !strings.Contains(err.Error(), "timed out after 100ms") || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("read of a tenant locked past the deadline: %v; want it to say it timed out waiting for the lock", err)
	}
}
