package reports

import "github.com/tenantry/tenantry/internal/fleet"

// The results are what both fronts return as JSON: the pages for
// "Accept: application/json" and the API. Their fields keep the names
// and the order the pages' JSON has always had (the top-level keys in
// alphabetical order). Money amounts are integers in minor units (cents).
// Generation, never sent, is the metrics generation a result was computed
// from: a front that keeps anything derived from it keys it on that.

// Day is the platform's totals for one UTC day: seed 000's "daily
// activity" (orders, active carts) plus what the other reports need.
type Day struct {
	Date        string `json:"date"`   // YYYY-MM-DD
	Stores      int64  `json:"stores"` // stores with a metrics row that day
	Orders      int64  `json:"platform_orders"`
	ActiveCarts int64  `json:"platform_active_carts"`
	Revenue     int64  `json:"total_revenue"`
	NewProducts int64  `json:"new_products"`
}

// SumDays is the totals of days (Date empty; Stores summed: store-days).
func SumDays(days []Day) Day {
	var t Day
	for _, d := range days {
		t.Stores += d.Stores
		t.Orders += d.Orders
		t.Revenue += d.Revenue
		t.ActiveCarts += d.ActiveCarts
		t.NewProducts += d.NewProducts
	}
	return t
}

// DailyActivity is the platform's activity over a range of days.
type DailyActivity struct {
	Days       []Day  `json:"days"` // oldest first, one per day in the range (zeros where nothing was collected)
	From       string `json:"from"` // YYYY-MM-DD
	To         string `json:"to"`   // YYYY-MM-DD
	Generation int64  `json:"-"`
}

// DayAverage is the average revenue per store on one day: seed 000's
// ROUND(AVG(total_revenue), 2) over the stores with a row that day.
type DayAverage struct {
	Date    string  `json:"date"` // YYYY-MM-DD
	Stores  int64   `json:"stores"`
	Revenue int64   `json:"total_revenue"`     // all stores
	Average float64 `json:"avg_store_revenue"` // rounded to 2 decimals as seed 000 does
}

// AverageRevenue is the average revenue per store over a range of days.
type AverageRevenue struct {
	Days       []DayAverage `json:"days"` // oldest first; days without any row are absent
	From       string       `json:"from"`
	To         string       `json:"to"`
	Generation int64        `json:"-"`
}

// TopStore is one store in a month's ranking.
type TopStore struct {
	Rank         int      `json:"rank"` // 1-based, in the order asked for
	Name         string   `json:"database_name"`
	Revenue      int64    `json:"revenue"` // the month
	Orders       int64    `json:"orders"`
	AverageOrder float64  `json:"average_order_value"` // revenue per order (0 without orders)
	PrevRevenue  *int64   `json:"previous_revenue"`    // over TopStores.PrevFrom..PrevTo; nil: no row then
	ChangePct    *float64 `json:"change_pct"`          // revenue change in percent; nil: nothing to compare with
}

// TopStores is a page of a month's ranking of stores. Its change compares
// the month's days CompareFrom..CompareTo with PrevFrom..PrevTo: a month
// in progress from its first day to today with the same days of the month
// before (as the overview's month tiles), any other month whole with the
// whole month before.
type TopStores struct {
	CompareFrom string       `json:"compare_from"` // YYYY-MM-DD, the month's first day
	CompareTo   string       `json:"compare_to"`   // YYYY-MM-DD, today or the month's last day
	Desc        bool         `json:"desc"`
	Month       string       `json:"month"` // YYYY-MM
	Page        int          `json:"page"`  // 1-based
	PerPage     int          `json:"per_page"`
	PrevFrom    string       `json:"previous_from"` // YYYY-MM-DD, the month before's first day
	PrevTo      string       `json:"previous_to"`   // YYYY-MM-DD
	Sort        fleet.RankBy `json:"sort"`
	Stores      []TopStore   `json:"stores"`
	Total       int64        `json:"total"` // stores with metrics in the month
	PrevMonth   string       `json:"-"`     // YYYY-MM
	NextMonth   string       `json:"-"`     // YYYY-MM, "" when Month is the current month or later
	Generation  int64        `json:"-"`
}

// Tile is one figure on the dashboard, with what it is compared against.
type Tile struct {
	Label   string `json:"label"`
	Money   bool   `json:"money"` // a money amount; otherwise a count
	Value   int64  `json:"value"` // this period
	Prev    int64  `json:"previous"`
	HasPrev bool   `json:"has_previous"` // false: nothing to compare against (no data then)
	// Partial marks a period still under way (today): Prev is context
	// under PrevLabel, not a change, which would only say how much of the
	// day is left.
	Partial   bool   `json:"partial"`
	PrevLabel string `json:"previous_label,omitempty"` // e.g. "yesterday"
}

// Dashboard is the overview's metrics: today against yesterday, the month
// so far against the same days of the month before, the last 30 days and
// this month's top 10. Without metrics, only HasMetrics (false) is set.
type Dashboard struct {
	HasMetrics bool   `json:"has_metrics"`
	Today      string `json:"today"` // YYYY-MM-DD (UTC)
	Month      string `json:"month"` // YYYY-MM
	// The month so far (MonthFrom..Today) is compared with the same days
	// of the month before (PrevFrom..PrevTo).
	MonthFrom    string     `json:"month_from"`
	PrevFrom     string     `json:"previous_from"`
	PrevTo       string     `json:"previous_to"`
	TodayTiles   []Tile     `json:"today_tiles"` // today against yesterday
	MonthTiles   []Tile     `json:"month_tiles"` // revenue, orders, active carts, new products, active stores
	Activity     []Day      `json:"activity"`    // ActivityFrom..ActivityTo (the last 30 days), oldest first
	ActivityFrom string     `json:"activity_from"`
	ActivityTo   string     `json:"activity_to"`
	TopStores    []TopStore `json:"top_stores"` // top 10 this month by revenue
	Generation   int64      `json:"-"`
}

// TenantHistory is one tenant's own metrics over the last 90 days.
type TenantHistory struct {
	Tenant     string `json:"tenant"`
	From       string `json:"from"` // YYYY-MM-DD, 90 days ending today
	To         string `json:"to"`
	Days       []Day  `json:"days"` // oldest first, one per day (Stores is 1 where a row exists)
	Generation int64  `json:"-"`
}
