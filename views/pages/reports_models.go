package pages

import (
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Money amounts are integers in minor units (cents). Views format them with
// components.Money and the page's currency (layouts.Page.Currency).

// Tile is one figure on the overview, with what it is compared against.
type Tile struct {
	Label   string
	Money   bool  // a money amount in minor units; otherwise a count
	Value   int64 // this period
	Prev    int64 // the period compared against
	HasPrev bool  // false: nothing to compare against (no data then)
	// Partial marks a period still under way (today): Prev is shown as
	// context under PrevLabel, not as a change, which would only say how
	// much of the day is left.
	Partial   bool
	PrevLabel string // e.g. "yesterday"
}

// Change is the relative change against Prev, in percent; ok is false when
// there is nothing to compare against (no previous period, or it was zero).
func (t Tile) Change() (pct float64, ok bool) {
	if !t.HasPrev || t.Prev == 0 {
		return 0, false
	}
	return float64(t.Value-t.Prev) * 100 / float64(t.Prev), true
}

// DayActivity is the platform's totals for one day: seed 000's "daily
// activity" (orders, active carts) plus what the other reports need.
type DayActivity struct {
	Date        string // YYYY-MM-DD
	Stores      int64  // stores with a metrics row that day
	Orders      int64
	Revenue     int64 // minor units
	ActiveCarts int64
	NewProducts int64
}

// SumDays is the totals of days (Date empty; Stores summed: store-days).
func SumDays(days []DayActivity) DayActivity {
	var t DayActivity
	for _, d := range days {
		t.Stores += d.Stores
		t.Orders += d.Orders
		t.Revenue += d.Revenue
		t.ActiveCarts += d.ActiveCarts
		t.NewProducts += d.NewProducts
	}
	return t
}

// DayAverage is the average revenue per store on one day: seed 000's
// ROUND(AVG(total_revenue), 2) over the stores with a row that day.
type DayAverage struct {
	Date    string // YYYY-MM-DD
	Stores  int64
	Revenue int64   // minor units, all stores
	Average float64 // minor units, rounded to 2 decimals as seed 000 does
}

// Preset is a ready-made date range for a range picker.
type Preset struct {
	Label    string // "7 days", "30 days", "90 days", "This month"
	From, To string // YYYY-MM-DD
	Active   bool   // the range shown now
}

// DateRange is a report's inclusive range of UTC days and its presets.
type DateRange struct {
	From, To string // YYYY-MM-DD
	Presets  []Preset
}

// DailyActivityReport is "/reports/daily-activity".
type DailyActivityReport struct {
	Range DateRange
	Days  []DayActivity // oldest first, one per day in the range (zeros where nothing was collected)
	Total DayActivity   // sums over the range (Date empty; Stores = store-days)
}

// AverageRevenueReport is "/reports/average-revenue".
type AverageRevenueReport struct {
	Range DateRange
	Days  []DayAverage // oldest first; days without any row are absent
}

// TopStoreRow is one store in a month's ranking.
type TopStoreRow struct {
	Rank        int // 1-based, in the order shown
	Name        string
	Revenue     int64 // minor units, the month
	Orders      int64
	PrevRevenue int64 // the days compared with (TopStoresReport.PrevFrom..PrevTo)
	HasPrev     bool  // false: no row then
}

// AverageOrder is revenue per order in minor units (0 without orders).
func (r TopStoreRow) AverageOrder() float64 {
	if r.Orders == 0 {
		return 0
	}
	return float64(r.Revenue) / float64(r.Orders)
}

// Change is the revenue change against the month before, in percent.
func (r TopStoreRow) Change() (pct float64, ok bool) {
	if !r.HasPrev || r.PrevRevenue == 0 {
		return 0, false
	}
	return float64(r.Revenue-r.PrevRevenue) * 100 / float64(r.PrevRevenue), true
}

// TopStoresReport is "/reports/top-stores".
type TopStoresReport struct {
	Month     string // YYYY-MM
	PrevMonth string // YYYY-MM
	NextMonth string // YYYY-MM, "" when Month is the current month or later
	Sort      fleet.RankBy
	Desc      bool
	Page      int // 1-based
	PageSize  int
	Total     int64 // stores with metrics in the month
	Rows      []TopStoreRow
	// Change compares the days CompareFrom..CompareTo with PrevFrom..PrevTo
	// (YYYY-MM-DD): a month in progress (InProgress) so far with the same
	// days of the month before, any other month whole with the month before.
	CompareFrom, CompareTo, PrevFrom, PrevTo string
	InProgress                               bool
}

// Pages returns the number of pages.
func (r TopStoresReport) Pages() int {
	if r.PageSize <= 0 {
		return 1
	}
	return max(1, int((r.Total+int64(r.PageSize)-1)/int64(r.PageSize)))
}

// Dashboard is the metrics part of the overview "/".
type Dashboard struct {
	HasMetrics bool   // false: nothing collected yet; show what to do next
	Today      string // YYYY-MM-DD (UTC)
	Month      string // YYYY-MM
	// The month so far (MonthFrom..Today) is compared with the same days of
	// the month before (PrevFrom..PrevTo).
	MonthFrom, PrevFrom, PrevTo string
	TodayTiles                  []Tile        // today against yesterday
	MonthTiles                  []Tile        // month so far against the same days last month
	Activity                    []DayActivity // the last 30 days, oldest first
	ActivityFrom, ActivityTo    string
	TopStores                   []TopStoreRow // top 10 this month by revenue
	LastRun                     *RunRow       // the newest collection run, nil if none
	Schedule                    string        // e.g. "every 1h0m0s" or "off"
}

// TenantHistory is a tenant's own metrics on its page.
type TenantHistory struct {
	From, To string        // YYYY-MM-DD, 90 days ending today
	Days     []DayActivity // oldest first, one per day (Stores is 1 where a row exists)
	Total    DayActivity
}

// ParseMonthLabel returns "November 2026" for "2026-11" ("" if invalid).
func ParseMonthLabel(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return ""
	}
	return t.Format("January 2006")
}
