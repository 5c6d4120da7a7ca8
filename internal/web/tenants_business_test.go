package web_test

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TestTenantListBusiness: the registry's business columns equal sums over
// the metrics table for the 30 days ending today (the server's clock, UTC),
// whatever lies outside the window; they sort; JSON has them, with a null
// last order day for a store that never had one.
func TestTenantListBusiness(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC)
	e.clock.Set(now)
	var seen []central.Observed
	for _, n := range []string{"alpha", "bravo", "charlie", "delta"} {
		seen = append(seen, central.Observed{Name: n, URL: "file:/srv/" + n + ".db", SizeBytes: 4096})
	}
	if _, err := e.db.Reconcile(ctx, "local", seen, nil); err != nil {
		t.Fatal(err)
	}
	day := func(back int) string { return now.AddDate(0, 0, -back).Format(fleet.DayLayout) }
	write := func(ms ...fleet.Metrics) {
		t.Helper()
		from, to := ms[0].Date, ms[0].Date
		for _, m := range ms {
			from, to = min(from, m.Date), max(to, m.Date)
		}
		if _, err := e.db.WriteCollectBatch(ctx, central.CollectBatch{RunID: 1, From: from, To: to, Metrics: ms}); err != nil {
			t.Fatal(err)
		}
	}
	// alpha: today, the window's first day, and the day before it (out).
	// bravo: only before the window, its last order 40 days ago.
	// charlie: a tomorrow that does not count yet, and an order-less day.
	// delta: nothing.
	write(
		fleet.Metrics{Date: day(0), Tenant: "alpha", Orders: 3, Revenue: 1500},
		fleet.Metrics{Date: day(29), Tenant: "alpha", Orders: 2, Revenue: 1000},
		fleet.Metrics{Date: day(30), Tenant: "alpha", Orders: 100, Revenue: 99900},
		fleet.Metrics{Date: day(40), Tenant: "bravo", Orders: 7, Revenue: 700},
		fleet.Metrics{Date: day(-1), Tenant: "charlie", Orders: 50, Revenue: 5000},
		fleet.Metrics{Date: day(5), Tenant: "charlie", Orders: 9, Revenue: 123456},
		fleet.Metrics{Date: day(2), Tenant: "charlie", Orders: 0, Revenue: 0},
	)
	// A later collection changes a day in the window.
	write(fleet.Metrics{Date: day(0), Tenant: "alpha", Orders: 4, Revenue: 2000})

	// The expected values, straight from the metrics table.
	type biz struct {
		orders, revenue int64
		last            string
	}
	want := map[string]biz{}
	for _, n := range []string{"alpha", "bravo", "charlie", "delta"} {
		var b biz
		if err := e.db.SQL().QueryRow(`SELECT coalesce(sum(total_orders), 0), coalesce(sum(total_revenue), 0),
			coalesce((SELECT max(date || '') FROM metrics WHERE database_name = ?1 AND total_orders > 0), '')
			FROM metrics WHERE database_name = ?1 AND date BETWEEN ?2 AND ?3`, n, day(29), day(0)).Scan(&b.orders, &b.revenue, &b.last); err != nil {
			t.Fatal(err)
		}
		want[n] = b
	}
	if want["alpha"] != (biz{6, 3000, day(0)}) || want["charlie"] != (biz{9, 123456, day(-1)}) {
		t.Fatalf("fixture: %+v", want)
	}

	c := e.login("viewer@example.com")
	list := jsonBody[struct{ Tenants []fleet.Tenant }](t, c.get("/tenants", "Accept", "application/json"))
	for _, tn := range list.Tenants {
		w := want[tn.Name]
		last := ""
		if tn.LastOrderDate != nil {
			last = *tn.LastOrderDate
		}
		if tn.Orders30d != w.orders || tn.Revenue30d != w.revenue || last != w.last {
			t.Errorf("%s: orders %d revenue %d last %q, metrics say %+v", tn.Name, tn.Orders30d, tn.Revenue30d, last, w)
		}
	}
	res := c.get("/tenants/delta", "Accept", "application/json")
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if body := string(raw); !strings.Contains(body, `"orders_30d":0,"revenue_30d":0,"last_order_date":null`) {
		t.Errorf("delta's JSON: %s", body)
	}

	// The page shows them, money in the console's currency.
	doc := c.doc(c.get("/tenants"))
	row := doc.Find(`[data-testid="tenant-row"][data-name="charlie"]`)
	if got := strings.TrimSpace(row.Find(`[data-testid="revenue-30d"]`).Text()); got != "$1,234.56" {
		t.Errorf("charlie's revenue cell %q", got)
	}
	if got := strings.TrimSpace(row.Find(`[data-testid="orders-30d"]`).Text()); got != "9" {
		t.Errorf("charlie's orders cell %q", got)
	}
	if l, _ := row.Find(`[data-testid="sparkline"]`).Attr("aria-label"); !strings.Contains(l, "9 in all") {
		t.Errorf("charlie's sparkline label %q", l)
	}
	if got := strings.TrimSpace(doc.Find(`[data-testid="tenant-row"][data-name="delta"] [data-testid="last-order"]`).Text()); got != "never" {
		t.Errorf("delta's last order %q", got)
	}

	// Each business column sorts, both ways, ties by name the same way.
	for _, tc := range []struct {
		sort string
		desc bool
		want []string
	}{
		{"orders_30d", true, []string{"charlie", "alpha", "delta", "bravo"}},
		{"orders_30d", false, []string{"bravo", "delta", "alpha", "charlie"}},
		{"revenue_30d", true, []string{"charlie", "alpha", "delta", "bravo"}},
		{"last_order_date", true, []string{"charlie", "alpha", "bravo", "delta"}},
		{"last_order_date", false, []string{"delta", "bravo", "alpha", "charlie"}},
	} {
		path := "/tenants?sort=" + tc.sort
		if tc.desc {
			path += "&desc=1"
		}
		var got []string
		c.doc(c.get(path)).Find(`[data-testid="tenant-row"]`).Each(func(_ int, s *goquery.Selection) {
			got = append(got, s.AttrOr("data-name", ""))
		})
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", path, got, tc.want)
		}
	}

	// Tomorrow the window moves: alpha's first day drops out and
	// charlie's order of "tomorrow" comes in.
	e.clock.Add(time.Hour) // 00:30 UTC the next day
	list = jsonBody[struct{ Tenants []fleet.Tenant }](t, c.get("/tenants?sort=name", "Accept", "application/json"))
	got := fmt.Sprint(list.Tenants[0].Orders30d, list.Tenants[2].Orders30d)
	if got != "4 59" {
		t.Errorf("after the day changed, alpha and charlie have %s orders, want 4 59", got)
	}
}
