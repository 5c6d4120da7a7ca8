package main

// The dashboards journey: an operator reads the overview, ranks the stores,
// reads the range reports and a store's own history, and a viewer sees the
// same. Every figure checked on a page is computed from the JSON that the
// same server answers to the same session, so the test does not depend on
// what the demo generated.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// rankingJSON is /reports/top-stores as JSON.
type rankingJSON struct {
	Month  string `json:"month"`
	Sort   string `json:"sort"`
	Desc   bool   `json:"desc"`
	Total  int64  `json:"total"`
	Stores []struct {
		Rank    int    `json:"rank"`
		Name    string `json:"database_name"`
		Revenue int64  `json:"revenue"`
		Orders  int64  `json:"orders"`
	} `json:"stores"`
}

func (r rankingJSON) names() []string {
	var out []string
	for _, s := range r.Stores {
		out = append(out, s.Name)
	}
	return out
}

// activityJSON is /reports/daily-activity as JSON.
type activityJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
	Days []struct {
		Date        string `json:"date"`
		Stores      int64  `json:"stores"`
		Orders      int64  `json:"platform_orders"`
		ActiveCarts int64  `json:"platform_active_carts"`
		Revenue     int64  `json:"total_revenue"`
		NewProducts int64  `json:"new_products"`
	} `json:"days"`
}

// averageJSON is /reports/average-revenue as JSON.
type averageJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
	Days []struct {
		Date string `json:"date"`
	} `json:"days"`
}

// fetched is what a fetch() from the page gave.
type fetched struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Body   string `json:"body"`
}

// fetchFromPage fetches a URL from the page, with the browser's session as
// a link would; accept is the Accept header ("" for the browser's).
func fetchFromPage(ctx context.Context, t *testing.T, u, accept string) fetched {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		const headers = %q ? {Accept: %q} : {};
		const r = await fetch(%q, {credentials: "same-origin", headers});
		return {status: r.status, type: r.headers.get("content-type") || "", body: await r.text()};
	})()`, accept, accept, u)
	return get(ctx, t, "fetch "+u, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
}

// reportJSON fetches a report as JSON with the browser's session.
func reportJSON[T any](ctx context.Context, t *testing.T, u string) T {
	t.Helper()
	f := fetchFromPage(ctx, t, u, "application/json")
	if f.Status != 200 {
		t.Fatalf("GET %s as JSON: %d %s", u, f.Status, f.Body)
	}
	var v T
	if err := json.Unmarshal([]byte(f.Body), &v); err != nil {
		t.Fatalf("GET %s as JSON: %v\n%s", u, err, f.Body)
	}
	return v
}

// texts returns the trimmed textContent of every element matching sel,
// visible or not (a closed <details> hides its table).
func texts(ctx context.Context, t *testing.T, sel chromedp.CSS) []string {
	t.Helper()
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.textContent.trim())`, string(sel))
	return get(ctx, t, "read the texts of "+string(sel), chromedp.Evaluate[[]string](js))
}

// attrs returns an attribute of every element matching sel.
func attrs(ctx context.Context, t *testing.T, sel chromedp.CSS, name string) []string {
	t.Helper()
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.getAttribute(%q) || "")`, string(sel), name)
	return get(ctx, t, "read "+name+" of every "+string(sel), chromedp.Evaluate[[]string](js))
}

// waitChart waits until uPlot has drawn the chart inside scope (charts.js
// runs deferred, after the page is visible) and, unless days is 0, checks
// that it plots that many days.
func waitChart(ctx context.Context, t *testing.T, scope chromedp.CSS, what string, days int) {
	t.Helper()
	chart := scope + ` [data-testid="chart"].chart-drawn`
	step(ctx, t, what+": wait for the chart to be drawn", chromedp.WaitVisible(chart+` .uplot canvas`))
	if days == 0 {
		return
	}
	js := fmt.Sprintf(`document.querySelector(%q).uplot.data[0].length`, string(chart))
	if n := get(ctx, t, what+": count the chart's days", chromedp.Evaluate[int](js)); n != days {
		t.Errorf("%s: the chart plots %d days, want %d", what, n, days)
	}
}

// checkTopStoresChart checks that the top stores chart shows measure and
// that its first bar is first, the value of the ranking's first store.
func checkTopStoresChart(ctx context.Context, t *testing.T, measure string, first float64) {
	t.Helper()
	if got := text(ctx, t, tid("top-stores-chart")+" .top-chart-title"); got != measure {
		t.Errorf("the chart shows %q, want %q", got, measure)
	}
	js := `document.querySelector('[data-testid="top-stores-chart"] .chart-drawn').uplot.data[1][0]`
	if got := get(ctx, t, "read the first bar", chromedp.Evaluate[float64](js)); math.Abs(got-first) > 1e-6 {
		t.Errorf("the chart's first bar is %v, want %v", got, first)
	}
}

// waitChartWidth waits until the chart in scope has followed its
// container's width.
func waitChartWidth(ctx context.Context, t *testing.T, scope chromedp.CSS) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && !!el.uplot && el.uplot.width === Math.floor(el.clientWidth); })()`,
		string(scope)+` [data-testid="chart"].chart-drawn`)
	get(ctx, t, "wait for the chart to follow the width",
		chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
}

// query returns the query of the page's URL.
func query(ctx context.Context, t *testing.T) url.Values {
	t.Helper()
	loc := get(ctx, t, "read location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u.Query()
}

// grouped is n with thousands separators, as the console writes counts.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// dollars is an amount in cents as the console writes it: "$1,234.56".
func dollars(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s$%s.%02d", sign, grouped(cents/100), cents%100)
}

// isTrue reports whether a query parameter says true ("1", "true"…).
func isTrue(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}

// counted reads a count written with thousands separators.
func counted(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		t.Fatalf("%q is not a count: %v", s, err)
	}
	return n
}

func parseDay(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("%q is not a day: %v", s, err)
	}
	return d
}

// monthTitle is "November 2026" for "2026-11".
func monthTitle(t *testing.T, month string) string {
	t.Helper()
	m, err := time.Parse("2006-01", month)
	if err != nil {
		t.Fatalf("%q is not a month: %v", month, err)
	}
	return m.Format("January 2006")
}

func TestBrowserDashboards(t *testing.T) {
	start := time.Now()
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("demo", "--stores", "12", "--days", "45")
	c.ok("users", "add", viewerEmail, "--role", "viewer") // after demo, which adds its admin only to a fleet without users
	base := c.serve().URL

	login(ctx, t, base, adminEmail, testPassword)
	top := dashboardsOverview(ctx, t, "admin")
	shot(ctx, t, "dashboards-01-overview")
	dashboardsTopStores(ctx, t, top)
	today := dashboardsDailyActivity(ctx, t, base)
	dashboardsAverageRevenue(ctx, t, today)
	dashboardsTenant(ctx, t, today)

	step(ctx, t, "log out", chromedp.Click(tid("logout")), chromedp.WaitVisible(tid("login-form")))
	dashboardsViewer(ctx, t, base)
	t.Logf("the dashboards journey took %s", time.Since(start).Round(time.Millisecond))
}

var runPath = regexp.MustCompile(`^/collections/([0-9]+)$`)

// dashboardsOverview checks the overview the browser is on against the
// reports' JSON and returns this month's ranking.
func dashboardsOverview(ctx context.Context, t *testing.T, who string) rankingJSON {
	step(ctx, t, who+": the overview shows the dashboard", chromedp.WaitVisible(tid("today-tiles")))
	if p := path(ctx, t); p != "/" {
		t.Fatalf("%s: the overview is at %s, want /", who, p)
	}
	last30 := reportJSON[activityJSON](ctx, t, "/reports/daily-activity")
	today := parseDay(t, last30.To)
	monthFrom := today.AddDate(0, 0, 1-today.Day())
	month := reportJSON[activityJSON](ctx, t, "/reports/daily-activity?"+url.Values{
		"from": {monthFrom.Format(time.DateOnly)}, "to": {last30.To}}.Encode())
	ranking := reportJSON[rankingJSON](ctx, t, "/reports/top-stores")
	if ranking.Month != today.Format("2006-01") {
		t.Fatalf("%s: the ranking's default month is %s, today is %s", who, ranking.Month, last30.To)
	}
	if ranking.Total < 10 {
		t.Fatalf("%s: the demo gave only %d stores with metrics this month; the journey needs 10", who, ranking.Total)
	}

	// The tiles: today, and the month so far, from the daily totals.
	var todayFigures, monthFigures [4]int64 // revenue, orders, active carts, new products
	for _, d := range month.Days {
		f := [4]int64{d.Revenue, d.Orders, d.ActiveCarts, d.NewProducts}
		for i := range f {
			monthFigures[i] += f[i]
			if d.Date == last30.To {
				todayFigures[i] = f[i]
			}
		}
	}
	todayStores := int64(-1) // stores with metrics today
	for _, d := range last30.Days {
		if d.Date == last30.To {
			todayStores = d.Stores
		}
	}
	// A store is active with at least one order. The month's are in its
	// ranking; today's only in each store's own metrics, so today's count
	// is only bounded.
	var monthActive int64
	for _, s := range reportJSON[rankingJSON](ctx, t, "/reports/top-stores?per=500").Stores {
		if s.Orders > 0 {
			monthActive++
		}
	}
	labels := []string{"Revenue", "Orders", "Active carts", "New products", "Active stores"}
	for _, g := range []struct {
		key  string
		want [4]int64
	}{
		{"today", todayFigures},
		{"month", monthFigures},
	} {
		group := tid(g.key + "-tiles")
		if got := attrs(ctx, t, group+" "+tid("tile"), "data-label"); !slices.Equal(got, labels) {
			t.Errorf("%s: the %s tiles are %q, want %q", who, g.key, got, labels)
		}
		values := texts(ctx, t, group+" "+tid("tile-value"))
		if len(values) != 5 {
			t.Fatalf("%s: the %s tiles show %d values, want 5", who, g.key, len(values))
		}
		want := []string{dollars(g.want[0]), grouped(g.want[1]), grouped(g.want[2]), grouped(g.want[3])}
		if !slices.Equal(values[:4], want) {
			t.Errorf("%s: the %s tiles show %q, the daily totals give %q", who, g.key, values[:4], want)
		}
		active := counted(t, values[4])
		switch {
		case g.key == "month" && active != monthActive:
			t.Errorf("%s: the month's active stores read %d, the ranking has %d stores with orders", who, active, monthActive)
		case g.key == "today" && (active > todayStores || active > monthActive || (active == 0) != (todayFigures[1] == 0)):
			t.Errorf("%s: today's active stores read %d, with %d stores reporting %d orders today", who, active, todayStores, todayFigures[1])
		}
	}

	// The last 30 days: a chart, and a table behind it.
	activity := tid("activity")
	waitChart(ctx, t, activity, who+": overview", 30)
	if n := len(texts(ctx, t, activity+" "+tid("day-row"))); n != 30 {
		t.Errorf("%s: the activity table has %d days, want 30", who, n)
	}
	step(ctx, t, who+": show the activity as a table",
		chromedp.Click(activity+" details > summary"),
		chromedp.WaitVisible(activity+" "+tid("day-row")),
	)
	dates := attrs(ctx, t, activity+" "+tid("day-row"), "data-date")
	if first, oldest := today.Format(time.DateOnly), today.AddDate(0, 0, -29).Format(time.DateOnly); len(dates) == 0 || dates[0] != first || dates[len(dates)-1] != oldest {
		t.Errorf("%s: the activity table runs %q, want %s down to %s", who, dates, first, oldest)
	}

	// This month's top 10, as the ranking has them.
	card := tid("top-stores")
	if got, want := attrs(ctx, t, card+" "+tid("top-store-row"), "data-name"), ranking.names(); !slices.Equal(got, want) {
		t.Errorf("%s: the top stores card lists %q, the ranking is %q", who, got, want)
	}
	var revenues []string
	for _, s := range ranking.Stores {
		revenues = append(revenues, dollars(s.Revenue))
	}
	if got := texts(ctx, t, card+" "+tid("revenue")); !slices.Equal(got, revenues) {
		t.Errorf("%s: the top stores card's revenues are %q, want %q", who, got, revenues)
	}

	href := attr(ctx, t, tid("last-run-link"), "href")
	if m := runPath.FindStringSubmatch(href); m == nil {
		t.Errorf("%s: the last collection links to %q, want /collections/{id}", who, href)
	} else if got := text(ctx, t, tid("last-run-link")); got != "#"+m[1] {
		t.Errorf("%s: the last collection link says %q, its href is %s", who, got, href)
	}
	if got := text(ctx, t, tid("last-run-state")); got != "succeeded" {
		t.Errorf("%s: the last collection is %q, want succeeded", who, got)
	}
	return ranking
}

// dashboardsTopStores goes from the overview to the ranking, sorts it by
// orders, goes a month back and downloads it as CSV.
func dashboardsTopStores(ctx context.Context, t *testing.T, ranking rankingJSON) {
	table := tid("top-stores-table")
	step(ctx, t, "go to Reports", chromedp.Click(tid("nav-reports")), chromedp.WaitVisible(tid("month-label")))
	if p := path(ctx, t); p != "/reports/top-stores" {
		t.Fatalf("nav-reports went to %s, want /reports/top-stores", p)
	}
	if got, want := text(ctx, t, tid("month-label")), monthTitle(t, ranking.Month); got != want {
		t.Errorf("the ranking opens on %q, want the current month %q", got, want)
	}
	if got, want := strings.Join(strings.Fields(text(ctx, t, tid("store-count"))), " "), grouped(ranking.Total)+" stores"; got != want {
		t.Errorf("the ranking counts %q, want %q", got, want)
	}
	if got := attrs(ctx, t, table+" "+tid("top-store-row"), "data-name"); !slices.Equal(got, ranking.names()) {
		t.Errorf("the ranking lists %q, the JSON %q", got, ranking.names())
	}
	if got, want := text(ctx, t, table+" "+tid("revenue")), dollars(ranking.Stores[0].Revenue); got != want {
		t.Errorf("the first store's revenue reads %q, want %q", got, want)
	}
	chart := tid("top-stores-chart")
	waitChart(ctx, t, chart, "the top stores chart", len(ranking.Stores))
	checkTopStoresChart(ctx, t, "Revenue", float64(ranking.Stores[0].Revenue)/100)
	shot(ctx, t, "dashboards-02-top-stores")
	// The chart follows the window: wide, and narrow enough to stack.
	for _, w := range []int64{1366, 800} {
		step(ctx, t, fmt.Sprintf("resize to %d px", w), chromedp.EmulateViewport(w, 900))
		waitChartWidth(ctx, t, chart)
		shot(ctx, t, fmt.Sprintf("dashboards-02-top-stores-%d", w))
	}
	step(ctx, t, "resize back", chromedp.EmulateViewport(1280, 900))

	// Sorting by orders: the most orders first.
	step(ctx, t, "sort by orders",
		chromedp.Click(tid("sort-orders")),
		chromedp.WaitVisible(`th[aria-sort="descending"] > [data-testid="sort-orders"]`),
	)
	if q := query(ctx, t); q.Get("sort") != "orders" || !isTrue(q.Get("desc")) || q.Get("month") != ranking.Month {
		t.Errorf("sorting by orders went to ?%s, want month=%s&sort=orders&desc=true", q.Encode(), ranking.Month)
	}
	var orders []int64
	for _, s := range texts(ctx, t, table+" "+tid("orders")) {
		orders = append(orders, counted(t, s))
	}
	if len(orders) != 10 || !slices.IsSortedFunc(orders, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("sorted by orders, the rows show the orders %v, want 10 from most to fewest", orders)
	}
	byOrders := reportJSON[rankingJSON](ctx, t, "/reports/top-stores?sort=orders&month="+ranking.Month)
	if got := attrs(ctx, t, table+" "+tid("top-store-row"), "data-name"); !slices.Equal(got, byOrders.names()) {
		t.Errorf("sorted by orders, the ranking lists %q, the JSON %q", got, byOrders.names())
	}
	waitChart(ctx, t, chart, "the chart by orders", len(byOrders.Stores))
	checkTopStoresChart(ctx, t, "Orders", float64(byOrders.Stores[0].Orders))
	shot(ctx, t, "dashboards-03-top-stores-by-orders")

	// The month before, still by orders; the current month had no "next".
	prev := parseDay(t, ranking.Month+"-01").AddDate(0, -1, 0).Format("2006-01")
	step(ctx, t, "go to the month before",
		chromedp.Click(tid("prev-month")),
		chromedp.WaitVisible(tid("next-month")),
	)
	if got, want := text(ctx, t, tid("month-label")), monthTitle(t, prev); got != want {
		t.Errorf("after ← the month reads %q, want %q", got, want)
	}
	if q := query(ctx, t); q.Get("month") != prev || q.Get("sort") != "orders" {
		t.Errorf("the month before is at ?%s, want month=%s sorted by orders", q.Encode(), prev)
	}
	prevRanking := reportJSON[rankingJSON](ctx, t, "/reports/top-stores?sort=orders&desc=true&per=500&month="+prev)
	want := prevRanking.names()[:min(10, len(prevRanking.Stores))]
	if got := attrs(ctx, t, table+" "+tid("top-store-row"), "data-name"); len(got) == 0 || !slices.Equal(got, want) {
		t.Errorf("the month before lists %q, the JSON's first page %q", got, want)
	}
	shot(ctx, t, "dashboards-04-top-stores-month-before")

	// Its CSV: the whole ranking, in the same order.
	href := attr(ctx, t, tid("csv-link"), "href")
	u, err := url.Parse(href)
	if err != nil {
		t.Fatalf("csv-link's href %q: %v", href, err)
	}
	if q := u.Query(); u.Path != "/reports/top-stores.csv" || q.Get("month") != prev || q.Get("sort") != "orders" || !isTrue(q.Get("desc")) {
		t.Errorf("csv-link's href is %q, want /reports/top-stores.csv?month=%s&sort=orders&desc=true", href, prev)
	}
	f := fetchFromPage(ctx, t, href, "")
	if f.Status != 200 || !strings.HasPrefix(f.Type, "text/csv") {
		t.Fatalf("the CSV: %d %q, want 200 text/csv\n%s", f.Status, f.Type, f.Body)
	}
	records, err := csv.NewReader(strings.NewReader(f.Body)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("the CSV does not parse (%v):\n%s", err, f.Body)
	}
	if head := strings.Join(records[0], ","); !strings.HasPrefix(head, "rank,database_name,revenue") {
		t.Errorf("the CSV's header is %q, want rank,database_name,revenue,…", head)
	}
	var csvNames []string
	for _, r := range records[1:] {
		csvNames = append(csvNames, r[1])
	}
	if !slices.Equal(csvNames, prevRanking.names()) {
		t.Errorf("the CSV ranks %q, the JSON %q", csvNames, prevRanking.names())
	}
}

// dashboardsDailyActivity opens the daily activity report, picks the last
// 7 days, and submits a range that ends before it starts. It returns today.
func dashboardsDailyActivity(ctx context.Context, t *testing.T, base string) time.Time {
	step(ctx, t, "open the Daily activity tab",
		chromedp.Click(tid("reports-nav")+` a[href^="/reports/daily-activity"]`),
		chromedp.WaitVisible(tid("range-form")),
	)
	if p := path(ctx, t); p != "/reports/daily-activity" {
		t.Fatalf("the Daily activity tab went to %s", p)
	}
	week := tid("presets") + " a:first-child"
	if got := text(ctx, t, week); got != "7 days" {
		t.Fatalf("the first preset is %q, want 7 days", got)
	}
	step(ctx, t, "pick the last 7 days", chromedp.Click(week), chromedp.WaitVisible(week+".active"))
	waitChart(ctx, t, "", "7 days", 7)
	q := query(ctx, t)
	from, to := parseDay(t, q.Get("from")), parseDay(t, q.Get("to"))
	if !to.Equal(from.AddDate(0, 0, 6)) {
		t.Errorf("7 days went to ?%s, want 7 explicit days", q.Encode())
	}
	if got := texts(ctx, t, tid("presets")+" .active"); !slices.Equal(got, []string{"7 days"}) {
		t.Errorf("the active presets are %q, want only 7 days", got)
	}
	if got := attr(ctx, t, week, "aria-current"); got != "true" {
		t.Errorf("the 7 days preset has aria-current %q", got)
	}
	report := reportJSON[activityJSON](ctx, t, "/reports/daily-activity?"+q.Encode())
	if report.To != q.Get("to") || len(report.Days) != 7 {
		t.Fatalf("the JSON of ?%s runs to %s with %d days", q.Encode(), report.To, len(report.Days))
	}
	table := tid("activity-table")
	var want []string
	var total int64
	for _, d := range slices.Backward(report.Days) {
		want = append(want, grouped(d.Orders))
		total += d.Orders
	}
	if got := texts(ctx, t, table+" "+tid("day-row")+" "+tid("orders")); !slices.Equal(got, want) {
		t.Errorf("the 7 days' orders, newest first, read %q, the JSON %q", got, want)
	}
	if got := text(ctx, t, table+" "+tid("total-row")+" "+tid("orders")); got != grouped(total) {
		t.Errorf("the 7 days' total orders read %q, want %s", got, grouped(total))
	}
	shot(ctx, t, "dashboards-05-daily-activity-7-days")

	// Date inputs show the locale's format; their value is YYYY-MM-DD.
	bad := url.Values{"from": {to.Format(time.DateOnly)}, "to": {from.Format(time.DateOnly)}}
	step(ctx, t, "show a range that ends before it starts",
		chromedp.SetValue(`#range-from`, bad.Get("from")),
		chromedp.SetValue(`#range-to`, bad.Get("to")),
		chromedp.Click(tid("range-form")+` button[type="submit"]`),
		chromedp.WaitVisible(tid("error")),
	)
	if got := text(ctx, t, tid("error-status")); got != "400" {
		t.Errorf("the backwards range gives the status %q, want 400", got)
	}
	if got := text(ctx, t, tid("error-message")); !strings.Contains(got, "before it starts") {
		t.Errorf("the backwards range's error says %q, want that it ends before it starts", got)
	}
	if got := query(ctx, t); got.Get("from") != bad.Get("from") || got.Get("to") != bad.Get("to") {
		t.Errorf("the range form went to ?%s, want ?%s", got.Encode(), bad.Encode())
	}
	shot(ctx, t, "dashboards-06-range-error")
	// Navigate rather than go back: chromedp loses track of a page that
	// the back/forward cache restores.
	step(ctx, t, "open the 7 days again",
		chromedp.Navigate(base+"/reports/daily-activity?"+q.Encode()),
		chromedp.WaitVisible(week+".active"),
	)
	return to
}

// dashboardsAverageRevenue switches to the average revenue tab, which
// keeps the 7 days.
func dashboardsAverageRevenue(ctx context.Context, t *testing.T, today time.Time) {
	step(ctx, t, "open the Average revenue tab",
		chromedp.Click(tid("reports-nav")+` a[href^="/reports/average-revenue"]`),
		chromedp.WaitVisible(tid("average-table")),
	)
	q := query(ctx, t)
	if p := path(ctx, t); p != "/reports/average-revenue" || q.Get("to") != today.Format(time.DateOnly) ||
		q.Get("from") != today.AddDate(0, 0, -6).Format(time.DateOnly) {
		t.Errorf("the Average revenue tab went to %s?%s, want the same 7 days", p, q.Encode())
	}
	report := reportJSON[averageJSON](ctx, t, "/reports/average-revenue?"+q.Encode())
	waitChart(ctx, t, "", "average revenue", len(report.Days))
	var want []string
	for _, d := range slices.Backward(report.Days) {
		want = append(want, d.Date)
	}
	if got := attrs(ctx, t, tid("average-table")+" "+tid("day-row"), "data-date"); len(got) == 0 || !slices.Equal(got, want) {
		t.Errorf("the average revenue table has the days %q, the JSON %q", got, want)
	}
	shot(ctx, t, "dashboards-07-average-revenue")
}

// dashboardsTenant opens the top store from the overview and checks its
// last 90 days against the monthly rankings, which hold all its history.
func dashboardsTenant(ctx context.Context, t *testing.T, today time.Time) {
	step(ctx, t, "back to the overview", chromedp.Click(tid("nav-overview")), chromedp.WaitVisible(tid("today-tiles")))
	first := tid("top-stores") + " " + tid("top-store-row") + ":first-child"
	name := attr(ctx, t, first, "data-name")
	step(ctx, t, "open the top store "+name,
		chromedp.Click(first+" a.name-link"),
		chromedp.WaitVisible(tid("history")),
	)
	if p := path(ctx, t); p != "/tenants/"+name {
		t.Fatalf("the top store's link went to %s, want /tenants/%s", p, name)
	}
	// The demo's 45 days all lie in the last 90, so the months that these
	// overlap hold the same metrics.
	var orders, revenue int64
	for m := today.AddDate(0, 0, -89); !m.After(today); m = m.AddDate(0, 1, 1-m.Day()) {
		r := reportJSON[rankingJSON](ctx, t, "/reports/top-stores?per=500&month="+m.Format("2006-01"))
		for _, s := range r.Stores {
			if s.Name == name {
				orders += s.Orders
				revenue += s.Revenue
			}
		}
	}
	totals := tid("history-totals")
	if got := text(ctx, t, totals+` [data-label="Orders"] dd`); got != grouped(orders) {
		t.Errorf("%s's last 90 days show %s orders, the rankings %s", name, got, grouped(orders))
	}
	if got := text(ctx, t, totals+` [data-label="Revenue"] dd`); got != dollars(revenue) {
		t.Errorf("%s's last 90 days show a revenue of %s, the rankings %s", name, got, dollars(revenue))
	}
	waitChart(ctx, t, tid("history"), name, 90)
	shot(ctx, t, "dashboards-08-tenant")
}

// dashboardsViewer logs in as a viewer, who sees the same dashboards.
func dashboardsViewer(ctx context.Context, t *testing.T, base string) {
	login(ctx, t, base, viewerEmail, testPassword)
	if got := text(ctx, t, tid("user-role")); got != "viewer" {
		t.Fatalf("the sidebar shows the role %q, want viewer", got)
	}
	ranking := dashboardsOverview(ctx, t, "viewer")
	shot(ctx, t, "dashboards-09-viewer-overview")
	for _, pg := range []struct{ path, table string }{
		{"/reports/top-stores", "top-stores-table"},
		{"/reports/daily-activity", "activity-table"},
		{"/reports/average-revenue", "average-table"},
		{"/tenants/" + ranking.Stores[0].Name, "history-totals"},
	} {
		step(ctx, t, "viewer: open "+pg.path, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(tid(pg.table)))
		if pg.path != "/reports/top-stores" {
			waitChart(ctx, t, "", "viewer: "+pg.path, 0)
		}
		if exists(ctx, t, tid("error")) {
			t.Errorf("viewer: %s shows an error", pg.path)
		}
	}
	if f := fetchFromPage(ctx, t, "/reports/top-stores.csv", ""); f.Status != 200 || !strings.HasPrefix(f.Body, "rank,database_name,revenue") {
		t.Errorf("viewer: the ranking's CSV gives %d %.60q", f.Status, f.Body)
	}
}
