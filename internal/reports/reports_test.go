package reports_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/reports"
)

// openDB is a migrated central database of the test's own whose clock
// stands on the afternoon of today.
func openDB(t *testing.T, today string) (*central.DB, *centraltest.Clock) {
	t.Helper()
	c := &centraltest.Clock{}
	c.Set(afternoon(today))
	db, err := central.Open(context.Background(), "file:"+filepath.Join(t.TempDir(), "central.db"), "", central.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, c
}

// collect writes metrics through the collector's own path (rollups and
// the metrics generation included), as one batch of a collection run.
func collect(t *testing.T, db *central.DB, ms ...fleet.Metrics) {
	t.Helper()
	ctx := context.Background()
	from, to := ms[0].Date, ms[0].Date
	for _, m := range ms {
		from, to = min(from, m.Date), max(to, m.Date)
	}
	run := &central.CollectRun{From: from, To: to, Trigger: "test", StartedBy: "test"}
	if err := db.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteCollectBatch(ctx, central.CollectBatch{RunID: run.ID, From: from, To: to, Metrics: ms}); err != nil {
		t.Fatal(err)
	}
}

func m(date, tenant string, orders, revenue, carts, products int64) fleet.Metrics {
	return fleet.Metrics{Date: date, Tenant: tenant, Orders: orders, Revenue: revenue, ActiveCarts: carts, NewProducts: products}
}

// afternoon is 15:04:05 UTC on day.
func afternoon(day string) time.Time {
	t, err := time.Parse(time.RFC3339, day+"T15:04:05Z")
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) time.Time {
	t, err := fleet.ParseDay(s)
	if err != nil {
		panic(err)
	}
	return t
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDailyActivity: one day per day of the range, zeros where nothing
// was collected, sums over the stores of each day; the JSON is the
// daily-activity page's.
func TestDailyActivity(t *testing.T) {
	db, _ := openDB(t, "2026-11-20")
	collect(t, db,
		m("2026-11-02", "a", 3, 1000, 2, 1),
		m("2026-11-02", "b", 1, 250, 0, 0),
		m("2026-11-04", "a", 0, 0, 1, 4),
	)
	s := reports.New(db)
	got, err := s.DailyActivity(context.Background(), date("2026-11-01"), date("2026-11-04"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"days":[` +
		`{"date":"2026-11-01","stores":0,"platform_orders":0,"platform_active_carts":0,"total_revenue":0,"new_products":0},` +
		`{"date":"2026-11-02","stores":2,"platform_orders":4,"platform_active_carts":2,"total_revenue":1250,"new_products":1},` +
		`{"date":"2026-11-03","stores":0,"platform_orders":0,"platform_active_carts":0,"total_revenue":0,"new_products":0},` +
		`{"date":"2026-11-04","stores":1,"platform_orders":0,"platform_active_carts":1,"total_revenue":0,"new_products":4}],` +
		`"from":"2026-11-01","to":"2026-11-04"}`
	if j := jsonOf(t, got); j != want {
		t.Errorf("daily activity:\n got %s\nwant %s", j, want)
	}
	if total := reports.SumDays(got.Days); total != (reports.Day{Stores: 3, Orders: 4, ActiveCarts: 3, Revenue: 1250, NewProducts: 5}) {
		t.Errorf("total %+v", total)
	}
	if _, err := s.DailyActivity(context.Background(), date("2026-11-04"), date("2026-11-01")); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Errorf("a reversed range: %v", err)
	}
}

// TestAverageRevenue is seed 000's ROUND(AVG(total_revenue), 2) over the
// stores with a row each day; days without rows are absent, and none is
// an empty list, not null.
func TestAverageRevenue(t *testing.T) {
	db, _ := openDB(t, "2026-11-20")
	collect(t, db,
		m("2026-11-02", "a", 3, 1000, 0, 0),
		m("2026-11-02", "b", 1, 1, 0, 0),
		m("2026-11-02", "c", 0, 0, 0, 0),
		m("2026-11-03", "a", 1, 7, 0, 0),
	)
	s := reports.New(db)
	got, err := s.AverageRevenue(context.Background(), date("2026-11-01"), date("2026-11-30"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"days":[{"date":"2026-11-02","stores":3,"total_revenue":1001,"avg_store_revenue":333.67},` +
		`{"date":"2026-11-03","stores":1,"total_revenue":7,"avg_store_revenue":7}],"from":"2026-11-01","to":"2026-11-30"}`
	if j := jsonOf(t, got); j != want {
		t.Errorf("average revenue:\n got %s\nwant %s", j, want)
	}
	empty, err := s.AverageRevenue(context.Background(), date("2025-01-01"), date("2025-01-02"))
	if err != nil {
		t.Fatal(err)
	}
	if j := jsonOf(t, empty); j != `{"days":[],"from":"2025-01-01","to":"2025-01-02"}` {
		t.Errorf("no metrics: %s", j)
	}
}

// TestTopStores ranks a month's stores, pages through them, compares with
// the month before, and links to the next month only once it has begun.
func TestTopStores(t *testing.T) {
	db, _ := openDB(t, "2026-11-20")
	collect(t, db,
		m("2026-10-10", "a", 1, 500, 0, 0),
		m("2026-10-10", "c", 1, 0, 0, 0),
		m("2026-11-01", "a", 2, 1000, 0, 0),
		m("2026-11-05", "a", 2, 500, 0, 0),
		m("2026-11-02", "b", 3, 900, 0, 0),
		m("2026-11-03", "c", 0, 200, 0, 0),
	)
	s := reports.New(db)
	ctx := context.Background()
	q := reports.TopStoresQuery{Month: date("2026-11-01"), Sort: "revenue", Desc: true, Page: 1, PerPage: 2}
	got, err := s.TopStores(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"compare_from":"2026-11-01","compare_to":"2026-11-20","desc":true,"month":"2026-11","page":1,"per_page":2,` +
		`"previous_from":"2026-10-01","previous_to":"2026-10-20","sort":"revenue","stores":[` +
		`{"rank":1,"database_name":"a","revenue":1500,"orders":4,"average_order_value":375,"previous_revenue":500,"change_pct":200},` +
		`{"rank":2,"database_name":"b","revenue":900,"orders":3,"average_order_value":300,"previous_revenue":null,"change_pct":null}],"total":3}`
	if j := jsonOf(t, got); j != want {
		t.Errorf("top stores:\n got %s\nwant %s", j, want)
	}
	if got.PrevMonth != "2026-10" || got.NextMonth != "" {
		t.Errorf("months around: %q, %q", got.PrevMonth, got.NextMonth)
	}

	q.Page = 2
	got, err = s.TopStores(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// c had no revenue the month before: a previous month, but no change.
	want = `{"compare_from":"2026-11-01","compare_to":"2026-11-20","desc":true,"month":"2026-11","page":2,"per_page":2,` +
		`"previous_from":"2026-10-01","previous_to":"2026-10-20","sort":"revenue","stores":[` +
		`{"rank":3,"database_name":"c","revenue":200,"orders":0,"average_order_value":0,"previous_revenue":0,"change_pct":null}],"total":3}`
	if j := jsonOf(t, got); j != want {
		t.Errorf("page 2:\n got %s\nwant %s", j, want)
	}

	oct, err := s.TopStores(ctx, reports.TopStoresQuery{Month: date("2026-10-01"), Sort: "name", Page: 1, PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if names := []string{oct.Stores[0].Name, oct.Stores[1].Name}; oct.NextMonth != "2026-11" || !slices.Equal(names, []string{"a", "c"}) {
		t.Errorf("October by name: %v, next month %q", names, oct.NextMonth)
	}
	none, err := s.TopStores(ctx, reports.TopStoresQuery{Month: date("2020-01-01"), Sort: "revenue", Desc: true, Page: 1, PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if j := jsonOf(t, none); j != `{"compare_from":"2020-01-01","compare_to":"2020-01-31","desc":true,"month":"2020-01","page":1,"per_page":10,`+
		`"previous_from":"2019-12-01","previous_to":"2019-12-31","sort":"revenue","stores":[],"total":0}` {
		t.Errorf("a month without metrics: %s", j)
	}
	// Every order ranks through its own SQL.
	for _, by := range fleet.RankBys {
		r, err := s.TopStores(ctx, reports.TopStoresQuery{Month: date("2026-11-01"), Sort: by, Desc: by.DescByDefault(), Page: 1, PerPage: 10})
		if err != nil || r.Sort != by || len(r.Stores) != 3 || r.Stores[0].Name != "a" {
			t.Errorf("by %s: %+v, %v", by, r, err)
		}
	}
	if _, err := s.TopStores(ctx, reports.TopStoresQuery{Month: date("2026-11-01"), Sort: "bogus", Page: 1, PerPage: 10}); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Errorf("an unknown sort: %v", err)
	}
	if _, err := s.TopStores(ctx, reports.TopStoresQuery{Month: date("2026-11-01"), Sort: "revenue"}); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Errorf("page 0: %v", err)
	}
}

// TestTopStoresMonthToDate compares a month in progress with the same
// days of the month before, in every order, as the overview's tiles do:
// a row after that day of the month before is left out, the change order
// follows, and the 31st compares with the whole of a shorter month.
func TestTopStoresMonthToDate(t *testing.T) {
	db, clk := openDB(t, "2026-03-04")
	collect(t, db,
		m("2026-02-03", "a", 1, 100, 0, 0),
		m("2026-02-28", "a", 1, 100, 0, 0),
		m("2026-02-27", "b", 1, 400, 0, 0),
		m("2026-03-02", "a", 1, 300, 0, 0),
		m("2026-03-03", "b", 1, 200, 0, 0),
		m("2026-03-04", "a", 1, 100, 0, 0),
		m("2026-03-04", "b", 1, 50, 0, 0),
		m("2026-03-04", "c", 1, 10, 0, 0),
	)
	ctx := context.Background()
	type store struct {
		name      string
		prev      int64 // -1: no row then
		changePct float64
	}
	for _, tc := range []struct {
		today, prevTo string
		sort          fleet.RankBy
		desc          bool
		want          []store
	}{
		// 4 March: 1–4 Mar against 1–4 Feb; b and c had no row then.
		{"2026-03-04", "2026-02-04", "revenue", true, []store{{"a", 100, 300}, {"b", -1, 0}, {"c", -1, 0}}},
		{"2026-03-04", "2026-02-04", "change", true, []store{{"a", 100, 300}, {"b", -1, 0}, {"c", -1, 0}}},
		{"2026-03-04", "2026-02-04", "name", false, []store{{"a", 100, 300}, {"b", -1, 0}, {"c", -1, 0}}},
		// 31 March: all of February.
		{"2026-03-31", "2026-02-28", "change", true, []store{{"a", 200, 100}, {"b", 400, -37.5}, {"c", -1, 0}}},
		{"2026-03-31", "2026-02-28", "change", false, []store{{"b", 400, -37.5}, {"a", 200, 100}, {"c", -1, 0}}},
		{"2026-03-31", "2026-02-28", "orders", true, []store{{"a", 200, 100}, {"b", 400, -37.5}, {"c", -1, 0}}},
		// A finished month: the whole month before.
		{"2026-04-02", "2026-02-28", "change", true, []store{{"a", 200, 100}, {"b", 400, -37.5}, {"c", -1, 0}}},
	} {
		clk.Set(afternoon(tc.today))
		s := reports.New(db)
		r, err := s.TopStores(ctx, reports.TopStoresQuery{Month: date("2026-03-01"), Sort: tc.sort, Desc: tc.desc, Page: 1, PerPage: 2})
		if err != nil {
			t.Fatal(err)
		}
		wantTo := min(tc.today, "2026-03-31")
		if r.CompareFrom != "2026-03-01" || r.CompareTo != wantTo || r.PrevFrom != "2026-02-01" || r.PrevTo != tc.prevTo || r.Total != 3 {
			t.Errorf("%s by %s: compares %s..%s with %s..%s (want ..%s with ..%s), %d stores",
				tc.today, tc.sort, r.CompareFrom, r.CompareTo, r.PrevFrom, r.PrevTo, wantTo, tc.prevTo, r.Total)
		}
		page2, err := s.TopStores(ctx, reports.TopStoresQuery{Month: date("2026-03-01"), Sort: tc.sort, Desc: tc.desc, Page: 2, PerPage: 2})
		if err != nil {
			t.Fatal(err)
		}
		var got []store
		for _, st := range append(r.Stores, page2.Stores...) {
			g := store{st.Name, -1, 0}
			if st.PrevRevenue != nil {
				g.prev = *st.PrevRevenue
			}
			if st.ChangePct != nil {
				g.changePct = *st.ChangePct
			}
			got = append(got, g)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s by %s (desc %t):\n got %v\nwant %v", tc.today, tc.sort, tc.desc, got, tc.want)
		}
	}
}

// TestResultsFollowCollections: a result is kept until a collection
// changes the metrics, and then the next request sees the change.
func TestResultsFollowCollections(t *testing.T) {
	db, _ := openDB(t, "2026-11-02")
	collect(t, db, m("2026-11-02", "a", 1, 100, 0, 0))
	s := reports.New(db)
	ctx := context.Background()
	first, err := s.DailyActivity(ctx, date("2026-11-02"), date("2026-11-02"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.DailyActivity(ctx, date("2026-11-02"), date("2026-11-02"))
	if err != nil {
		t.Fatal(err)
	}
	if &first.Days[0] != &again.Days[0] || again.Generation != first.Generation {
		t.Error("an unchanged generation computed the report again")
	}
	collect(t, db, m("2026-11-02", "a", 2, 300, 0, 0))
	after, err := s.DailyActivity(ctx, date("2026-11-02"), date("2026-11-02"))
	if err != nil {
		t.Fatal(err)
	}
	if after.Days[0].Orders != 2 || after.Days[0].Revenue != 300 || after.Generation == first.Generation {
		t.Errorf("after a collection: %+v, generation %d (was %d)", after.Days[0], after.Generation, first.Generation)
	}
}

// TestCachedComputesOncePerGeneration: requests arriving together share
// one computation, and a new generation computes again.
func TestCachedComputesOncePerGeneration(t *testing.T) {
	var c reports.Cache
	var calls atomic.Int64
	release := make(chan struct{})
	compute := func(context.Context) (int64, error) {
		<-release
		return calls.Add(1), nil
	}
	var wg sync.WaitGroup
	results := make([]int64, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := reports.Cached(&c, context.Background(), 1, "k", compute)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		}()
	}
	close(release)
	wg.Wait()
	// Late arrivals find the value kept, or join the flight: never a
	// second computation for generation 1.
	if v, _ := reports.Cached(&c, context.Background(), 1, "k", compute); v != 1 || calls.Load() != 1 {
		t.Errorf("generation 1 computed %d times (results %v)", calls.Load(), results)
	}
	for _, r := range results {
		if r != 1 {
			t.Errorf("results %v", results)
			break
		}
	}
	if v, _ := reports.Cached(&c, context.Background(), 2, "k", compute); v != 2 {
		t.Errorf("generation 2 kept generation 1's value %d", v)
	}
}
