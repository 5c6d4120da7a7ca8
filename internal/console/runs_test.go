package console_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/local"
)

// endless never ends on its own: only the time limit or a cancel stops it.
const endless = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c`

// service is a console over a local fleet of n tenants (store-1 with 1
// order, store-2 with 2, …), adopted into a fresh central database.
func service(t *testing.T, n int) (*console.Service, *central.DB) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := central.Open(ctx, "file:"+dir+"/central.db", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		tenant(t, filepath.Join(dir, "tenants"), "store-"+string(rune('0'+i)), i)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := lifecycle.New(db, p, jobs.NewRunner(db, log), log).Rescan(ctx, ""); err != nil {
		t.Fatal(err)
	}
	return &console.Service{DB: db, Platform: p, Log: log}, db
}

// waitFor polls cond until it holds, for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// TestRunsLifecycle: a background fan-out is started, polled by its
// user only, ends with the merged rows, and is in its user's history.
func TestRunsLifecycle(t *testing.T) {
	svc, db := service(t, 3)
	runs := console.NewRuns(svc)
	t.Cleanup(runs.CancelAll)
	ctx := context.Background()
	st, err := runs.Start(ctx, "a@example.com", fleet.Scope{}, console.Request{SQL: "SELECT count(*) AS n FROM orders"})
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == "" || st.Total != 3 || st.Scope != (fleet.Scope{}) {
		t.Fatalf("started as %+v", st)
	}
	if _, err := runs.Get("b@example.com", st.ID); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Fatalf("another user's run: %v", err)
	}
	waitFor(t, "the run to end", func() bool {
		st, err = runs.Get("a@example.com", st.ID)
		return err == nil && st.Done
	})
	if st.Finished != 3 || st.Failed != 0 || st.Stopped != "" || st.Result == nil || len(st.Result.Rows) != 3 {
		t.Fatalf("ended as %+v", st)
	}
	if got := st.Result.Rows[2]; got[0] != "store-3" || got[1] != int64(3) {
		t.Errorf("last row %v", got)
	}
	if p := st.Progress(); !p.Done || p.Errors == nil {
		t.Errorf("progress %+v: errors must be a list, empty", p)
	}
	if _, f, _, _ := svc.Running("a@example.com"); f != 0 {
		t.Errorf("%d fan-out slots still held", f)
	}
	hist, err := db.QueryHistory(ctx, "a@example.com", 10)
	if err != nil || len(hist) != 1 || hist[0].Scope == nil || *hist[0].Scope != (fleet.Scope{}) || hist[0].Outcome != "ok" || hist[0].Rows != 3 {
		t.Fatalf("history %+v %v", hist, err)
	}
	// A scope matching nothing is refused at once, and recorded.
	if _, err := runs.Start(ctx, "a@example.com", fleet.Scope{Pattern: "shop-*"}, console.Request{SQL: "SELECT 1"}); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("a scope matching nothing: %v", err)
	}
	if hist, _ := db.QueryHistory(ctx, "a@example.com", 10); len(hist) != 2 || hist[0].Outcome != "failed" || hist[0].Scope == nil || hist[0].Scope.Pattern != "shop-*" {
		t.Errorf("the refused run's history %+v", hist)
	}
}

// TestRunsIdleCancel: a run nobody asks for is cancelled after Idle and
// gives back its slot; its state says why it stopped.
func TestRunsIdleCancel(t *testing.T) {
	svc, _ := service(t, 1)
	svc.Limits.Timeout = 10 * time.Minute
	runs := console.NewRuns(svc)
	runs.Idle = 200 * time.Millisecond
	t.Cleanup(runs.CancelAll)
	st, err := runs.Start(context.Background(), "a@example.com", fleet.Scope{}, console.Request{SQL: endless})
	if err != nil {
		t.Fatal(err)
	}
	// Running does not count as asking for the run.
	waitFor(t, "the unwatched run to stop", func() bool { _, f, _, _ := svc.Running("a@example.com"); return f == 0 })
	waitFor(t, "the run to end", func() bool { st, _ = runs.Get("a@example.com", st.ID); return st.Done })
	if !strings.Contains(st.Stopped, "Nobody was watching") {
		t.Fatalf("an unwatched run stopped with %q", st.Stopped)
	}
}

// TestRunsCancelAll: CancelAll stops every run and returns once they have
// ended; a run started afterwards stops at once.
func TestRunsCancelAll(t *testing.T) {
	svc, _ := service(t, 2)
	svc.Limits.Timeout = 10 * time.Minute
	runs := console.NewRuns(svc)
	ctx := context.Background()
	var ids []string
	for _, actor := range []string{"a@example.com", "b@example.com"} {
		st, err := runs.Start(ctx, actor, fleet.Scope{}, console.Request{SQL: endless})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	waitFor(t, "the runs to start", func() bool { _, _, _, all := svc.Running(""); return all == 2 })
	runs.CancelAll()
	if _, _, _, all := svc.Running(""); all != 0 {
		t.Fatalf("%d fan-outs still running after CancelAll", all)
	}
	st, err := runs.Get("a@example.com", ids[0])
	if err != nil || !st.Done || !strings.Contains(st.Stopped, "shutting down") {
		t.Fatalf("a run after CancelAll: %+v %v", st, err)
	}
	st, err = runs.Start(ctx, "a@example.com", fleet.Scope{}, console.Request{SQL: endless})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a run started after CancelAll to stop", func() bool { st, _ = runs.Get("a@example.com", st.ID); return st.Done })
	if !strings.Contains(st.Stopped, "shutting down") {
		t.Errorf("a run started after CancelAll stopped with %q", st.Stopped)
	}
}

// TestFanOutHoldsSlotsLikeRuns: a streamed fan-out (the API's) and a
// background run share the per-user slots, and past them both are Busy.
func TestFanOutHoldsSlotsLikeRuns(t *testing.T) {
	svc, _ := service(t, 1)
	svc.Limits.Timeout = 10 * time.Minute
	runs := console.NewRuns(svc)
	t.Cleanup(runs.CancelAll)
	ctx := context.Background()
	for range console.MaxFanOutsPerUser {
		if _, err := runs.Start(ctx, "a@example.com", fleet.Scope{}, console.Request{SQL: endless}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.FanOut(ctx, "a@example.com", fleet.Scope{}, console.Request{SQL: "SELECT 1"}, console.NewMerge(svc.CurrentLimits())); err == nil {
		t.Fatal("a streamed fan-out past the user's slots ran")
	} else if _, busy := console.AsBusy(err); !busy {
		t.Fatalf("a streamed fan-out past the user's slots: %v", err)
	}
	if _, err := runs.Start(ctx, "a@example.com", fleet.Scope{}, console.Request{SQL: "SELECT 1"}); err == nil {
		t.Fatal("a run past the user's slots started")
	}
}

// TestGatherCapsMergedRows: a fan-out answered at once holds at most the
// row cap in all, and says it cut.
func TestGatherCapsMergedRows(t *testing.T) {
	svc, _ := service(t, 3)
	svc.Limits.MaxRows = 4
	out, err := svc.Gather(context.Background(), "a@example.com", fleet.Scope{}, console.Request{SQL: "SELECT id FROM orders"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rows) != 4 || !out.Truncated || out.Tenants != 3 || out.Columns[0] != "tenant" {
		t.Fatalf("gathered %+v", out)
	}
}

// TestSavedQueriesAudited: saving and deleting a saved query is audited
// as its actor's in the service, refusals too, whichever front asked.
func TestSavedQueriesAudited(t *testing.T) {
	svc, db := service(t, 1)
	ctx := context.Background()
	last := func(action string) fleet.AuditEntry {
		t.Helper()
		es, err := db.AuditLog(ctx, central.AuditFilter{Action: action, Limit: 1})
		if err != nil || len(es) != 1 {
			t.Fatalf("no %s audit entry (%v)", action, err)
		}
		return es[0]
	}
	if _, err := svc.SaveQuery(ctx, "v@example.com", "  ", "SELECT 1", "store-1"); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("a nameless query: %v", err)
	}
	if a := last("sql.saved.add"); a.Actor != "v@example.com" || a.Outcome != "error" || a.Tenant != "store-1" {
		t.Errorf("refused save audited as %+v", a)
	}
	q, err := svc.SaveQuery(ctx, "v@example.com", "big orders", "SELECT * FROM orders", "")
	if err != nil {
		t.Fatal(err)
	}
	if a := last("sql.saved.add"); a.Outcome != "ok" || a.Detail != "big orders: SELECT * FROM orders" {
		t.Errorf("save audited as %+v", a)
	}
	if _, err := svc.DeleteSavedQuery(ctx, "w@example.com", false, q.ID); fleet.ErrorCode(err) != fleet.EFORBIDDEN {
		t.Fatalf("a stranger's delete: %v", err)
	}
	if a := last("sql.saved.delete"); a.Actor != "w@example.com" || a.Outcome != "error" || a.Detail != "big orders" {
		t.Errorf("refused delete audited as %+v", a)
	}
	if _, err := svc.DeleteSavedQuery(ctx, "admin@example.com", true, q.ID); err != nil {
		t.Fatal(err)
	}
	if a := last("sql.saved.delete"); a.Actor != "admin@example.com" || a.Outcome != "ok" {
		t.Errorf("delete audited as %+v", a)
	}
}
