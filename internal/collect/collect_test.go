package collect_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/demo"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/local"
)

type fleetEnv struct {
	t    testing.TB
	dir  string
	db   *central.DB
	p    *local.Platform
	life *lifecycle.Service
	jobs *jobs.Runner
	c    *collect.Collector
	end  time.Time
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newFleet makes n demo stores with days of history ending on end.
func newFleet(t testing.TB, n, days int, opts collect.Options) *fleetEnv {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := central.Open(ctx, "file:"+filepath.Join(dir, "central.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Settle = 0 // the tests write and collect within a second
	runner := jobs.NewRunner(db, quiet)
	life := lifecycle.New(db, p, runner, quiet)
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, pr := range demo.Profiles(n, 7) {
		j, err := life.Create(ctx, "test", pr.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := runner.RunNow(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		tdb, _ := p.Open(ctx, pr.Name)
		if _, err := demo.Fill(ctx, tdb, pr, days, end, end.Add(20*time.Hour)); err != nil {
			t.Fatal(err)
		}
		tdb.Close()
	}
	rescan := func(ctx context.Context) error { _, err := life.Rescan(ctx, ""); return err }
	c := collect.New(db, p, rescan, opts, quiet)
	c.Register(runner)
	return &fleetEnv{t: t, dir: dir, db: db, p: p, life: life, jobs: runner, c: c, end: end}
}

func (f *fleetEnv) run(from, to time.Time) *collect.Summary {
	f.t.Helper()
	s, err := f.c.Run(context.Background(), collect.Spec{From: from, To: to, Trigger: "test", Actor: "test"}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// table reads the whole central metrics table.
func (f *fleetEnv) table() map[[2]string]fleet.Metrics {
	f.t.Helper()
	rows, err := f.db.SQL().Query(`SELECT date, database_name, total_orders, total_revenue, active_carts, new_products FROM metrics`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]string]fleet.Metrics{}
	for rows.Next() {
		var m fleet.Metrics
		var date any
		if err := rows.Scan(&date, &m.Tenant, &m.Orders, &m.Revenue, &m.ActiveCarts, &m.NewProducts); err != nil {
			f.t.Fatal(err)
		}
		switch d := date.(type) {
		case time.Time:
			m.Date = d.UTC().Format(fleet.DayLayout)
		case string:
			m.Date = d
		default:
			m.Date = fmt.Sprint(d)
		}
		out[[2]string{m.Date, m.Tenant}] = m
	}
	return out
}

// checkAgainstSeed proves the table holds, for every ready tenant and day,
// exactly what seed 000's query returns, and that the rollups equal sums
// over the table.
func (f *fleetEnv) checkAgainstSeed(from, to time.Time, skip map[string]bool) {
	f.t.Helper()
	ctx := context.Background()
	table := f.table()
	ts, _, err := f.db.ListTenants(ctx, central.TenantFilter{Status: fleet.StatusReady})
	if err != nil {
		f.t.Fatal(err)
	}
	checked := 0
	for _, tn := range ts {
		if skip[tn.Name] {
			continue
		}
		tdb, err := f.p.Open(ctx, tn.Name)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, day := range fleet.Days(from, to) {
			want, err := readSeed(ctx, tdb, tn.Name, day)
			if err != nil {
				f.t.Fatal(err)
			}
			if got, ok := table[[2]string{day, tn.Name}]; !ok || got != want {
				f.t.Errorf("%s %s: table has %+v (present %v), seed says %+v", tn.Name, day, got, ok, want)
			}
			checked++
		}
		tdb.Close()
	}
	if checked == 0 {
		f.t.Fatal("nothing checked")
	}
	f.checkRollups()
}

func (f *fleetEnv) checkRollups() {
	f.t.Helper()
	q := func(query string) string {
		rows, err := f.db.SQL().Query(query)
		if err != nil {
			f.t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				f.t.Fatal(err)
			}
			out += fmt.Sprintln(vals...)
		}
		return out
	}
	daily := q(`SELECT date, stores, total_orders, total_revenue, active_carts, new_products, active_stores FROM metrics_daily WHERE stores > 0 ORDER BY date`)
	want := q(`SELECT strftime('%Y-%m-%d', date), count(*), sum(total_orders), sum(total_revenue), sum(active_carts), sum(new_products), sum(total_orders > 0) FROM metrics GROUP BY 1 ORDER BY 1`)
	if daily != want {
		f.t.Errorf("daily rollup differs from the metrics table:\nrollup %s\ntable  %s", daily, want)
	}
	monthly := q(`SELECT month || '/' || database_name, days, total_orders, total_revenue, active_carts, new_products, active_days, first_order_date FROM metrics_monthly WHERE days > 0 ORDER BY 1`)
	want = q(`SELECT substr(strftime('%Y-%m-%d', date), 1, 7) || '/' || database_name, count(*), sum(total_orders), sum(total_revenue), sum(active_carts), sum(new_products),
		sum(total_orders > 0), min(CASE WHEN total_orders > 0 THEN strftime('%Y-%m-%d', date) END) FROM metrics GROUP BY 1 ORDER BY 1`)
	if monthly != want {
		f.t.Errorf("monthly rollup differs from the metrics table:\nrollup %s\ntable  %s", monthly, want)
	}
}

func TestCollectEqualsSeedAndSkipsUnchanged(t *testing.T) {
	f := newFleet(t, 12, 40, collect.Options{BatchSize: 5})
	from, to := f.end.AddDate(0, 0, -34), f.end
	s := f.run(from, to)
	if s.Tenants != 12 || s.OK != 12 || s.Failed != 0 || s.Skipped != 0 || s.State != central.RunSucceeded {
		t.Fatalf("backfill: %+v", s)
	}
	if s.RowsWritten != 12*35 {
		t.Fatalf("rows written %d, want one per store and day (%d), zeros included", s.RowsWritten, 12*35)
	}
	f.checkAgainstSeed(from, to, nil)

	// Unchanged tenants are skipped, for the same days or days inside them.
	s = f.run(f.end.AddDate(0, 0, -1), f.end)
	if s.Skipped != 12 || s.OK != 0 {
		t.Fatalf("re-run: %+v", s)
	}
	// A write to one store: only it is collected, and the table follows.
	tdb, _ := f.p.Open(context.Background(), demo.Profiles(12, 7)[3].Name)
	if _, err := tdb.Exec(`INSERT INTO orders(total_amount, created_at) VALUES (123456, ?)`, f.end.Format("2006-01-02")+"T10:00:00+02:00"); err != nil {
		t.Fatal(err)
	}
	tdb.Close()
	s = f.run(f.end.AddDate(0, 0, -1), f.end)
	if s.OK != 1 || s.Skipped != 11 || s.RowsWritten != 1 {
		t.Fatalf("after one write: %+v", s)
	}
	f.checkAgainstSeed(from, to, nil)
}

func TestOneFailingTenantNeverFailsTheFleet(t *testing.T) {
	f := newFleet(t, 6, 10, collect.Options{})
	names := demo.Profiles(6, 7)
	broken, noTable := names[1].Name, names[4].Name
	// A corrupt file and a database whose orders table is gone.
	if err := os.WriteFile(filepath.Join(f.dir, "tenants", broken+".db"), []byte("this is not a database at all, not even close........................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(f.dir, "tenants", broken+".db-wal"))
	os.Remove(filepath.Join(f.dir, "tenants", broken+".db-shm"))
	tdb, _ := f.p.Open(context.Background(), noTable)
	if _, err := tdb.Exec(`DROP TABLE orders`); err != nil {
		t.Fatal(err)
	}
	tdb.Close()
	from, to := f.end.AddDate(0, 0, -2), f.end
	s, err := f.c.Run(context.Background(), collect.Spec{From: from, To: to}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Failed != 2 || s.OK != 4 || len(s.Errors) != 2 || s.State != central.RunSucceeded {
		t.Fatalf("summary: %+v", s)
	}
	want := map[string]string{broken: "not a database", noTable: "no such table: orders"}
	for _, e := range s.Errors {
		if !strings.Contains(e.Error, want[e.Tenant]) {
			t.Errorf("%s: error %q, want it to say %q", e.Tenant, e.Error, want[e.Tenant])
		}
	}
	f.checkAgainstSeed(from, to, map[string]bool{noTable: true, broken: true})
}

// TestKilledRunConverges: a run cancelled part-way and run again leaves
// exactly the table an uninterrupted run leaves.
func TestKilledRunConverges(t *testing.T) {
	f := newFleet(t, 10, 20, collect.Options{BatchSize: 2, Workers: 1})
	from, to := f.end.AddDate(0, 0, -15), f.end
	ctx, cancel := context.WithCancel(context.Background())
	_, err := f.c.Run(ctx, collect.Spec{From: from, To: to}, func(done, total int64) {
		if done >= 4 {
			cancel()
		}
	})
	if err == nil {
		t.Fatal("cancelled run reported success")
	}
	if n := len(f.table()); n == 0 || n >= 10*16 {
		t.Fatalf("the interrupted run wrote %d rows; the test needs a partial table", n)
	}
	f.checkRollups()
	f.run(from, to)
	f.checkAgainstSeed(from, to, nil)
}

func TestOneCollectionAtATime(t *testing.T) {
	f := newFleet(t, 2, 3, collect.Options{})
	ctx := context.Background()
	r1, j1, err := f.c.Submit(ctx, f.jobs, collect.Spec{From: f.end, To: f.end, Actor: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.c.Submit(ctx, f.jobs, collect.Spec{From: f.end, To: f.end, Actor: "b"}); fleet.ErrorCode(err) != fleet.ECONFLICT {
		t.Fatalf("second collection: %v", err)
	}
	if fin, err := f.jobs.RunNow(ctx, j1.ID); err != nil || fin.State != fleet.JobSucceeded {
		t.Fatalf("job: %+v %v", fin, err)
	}
	r, _ := f.db.CollectRunByID(ctx, r1.ID)
	if r.State != central.RunSucceeded || r.OK != 2 {
		t.Fatalf("run: %+v", r)
	}
	if _, _, err := f.c.Submit(ctx, f.jobs, collect.Spec{From: f.end, To: f.end}); err != nil {
		t.Fatalf("after the first finished: %v", err)
	}
	// Bad ranges are refused before anything is queued.
	if _, _, err := f.c.Submit(ctx, f.jobs, collect.Spec{From: f.end, To: f.end.AddDate(-4, 0, 0)}); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("reversed range: %v", err)
	}
}

// TestLockedTenantRetriesThenFails: a tenant locked by a writer is retried
// with backoff; one unlocked after its first attempt failed is collected,
// one locked throughout fails saying it is locked, and the rest of the
// fleet is collected.
func TestLockedTenantRetriesThenFails(t *testing.T) {
	const timeout = 2 * time.Second
	f := newFleet(t, 4, 3, collect.Options{})
	names := demo.Profiles(4, 7)
	lock := func(name string) *sql.Conn {
		db, err := f.p.Open(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	briefly, throughout := lock(names[0].Name), lock(names[1].Name)
	// The briefly locked tenant is unlocked once its first attempt failed.
	var once sync.Once
	log := slog.New(logHook(func(r slog.Record) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "tenant" && a.Value.String() == names[0].Name {
				once.Do(func() {
					if _, err := briefly.ExecContext(context.Background(), `ROLLBACK`); err != nil {
						t.Error(err)
					}
				})
			}
			return true
		})
	}))
	c := collect.New(f.db, f.p, nil, collect.Options{Timeout: timeout}, log)
	start := time.Now()
	s, err := c.Run(context.Background(), collect.Spec{From: f.end, To: f.end, Trigger: "test", Actor: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	throughout.ExecContext(context.Background(), `ROLLBACK`)
	if s.OK != 3 || s.Failed != 1 || s.Errors[0].Tenant != names[1].Name || !strings.Contains(s.Errors[0].Error, "locked") {
		t.Fatalf("summary: %+v", s)
	}
	results, err := f.db.RunResults(context.Background(), s.ID, false, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		switch r.Tenant {
		case names[0].Name:
			if !r.OK || r.Attempts < 2 {
				t.Errorf("briefly locked tenant: %+v", r)
			}
		case names[1].Name:
			if r.Attempts != 3 {
				t.Errorf("tenant locked throughout tried %d times, want 3", r.Attempts)
			}
		}
	}
	// Three attempts and their backoff take about four seconds. A wait on
	// the lock that outlasted the per-tenant timeout (the tenants'
	// connections wait ten seconds) would make it thirty.
	if took > 20*time.Second {
		t.Fatalf("the run took %s: the per-tenant timeout does not interrupt a wait on a lock", took)
	}
}

// logHook is a slog handler that hands each record to a function: the
// way a test learns what the collector just went through.
type logHook func(slog.Record)

func (h logHook) Enabled(context.Context, slog.Level) bool { return true }

func (h logHook) Handle(_ context.Context, r slog.Record) error {
	h(r)
	return nil
}
func (h logHook) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logHook) WithGroup(string) slog.Handler      { return h }

// TestCollectionMirrorsSchemaVersion: a tenant migrated outside Tenantry
// (goose run by hand) shows its new version in the registry after the
// next collection.
func TestCollectionMirrorsSchemaVersion(t *testing.T) {
	f := newFleet(t, 3, 2, collect.Options{})
	ctx := context.Background()
	name := demo.Profiles(3, 7)[1].Name
	tdb, err := f.p.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tdb.Exec(`INSERT INTO goose_db_version(version_id, is_applied) VALUES (7, 1)`); err != nil {
		t.Fatal(err)
	}
	tdb.Close()
	f.run(f.end, f.end)
	for _, pr := range demo.Profiles(3, 7) {
		tn, err := f.db.Tenant(ctx, pr.Name)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if pr.Name == name {
			want = 7
		}
		if tn.SchemaVersion != want {
			t.Fatalf("%s: registry version %d, want %d", pr.Name, tn.SchemaVersion, want)
		}
	}
}

// TestCollectReadsTenantsWithoutGoose: a store made by plain SQLite (no
// goose table) between two migrated ones is collected, at version 0, and
// the next one still gets its version.
func TestCollectReadsTenantsWithoutGoose(t *testing.T) {
	f := newFleet(t, 2, 2, collect.Options{Workers: 1})
	ctx := context.Background()
	path := filepath.Join(f.dir, "tenants", "aaa-plain.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price INTEGER, created_at TIMESTAMP)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, total_amount INTEGER, status TEXT, created_at TIMESTAMP)`,
		`CREATE TABLE carts (id INTEGER PRIMARY KEY, status TEXT, created_at TIMESTAMP, updated_at TIMESTAMP)`,
		`INSERT INTO orders(total_amount, created_at) VALUES (1200, '2026-11-20 09:00:00'), (300, '2026-11-20 10:00:00')`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := f.run(f.end, f.end)
	if s.Failed != 0 || s.OK != 3 {
		t.Fatalf("summary: %+v", s)
	}
	var orders, revenue int64
	if err := f.db.SQL().QueryRow(`SELECT total_orders, total_revenue FROM metrics WHERE database_name = 'aaa-plain'`).Scan(&orders, &revenue); err != nil || orders != 2 || revenue != 1500 {
		t.Fatalf("plain store's metrics: %d %d %v", orders, revenue, err)
	}
	for _, pr := range append([]demo.Profile{{Name: "aaa-plain"}}, demo.Profiles(2, 7)...) {
		tn, err := f.db.Tenant(ctx, pr.Name)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if pr.Name == "aaa-plain" {
			want = 0
		}
		if tn.SchemaVersion != want {
			t.Fatalf("%s at version %d, want %d", pr.Name, tn.SchemaVersion, want)
		}
	}
}

// TestVersionFollowsSchemaCookie: once a tenant's version was read, the
// collector reads it again when the schema changed (its cookie), or on a
// later day; a migration that changes data only, the same day, is not
// read (the cost is the version's statement on every store; see
// docs/BENCHMARKS.md).
func TestVersionFollowsSchemaCookie(t *testing.T) {
	f := newFleet(t, 2, 2, collect.Options{Workers: 1})
	ctx := context.Background()
	name := demo.Profiles(2, 7)[0].Name
	version := func() int64 {
		t.Helper()
		tn, err := f.db.Tenant(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return tn.SchemaVersion
	}
	exec := func(q string) {
		t.Helper()
		tdb, err := f.p.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		defer tdb.Close()
		if _, err := tdb.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	f.run(f.end, f.end)
	if v := version(); v != 1 {
		t.Fatalf("version %d after the first collection", v)
	}
	exec(`INSERT INTO goose_db_version(version_id, is_applied) VALUES (7, 1); INSERT INTO products(name, price, description) VALUES ('x', 1, zeroblob(50000))`) // data only: same cookie
	if s := f.run(f.end, f.end); s.OK == 0 {
		t.Fatalf("the changed tenant was not collected: %+v", s)
	}
	if v := version(); v != 1 {
		t.Fatalf("version %d: read again though the schema cookie did not change the same day", v)
	}
	if _, err := f.db.SQL().Exec(`UPDATE collect_state SET schema_read_on = '2026-01-01'`); err != nil {
		t.Fatal(err)
	}
	grow := `INSERT INTO products(name, price, description) VALUES ('x', 1, zeroblob(50000))` // a write the fingerprint sees
	exec(grow)
	f.run(f.end, f.end)
	if v := version(); v != 7 {
		t.Fatalf("version %d on a later day, want 7", v)
	}
	exec(`CREATE TABLE extra (x); INSERT INTO goose_db_version(version_id, is_applied) VALUES (8, 1)`) // a migration
	exec(grow)
	f.run(f.end, f.end)
	if v := version(); v != 8 {
		t.Fatalf("version %d after a schema change, want 8", v)
	}
}
