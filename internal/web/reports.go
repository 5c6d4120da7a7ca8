package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/views/pages"
	"golang.org/x/sync/singleflight"
)

// The reports read the rollups each collection keeps exact, and keep what
// they computed until the next collection changes the metrics (the
// central database's metrics generation, read on every request, so every
// replica sees a change at once): numbers are never stale, and a page
// costs one small query when nothing changed.

// reportCache holds computed report models and their rendered fragments
// by key and metrics generation.
type reportCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	flight  singleflight.Group
}

type cacheEntry struct {
	gen int64
	val any
}

// reportCacheMax bounds the cache; past it, it starts over.
const reportCacheMax = 4096

// cached returns the report under key for the metrics generation gen,
// computing it at most once per generation however many requests ask at
// the same moment. The caller reads the generation once per request, so
// the parts of a page agree.
func cached[T any](s *Server, ctx context.Context, gen int64, key string, compute func(context.Context) (T, error)) (T, error) {
	var zero T
	rc := &s.reports
	rc.mu.Lock()
	e, ok := rc.entries[key]
	rc.mu.Unlock()
	if ok && e.gen == gen {
		return e.val.(T), nil
	}
	v, err, _ := rc.flight.Do(strconv.FormatInt(gen, 10)+"\x00"+key, func() (any, error) {
		// Others may be waiting on this: one client going away must not
		// fail them.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		v, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		rc.mu.Lock()
		if rc.entries == nil || len(rc.entries) >= reportCacheMax {
			rc.entries = make(map[string]cacheEntry)
		}
		rc.entries[key] = cacheEntry{gen: gen, val: v}
		rc.mu.Unlock()
		return v, nil
	})
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

func (s *Server) reportRoutes(g *echo.Group) {
	g.GET("/reports", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/reports/top-stores") })
	for path, h := range map[string]func(echo.Context, bool) error{
		"/reports/top-stores":      s.handleTopStores,
		"/reports/daily-activity":  s.handleDailyActivity,
		"/reports/average-revenue": s.handleAverageRevenue,
	} {
		s.splicedRoute(g, path, func(c echo.Context) error { return h(c, false) })
		g.GET(path+".csv", func(c echo.Context) error { return h(c, true) })
	}
}

// today is the current UTC day.
func (s *Server) today() time.Time { return s.Now().UTC().Truncate(24 * time.Hour) }

func day(t time.Time) string { return t.Format(fleet.DayLayout) }

// reportRange reads from and to; neither means the last 30 days.
func (s *Server) reportRange(c echo.Context) (from, to time.Time, err error) {
	f, t := c.QueryParam("from"), c.QueryParam("to")
	today := s.today()
	switch {
	case f == "" && t == "":
		return today.AddDate(0, 0, -29), today, nil
	case f == "" || t == "":
		return from, to, fleet.Errorf(fleet.EINVALID, "Give both from and to (YYYY-MM-DD), or neither for the last 30 days.")
	}
	return fleet.ParseRange(f, t)
}

// dateRange is the range picker's model: the range and its presets.
func (s *Server) dateRange(from, to time.Time) pages.DateRange {
	today := s.today()
	r := pages.DateRange{From: day(from), To: day(to)}
	add := func(label string, f time.Time) {
		r.Presets = append(r.Presets, pages.Preset{Label: label, From: day(f), To: day(today), Active: f.Equal(from) && today.Equal(to)})
	}
	add("7 days", today.AddDate(0, 0, -6))
	add("30 days", today.AddDate(0, 0, -29))
	add("90 days", today.AddDate(0, 0, -89))
	add("This month", today.AddDate(0, 0, 1-today.Day()))
	return r
}

// padDays returns one DayActivity per day from..to, zeros where there is
// no row.
func padDays(from, to time.Time, rows []central.DayTotals) []pages.DayActivity {
	by := make(map[string]central.DayTotals, len(rows))
	for _, r := range rows {
		by[r.Date] = r
	}
	var out []pages.DayActivity
	for _, d := range fleet.Days(from, to) {
		r := by[d]
		out = append(out, pages.DayActivity{Date: d, Stores: r.Stores, Orders: r.Orders, Revenue: r.Revenue,
			ActiveCarts: r.ActiveCarts, NewProducts: r.NewProducts})
	}
	return out
}

func (s *Server) dailyActivity(ctx context.Context, gen int64, from, to time.Time) (pages.DailyActivityReport, error) {
	return cached(s, ctx, gen, "daily\x00"+day(from)+"\x00"+day(to), func(ctx context.Context) (pages.DailyActivityReport, error) {
		rows, err := s.DB.DailyTotals(ctx, day(from), day(to))
		if err != nil {
			return pages.DailyActivityReport{}, err
		}
		days := padDays(from, to, rows)
		return pages.DailyActivityReport{Days: days, Total: pages.SumDays(days)}, nil
	})
}

func (s *Server) handleDailyActivity(c echo.Context, asCSV bool) error {
	from, to, err := s.reportRange(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	gen, err := s.DB.MetricsGeneration(ctx)
	if err != nil {
		return err
	}
	vm, err := s.dailyActivity(ctx, gen, from, to)
	if err != nil {
		return err
	}
	vm.Range = s.dateRange(from, to)
	type dayJSON struct {
		Date        string `json:"date"`
		Stores      int64  `json:"stores"`
		Orders      int64  `json:"platform_orders"`
		ActiveCarts int64  `json:"platform_active_carts"`
		Revenue     int64  `json:"total_revenue"`
		NewProducts int64  `json:"new_products"`
	}
	out := make([]dayJSON, len(vm.Days))
	for i, d := range vm.Days {
		out[i] = dayJSON{d.Date, d.Stores, d.Orders, d.ActiveCarts, d.Revenue, d.NewProducts}
	}
	switch {
	case asCSV:
		records := [][]string{{"date", "stores", "platform_orders", "platform_active_carts", "total_revenue", "new_products"}}
		for _, d := range out {
			records = append(records, []string{d.Date, i64(d.Stores), i64(d.Orders), i64(d.ActiveCarts), i64(d.Revenue), i64(d.NewProducts)})
		}
		return sendCSV(c, fmt.Sprintf("daily-activity-%s-%s.csv", vm.Range.From, vm.Range.To), records)
	case wantsJSON(c):
		return c.JSON(http.StatusOK, map[string]any{"from": vm.Range.From, "to": vm.Range.To, "days": out})
	}
	body, err := cachedFragment(s, ctx, gen, "daily\x00"+vm.Range.From+"\x00"+vm.Range.To+"\x00"+day(s.today()), func() templ.Component {
		return pages.DailyActivityBody(s.Currency, vm)
	})
	if err != nil {
		return err
	}
	return s.renderShell(c, http.StatusOK, s.page(c, "Daily activity", "reports"), body)
}

func (s *Server) handleAverageRevenue(c echo.Context, asCSV bool) error {
	from, to, err := s.reportRange(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	gen, err := s.DB.MetricsGeneration(ctx)
	if err != nil {
		return err
	}
	rows, err := cached(s, ctx, gen, "avg\x00"+day(from)+"\x00"+day(to), func(ctx context.Context) ([]central.DayAverage, error) {
		return s.DB.DailyAverages(ctx, day(from), day(to))
	})
	if err != nil {
		return err
	}
	vm := pages.AverageRevenueReport{Range: s.dateRange(from, to)}
	for _, r := range rows {
		vm.Days = append(vm.Days, pages.DayAverage{Date: r.Date, Stores: r.Stores, Revenue: r.Revenue, Average: r.Average})
	}
	switch {
	case asCSV:
		records := [][]string{{"date", "stores", "total_revenue", "avg_store_revenue"}}
		for _, d := range rows {
			records = append(records, []string{d.Date, i64(d.Stores), i64(d.Revenue), strconv.FormatFloat(d.Average, 'f', 2, 64)})
		}
		return sendCSV(c, fmt.Sprintf("average-revenue-%s-%s.csv", vm.Range.From, vm.Range.To), records)
	case wantsJSON(c):
		if rows == nil {
			rows = []central.DayAverage{}
		}
		return c.JSON(http.StatusOK, map[string]any{"from": vm.Range.From, "to": vm.Range.To, "days": rows})
	}
	body, err := cachedFragment(s, ctx, gen, "avg\x00"+vm.Range.From+"\x00"+vm.Range.To+"\x00"+day(s.today()), func() templ.Component {
		return pages.AverageRevenueBody(s.Currency, vm)
	})
	if err != nil {
		return err
	}
	return s.renderShell(c, http.StatusOK, s.page(c, "Average revenue per store", "reports"), body)
}

// TopStoresPageSize is how many stores a page of the ranking shows, as
// the seed's "top 10"; per= asks for up to MaxTopStoresPage.
const (
	TopStoresPageSize = 10
	MaxTopStoresPage  = 500
	maxCSVRows        = 1_000_000
)

type topStoresQuery struct {
	month     time.Time
	sort      string
	desc      bool
	page, per int
}

func (s *Server) parseTopStores(c echo.Context) (topStoresQuery, error) {
	q := topStoresQuery{month: s.today().AddDate(0, 0, 1-s.today().Day()), sort: "revenue", page: 1, per: TopStoresPageSize}
	if m := c.QueryParam("month"); m != "" {
		t, err := fleet.ParseMonth(m)
		if err != nil {
			return q, err
		}
		q.month = t
	}
	if v := c.QueryParam("sort"); v != "" {
		ok := false
		for _, s := range pages.TopStoresSorts {
			ok = ok || s == v
		}
		if !ok {
			return q, fleet.Errorf(fleet.EINVALID, "Cannot sort by %q: use revenue, orders, aov, change or name.", fleet.Truncate(v, 20))
		}
		q.sort = v
	}
	q.desc = q.sort != "name"
	if v := c.QueryParam("desc"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return q, fleet.Errorf(fleet.EINVALID, "desc must be true or false, not %q.", fleet.Truncate(v, 20))
		}
		q.desc = b
	}
	var err error
	if q.page, err = intParam(c, "page", 1, 1, 1_000_000); err != nil {
		return q, err
	}
	if q.per, err = intParam(c, "per", TopStoresPageSize, 1, MaxTopStoresPage); err != nil {
		return q, err
	}
	return q, nil
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fleet.Errorf(fleet.EINVALID, "%s must be a whole number from %d to %d, not %q.", name, lo, hi, fleet.Truncate(v, 20))
	}
	return n, nil
}

func (q topStoresQuery) key() string {
	return fmt.Sprintf("top\x00%s\x00%s\x00%t\x00%d\x00%d", q.month.Format(fleet.MonthLayout), q.sort, q.desc, q.page, q.per)
}

func (s *Server) topStores(ctx context.Context, gen int64, q topStoresQuery) (pages.TopStoresReport, error) {
	month, prev := q.month.Format(fleet.MonthLayout), q.month.AddDate(0, -1, 0).Format(fleet.MonthLayout)
	return cached(s, ctx, gen, q.key(), func(ctx context.Context) (pages.TopStoresReport, error) {
		rows, total, err := s.DB.MonthRanking(ctx, month, prev, q.sort, q.desc, q.per, (q.page-1)*q.per)
		if err != nil {
			return pages.TopStoresReport{}, err
		}
		vm := pages.TopStoresReport{Month: month, PrevMonth: prev, Sort: q.sort, Desc: q.desc, Page: q.page, PageSize: q.per, Total: total}
		for i, r := range rows {
			vm.Rows = append(vm.Rows, pages.TopStoreRow{Rank: (q.page-1)*q.per + i + 1, Name: r.Name, Revenue: r.Revenue,
				Orders: r.Orders, PrevRevenue: r.PrevRevenue, HasPrev: r.HasPrev})
		}
		return vm, nil
	})
}

func (s *Server) handleTopStores(c echo.Context, asCSV bool) error {
	q, err := s.parseTopStores(c)
	if err != nil {
		return err
	}
	if asCSV { // the whole ranking, in the order asked for
		q.page, q.per = 1, maxCSVRows
	}
	ctx := c.Request().Context()
	gen, err := s.DB.MetricsGeneration(ctx)
	if err != nil {
		return err
	}
	vm, err := s.topStores(ctx, gen, q)
	if err != nil {
		return err
	}
	if next := q.month.AddDate(0, 1, 0); !next.After(s.today()) {
		vm.NextMonth = next.Format(fleet.MonthLayout)
	}
	type storeJSON struct {
		Rank         int      `json:"rank"`
		Name         string   `json:"database_name"`
		Revenue      int64    `json:"revenue"`
		Orders       int64    `json:"orders"`
		AverageOrder float64  `json:"average_order_value"`
		PrevRevenue  *int64   `json:"previous_revenue"`
		ChangePct    *float64 `json:"change_pct"`
	}
	out := make([]storeJSON, len(vm.Rows))
	for i, r := range vm.Rows {
		out[i] = storeJSON{Rank: r.Rank, Name: r.Name, Revenue: r.Revenue, Orders: r.Orders, AverageOrder: r.AverageOrder()}
		if r.HasPrev {
			out[i].PrevRevenue = &vm.Rows[i].PrevRevenue
		}
		if pct, ok := r.Change(); ok {
			out[i].ChangePct = &pct
		}
	}
	switch {
	case asCSV:
		records := [][]string{{"rank", "database_name", "revenue", "orders", "average_order_value", "previous_revenue", "change_pct"}}
		for _, r := range out {
			prev, change := "", ""
			if r.PrevRevenue != nil {
				prev = i64(*r.PrevRevenue)
			}
			if r.ChangePct != nil {
				change = strconv.FormatFloat(*r.ChangePct, 'f', 2, 64)
			}
			records = append(records, []string{strconv.Itoa(r.Rank), r.Name, i64(r.Revenue), i64(r.Orders),
				strconv.FormatFloat(r.AverageOrder, 'f', 2, 64), prev, change})
		}
		return sendCSV(c, "top-stores-"+vm.Month+".csv", records)
	case wantsJSON(c):
		return c.JSON(http.StatusOK, map[string]any{"month": vm.Month, "sort": vm.Sort, "desc": vm.Desc, "page": vm.Page,
			"per_page": vm.PageSize, "total": vm.Total, "stores": out})
	}
	body, err := cachedFragment(s, ctx, gen, q.key()+"\x00"+day(s.today()), func() templ.Component {
		return pages.TopStoresBody(s.Currency, vm)
	})
	if err != nil {
		return err
	}
	return s.renderShell(c, http.StatusOK, s.page(c, "Top stores", "reports"), body)
}

// dashboard is the metrics part of the overview: today against
// yesterday, the month so far against the same days of the month before,
// the last 30 days and this month's top 10.
func (s *Server) dashboard(ctx context.Context, gen int64) (pages.Dashboard, error) {
	today := s.today()
	return cached(s, ctx, gen, "dashboard\x00"+day(today), func(ctx context.Context) (pages.Dashboard, error) {
		var d pages.Dashboard
		has, err := s.DB.HasMetrics(ctx)
		if err != nil || !has {
			return d, err
		}
		d.HasMetrics = true
		monthFrom := today.AddDate(0, 0, 1-today.Day())
		prevFrom := monthFrom.AddDate(0, -1, 0)
		prevTo := prevFrom.AddDate(0, 0, today.Day()-1)
		if last := monthFrom.AddDate(0, 0, -1); prevTo.After(last) {
			prevTo = last // March 31st compares with all of February
		}
		d.Today, d.Month = day(today), today.Format(fleet.MonthLayout)
		d.MonthFrom, d.PrevFrom, d.PrevTo = day(monthFrom), day(prevFrom), day(prevTo)

		yesterday := today.AddDate(0, 0, -1)
		if d.TodayTiles, err = s.tiles(ctx, today, today, yesterday, yesterday); err != nil {
			return d, err
		}
		for i := range d.TodayTiles {
			d.TodayTiles[i].Partial, d.TodayTiles[i].PrevLabel = true, "yesterday"
		}
		if d.MonthTiles, err = s.tiles(ctx, monthFrom, today, prevFrom, prevTo); err != nil {
			return d, err
		}
		actFrom := today.AddDate(0, 0, -29)
		act, err := s.DB.DailyTotals(ctx, day(actFrom), day(today))
		if err != nil {
			return d, err
		}
		d.Activity, d.ActivityFrom, d.ActivityTo = padDays(actFrom, today, act), day(actFrom), day(today)
		top, err := s.topStores(ctx, gen, topStoresQuery{month: monthFrom, sort: "revenue", desc: true, page: 1, per: 10})
		if err != nil {
			return d, err
		}
		d.TopStores = top.Rows
		return d, nil
	})
}

// tiles sums the days from..to against prevFrom..prevTo.
func (s *Server) tiles(ctx context.Context, from, to, prevFrom, prevTo time.Time) ([]pages.Tile, error) {
	sum := func(f, t time.Time) (pages.DayActivity, bool, error) {
		rows, err := s.DB.DailyTotals(ctx, day(f), day(t))
		if err != nil {
			return pages.DayActivity{}, false, err
		}
		return pages.SumDays(padDays(f, t, rows)), len(rows) > 0, nil
	}
	cur, _, err := sum(from, to)
	if err != nil {
		return nil, err
	}
	prev, hasPrev, err := sum(prevFrom, prevTo)
	if err != nil {
		return nil, err
	}
	active, err := s.DB.ActiveStores(ctx, day(from), day(to))
	if err != nil {
		return nil, err
	}
	prevActive, err := s.DB.ActiveStores(ctx, day(prevFrom), day(prevTo))
	if err != nil {
		return nil, err
	}
	tile := func(label string, money bool, v, p int64) pages.Tile {
		return pages.Tile{Label: label, Money: money, Value: v, Prev: p, HasPrev: hasPrev}
	}
	return []pages.Tile{
		tile("Revenue", true, cur.Revenue, prev.Revenue),
		tile("Orders", false, cur.Orders, prev.Orders),
		tile("Active carts", false, cur.ActiveCarts, prev.ActiveCarts),
		tile("New products", false, cur.NewProducts, prev.NewProducts),
		tile("Active stores", false, active, prevActive),
	}, nil
}

// tenantHistory is a tenant's own last 90 days, rendered.
func (s *Server) tenantHistory(ctx context.Context, name string) (templ.Component, error) {
	gen, err := s.DB.MetricsGeneration(ctx)
	if err != nil {
		return nil, err
	}
	to := s.today()
	from := to.AddDate(0, 0, -89)
	return cached(s, ctx, gen, "tenant\x00"+name+"\x00"+day(to), func(ctx context.Context) (templ.Component, error) {
		rows, err := s.DB.TenantMetrics(ctx, name, day(from), day(to))
		if err != nil {
			return nil, err
		}
		totals := make([]central.DayTotals, len(rows))
		for i, m := range rows {
			totals[i] = central.DayTotals{Date: m.Date, Stores: 1, Orders: m.Orders, Revenue: m.Revenue, ActiveCarts: m.ActiveCarts, NewProducts: m.NewProducts}
		}
		h := pages.TenantHistory{From: day(from), To: day(to), Days: padDays(from, to, totals)}
		h.Total = pages.SumDays(h.Days)
		return newFragment(ctx, pages.TenantHistoryCard(s.Currency, h))
	})
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// sendCSV answers with a CSV download. Cells a spreadsheet would run as a
// formula are neutralised (console.CSVCell: store names are tenants'
// choosing; numbers, negative ones included, stay numbers) unless raw=1.
func sendCSV(c echo.Context, filename string, records [][]string) error {
	if c.QueryParam("raw") != "1" {
		for _, r := range records {
			for i, cell := range r {
				r[i] = console.CSVCell(cell)
			}
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(records); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, "attachment; filename="+strconv.Quote(filename))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
