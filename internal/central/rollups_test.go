package central_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

var rollupSeed = flag.Uint64("rollup.seed", 0, "seed of TestRollupsEqualSumsOverMetrics (0: a new one each run)")

// Every rollup a collection keeps (metrics_daily, metrics_monthly,
// tenant_activity) must equal the same aggregate summed afresh over the
// metrics table, whatever sequence of batches wrote it: tenants collected
// again with changed or unchanged values, tenants that stop being
// collected or leave the registry and come back, days across month and
// year boundaries, batches larger than one statement, and the clock
// moving the activity window with or without a reader. A failure names
// its seed: rerun with -rollup.seed=N.
func TestRollupsEqualSumsOverMetrics(t *testing.T) {
	seed := *rollupSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with go test -run TestRollupsEqualSumsOverMetrics ./internal/central -rollup.seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))

	db, clk := openDB(t)
	ctx := context.Background()
	// Days across a year's end and two months' ends; the activity window
	// starts across the first and moves on.
	// (The race detector makes SQLite some forty times slower: the
	// sizes keep this test to seconds. TestLargeBatchKeepsRollups writes
	// more rows than one statement takes.)
	days := fleet.Days(time.Date(2025, 12, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 8, 0, 0, 0, 0, time.UTC))
	clk.Set(time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC))
	var names []string
	for i := range 6 {
		names = append(names, fmt.Sprintf("store-%02d", i))
	}
	const inRegistry = 4 // the others were collected long ago, before they left the registry
	registered := map[string]bool{}
	for _, n := range names[:inRegistry] {
		addTenant(t, db, n, fleet.StatusReady)
		registered[n] = true
	}
	run := &central.CollectRun{From: days[0], To: days[len(days)-1], Trigger: "test"}
	must(t, db.StartRun(ctx, run))

	model := map[[2]string]fleet.Metrics{} // what the metrics table must hold
	var written int64
	for batch := range 30 {
		// A range of days: mostly a few, sometimes many.
		span := 1 + r.IntN(10)
		if r.IntN(5) == 0 {
			span = 15 + r.IntN(35)
		}
		lo := r.IntN(len(days))
		hi := min(lo+span, len(days)) - 1
		b := central.CollectBatch{RunID: run.ID, From: days[lo], To: days[hi]}
		var want int64
		for i, n := range names {
			if r.IntN(3) == 0 || i < inRegistry && !registered[n] || i >= inRegistry && batch >= 8 {
				continue // skipped as unchanged, or not in the registry (any more)
			}
			for _, d := range days[lo : hi+1] {
				if r.IntN(8) == 0 {
					continue // a day the tenant has no row for
				}
				m, had := model[[2]string{d, n}]
				if !had || r.IntN(3) > 0 { // else collected again unchanged
					m = randomMetrics(r, d, n)
				}
				if old, had := model[[2]string{d, n}]; !had || old != m {
					want++
				}
				model[[2]string{d, n}] = m
				b.Metrics = append(b.Metrics, m)
			}
			b.Results = append(b.Results, central.CollectResult{Tenant: n, OK: true, Attempts: 1})
			b.States = append(b.States, central.CollectState{Tenant: n, Fingerprint: strconv.Itoa(batch), From: b.From, To: b.To, Version: -1})
		}
		changed, err := db.WriteCollectBatch(ctx, b)
		must(t, err)
		if changed != want {
			t.Fatalf("batch %d (%s..%s, %d rows): %d rows changed, want %d", batch, b.From, b.To, len(b.Metrics), changed, want)
		}
		written += changed

		// Between batches: a tenant leaves the registry (and is no longer
		// collected) or comes back, the clock moves on, a reader moves
		// the activity window.
		if n := names[r.IntN(inRegistry)]; r.IntN(4) == 0 {
			if registered[n] {
				must(t, db.ForgetTenant(ctx, n, fleet.StatusReady))
			} else {
				addTenant(t, db, n, fleet.StatusReady)
			}
			registered[n] = !registered[n]
		}
		if r.IntN(3) == 0 {
			clk.Add(time.Duration(1+r.IntN(2)) * 24 * time.Hour)
		}
		if r.IntN(2) == 0 {
			if _, _, err := db.ListTenants(ctx, central.TenantFilter{Limit: 1}); err != nil {
				t.Fatal(err)
			}
		}
		checkMetricsTable(t, db, model)
		checkRollups(t, db, fmt.Sprintf("batch %d", batch))
		checkTenantWindows(t, db, clk.Now(), registered)
	}
	got, err := db.CollectRunByID(ctx, run.ID)
	must(t, err)
	if got.RowsWritten != written {
		t.Errorf("run counted %d rows written, the batches changed %d", got.RowsWritten, written)
	}

	// Weeks after the last day with metrics every window is empty, read
	// before and after a reader moves the stored one.
	clk.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	checkTenantWindows(t, db, clk.Now(), registered)
	if _, _, err := db.ListTenants(ctx, central.TenantFilter{}); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, db, "the window moved past every metric")
	if n := count(t, db, `SELECT count(*) FROM tenant_activity WHERE orders_30d != 0 OR revenue_30d != 0 OR spark != ''`); n != 0 {
		t.Errorf("%d tenants have business in a window without metrics", n)
	}
}

// randomMetrics is a day of a store, a third of them without orders.
func randomMetrics(r *rand.Rand, day, tenant string) fleet.Metrics {
	m := fleet.Metrics{Date: day, Tenant: tenant, ActiveCarts: r.Int64N(20), NewProducts: r.Int64N(3)}
	if r.IntN(3) > 0 {
		m.Orders = 1 + r.Int64N(40)
		m.Revenue = m.Orders * (100 + r.Int64N(20_000))
	}
	return m
}

// checkMetricsTable compares the metrics table with what the batches
// wrote.
func checkMetricsTable(t *testing.T, db *central.DB, want map[[2]string]fleet.Metrics) {
	t.Helper()
	got := map[[2]string]fleet.Metrics{}
	rows, err := db.SQL().Query(`SELECT date || '', database_name, total_orders, total_revenue, active_carts, new_products FROM metrics`)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var m fleet.Metrics
		must(t, rows.Scan(&m.Date, &m.Tenant, &m.Orders, &m.Revenue, &m.ActiveCarts, &m.NewProducts))
		got[[2]string{m.Date, m.Tenant}] = m
	}
	must(t, rows.Err())
	if !maps.Equal(got, want) {
		t.Fatalf("the metrics table has %d rows, the batches wrote %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
}

// checkRollups compares each rollup table with its aggregate over the
// metrics table, row by row and column by column. A rollup row of zeros
// is an empty sum, the same as no row.
func checkRollups(t *testing.T, db *central.DB, when string) {
	t.Helper()
	for _, c := range []struct{ name, rollup, sum string }{{
		"metrics_daily",
		`SELECT date, stores, total_orders, total_revenue, active_carts, new_products, active_stores FROM metrics_daily
			WHERE stores != 0 OR total_orders != 0 OR total_revenue != 0 OR active_carts != 0 OR new_products != 0 OR active_stores != 0`,
		`SELECT date || '', count(*), sum(total_orders), sum(total_revenue), sum(active_carts), sum(new_products), sum(total_orders > 0)
			FROM metrics GROUP BY date`,
	}, {
		"metrics_monthly",
		`SELECT month || ' ' || database_name, days, total_orders, total_revenue, active_carts, new_products, active_days,
			coalesce(first_order_date, '-') FROM metrics_monthly
			WHERE days != 0 OR total_orders != 0 OR total_revenue != 0 OR active_carts != 0 OR new_products != 0 OR active_days != 0
				OR first_order_date IS NOT NULL`,
		`SELECT substr(date, 1, 7) || ' ' || database_name, count(*), sum(total_orders), sum(total_revenue), sum(active_carts),
			sum(new_products), sum(total_orders > 0), coalesce(min(CASE WHEN total_orders > 0 THEN date || '' END), '-')
			FROM metrics GROUP BY substr(date, 1, 7), database_name`,
	}} {
		got, want := keyedRows(t, db, c.rollup), keyedRows(t, db, c.sum)
		if !maps.Equal(got, want) {
			t.Fatalf("after %s, %s (%d rows) differs from its sum over metrics (%d rows); first difference: %s",
				when, c.name, len(got), len(want), firstDiff(got, want))
		}
	}
	checkActivity(t, db, when)
}

// checkActivity compares each tenant_activity row with the window its
// stored day names, summed over the metrics table, and its last order day
// with the metrics' last day with orders. Every registered tenant, and
// every store with an order, has a row.
func checkActivity(t *testing.T, db *central.DB, when string) {
	t.Helper()
	ctx := context.Background()
	day, err := db.GetKV(ctx, "tenant_activity_day")
	must(t, err)
	got := keyedRows(t, db, `SELECT name, orders_30d, revenue_30d, spark, coalesce(last_order_date, '-') FROM tenant_activity`)
	lastOrder := keyedRows(t, db, `SELECT database_name, max(date || '') FROM metrics WHERE total_orders > 0 GROUP BY database_name`)
	var orders, revenue map[string]int64
	var spark map[string]map[int]int64
	if day != "" { // until a reader fills the window, its sums are not kept
		orders, revenue, spark = windowSums(t, db, day)
	}
	for name, row := range got {
		cols := strings.Split(row, "|")
		wantLast := "-"
		if l, ok := lastOrder[name]; ok {
			wantLast = l
		}
		if cols[3] != wantLast {
			t.Fatalf("after %s, %s's last order day is %s, the metrics' is %s", when, name, cols[3], wantLast)
		}
		if day == "" {
			continue
		}
		if w := fmt.Sprint(orders[name], "|", revenue[name]); cols[0]+"|"+cols[1] != w {
			t.Fatalf("after %s, %s's window ending %s has orders|revenue %s|%s, the metrics %s", when, name, day, cols[0], cols[1], w)
		}
		if s := parseSpark(t, cols[2]); !maps.Equal(s, spark[name]) {
			t.Fatalf("after %s, %s's daily orders in the window ending %s are %v, the metrics' %v", when, name, day, s, spark[name])
		}
	}
	for name := range lastOrder {
		if _, ok := got[name]; !ok {
			t.Fatalf("after %s, store %s has orders but no tenant_activity row", when, name)
		}
	}
	for _, name := range mustStrings(t, db, `SELECT name FROM tenants`) {
		if _, ok := got[name]; !ok {
			t.Fatalf("after %s, tenant %s has no tenant_activity row", when, name)
		}
	}
}

// checkTenantWindows compares what Tenant says of each registered
// tenant's last 30 days, by the clock, with the metrics: whether or not
// a reader has moved the stored window to today.
func checkTenantWindows(t *testing.T, db *central.DB, now time.Time, registered map[string]bool) {
	t.Helper()
	today := now.UTC().Format(fleet.DayLayout)
	orders, revenue, spark := windowSums(t, db, today)
	for _, name := range slices.Sorted(maps.Keys(registered)) {
		if !registered[name] {
			continue
		}
		tn, err := db.Tenant(context.Background(), name)
		must(t, err)
		daily := map[int]int64{}
		for i, n := range tn.OrdersDaily {
			if n != 0 {
				daily[i] = n
			}
		}
		if tn.Orders30d != orders[name] || tn.Revenue30d != revenue[name] || !maps.Equal(daily, spark[name]) {
			t.Fatalf("on %s Tenant(%s) has %d orders, %d revenue, daily %v; the metrics %d, %d, %v",
				today, name, tn.Orders30d, tn.Revenue30d, daily, orders[name], revenue[name], spark[name])
		}
	}
}

// windowSums sums each store's orders and revenue over the 30 days ending
// on day, and its orders by day of the window (0 is the first), from the
// metrics table.
func windowSums(t *testing.T, db *central.DB, day string) (orders, revenue map[string]int64, spark map[string]map[int]int64) {
	t.Helper()
	end, err := time.Parse(fleet.DayLayout, day)
	must(t, err)
	from := end.AddDate(0, 0, 1-central.ActivityDays)
	orders, revenue, spark = map[string]int64{}, map[string]int64{}, map[string]map[int]int64{}
	rows, err := db.SQL().Query(`SELECT database_name, date || '', total_orders, total_revenue FROM metrics WHERE date BETWEEN ? AND ?`,
		from.Format(fleet.DayLayout), day)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var name, d string
		var o, rev int64
		must(t, rows.Scan(&name, &d, &o, &rev))
		orders[name] += o
		revenue[name] += rev
		if o > 0 {
			at, err := time.Parse(fleet.DayLayout, d)
			must(t, err)
			if spark[name] == nil {
				spark[name] = map[int]int64{}
			}
			spark[name][int(at.Sub(from)/(24*time.Hour))] = o
		}
	}
	must(t, rows.Err())
	return orders, revenue, spark
}

// parseSpark reads stored "i:n" pairs.
func parseSpark(t *testing.T, s string) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for pair := range strings.SplitSeq(s, ",") {
		if pair == "" {
			continue
		}
		i, n, _ := strings.Cut(pair, ":")
		d, err1 := strconv.Atoi(i)
		v, err2 := strconv.ParseInt(n, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("spark %q: bad pair %q", s, pair)
		}
		out[d] = v
	}
	return out
}

// keyedRows runs a query whose first column is a key and returns the
// other columns of each row joined by "|".
func keyedRows(t *testing.T, db *central.DB, q string) map[string]string {
	t.Helper()
	rows, err := db.SQL().Query(q)
	must(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(t, err)
	out := map[string]string{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		rest := make([]string, len(cols)-1)
		for i, v := range vals[1:] {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			rest[i] = fmt.Sprint(v)
		}
		out[fmt.Sprint(vals[0])] = strings.Join(rest, "|")
	}
	must(t, rows.Err())
	return out
}

// mustStrings returns the first column of a query's rows.
func mustStrings(t *testing.T, db *central.DB, q string) []string {
	t.Helper()
	return slices.Collect(maps.Keys(keyedRows(t, db, q)))
}

// firstDiff names the first key, in order, where two maps differ.
func firstDiff[K, V comparable](got, want map[K]V) string {
	keys := slices.Collect(maps.Keys(got))
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b K) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		if g != w || gok != wok {
			return fmt.Sprintf("%v: got %v (present %t), want %v (present %t)", k, g, gok, w, wok)
		}
	}
	return "none"
}
