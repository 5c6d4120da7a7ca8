package pages

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/components"
)

// reportTab is one entry of the reports' sub-navigation.
type reportTab struct {
	Path, Label string
}

var reportTabs = []reportTab{
	{paths.TopStores, "Top stores"},
	{paths.DailyActivity, "Daily activity"},
	{paths.AverageRevenue, "Average revenue"},
}

// rangeURL is a report over the days from..to.
func rangeURL(path, from, to string) templ.SafeURL {
	return templ.URL(path + "?" + url.Values{"from": {from}, "to": {to}}.Encode())
}

// monthLabel is "November 2026", or the raw value if it is not a month.
func monthLabel(month string) string {
	if l := ParseMonthLabel(month); l != "" {
		return l
	}
	return month
}

// monthDays is the first and last day of a month ("", "" if invalid).
func monthDays(month string) (from, to string) {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return "", ""
	}
	return t.Format(time.DateOnly), t.AddDate(0, 1, -1).Format(time.DateOnly)
}

// backfillCommand is the CLI that collects the days from..to.
func backfillCommand(from, to string) string {
	if from == "" || to == "" {
		return "tenantry collect"
	}
	return "tenantry collect --from " + from + " --to " + to
}

// topStoresURL is the ranking of a month.
func topStoresURL(month string) templ.SafeURL {
	return templ.URL(paths.WithQuery(paths.TopStores, url.Values{"month": {month}}))
}

// topStoresPageSize is the handler's page size when per= is absent, so
// links leave it out at that size.
const topStoresPageSize = 10

func (r TopStoresReport) activeSort() fleet.RankBy {
	if r.Sort == "" {
		return fleet.DefaultRankBy
	}
	return r.Sort
}

// query is "month=…&sort=…&desc=…&page=…&per=…" for this report at another
// month, order or page. The default order (fleet.DefaultRankBy, in its
// direction), page 1 and the default page size are left out so URLs stay
// short.
func (r TopStoresReport) query(month string, sort fleet.RankBy, desc bool, page int) string {
	var params []string
	add := func(k, v string) { params = append(params, k+"="+url.QueryEscape(v)) }
	if month != "" {
		add("month", month)
	}
	if sort == "" {
		sort, desc = fleet.DefaultRankBy, fleet.DefaultRankBy.DescByDefault()
	}
	if sort != fleet.DefaultRankBy || desc != sort.DescByDefault() {
		add("sort", string(sort))
		add("desc", boolParam(desc))
	}
	if page > 1 {
		add("page", strconv.Itoa(page))
	}
	if r.PageSize > 0 && r.PageSize != topStoresPageSize {
		add("per", strconv.Itoa(r.PageSize))
	}
	return strings.Join(params, "&")
}

func (r TopStoresReport) link(path, query string) string {
	if query == "" {
		return path
	}
	return path + "?" + query
}

// monthURL is another month's ranking in the same order, from page 1.
func (r TopStoresReport) monthURL(month string) templ.SafeURL {
	return templ.URL(r.link(paths.TopStores, r.query(month, r.Sort, r.Desc, 1)))
}

// pageURL is another page of this ranking.
func (r TopStoresReport) pageURL(page int) string {
	return r.link(paths.TopStores, r.query(r.Month, r.Sort, r.Desc, page))
}

// csvURL downloads the whole ranking in the order shown; the CSV has every
// store, so there is no page.
func (r TopStoresReport) csvURL() templ.SafeURL {
	return templ.URL(r.link(paths.Export(paths.TopStores, "csv"), r.query(r.Month, r.Sort, r.Desc, 1)))
}

// sortURL is where a column header links. A new column starts with the
// most first (a ranking), except the store name, which starts at A;
// clicking the active column again flips the order. Paging restarts.
func (r TopStoresReport) sortURL(col fleet.RankBy) templ.SafeURL {
	desc := col.DescByDefault()
	if r.activeSort() == col {
		desc = !r.Desc
	}
	return templ.URL(r.link(paths.TopStores, r.query(r.Month, col, desc, 1)))
}

// sortArrow is the arrow shown on the active column, "" on the others.
func (r TopStoresReport) sortArrow(col fleet.RankBy) string {
	if r.activeSort() != col {
		return ""
	}
	if r.Desc {
		return "▼"
	}
	return "▲"
}

// ariaSort is the th's aria-sort value, "" when not sorted by it.
func (r TopStoresReport) ariaSort(col fleet.RankBy) string {
	if r.activeSort() != col {
		return ""
	}
	if r.Desc {
		return "descending"
	}
	return "ascending"
}

// keepsOrder reports whether the month form must carry sort and desc.
func (r TopStoresReport) keepsOrder() bool {
	return r.Sort != "" && (r.Sort != fleet.DefaultRankBy || r.Desc != r.Sort.DescByDefault())
}

// newestFirst returns days in reverse: tables put the latest day on top,
// while the models (and charts) run oldest first.
func newestFirst[T any](days []T) []T {
	out := make([]T, len(days))
	for i, d := range days {
		out[len(days)-1-i] = d
	}
	return out
}

// activityChart is orders and active carts per day.
func activityChart(days []DayActivity) components.ChartSpec {
	spec := components.ChartSpec{
		Title: "Orders and active carts per day",
		X:     make([]string, len(days)),
		Series: []components.ChartSeries{
			{Label: "Orders", Values: make([]float64, len(days))},
			{Label: "Active carts", Values: make([]float64, len(days))},
		},
	}
	for i, d := range days {
		spec.X[i] = d.Date
		spec.Series[0].Values[i] = float64(d.Orders)
		spec.Series[1].Values[i] = float64(d.ActiveCarts)
	}
	return spec
}

// averageChart is the average revenue per store per day.
func averageChart(days []DayAverage, currency string) components.ChartSpec {
	spec := components.ChartSpec{
		Title:    "Average revenue per store per day",
		X:        make([]string, len(days)),
		Series:   []components.ChartSeries{{Label: "Average per store", Values: make([]float64, len(days)), Money: true}},
		Currency: currency,
	}
	for i, d := range days {
		spec.X[i] = d.Date
		spec.Series[0].Values[i] = d.Average
	}
	return spec
}

// historyChart is a tenant's revenue and orders per day.
func historyChart(days []DayActivity, currency string) components.ChartSpec {
	spec := components.ChartSpec{
		Title: "Revenue and orders per day",
		X:     make([]string, len(days)),
		Series: []components.ChartSeries{
			{Label: "Revenue", Values: make([]float64, len(days)), Money: true},
			{Label: "Orders", Values: make([]float64, len(days))},
		},
		Currency: currency,
	}
	for i, d := range days {
		spec.X[i] = d.Date
		spec.Series[0].Values[i] = float64(d.Revenue)
		spec.Series[1].Values[i] = float64(d.Orders)
	}
	return spec
}

// noActivity reports whether days hold nothing worth a chart: no day, or
// only zeros.
func noActivity(days []DayActivity) bool {
	for _, d := range days {
		if d.Stores != 0 || d.Orders != 0 || d.Revenue != 0 || d.ActiveCarts != 0 || d.NewProducts != 0 {
			return false
		}
	}
	return true
}

// rangeSummary is an average revenue report's whole range.
type rangeSummary struct {
	Revenue   int64   // minor units
	StoreDays int64   // stores with metrics, summed over the days
	Average   float64 // revenue per store-day, minor units
}

func (r AverageRevenueReport) summary() rangeSummary {
	var s rangeSummary
	for _, d := range r.Days {
		s.Revenue += d.Revenue
		s.StoreDays += d.Stores
	}
	if s.StoreDays > 0 {
		s.Average = float64(s.Revenue) / float64(s.StoreDays)
	}
	return s
}

// money formats minor units in the page's currency.
func money(cents int64, currency string) string { return components.Money(cents, currency) }

// tileValue is a tile's figure: money or a count.
func tileValue(t Tile, v int64, currency string) string {
	if t.Money {
		return money(v, currency)
	}
	return components.Int(v)
}

// tileValueClass makes long figures (a month's revenue with its cents)
// smaller, so five tiles fit across without breaking a number.
func tileValueClass(value string) string {
	if utf8.RuneCountInString(value) > 12 {
		return "tile-value tile-value-long"
	}
	return "tile-value"
}

// dayRange is "2026-11-01 – 2026-11-22", or one day.
func dayRange(from, to string) string {
	if from == to {
		return from
	}
	return from + " – " + to
}

// shortDays is "1–3 Dec", "3 Dec" for one day, or "30 Nov – 2 Dec" across
// months; the raw values if they are not days.
func shortDays(from, to string) string {
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	switch {
	case err1 != nil || err2 != nil:
		return dayRange(from, to)
	case f.Equal(t):
		return t.Format("2 Jan")
	case f.Year() == t.Year() && f.Month() == t.Month():
		return f.Format("2") + "\u2013" + t.Format("2 Jan")
	}
	return f.Format("2 Jan") + " \u2013 " + t.Format("2 Jan")
}

// prevLabel names the days a store's revenue is compared with: "the month
// before", or the days of it while the month is in progress.
func (r TopStoresReport) prevLabel() string {
	if r.InProgress && r.PrevFrom != "" {
		return shortDays(r.PrevFrom, r.PrevTo)
	}
	return "the month before"
}

// compareNote is the footer's sentence on what the change compares.
func (r TopStoresReport) compareNote() string {
	if r.InProgress && r.CompareFrom != "" {
		return "Change compares " + shortDays(r.CompareFrom, r.CompareTo) + " with " + shortDays(r.PrevFrom, r.PrevTo) +
			", the same days of " + monthLabel(r.PrevMonth) + "; \u201cnew\u201d stores had no metrics then. Days are UTC."
	}
	return "Change compares revenue with " + monthLabel(r.PrevMonth) + "; \u201cnew\u201d stores had no metrics then. Days are UTC."
}

// capitalize upper-cases the first letter of a label.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return strings.ToUpper(string(r)) + s[n:]
}

// maxChartStores is how many of a page's stores its chart draws: past
// that, bars get too thin to read; the table has them all.
const maxChartStores = 50

// chartRows is the page's stores the chart draws.
func (r TopStoresReport) chartRows() []TopStoreRow {
	return r.Rows[:min(len(r.Rows), maxChartStores)]
}

// measure is what the chart shows for the order of the page: the sorted
// column, or revenue when sorted by name.
func (r TopStoresReport) measure() string {
	switch r.activeSort() {
	case fleet.RankByOrders:
		return "Orders"
	case fleet.RankByAOV:
		return "Average order value"
	case fleet.RankByChange:
		return "Change against " + r.prevLabel()
	}
	return "Revenue"
}

// topStoresChart is a bar per store of the page, in the page's order, of
// the measure it is sorted by. A store without a change has no bar.
func topStoresChart(r TopStoresReport, currency string) components.ChartSpec {
	rows := r.chartRows()
	s := components.ChartSeries{Label: r.measure(), Values: make([]float64, len(rows))}
	spec := components.ChartSpec{Title: s.Label + " by store", X: make([]string, len(rows)), Bars: true, Currency: currency,
		Height: 48 + 28*len(rows)}
	sort := r.activeSort()
	s.Money = sort == fleet.RankByRevenue || sort == fleet.RankByAOV || sort == fleet.RankByName
	s.Percent = sort == fleet.RankByChange
	for i, row := range rows {
		spec.X[i] = row.Name
		switch sort {
		case fleet.RankByOrders:
			s.Values[i] = float64(row.Orders)
		case fleet.RankByAOV:
			s.Values[i] = row.AverageOrder()
		case fleet.RankByChange:
			s.Values[i] = math.NaN()
			if pct, ok := row.Change(); ok {
				s.Values[i] = pct
			}
		default:
			s.Values[i] = float64(row.Revenue)
		}
	}
	spec.Series = []components.ChartSeries{s}
	return spec
}
