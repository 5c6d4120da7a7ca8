package central_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// queueCollection queues a collection job of a shard ("" for the whole
// fleet), as the collector does.
func queueCollection(db *central.DB, shard string) (*fleet.Job, *central.CollectRun, error) {
	args := `{"from":"2026-03-01","to":"2026-03-17"}`
	if shard != "" {
		args = fmt.Sprintf(`{"from":"2026-03-01","to":"2026-03-17","shard":%q}`, shard)
	}
	j := &fleet.Job{Kind: "metrics.collect", Args: args, CreatedBy: "test"}
	r := &central.CollectRun{From: "2026-03-01", To: "2026-03-17", Trigger: "test", StartedBy: "test", Shard: shard}
	return j, r, db.QueueCollection(context.Background(), j, r)
}

// Collections at the same time must split the fleet the same way and
// never share a shard, so no tenant is collected twice at once; a
// finished one holds nothing.
func TestQueueCollectionConflicts(t *testing.T) {
	for _, c := range []struct {
		name, first, second string
		firstDone           bool
		want                string
	}{
		{"whole fleet twice", "", "", false, fleet.ECONFLICT},
		{"same shard twice", "1/2", "1/2", false, fleet.ECONFLICT},
		{"other shard of the same split", "1/2", "2/2", false, ""},
		{"shard of another split", "1/2", "1/3", false, fleet.ECONFLICT},
		{"whole fleet beside a shard", "1/2", "", false, fleet.ECONFLICT},
		{"shard beside the whole fleet", "", "1/2", false, fleet.ECONFLICT},
		{"after the first finished", "", "", true, ""},
		{"another split after the first finished", "1/2", "1/3", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := openDB(t)
			ctx := context.Background()
			j, r, err := queueCollection(db, c.first)
			must(t, err)
			if r.ID == 0 || r.JobID != j.ID || r.State != central.RunQueued {
				t.Fatalf("queued run %+v for job %d", r, j.ID)
			}
			if c.firstDone {
				must(t, db.FinishJob(ctx, j.ID, fleet.JobSucceeded, "Done", ""))
			}
			_, _, err = queueCollection(db, c.second)
			wantCode(t, err, c.want)
			wantJobs := int64(2)
			if c.want != "" {
				wantJobs = 1
				if !strings.Contains(err.Error(), fmt.Sprint(r.ID)) {
					t.Errorf("conflict %q does not name run %d", err, r.ID)
				}
			}
			if n := count(t, db, `SELECT count(*) FROM jobs`); n != wantJobs {
				t.Errorf("%d jobs queued, want %d (a refused collection queues nothing)", n, wantJobs)
			}
			if n := count(t, db, `SELECT count(*) FROM collection_runs`); n != wantJobs {
				t.Errorf("%d runs, want %d", n, wantJobs)
			}
		})
	}
}

func TestRunLifecycle(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	for _, f := range []func(context.Context) (*central.CollectRun, error){db.ActiveRun, db.LastRun} {
		if r, err := f(ctx); r != nil || err != nil {
			t.Fatalf("no runs yet: %+v, %v", r, err)
		}
	}
	_, err := db.CollectRunByID(ctx, 1)
	wantCode(t, err, fleet.ENOTFOUND)
	_, err = db.CollectRunByJob(ctx, 1)
	wantCode(t, err, fleet.ENOTFOUND)

	j, queued, err := queueCollection(db, "")
	must(t, err)
	if active, err := db.ActiveRun(ctx); err != nil || active == nil || active.ID != queued.ID {
		t.Fatalf("active run %+v, %v; want run %d", active, err, queued.ID)
	}
	// The job starts its run, writes a result, and is interrupted; the
	// next attempt continues the same run from zero.
	r := &central.CollectRun{JobID: j.ID, From: queued.From, To: queued.To}
	must(t, db.StartRun(ctx, r))
	if r.ID != queued.ID || r.State != central.RunRunning {
		t.Fatalf("started %+v, want run %d running", r, queued.ID)
	}
	_, err = db.WriteCollectBatch(ctx, central.CollectBatch{RunID: r.ID, From: r.From, To: r.To, Skipped: 3,
		Results: []central.CollectResult{{Tenant: "a", Error: "locked", Attempts: 3}}})
	must(t, err)
	clk.Add(time.Minute)
	again := &central.CollectRun{JobID: j.ID}
	must(t, db.StartRun(ctx, again))
	got, err := db.CollectRunByJob(ctx, j.ID)
	must(t, err)
	if again.ID != r.ID || got.Failed != 0 || got.Skipped != 0 || !got.StartedAt.Equal(clk.Now()) {
		t.Fatalf("resumed run %+v, want run %d with its counters reset, started now", got, r.ID)
	}
	if res, err := db.RunResults(ctx, r.ID, false, 10); err != nil || len(res) != 0 {
		t.Fatalf("a resumed run keeps results %+v, %v", res, err)
	}

	for _, c := range []struct{ errMsg, want string }{{"", central.RunSucceeded}, {"platform down", central.RunFailed}} {
		must(t, db.FinishRun(ctx, r.ID, 7, c.errMsg))
		got, err := db.CollectRunByID(ctx, r.ID)
		must(t, err)
		if got.State != c.want || got.Tenants != 7 || got.Error != c.errMsg || got.FinishedAt.IsZero() {
			t.Errorf("finished with %q: %+v, want %s", c.errMsg, got, c.want)
		}
	}
	if active, err := db.ActiveRun(ctx); active != nil || err != nil {
		t.Errorf("a finished run is active: %+v, %v", active, err)
	}

	// A run without a job (the CLI's) is a new row each time.
	cli := &central.CollectRun{From: "2026-03-01", To: "2026-03-01", Trigger: "cli", Shard: "1/2"}
	must(t, db.StartRun(ctx, cli))
	if cli.ID == r.ID {
		t.Fatal("a run without a job continued another")
	}
	if last, err := db.LastRun(ctx); err != nil || last.ID != cli.ID {
		t.Errorf("last run %+v, %v; want %d", last, err, cli.ID)
	}
	for shard, want := range map[string]int64{"": r.ID, "1/2": cli.ID, "2/2": 0} {
		last, err := db.LastRunOf(ctx, shard)
		must(t, err)
		if want == 0 && last != nil || want != 0 && (last == nil || last.ID != want) {
			t.Errorf("last run of shard %q: %+v, want %d", shard, last, want)
		}
	}
	runs, total, err := db.CollectRuns(ctx, 1, 1)
	must(t, err)
	if total != 2 || len(runs) != 1 || runs[0].ID != r.ID {
		t.Errorf("second page of one: %+v of %d, want run %d of 2", runs, total, r.ID)
	}
}

func TestRunResultsFailuresFirst(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	r := &central.CollectRun{From: "2026-03-01", To: "2026-03-01"}
	must(t, db.StartRun(ctx, r))
	_, err := db.WriteCollectBatch(ctx, central.CollectBatch{RunID: r.ID, From: r.From, To: r.To, Results: []central.CollectResult{
		{Tenant: "a", OK: true, Attempts: 1, Duration: 1500 * time.Microsecond},
		{Tenant: "b", Error: "locked", Attempts: 3},
		{Tenant: "c", OK: true, Attempts: 1},
		{Tenant: "d", Error: "gone", Attempts: 1},
	}})
	must(t, err)
	for _, c := range []struct {
		failedOnly bool
		limit      int
		want       string
	}{
		{false, 10, "b d a c"},
		{true, 10, "b d"},
		{false, 3, "b d a"},
		{false, 0, ""},
	} {
		res, err := db.RunResults(ctx, r.ID, c.failedOnly, c.limit)
		must(t, err)
		var names []string
		for _, x := range res {
			names = append(names, x.Tenant)
		}
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("RunResults(failedOnly %t, limit %d) = %q, want %q", c.failedOnly, c.limit, got, c.want)
		}
		if len(res) > 2 && res[2].Duration != 1500*time.Microsecond {
			t.Errorf("a's duration %v", res[2].Duration)
		}
	}
	got, err := db.CollectRunByID(ctx, r.ID)
	must(t, err)
	if got.OK != 2 || got.Failed != 2 {
		t.Errorf("run counted %d ok, %d failed; want 2, 2", got.OK, got.Failed)
	}
}

// A batch records what it collected: the tenants' states, when each was
// collected, the schema version each reported (-1: unknown, left alone),
// and the run's counters.
func TestWriteCollectBatchRecordsStates(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		addTenant(t, db, n, fleet.StatusReady)
	}
	must(t, db.UpdateTenant(ctx, "b", central.TenantUpdate{SchemaVersion: ptr(int64(2))}))
	r := &central.CollectRun{From: "2026-03-01", To: "2026-03-02"}
	must(t, db.StartRun(ctx, r))
	clk.Add(time.Hour)
	_, err := db.WriteCollectBatch(ctx, central.CollectBatch{RunID: r.ID, From: r.From, To: r.To, Skipped: 5,
		Metrics: []fleet.Metrics{{Date: "2026-03-01", Tenant: "a", Orders: 1}},
		Results: []central.CollectResult{{Tenant: "a", OK: true}, {Tenant: "b", OK: true}},
		States: []central.CollectState{
			{Tenant: "a", Fingerprint: "10@x", From: r.From, To: r.To, Version: 3},
			{Tenant: "b", Fingerprint: "20@y", From: r.From, To: r.To, Version: -1},
		}})
	must(t, err)
	cands, err := db.CollectCandidates(ctx, "", 10)
	must(t, err)
	if len(cands) != 2 || cands[0].Last.Fingerprint != "10@x" || cands[1].Last.Fingerprint != "20@y" || cands[0].Last.To != r.To {
		t.Fatalf("candidates after the batch: %+v", cands)
	}
	for name, want := range map[string]int64{"a": 3, "b": 2} {
		tn, err := db.Tenant(ctx, name)
		must(t, err)
		if tn.SchemaVersion != want {
			t.Errorf("%s's schema version %d, want %d", name, tn.SchemaVersion, want)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM tenants WHERE last_collected_at = ?`, clk.Now().Format("2006-01-02T15:04:05.000Z")); n != 2 {
		t.Errorf("%d tenants stamped collected now, want 2", n)
	}
	got, err := db.CollectRunByID(ctx, r.ID)
	must(t, err)
	if got.OK != 2 || got.Skipped != 5 || got.RowsWritten != 1 {
		t.Errorf("run counters %+v, want 2 ok, 5 skipped, 1 row", got)
	}
}

// Rows collected again unchanged are not rewritten: no rows changed, no
// new metrics generation (report caches stay fresh), no rollup moves.
func TestWriteCollectBatchSkipsUnchangedRows(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	rows := []fleet.Metrics{
		{Date: "2026-02-28", Tenant: "a", Orders: 3, Revenue: 4500, ActiveCarts: 2},
		{Date: "2026-03-01", Tenant: "a"},
		{Date: "2026-03-01", Tenant: "b", Orders: 1, Revenue: 999, NewProducts: 1},
	}
	b := central.CollectBatch{From: "2026-02-28", To: "2026-03-01", Metrics: rows}
	for i, c := range []struct {
		change  func()
		changed int64
		gen     int64
	}{
		{func() {}, 3, 1},
		{func() {}, 0, 1},
		{func() { b.Metrics[1].Orders = 2 }, 1, 2},
		{func() { b.Metrics = b.Metrics[:1] }, 0, 2}, // a tenant no longer collected keeps its rows
	} {
		c.change()
		changed, err := db.WriteCollectBatch(ctx, b)
		must(t, err)
		gen, err := db.MetricsGeneration(ctx)
		must(t, err)
		if changed != c.changed || gen != c.gen {
			t.Errorf("write %d: %d rows changed, generation %d; want %d, %d", i, changed, gen, c.changed, c.gen)
		}
		checkRollups(t, db, fmt.Sprintf("write %d", i))
	}
	if n := count(t, db, `SELECT count(*) FROM metrics`); n != 3 {
		t.Errorf("%d metrics rows, want 3", n)
	}
}

// One batch with more rows than one statement writes, and more days than
// one rollup statement adds, keeps every rollup exact.
func TestLargeBatchKeepsRollups(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	days := fleet.Days(time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)) // 119 days
	b := central.CollectBatch{From: days[0], To: days[len(days)-1]}
	for _, n := range []string{"a", "b"} {
		for i, d := range days {
			b.Metrics = append(b.Metrics, fleet.Metrics{Date: d, Tenant: n, Orders: int64(i % 3), Revenue: int64(i * 101), ActiveCarts: 1})
		}
	}
	for round := range 2 {
		changed, err := db.WriteCollectBatch(ctx, b)
		must(t, err)
		if want := len(b.Metrics) / (round + 1); changed != int64(want) {
			t.Fatalf("round %d: %d rows changed, want %d", round, changed, want)
		}
		checkRollups(t, db, fmt.Sprintf("round %d", round))
		for i := range b.Metrics { // the next round changes every other row
			if i%2 == 0 {
				b.Metrics[i].Orders++
				b.Metrics[i].Revenue += 7
			}
		}
	}
	if n := count(t, db, `SELECT count(*) FROM metrics_daily`); n != int64(len(days)) {
		t.Errorf("%d days in the daily rollup, want %d", n, len(days))
	}
}
