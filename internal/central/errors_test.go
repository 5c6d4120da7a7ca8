package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openTemp opens a migrated central database in a temporary directory.
func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "central.db")
	db, err := Open(context.Background(), "file:"+path, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// TestTranslate: the central database's real driver errors become
// domain errors that name what they are about, and keep the driver's
// error as their cause.
func TestTranslate(t *testing.T) {
	db, path := openTemp(t)
	ctx := context.Background()
	if err := db.SetKV(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	var v string
	err := translate(db.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = 'absent'`).Scan(&v), `Setting "absent"`)
	if fleet.ErrorCode(err) != fleet.ENOTFOUND || fleet.ErrorMessage(err) != `Setting "absent" not found.` || !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("no row: %q (%s)", err, fleet.ErrorCode(err))
	}

	_, err = db.db.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES ('k', 'again')`)
	err = translate(err, `Setting "k"`)
	var se *sqlite.Error
	if fleet.ErrorCode(err) != fleet.ECONFLICT || fleet.ErrorMessage(err) != `Setting "k" already exists.` ||
		!errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		t.Errorf("a second row with the same key: %q (%s)", err, fleet.ErrorCode(err))
	}

	// A writer holds the database; a connection that does not wait for it
	// is told to come back.
	conn, err := db.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, busy := other.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES ('busy', 'x')`)
	err = translate(busy, "Setting")
	if busy == nil || fleet.ErrorCode(err) != fleet.EUNAVAILABLE || err.Error() != busy.Error() ||
		!errors.As(err, &se) || se.Code() != sqlite3.SQLITE_BUSY {
		t.Errorf("a locked database: %q (%s)", err, fleet.ErrorCode(err))
	}

	// Anything else is left as it was: an internal error.
	_, bad := db.db.ExecContext(ctx, `SELECT * FROM absent`)
	if err := translate(bad, "Setting"); err != bad || fleet.ErrorCode(err) != fleet.EINTERNAL {
		t.Errorf("a missing table: %q (%s)", err, fleet.ErrorCode(err))
	}
	if translate(nil, "Setting") != nil {
		t.Error("nil translated")
	}
}

// TestSecondQueuedRunNamesTheFirst: the unique index that allows one
// queued or running collection (of a shard) and one rollout refuses a
// second, and the conflict names the run that holds it.
func TestSecondQueuedRunNamesTheFirst(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	queue := func(shard string) (*CollectRun, error) {
		r := &CollectRun{From: "2026-01-01", To: "2026-01-01", Trigger: "test", StartedBy: "a", Shard: shard}
		args := fmt.Sprintf(`{"shard":%q}`, shard)
		if shard == "" {
			args = "{}"
		}
		return r, db.QueueCollection(ctx, &fleet.Job{Kind: "metrics.collect", Args: args, CreatedBy: "a"}, r)
	}
	for _, shard := range []string{"", "1/2"} {
		// Whatever the last round queued has ended.
		if _, err := db.db.ExecContext(ctx, `UPDATE jobs SET state = ?`, fleet.JobFailed); err != nil {
			t.Fatal(err)
		}
		first, err := queue(shard)
		if err != nil {
			t.Fatalf("shard %q: %v", shard, err)
		}
		_, err = queue(shard)
		if fleet.ErrorCode(err) != fleet.ECONFLICT || !strings.Contains(fleet.ErrorMessage(err), fmt.Sprintf("already queued or running (run %d)", first.ID)) {
			t.Errorf("a second collection of shard %q: %q (%s)", shard, err, fleet.ErrorCode(err))
		}
	}

	rollout := func() (*MigrationRun, error) {
		r := &MigrationRun{Mode: ModeFull, Target: 1, Parallel: 1, OnError: "stop", Trigger: "test", StartedBy: "bob"}
		return r, db.QueueRollout(ctx, &fleet.Job{Kind: RolloutJob, CreatedBy: "bob"}, r)
	}
	first, err := rollout()
	if err != nil {
		t.Fatal(err)
	}
	_, err = rollout()
	if fleet.ErrorCode(err) != fleet.ECONFLICT || !strings.HasPrefix(fleet.ErrorMessage(err), fmt.Sprintf("Rollout %d (full, started by bob)", first.ID)) {
		t.Errorf("a second rollout: %q (%s)", err, fleet.ErrorCode(err))
	}
}
