package reports_test

import (
	"context"
	"testing"

	"github.com/tenantry/tenantry/internal/reports"
)

// TestDashboard compares today with yesterday and the month so far with
// the same days of the month before (all of February for March 31st).
func TestDashboard(t *testing.T) {
	db, _ := openDB(t, "2026-03-31")
	s := reports.New(db)
	ctx := context.Background()
	d, err := s.Dashboard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.HasMetrics || d.Today != "" || d.TodayTiles != nil {
		t.Errorf("without metrics: %+v", d)
	}

	collect(t, db,
		m("2026-02-01", "a", 1, 100, 1, 0),
		m("2026-02-28", "b", 2, 200, 0, 1),
		m("2026-03-01", "a", 0, 0, 3, 2), // no orders: not an active store
		m("2026-03-30", "b", 5, 500, 0, 0),
		m("2026-03-31", "a", 1, 50, 2, 0),
		m("2026-03-31", "b", 0, 0, 1, 0),
	)
	d, err = s.Dashboard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !d.HasMetrics || d.Today != "2026-03-31" || d.Month != "2026-03" || d.MonthFrom != "2026-03-01" ||
		d.PrevFrom != "2026-02-01" || d.PrevTo != "2026-02-28" {
		t.Errorf("periods: %+v", d)
	}
	tile := func(label string, money bool, v, p int64) reports.Tile {
		return reports.Tile{Label: label, Money: money, Value: v, Prev: p, HasPrev: true}
	}
	wantMonth := []reports.Tile{
		tile("Revenue", true, 550, 300), tile("Orders", false, 6, 3), tile("Active carts", false, 6, 1),
		tile("New products", false, 2, 1), tile("Active stores", false, 2, 2),
	}
	for i, w := range wantMonth {
		if i >= len(d.MonthTiles) || d.MonthTiles[i] != w {
			t.Errorf("month tile %d: %+v, want %+v", i, d.MonthTiles, w)
			break
		}
	}
	today := reports.Tile{Label: "Revenue", Money: true, Value: 50, Prev: 500, HasPrev: true, Partial: true, PrevLabel: "yesterday"}
	if len(d.TodayTiles) != 5 || d.TodayTiles[0] != today || d.TodayTiles[4].Value != 1 || d.TodayTiles[4].Prev != 1 {
		t.Errorf("today tiles: %+v", d.TodayTiles)
	}
	if len(d.Activity) != 30 || d.ActivityFrom != "2026-03-02" || d.ActivityTo != "2026-03-31" || d.Activity[29].ActiveCarts != 3 {
		t.Errorf("activity: %d days %s to %s, last %+v", len(d.Activity), d.ActivityFrom, d.ActivityTo, d.Activity[len(d.Activity)-1])
	}
	if len(d.TopStores) != 2 || d.TopStores[0].Name != "b" || d.TopStores[0].Revenue != 500 || *d.TopStores[0].ChangePct != 150 {
		t.Errorf("top stores: %+v", d.TopStores)
	}
}

// TestTenantHistory is a tenant's own 90 days, one per day.
func TestTenantHistory(t *testing.T) {
	db, _ := openDB(t, "2026-03-31")
	collect(t, db,
		m("2026-03-31", "a", 1, 50, 2, 0),
		m("2026-03-31", "b", 9, 900, 9, 9),
		m("2026-01-01", "a", 4, 400, 0, 1),
		m("2025-12-31", "a", 7, 700, 0, 0), // 91 days ago
	)
	h, err := reports.New(db).TenantHistory(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	total := reports.SumDays(h.Days)
	if h.Tenant != "a" || h.From != "2026-01-01" || h.To != "2026-03-31" || len(h.Days) != 90 ||
		total != (reports.Day{Stores: 2, Orders: 5, Revenue: 450, ActiveCarts: 2, NewProducts: 1}) {
		t.Errorf("history %s %s..%s, %d days, total %+v", h.Tenant, h.From, h.To, len(h.Days), total)
	}
}
