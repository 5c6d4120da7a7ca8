package pages

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"github.com/tenantry/tenantry/views/layouts"
)

// The handlers render a report's body apart (it is cached) and put it in
// the shell; these put the pages together the same way.
func topStoresPage(p layouts.Page, vm TopStoresReport) templ.Component {
	return layouts.Shell(p, TopStoresBody(p.Currency, vm))
}

func dailyActivityPage(p layouts.Page, vm DailyActivityReport) templ.Component {
	return layouts.Shell(p, DailyActivityBody(p.Currency, vm))
}

func averageRevenuePage(p layouts.Page, vm AverageRevenueReport) templ.Component {
	return layouts.Shell(p, AverageRevenueBody(p.Currency, vm))
}

func overviewPage(p layouts.Page, vm Overview) templ.Component {
	return layouts.Shell(p, OverviewBody(p, vm, DashboardCharts(p.Currency, vm.Dashboard)))
}

func tenantPage(p layouts.Page, vm TenantDetail, h TenantHistory) templ.Component {
	return TenantPage(p, vm, TenantHistoryCard(p.Currency, h))
}

// chartData reads the data a chart hands to charts.js.
type chartData struct {
	X      []string
	Prefix string
	Series []struct {
		Label  string
		Money  bool
		Values []*float64
	}
}

func readChart(t *testing.T, s *goquery.Selection) chartData {
	t.Helper()
	var d chartData
	raw, ok := s.Attr("data-chart")
	if !ok {
		t.Fatal("chart without data-chart")
	}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatalf("chart data: %v", err)
	}
	return d
}

// assertStrictCSP fails on what the console's CSP would block.
func assertStrictCSP(t *testing.T, doc *goquery.Document) {
	t.Helper()
	if n := count(doc, `script:not([src])`) + count(doc, `[style]`) + count(doc, `style`); n != 0 {
		t.Errorf("%d inline scripts or styles would break the CSP", n)
	}
}

func attr(doc *goquery.Document, sel, name string) string {
	return doc.Find(sel).First().AttrOr(name, "")
}

func text(doc *goquery.Document, sel string) string {
	return strings.TrimSpace(doc.Find(sel).First().Text())
}

func sampleTopStores() TopStoresReport {
	return TopStoresReport{
		Month: "2026-10", PrevMonth: "2026-09", NextMonth: "2026-11",
		Sort: "orders", Desc: true, Page: 2, PageSize: 10, Total: 1000,
		Rows: []TopStoreRow{
			{Rank: 11, Name: "store-7", Revenue: 123456, Orders: 40, PrevRevenue: 109_908, HasPrev: true},
			{Rank: 12, Name: "store-3", Revenue: 98_000_00, Orders: 0, PrevRevenue: 100_000_00, HasPrev: true},
			{Rank: 13, Name: "store-9", Revenue: 5_000, Orders: 3},
		},
	}
}

func TestTopStoresPage(t *testing.T) {
	doc := render(t, topStoresPage(viewer("Top stores", "reports"), sampleTopStores()))
	assertStrictCSP(t, doc)
	if !doc.Find(`[data-testid="nav-reports"]`).HasClass("active") {
		t.Error("Reports is not the active sidebar entry")
	}
	if got := text(doc, `[data-testid="reports-nav"] .tab.active`); got != "Top stores" {
		t.Errorf("active report tab %q", got)
	}
	if got := text(doc, `[data-testid="month-label"]`); got != "October 2026" {
		t.Errorf("month label %q", got)
	}
	if got := text(doc, `[data-testid="store-count"]`); got != "1,000 stores" {
		t.Errorf("store count %q", got)
	}

	r := doc.Find(`tr[data-testid="top-store-row"][data-name="store-7"]`)
	for sel, want := range map[string]string{
		`[data-testid="rank"]`:    "11",
		`[data-testid="revenue"]`: "$1,234.56",
		`[data-testid="orders"]`:  "40",
		`[data-testid="aov"]`:     "$30.86", // 123456 / 40 = 3086.4 cents
		`[data-testid="change"]`:  "+12.3%",
	} {
		if got := strings.TrimSpace(r.Find(sel).Text()); got != want {
			t.Errorf("store-7 %s = %q, want %q", sel, got, want)
		}
	}
	if href, _ := r.Find("a").Attr("href"); href != "/tenants/store-7" {
		t.Errorf("store link %q", href)
	}
	if !r.Find(`[data-testid="change"]`).HasClass("change-up") {
		t.Error("a rise is not coloured as one")
	}
	r3 := doc.Find(`tr[data-name="store-3"]`)
	if got := r3.Find(`[data-testid="aov"]`).Text(); got != "$0.00" {
		t.Errorf("average order without orders %q", got)
	}
	if c := r3.Find(`[data-testid="change"]`); c.Text() != "−2.0%" || !c.HasClass("change-down") {
		t.Errorf("fall %q", c.Text())
	}
	if doc.Find(`tr[data-name="store-9"] [data-testid="change-new"]`).Text() != "new" {
		t.Error("a store without a month before is not marked new")
	}

	// Sorting keeps the month and restarts paging; the active column flips.
	for col, want := range map[string]string{
		"orders":  "/reports/top-stores?month=2026-10&sort=orders&desc=0",
		"revenue": "/reports/top-stores?month=2026-10",
		"aov":     "/reports/top-stores?month=2026-10&sort=aov&desc=1",
		"change":  "/reports/top-stores?month=2026-10&sort=change&desc=1",
		"name":    "/reports/top-stores?month=2026-10&sort=name&desc=0",
	} {
		if got := attr(doc, `[data-testid="sort-`+col+`"]`, "href"); got != want {
			t.Errorf("sort %s links to %q, want %q", col, got, want)
		}
	}
	if attr(doc, `th:has([data-testid="sort-orders"])`, "aria-sort") != "descending" {
		t.Error("sorted column not marked")
	}
	for sel, want := range map[string]string{
		`[data-testid="csv-link"]`:   "/reports/top-stores.csv?month=2026-10&sort=orders&desc=1",
		`[data-testid="prev-month"]`: "/reports/top-stores?month=2026-09&sort=orders&desc=1",
		`[data-testid="next-month"]`: "/reports/top-stores?month=2026-11&sort=orders&desc=1",
		`[data-testid="page-next"]`:  "/reports/top-stores?month=2026-10&sort=orders&desc=1&page=3",
		`[data-testid="page-prev"]`:  "/reports/top-stores?month=2026-10&sort=orders&desc=1",
	} {
		if got := attr(doc, sel, "href"); got != want {
			t.Errorf("%s links to %q, want %q", sel, got, want)
		}
	}
	form := doc.Find(`form[data-testid="month-form"]`)
	if form.AttrOr("method", "") != "get" || form.AttrOr("action", "") != "/reports/top-stores" ||
		form.Find(`input[type="month"][name="month"]`).AttrOr("value", "") != "2026-10" ||
		form.Find(`input[type="hidden"][name="sort"]`).AttrOr("value", "") != "orders" {
		t.Error("month form does not ask for the month in the same order")
	}

	// The current month has no next one; another page size is kept.
	vm := sampleTopStores()
	vm.NextMonth, vm.Sort, vm.Desc, vm.PageSize = "", "revenue", true, 50
	doc = render(t, topStoresPage(viewer("Top stores", "reports"), vm))
	if count(doc, `[data-testid="next-month"]`) != 0 {
		t.Error("next month offered for the current month")
	}
	if got := attr(doc, `[data-testid="csv-link"]`, "href"); got != "/reports/top-stores.csv?month=2026-10&per=50" {
		t.Errorf("csv link %q", got)
	}
	if count(doc, `form[data-testid="month-form"] input[name="sort"]`) != 0 {
		t.Error("month form carries the default order")
	}
}

func TestTopStoresPageEmpty(t *testing.T) {
	vm := TopStoresReport{Month: "2025-02", PrevMonth: "2025-01", NextMonth: "2025-03", Sort: "revenue", Desc: true, Page: 1, PageSize: 10}
	doc := render(t, topStoresPage(admin("Top stores", "reports"), vm))
	empty := doc.Find(`[data-testid="no-metrics"]`)
	if !strings.Contains(empty.Text(), "No metrics for February 2025") {
		t.Errorf("empty state %q", empty.Text())
	}
	if empty.Find(`a[href="/collections"]`).Length() != 1 {
		t.Error("empty state does not point to Collections")
	}
	if got := text(doc, `[data-testid="backfill-command"]`); got != "tenantry collect --from 2025-02-01 --to 2025-02-28" {
		t.Errorf("backfill command %q", got)
	}
	if count(doc, `[data-testid="csv-link"], [data-testid="top-stores-table"], [data-testid="pagination"]`) != 0 {
		t.Error("empty month shows a table, pagination or CSV link")
	}

	vm.Total, vm.Page = 12, 9
	doc = render(t, topStoresPage(admin("Top stores", "reports"), vm))
	if attr(doc, `[data-testid="no-rows"] a`, "href") != "/reports/top-stores?month=2025-02" {
		t.Error("a page past the end does not link back to the first")
	}
}

func sampleRange() DateRange {
	return DateRange{From: "2026-11-20", To: "2026-11-22", Presets: []Preset{
		{Label: "7 days", From: "2026-11-16", To: "2026-11-22"},
		{Label: "30 days", From: "2026-10-24", To: "2026-11-22", Active: true},
	}}
}

func TestDailyActivityPage(t *testing.T) {
	p := admin("Daily activity", "reports")
	p.Currency = "EUR"
	days := []DayActivity{
		{Date: "2026-11-20", Stores: 998, Orders: 12_480, Revenue: 123456, ActiveCarts: 23_311, NewProducts: 31},
		{Date: "2026-11-21"},
		{Date: "2026-11-22", Stores: 1000, Orders: 1, Revenue: 5, ActiveCarts: 2, NewProducts: 0},
	}
	vm := DailyActivityReport{Range: sampleRange(), Days: days, Total: DayActivity{Stores: 1998, Orders: 12_481, Revenue: 123461, ActiveCarts: 23_313, NewProducts: 31}}
	doc := render(t, dailyActivityPage(p, vm))
	assertStrictCSP(t, doc)

	if got := text(doc, `[data-testid="reports-nav"] .tab.active`); got != "Daily activity" {
		t.Errorf("active report tab %q", got)
	}
	// Switching to the other range report keeps the range.
	if count(doc, `[data-testid="report-tab"][href="/reports/average-revenue?from=2026-11-20&to=2026-11-22"]`) != 1 {
		t.Error("average revenue tab loses the range")
	}
	if a := doc.Find(`[data-testid="preset"].active`); a.Text() != "30 days" || a.AttrOr("href", "") != "/reports/daily-activity?from=2026-10-24&to=2026-11-22" {
		t.Errorf("active preset %q %q", a.Text(), a.AttrOr("href", ""))
	}
	form := doc.Find(`form[data-testid="range-form"]`)
	if form.AttrOr("method", "") != "get" || form.AttrOr("action", "") != "/reports/daily-activity" ||
		form.Find(`input[type="date"][name="from"]`).AttrOr("value", "") != "2026-11-20" ||
		form.Find(`input[type="date"][name="to"]`).AttrOr("value", "") != "2026-11-22" {
		t.Error("range form")
	}
	if got := attr(doc, `[data-testid="csv-link"]`, "href"); got != "/reports/daily-activity.csv?from=2026-11-20&to=2026-11-22" {
		t.Errorf("csv link %q", got)
	}

	c := readChart(t, doc.Find(`[data-testid="chart"]`))
	if len(c.X) != 3 || c.X[0] != "2026-11-20" || len(c.Series) != 2 || c.Series[0].Label != "Orders" || c.Series[1].Label != "Active carts" ||
		*c.Series[0].Values[0] != 12_480 || *c.Series[1].Values[2] != 2 {
		t.Errorf("chart data %+v", c)
	}

	rows := doc.Find(`[data-testid="activity-table"] tr[data-testid="day-row"]`)
	if rows.Length() != 3 || rows.First().AttrOr("data-date", "") != "2026-11-22" {
		t.Error("table is not one row per day, newest first")
	}
	r := doc.Find(`tr[data-date="2026-11-20"]`)
	if got := r.Find(`[data-testid="revenue"]`).Text(); got != "€1,234.56" {
		t.Errorf("revenue %q", got)
	}
	if got := r.Find(`[data-testid="orders"]`).Text(); got != "12,480" {
		t.Errorf("orders %q", got)
	}
	if !doc.Find(`tr[data-date="2026-11-21"]`).HasClass("row-quiet") {
		t.Error("a day without metrics does not look like one")
	}
	total := doc.Find(`tfoot [data-testid="total-row"]`)
	if total.Find(`[data-testid="revenue"]`).Text() != "€1,234.61" || total.Find(`[data-testid="carts"]`).Text() != "23,313" {
		t.Errorf("total row %q", total.Text())
	}

	// Nothing collected: say so, no chart.
	vm = DailyActivityReport{Range: sampleRange(), Days: []DayActivity{{Date: "2026-11-20"}, {Date: "2026-11-21"}, {Date: "2026-11-22"}}}
	doc = render(t, dailyActivityPage(p, vm))
	if count(doc, `[data-testid="no-metrics"] a[href="/collections"]`) != 1 || count(doc, `[data-testid="chart"], [data-testid="activity-table"]`) != 0 {
		t.Error("empty range")
	}
	if got := text(doc, `[data-testid="backfill-command"]`); got != "tenantry collect --from 2026-11-20 --to 2026-11-22" {
		t.Errorf("backfill command %q", got)
	}
}

func TestAverageRevenuePage(t *testing.T) {
	vm := AverageRevenueReport{Range: sampleRange(), Days: []DayAverage{
		{Date: "2026-11-20", Stores: 3, Revenue: 37037, Average: 12345.67},
		{Date: "2026-11-22", Stores: 1, Revenue: 100, Average: 100},
	}}
	doc := render(t, averageRevenuePage(viewer("Average revenue per store", "reports"), vm))
	assertStrictCSP(t, doc)
	if got := text(doc, `[data-testid="reports-nav"] .tab.active`); got != "Average revenue" {
		t.Errorf("active report tab %q", got)
	}
	r := doc.Find(`tr[data-date="2026-11-20"]`)
	if got := r.Find(`[data-testid="average"]`).Text(); got != "$123.46" {
		t.Errorf("average %q", got)
	}
	if got := r.Find(`[data-testid="revenue"]`).Text(); got != "$370.37" {
		t.Errorf("revenue %q", got)
	}
	if got := doc.Find(`tfoot [data-testid="average"]`).Text(); got != "$92.84" { // 37137 / 4 = 9284.25 cents
		t.Errorf("whole-range average %q", got)
	}
	if got := attr(doc, `[data-testid="csv-link"]`, "href"); got != "/reports/average-revenue.csv?from=2026-11-20&to=2026-11-22" {
		t.Errorf("csv link %q", got)
	}
	c := readChart(t, doc.Find(`[data-testid="chart"]`))
	if c.Prefix != "$" || len(c.Series) != 1 || !c.Series[0].Money || *c.Series[0].Values[0] != 123.4567 {
		t.Errorf("chart data %+v", c)
	}

	doc = render(t, averageRevenuePage(viewer("Average revenue per store", "reports"), AverageRevenueReport{Range: sampleRange()}))
	if count(doc, `[data-testid="no-metrics"]`) != 1 || count(doc, `[data-testid="chart"], [data-testid="csv-link"]`) != 0 {
		t.Error("no days is not an empty state")
	}
}

func sampleDashboard(now time.Time) Dashboard {
	run := sampleRuns(now)[2]
	run.ID, run.Failed = 42, 3
	return Dashboard{
		HasMetrics: true, Today: "2026-11-22", Month: "2026-11",
		MonthFrom: "2026-11-01", PrevFrom: "2026-10-01", PrevTo: "2026-10-22",
		TodayTiles: []Tile{
			{Label: "Revenue", Money: true, Value: 123456, Prev: 100000, HasPrev: true},
			{Label: "Orders", Value: 960, Prev: 1000, HasPrev: true},
			{Label: "Active stores", Value: 12, Prev: 0, HasPrev: true},
		},
		MonthTiles: []Tile{
			{Label: "Revenue", Money: true, Value: 1_234_567_890, Prev: 0, HasPrev: false},
			{Label: "Orders", Value: 26_000, Prev: 26_000, HasPrev: true},
		},
		Activity: []DayActivity{
			{Date: "2026-11-21", Stores: 10, Orders: 100, Revenue: 5000, ActiveCarts: 40},
			{Date: "2026-11-22", Stores: 12, Orders: 120, Revenue: 6000, ActiveCarts: 44},
		},
		ActivityFrom: "2026-11-21", ActivityTo: "2026-11-22",
		TopStores: []TopStoreRow{{Rank: 1, Name: "store-7", Revenue: 123456, Orders: 40, PrevRevenue: 100000, HasPrev: true}},
		LastRun:   &run,
		Schedule:  "every 1h0m0s, yesterday and today",
	}
}

func TestOverviewDashboard(t *testing.T) {
	vm := Overview{Dashboard: sampleDashboard(time.Now()), TotalTenants: 12, ByStatus: []StatusCount{{"ready", 12}}}
	doc := render(t, overviewPage(admin("Overview", "overview"), vm))
	assertStrictCSP(t, doc)

	tile := func(group, label string) *goquery.Selection {
		return doc.Find(`[data-testid="` + group + `-tiles"] [data-testid="tile"][data-label="` + label + `"]`)
	}
	for _, tc := range []struct {
		group, label, value, prev, change, class string
	}{
		{"today", "Revenue", "$1,234.56", "vs $1,000.00", "+23.5%", "change-up"},
		{"today", "Orders", "960", "vs 1,000", "−4.0%", "change-down"},
		{"today", "Active stores", "12", "vs 0", "—", "change-flat"},
		{"month", "Revenue", "$12,345,678.90", "no data to compare with", "", ""},
		{"month", "Orders", "26,000", "vs 26,000", "0.0%", "change-flat"},
	} {
		s := tile(tc.group, tc.label)
		if got := strings.TrimSpace(s.Find(`[data-testid="tile-value"]`).Text()); got != tc.value {
			t.Errorf("%s %s value %q, want %q", tc.group, tc.label, got, tc.value)
		}
		if got := s.Find(`[data-testid="tile-prev"]`).Text(); got != tc.prev {
			t.Errorf("%s %s previous %q, want %q", tc.group, tc.label, got, tc.prev)
		}
		if c := s.Find(`[data-testid="change"]`); c.Text() != tc.change || (tc.class != "" && !c.HasClass(tc.class)) {
			t.Errorf("%s %s change %q (%s), want %q (%s)", tc.group, tc.label, c.Text(), c.AttrOr("class", ""), tc.change, tc.class)
		}
	}
	if got := text(doc, `[data-testid="month-tiles"] [data-testid="compared"]`); got != "2026-11-01 – 2026-11-22, compared with 2026-10-01 – 2026-10-22" {
		t.Errorf("month comparison %q", got)
	}
	if got := text(doc, `[data-testid="today-tiles"] [data-testid="compared"]`); !strings.Contains(got, "yesterday") {
		t.Errorf("today comparison %q", got)
	}

	if got := attr(doc, `[data-testid="activity-link"]`, "href"); got != "/reports/daily-activity?from=2026-11-21&to=2026-11-22" {
		t.Errorf("activity link %q", got)
	}
	c := readChart(t, doc.Find(`[data-testid="activity"] [data-testid="chart"]`))
	if len(c.X) != 2 || c.Series[0].Label != "Orders" || *c.Series[1].Values[1] != 44 {
		t.Errorf("activity chart %+v", c)
	}
	if count(doc, `[data-testid="activity"] details [data-testid="day-row"]`) != 2 {
		t.Error("activity table is not under the chart")
	}

	top := doc.Find(`[data-testid="top-stores"] tr[data-testid="top-store-row"]`)
	if top.Length() != 1 || top.Find(`a[href="/tenants/store-7"]`).Length() != 1 || top.Find(`[data-testid="revenue"]`).Text() != "$1,234.56" ||
		top.Find(`[data-testid="change"]`).Text() != "+23.5%" {
		t.Errorf("top store row %q", top.Text())
	}
	if got := attr(doc, `[data-testid="top-stores-link"]`, "href"); got != "/reports/top-stores?month=2026-11" {
		t.Errorf("top stores link %q", got)
	}

	last := doc.Find(`[data-testid="last-run"]`)
	if last.Find(`a[data-testid="last-run-link"][href="/collections/42"]`).Length() != 1 || last.Find(`[data-testid="last-run-state"]`).Text() != "succeeded" {
		t.Error("last run not linked with its state")
	}
	if got := strings.Join(strings.Fields(last.Find(`[data-testid="last-run-counts"]`).Text()), " "); got != "8 ok · 3 failed · 2 skipped" {
		t.Errorf("last run counts %q", got)
	}
	if got := last.Find(`[data-testid="schedule"]`).Text(); got != vm.Schedule {
		t.Errorf("schedule %q", got)
	}
	if count(doc, `[data-testid="total-tenants"]`) != 1 {
		t.Error("fleet tiles gone")
	}

	// No collection yet.
	vm.LastRun = nil
	doc = render(t, overviewPage(admin("Overview", "overview"), vm))
	if count(doc, `[data-testid="no-last-run"] a[href="/collections"]`) != 1 {
		t.Error("no last run does not point to Collections")
	}
}

func TestOverviewWithoutMetrics(t *testing.T) {
	vm := Overview{TotalTenants: 3, ByStatus: []StatusCount{{"ready", 3}}}
	doc := render(t, overviewPage(viewer("Overview", "overview"), vm))
	empty := doc.Find(`[data-testid="no-metrics"]`)
	if empty.Length() != 1 || empty.Find(`a[href="/collections"]`).Length() != 1 || !strings.Contains(empty.Text(), "tenantry collect") {
		t.Errorf("no-metrics state %q", empty.Text())
	}
	if count(doc, `[data-testid="tile"], [data-testid="chart"], [data-testid="last-run"]`) != 0 {
		t.Error("figures shown without metrics")
	}
	// A first run that failed is worth showing.
	vm.LastRun = &RunRow{ID: 1, State: "failed"}
	doc = render(t, overviewPage(viewer("Overview", "overview"), vm))
	if count(doc, `[data-testid="last-run"] a[href="/collections/1"]`) != 1 {
		t.Error("failed first run not shown")
	}
	// No tenants at all: only the first step.
	doc = render(t, overviewPage(viewer("Overview", "overview"), Overview{}))
	if count(doc, `[data-testid="no-tenants"]`) != 1 || count(doc, `[data-testid="no-metrics"]`) != 0 {
		t.Error("an empty fleet is asked for metrics")
	}
}

func TestTenantHistory(t *testing.T) {
	p := admin("store-7", "tenants")
	p.Currency = "GBP"
	h := TenantHistory{From: "2026-08-25", To: "2026-11-22",
		Days: []DayActivity{
			{Date: "2026-11-21"},
			{Date: "2026-11-22", Stores: 1, Orders: 1200, Revenue: 123456, ActiveCarts: 7, NewProducts: 2},
		},
		Total: DayActivity{Stores: 1, Orders: 1200, Revenue: 123456, ActiveCarts: 7, NewProducts: 2},
	}
	doc := render(t, tenantPage(p, TenantDetail{Tenant: TenantRow{Name: "store-7", Status: "ready"}}, h))
	assertStrictCSP(t, doc)
	totals := doc.Find(`[data-testid="history-totals"]`)
	if got := totals.Find(`[data-label="Revenue"] dd`).Text(); got != "£1,234.56" {
		t.Errorf("revenue total %q", got)
	}
	if got := totals.Find(`[data-label="Orders"] dd`).Text(); got != "1,200" {
		t.Errorf("orders total %q", got)
	}
	c := readChart(t, doc.Find(`[data-testid="history"] [data-testid="chart"]`))
	if c.Prefix != "£" || c.Series[0].Label != "Revenue" || !c.Series[0].Money || *c.Series[0].Values[1] != 1234.56 || *c.Series[1].Values[1] != 1200 {
		t.Errorf("history chart %+v", c)
	}
	if count(doc, `[data-testid="history"] details tr[data-testid="day-row"]`) != 2 {
		t.Error("history table missing")
	}

	for _, empty := range []TenantHistory{
		{From: "2026-08-25", To: "2026-11-22"},
		{From: "2026-08-25", To: "2026-11-22", Days: []DayActivity{{Date: "2026-11-21"}, {Date: "2026-11-22"}}},
	} {
		doc = render(t, tenantPage(p, TenantDetail{Tenant: TenantRow{Name: "store-7", Status: "ready"}}, empty))
		if count(doc, `[data-testid="no-history"]`) != 1 || count(doc, `[data-testid="history"] [data-testid="chart"]`) != 0 {
			t.Errorf("empty history %d days", len(empty.Days))
		}
	}
}

func TestChartsLoadedInTheAppShellOnly(t *testing.T) {
	doc := render(t, TenantsPage(admin("Tenants", "tenants"), TenantList{Page: 1}))
	for _, sel := range []string{
		`link[rel="stylesheet"][href^="/static/vendor/uPlot.min.css?v="]`,
		`script[defer][src^="/static/vendor/uPlot.iife.min.js?v="]`,
		`script[defer][src^="/static/charts.js?v="]`,
	} {
		if count(doc, sel) != 1 {
			t.Errorf("app shell has no %s", sel)
		}
	}
	// uPlot before charts.js: deferred scripts run in order.
	var srcs []string
	doc.Find("script[src]").Each(func(_ int, s *goquery.Selection) { srcs = append(srcs, s.AttrOr("src", "")) })
	if len(srcs) != 4 || !strings.Contains(srcs[2], "uPlot") || !strings.Contains(srcs[3], "charts.js") {
		t.Errorf("scripts %v", srcs)
	}
	doc = render(t, LoginPage(Login{CSRF: "c"}))
	if count(doc, `[src*="uPlot"], [href*="uPlot"], [src*="charts.js"]`) != 0 {
		t.Error("login page loads the charts")
	}

	// The sidebar: Reports between Overview and Tenants.
	doc = render(t, TenantsPage(admin("Tenants", "tenants"), TenantList{Page: 1}))
	var navs []string
	doc.Find(`.nav a`).Each(func(_ int, s *goquery.Selection) { navs = append(navs, s.AttrOr("data-testid", "")) })
	if len(navs) < 3 || navs[0] != "nav-overview" || navs[1] != "nav-reports" || navs[2] != "nav-tenants" {
		t.Errorf("sidebar order %v", navs)
	}
	if attr(doc, `[data-testid="nav-reports"]`, "href") != "/reports/top-stores" || count(doc, `[data-testid="nav-reports"] svg`) != 1 {
		t.Error("Reports entry")
	}
}
