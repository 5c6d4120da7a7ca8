package central_test

import (
	"context"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// moveWindow reads the tenant list, which moves the activity window to
// the clock's day.
func moveWindow(t *testing.T, db *central.DB) []fleet.Tenant {
	t.Helper()
	ts, _, err := db.ListTenants(context.Background(), central.TenantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The window is the 30 days ending today (start: 2026-03-18), both ends
// included; the last order day is over all history. Each case is written
// both before the first reader fills the window and after, when the
// collection keeps it.
func TestActivityWindowBoundaries(t *testing.T) {
	for _, c := range []struct {
		name   string
		row    fleet.Metrics
		orders int64
		day    int // index in OrdersDaily, -1 for none
		last   string
	}{
		{"today", fleet.Metrics{Date: "2026-03-18", Orders: 5, Revenue: 500}, 5, 29, "2026-03-18"},
		{"first day of the window", fleet.Metrics{Date: "2026-02-17", Orders: 4, Revenue: 400}, 4, 0, "2026-02-17"},
		{"day before the window", fleet.Metrics{Date: "2026-02-16", Orders: 4, Revenue: 400}, 0, -1, "2026-02-16"},
		{"tomorrow", fleet.Metrics{Date: "2026-03-19", Orders: 2, Revenue: 200}, 0, -1, "2026-03-19"},
		{"across the month's end", fleet.Metrics{Date: "2026-02-28", Orders: 3, Revenue: 300}, 3, 11, "2026-02-28"},
		{"a day without orders", fleet.Metrics{Date: "2026-03-10", ActiveCarts: 9}, 0, -1, ""},
	} {
		for _, readFirst := range []bool{false, true} {
			name := c.name + "/written before the first reader"
			if readFirst {
				name = c.name + "/written after the first reader"
			}
			t.Run(name, func(t *testing.T) {
				db, _ := openDB(t)
				ctx := context.Background()
				addTenant(t, db, "shop", fleet.StatusReady)
				if readFirst {
					moveWindow(t, db)
				}
				row := c.row
				row.Tenant = "shop"
				write(t, db, row)
				listed := moveWindow(t, db)
				one, err := db.Tenant(ctx, "shop")
				must(t, err)
				for _, tn := range []fleet.Tenant{listed[0], *one} {
					if tn.Orders30d != c.orders || tn.Revenue30d != c.orders*100 {
						t.Errorf("orders, revenue %d, %d; want %d, %d", tn.Orders30d, tn.Revenue30d, c.orders, c.orders*100)
					}
					if len(tn.OrdersDaily) != central.ActivityDays {
						t.Fatalf("%d daily counts, want %d", len(tn.OrdersDaily), central.ActivityDays)
					}
					for i, n := range tn.OrdersDaily {
						if want := map[bool]int64{true: c.orders}[i == c.day]; n != want {
							t.Errorf("day %d of the window has %d orders, want %d", i, n, want)
						}
					}
					if last := deref(tn.LastOrderDate); last != c.last {
						t.Errorf("last order day %q, want %q", last, c.last)
					}
				}
			})
		}
	}
}

// The window follows the clock: the first reader on a new day moves it,
// and until then a tenant's row is summed afresh for today.
func TestActivityWindowFollowsTheClock(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	addTenant(t, db, "shop", fleet.StatusReady)
	moveWindow(t, db)
	write(t, db, fleet.Metrics{Date: "2026-03-18", Tenant: "shop", Orders: 6, Revenue: 60},
		fleet.Metrics{Date: "2026-02-17", Tenant: "shop", Orders: 1, Revenue: 10})
	for _, c := range []struct {
		days   int
		orders int64
		at     int // the index today's 6 orders sit at
	}{
		{0, 7, 29},
		{1, 6, 28}, // 2026-02-17 left the window
		{29, 6, 0},
		{30, 0, -1},
	} {
		clk.Set(start.AddDate(0, 0, c.days))
		for _, read := range []string{"before the window moved", "after"} {
			if read == "after" {
				moveWindow(t, db)
			}
			tn, err := db.Tenant(ctx, "shop")
			must(t, err)
			if tn.Orders30d != c.orders || c.at >= 0 && tn.OrdersDaily[c.at] != 6 {
				t.Errorf("%d days on, %s: %d orders, daily %v; want %d, 6 at %d", c.days, read, tn.Orders30d, tn.OrdersDaily, c.orders, c.at)
			}
		}
	}
	if day, err := db.GetKV(ctx, "tenant_activity_day"); err != nil || day != "2026-04-17" {
		t.Errorf("stored window ends %q, %v; want 2026-04-17", day, err)
	}
}

// The last order day moves back when the orders of the last days are
// corrected away, and is none when no day has orders.
func TestLastOrderDayFollowsCorrections(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	addTenant(t, db, "shop", fleet.StatusReady)
	for _, c := range []struct {
		row  fleet.Metrics
		want string
	}{
		{fleet.Metrics{Date: "2026-01-05", Orders: 1}, "2026-01-05"},
		{fleet.Metrics{Date: "2026-03-02", Orders: 2}, "2026-03-02"},
		{fleet.Metrics{Date: "2026-02-01", Orders: 1}, "2026-03-02"},
		{fleet.Metrics{Date: "2026-03-02"}, "2026-02-01"},
		{fleet.Metrics{Date: "2026-02-01"}, "2026-01-05"},
		{fleet.Metrics{Date: "2026-01-05", ActiveCarts: 1}, ""},
	} {
		c.row.Tenant = "shop"
		write(t, db, c.row)
		tn, err := db.Tenant(ctx, "shop")
		must(t, err)
		if got := deref(tn.LastOrderDate); got != c.want {
			t.Errorf("after %+v: last order day %q, want %q", c.row, got, c.want)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
