package central_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
)

func TestDailyTotalsAndAverages(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if ok, err := db.HasMetrics(ctx); err != nil || ok {
		t.Fatalf("HasMetrics on an empty database: %t, %v", ok, err)
	}
	write(t, db,
		fleet.Metrics{Date: "2026-02-28", Tenant: "a", Orders: 1, Revenue: 1000, ActiveCarts: 1, NewProducts: 1},
		fleet.Metrics{Date: "2026-02-28", Tenant: "b", Orders: 2, Revenue: 1001, ActiveCarts: 2},
		fleet.Metrics{Date: "2026-02-28", Tenant: "c", Revenue: 1001},
		fleet.Metrics{Date: "2026-03-02", Tenant: "a", Orders: 4, Revenue: 333},
	)
	if ok, err := db.HasMetrics(ctx); err != nil || !ok {
		t.Fatalf("HasMetrics after a collection: %t, %v", ok, err)
	}
	for _, c := range []struct {
		from, to string
		totals   string
		averages string
	}{
		{"2026-02-01", "2026-03-31", "2026-02-28:3/3/3002/3/1 2026-03-02:1/4/333/0/0", "2026-02-28:3/3002/1000.67 2026-03-02:1/333/333"},
		{"2026-02-28", "2026-02-28", "2026-02-28:3/3/3002/3/1", "2026-02-28:3/3002/1000.67"},
		{"2026-03-01", "2026-03-01", "", ""},
		{"2026-03-02", "2026-02-28", "", ""},
	} {
		ds, err := db.DailyTotals(ctx, c.from, c.to)
		must(t, err)
		var got []string
		for _, d := range ds {
			got = append(got, fmt.Sprintf("%s:%d/%d/%d/%d/%d", d.Date, d.Stores, d.Orders, d.Revenue, d.ActiveCarts, d.NewProducts))
		}
		if g := strings.Join(got, " "); g != c.totals {
			t.Errorf("DailyTotals(%s, %s) = %q, want %q", c.from, c.to, g, c.totals)
		}
		as, err := db.DailyAverages(ctx, c.from, c.to)
		must(t, err)
		got = nil
		for _, a := range as {
			got = append(got, fmt.Sprintf("%s:%d/%d/%v", a.Date, a.Stores, a.Revenue, a.Average))
		}
		if g := strings.Join(got, " "); g != c.averages {
			t.Errorf("DailyAverages(%s, %s) = %q, want %q", c.from, c.to, g, c.averages)
		}
	}
}

// ActiveStores reads a day's rollup, a month's first order days, or the
// metrics table, depending on the range: every range counts the same as
// the metrics table does.
func TestActiveStoresEqualsMetrics(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	write(t, db,
		fleet.Metrics{Date: "2026-02-27", Tenant: "d", Orders: 1},
		fleet.Metrics{Date: "2026-03-01", Tenant: "c"},
		fleet.Metrics{Date: "2026-03-02", Tenant: "a", Orders: 2},
		fleet.Metrics{Date: "2026-03-02", Tenant: "c"},
		fleet.Metrics{Date: "2026-03-05", Tenant: "a", Orders: 1},
		fleet.Metrics{Date: "2026-03-10", Tenant: "b", Orders: 3},
		fleet.Metrics{Date: "2026-03-31", Tenant: "c", Orders: 1},
		fleet.Metrics{Date: "2026-04-01", Tenant: "e", Orders: 1},
	)
	// Every range between days around the changes: before, on and after
	// each day with orders, and the months' ends.
	days := strings.Fields("2026-02-26 2026-02-27 2026-02-28 2026-03-01 2026-03-02 2026-03-04 2026-03-05 2026-03-09 2026-03-10 2026-03-11 2026-03-30 2026-03-31 2026-04-01")
	for i, from := range days {
		for _, to := range days[i:] {
			got, err := db.ActiveStores(ctx, from, to)
			must(t, err)
			want := count(t, db, `SELECT count(DISTINCT database_name) FROM metrics WHERE date BETWEEN ? AND ? AND total_orders > 0`, from, to)
			if got != want {
				t.Fatalf("ActiveStores(%s, %s) = %d, the metrics say %d", from, to, got, want)
			}
		}
	}
	if n, _ := db.ActiveStores(ctx, "2026-03-01", "2026-03-10"); n != 2 {
		t.Errorf("active from the first to the tenth: %d, want 2 (the data must tell the ranges apart)", n)
	}
}

func TestMonthRanking(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	write(t, db,
		fleet.Metrics{Date: "2026-03-01", Tenant: "a", Orders: 2, Revenue: 1000},
		fleet.Metrics{Date: "2026-03-15", Tenant: "a", Orders: 1, Revenue: 500},
		fleet.Metrics{Date: "2026-03-02", Tenant: "b", Orders: 10, Revenue: 2000},
		fleet.Metrics{Date: "2026-03-03", Tenant: "c", Orders: 1, Revenue: 1200},
		fleet.Metrics{Date: "2026-03-04", Tenant: "d"},
		fleet.Metrics{Date: "2026-02-05", Tenant: "a", Orders: 1, Revenue: 1000},
		fleet.Metrics{Date: "2026-02-20", Tenant: "a", Orders: 1, Revenue: 500},
		fleet.Metrics{Date: "2026-02-25", Tenant: "b", Orders: 4, Revenue: 4000},
		fleet.Metrics{Date: "2026-02-01", Tenant: "d"},
		fleet.Metrics{Date: "2026-04-01", Tenant: "e", Orders: 1, Revenue: 1},
	)
	const (
		whole   = "2026-02-01 2026-02-28"
		partial = "2026-02-01 2026-02-10"
	)
	for _, c := range []struct {
		prev          string
		sort          fleet.RankBy
		desc          bool
		limit, offset int
		want          string // name:revenue/orders/previous revenue ("-" for none)
	}{
		{whole, fleet.RankByRevenue, true, 10, 0, "b:2000/10/4000 a:1500/3/1500 c:1200/1/- d:0/0/0"},
		{whole, fleet.RankByRevenue, false, 10, 0, "d:0/0/0 c:1200/1/- a:1500/3/1500 b:2000/10/4000"},
		{whole, fleet.RankByRevenue, true, 2, 1, "a:1500/3/1500 c:1200/1/-"},
		{whole, fleet.RankByOrders, true, 10, 0, "b:2000/10/4000 a:1500/3/1500 c:1200/1/- d:0/0/0"},
		{whole, fleet.RankByAOV, true, 10, 0, "c:1200/1/- a:1500/3/1500 b:2000/10/4000 d:0/0/0"},
		{whole, fleet.RankByName, false, 10, 0, "a:1500/3/1500 b:2000/10/4000 c:1200/1/- d:0/0/0"},
		{whole, fleet.RankByChange, true, 10, 0, "a:1500/3/1500 b:2000/10/4000 c:1200/1/- d:0/0/0"},
		{whole, fleet.RankByChange, false, 10, 0, "b:2000/10/4000 a:1500/3/1500 c:1200/1/- d:0/0/0"},
		{partial, fleet.RankByRevenue, true, 10, 0, "b:2000/10/- a:1500/3/1000 c:1200/1/- d:0/0/0"},
		{partial, fleet.RankByRevenue, true, 1, 3, "d:0/0/0"},
		{partial, fleet.RankByChange, true, 10, 0, "a:1500/3/1000 b:2000/10/- c:1200/1/- d:0/0/0"},
		{partial, fleet.RankByChange, false, 2, 1, "b:2000/10/- c:1200/1/-"},
	} {
		from, to, _ := strings.Cut(c.prev, " ")
		ss, total, err := db.MonthRanking(ctx, "2026-03", from, to, c.sort, c.desc, c.limit, c.offset)
		must(t, err)
		var got []string
		for _, s := range ss {
			prev := "-"
			if s.HasPrev {
				prev = fmt.Sprint(s.PrevRevenue)
			}
			got = append(got, fmt.Sprintf("%s:%d/%d/%s", s.Name, s.Revenue, s.Orders, prev))
		}
		if g := strings.Join(got, " "); g != c.want || total != 4 {
			t.Errorf("by %s (desc %t, %d from %d) against %s: %q of %d\nwant %q of 4", c.sort, c.desc, c.limit, c.offset, c.prev, g, total, c.want)
		}
	}
	_, _, err := db.MonthRanking(ctx, "2026-03", "2026-02-01", "2026-02-28", "revenue; DROP TABLE metrics", true, 10, 0)
	wantCode(t, err, fleet.EINVALID)
}

func TestTenantMetrics(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	rows := []fleet.Metrics{
		{Date: "2026-03-03", Tenant: "a", Orders: 3, Revenue: 30, ActiveCarts: 1, NewProducts: 2},
		{Date: "2026-03-01", Tenant: "a", Orders: 1, Revenue: 10},
		{Date: "2026-03-05", Tenant: "a", Orders: 5},
		{Date: "2026-03-03", Tenant: "b", Orders: 9},
	}
	write(t, db, rows...)
	for _, c := range []struct {
		from, to string
		want     []fleet.Metrics
	}{
		{"2026-03-01", "2026-03-31", []fleet.Metrics{rows[1], rows[0], rows[2]}},
		{"2026-03-02", "2026-03-03", []fleet.Metrics{rows[0]}},
		{"2026-03-06", "2026-03-31", nil},
	} {
		got, err := db.TenantMetrics(ctx, "a", c.from, c.to)
		must(t, err)
		if !slices.Equal(got, c.want) {
			t.Errorf("TenantMetrics(a, %s, %s) = %+v, want %+v", c.from, c.to, got, c.want)
		}
	}
}

func TestMetricsGeneration(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if g, err := db.MetricsGeneration(ctx); err != nil || g != 0 {
		t.Fatalf("generation before any collection: %d, %v", g, err)
	}
	for i := range 3 {
		write(t, db, fleet.Metrics{Date: "2026-03-01", Tenant: "a", Orders: int64(i)})
		if g, err := db.MetricsGeneration(ctx); err != nil || g != int64(i+1) {
			t.Errorf("after %d changing collections: generation %d, %v", i+1, g, err)
		}
	}
}
