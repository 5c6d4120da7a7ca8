package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/internal/reports"
	"github.com/tenantry/tenantry/views/pages"
)

// The report pages are a front over the reports service: a handler parses
// the parameters with it, asks it for the report and answers the typed
// result as JSON or CSV, or maps it to the page's view model. The page's
// body is kept rendered and compressed under the result's metrics
// generation (cachedFragment), as the service keeps the result.

// maxCSVRows is how much of the ranking a CSV download holds: all of it.
const maxCSVRows = 1_000_000

func (s *Server) reportRoutes(g *echo.Group) {
	g.GET(paths.Reports, func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, paths.TopStores) })
	for path, h := range map[string]func(echo.Context, bool) error{
		paths.TopStores:      s.handleTopStores,
		paths.DailyActivity:  s.handleDailyActivity,
		paths.AverageRevenue: s.handleAverageRevenue,
	} {
		s.splicedRoute(g, path, func(c echo.Context) error { return h(c, false) })
		g.GET(paths.Export(path, "csv"), func(c echo.Context) error { return h(c, true) })
	}
}

// today is the current UTC day, by the central database's clock.
func (s *Server) today() time.Time { return s.Reports.Today() }

func day(t time.Time) string { return t.Format(fleet.DayLayout) }

// dateRange is the range picker's model: the range and its presets.
func dateRange(today, from, to time.Time) pages.DateRange {
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

func (s *Server) handleDailyActivity(c echo.Context, asCSV bool) error {
	today := s.today()
	from, to, err := reports.ParseRange(c.QueryParams(), today)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := s.Reports.DailyActivity(ctx, from, to)
	if err != nil {
		return err
	}
	switch {
	case asCSV:
		records := [][]string{{"date", "stores", "platform_orders", "platform_active_carts", "total_revenue", "new_products"}}
		for _, d := range r.Days {
			records = append(records, []string{d.Date, i64(d.Stores), i64(d.Orders), i64(d.ActiveCarts), i64(d.Revenue), i64(d.NewProducts)})
		}
		return sendCSV(c, fmt.Sprintf("daily-activity-%s-%s.csv", r.From, r.To), records)
	case wantsJSON(c):
		return c.JSON(http.StatusOK, r)
	}
	body, err := cachedFragment(s, ctx, r.Generation, "daily\x00"+r.From+"\x00"+r.To+"\x00"+day(today), func() templ.Component {
		days := dayViews(r.Days)
		return pages.DailyActivityBody(s.Currency, pages.DailyActivityReport{Range: dateRange(today, from, to), Days: days, Total: pages.SumDays(days)})
	})
	if err != nil {
		return err
	}
	return s.renderShell(c, http.StatusOK, s.page(c, "Daily activity", "reports"), body)
}

func (s *Server) handleAverageRevenue(c echo.Context, asCSV bool) error {
	today := s.today()
	from, to, err := reports.ParseRange(c.QueryParams(), today)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := s.Reports.AverageRevenue(ctx, from, to)
	if err != nil {
		return err
	}
	switch {
	case asCSV:
		records := [][]string{{"date", "stores", "total_revenue", "avg_store_revenue"}}
		for _, d := range r.Days {
			records = append(records, []string{d.Date, i64(d.Stores), i64(d.Revenue), strconv.FormatFloat(d.Average, 'f', 2, 64)})
		}
		return sendCSV(c, fmt.Sprintf("average-revenue-%s-%s.csv", r.From, r.To), records)
	case wantsJSON(c):
		return c.JSON(http.StatusOK, r)
	}
	body, err := cachedFragment(s, ctx, r.Generation, "avg\x00"+r.From+"\x00"+r.To+"\x00"+day(today), func() templ.Component {
		vm := pages.AverageRevenueReport{Range: dateRange(today, from, to)}
		for _, d := range r.Days {
			vm.Days = append(vm.Days, pages.DayAverage{Date: d.Date, Stores: d.Stores, Revenue: d.Revenue, Average: d.Average})
		}
		return pages.AverageRevenueBody(s.Currency, vm)
	})
	if err != nil {
		return err
	}
	return s.renderShell(c, http.StatusOK, s.page(c, "Average revenue per store", "reports"), body)
}

func (s *Server) handleTopStores(c echo.Context, asCSV bool) error {
	today := s.today()
	q, err := reports.ParseTopStores(c.QueryParams(), today)
	if err != nil {
		return err
	}
	if asCSV { // the whole ranking, in the order asked for
		q.Page, q.PerPage = 1, maxCSVRows
	}
	ctx := c.Request().Context()
	r, err := s.Reports.TopStores(ctx, q)
	if err != nil {
		return err
	}
	switch {
	case asCSV:
		records := [][]string{{"rank", "database_name", "revenue", "orders", "average_order_value", "previous_revenue", "change_pct"}}
		for _, st := range r.Stores {
			prev, change := "", ""
			if st.PrevRevenue != nil {
				prev = i64(*st.PrevRevenue)
			}
			if st.ChangePct != nil {
				change = strconv.FormatFloat(*st.ChangePct, 'f', 2, 64)
			}
			records = append(records, []string{strconv.Itoa(st.Rank), st.Name, i64(st.Revenue), i64(st.Orders),
				strconv.FormatFloat(st.AverageOrder, 'f', 2, 64), prev, change})
		}
		return sendCSV(c, "top-stores-"+r.Month+".csv", records)
	case wantsJSON(c):
		return c.JSON(http.StatusOK, r)
	}
	// The key holds today: whether there is a next month to link to.
	body, err := cachedFragment(s, ctx, r.Generation, q.Key()+"\x00"+day(today), func() templ.Component {
		return pages.TopStoresBody(s.Currency, pages.TopStoresReport{Month: r.Month, PrevMonth: r.PrevMonth, NextMonth: r.NextMonth,
			Sort: r.Sort, Desc: r.Desc, Page: r.Page, PageSize: r.PerPage, Total: r.Total, Rows: topStoreRows(r.Stores),
			CompareFrom: r.CompareFrom, CompareTo: r.CompareTo, PrevFrom: r.PrevFrom, PrevTo: r.PrevTo,
			InProgress: r.Month == today.Format(fleet.MonthLayout)})
	})
	if err != nil {
		return err
	}
	return s.renderShell(c, http.StatusOK, s.page(c, "Top stores", "reports"), body)
}

// tenantHistory is a tenant's own last 90 days, rendered.
func (s *Server) tenantHistory(ctx context.Context, name string) (templ.Component, error) {
	h, err := s.Reports.TenantHistory(ctx, name)
	if err != nil {
		return nil, err
	}
	return cachedFragment(s, ctx, h.Generation, "tenant\x00"+name+"\x00"+h.To, func() templ.Component {
		days := dayViews(h.Days)
		return pages.TenantHistoryCard(s.Currency, pages.TenantHistory{From: h.From, To: h.To, Days: days, Total: pages.SumDays(days)})
	})
}

// dashboardView is the overview's model of the dashboard.
func dashboardView(d reports.Dashboard) pages.Dashboard {
	if !d.HasMetrics {
		return pages.Dashboard{}
	}
	return pages.Dashboard{HasMetrics: true, Today: d.Today, Month: d.Month, MonthFrom: d.MonthFrom, PrevFrom: d.PrevFrom, PrevTo: d.PrevTo,
		TodayTiles: tileViews(d.TodayTiles), MonthTiles: tileViews(d.MonthTiles),
		Activity: dayViews(d.Activity), ActivityFrom: d.ActivityFrom, ActivityTo: d.ActivityTo,
		TopStores: topStoreRows(d.TopStores)}
}

func tileViews(ts []reports.Tile) []pages.Tile {
	if len(ts) == 0 {
		return nil
	}
	out := make([]pages.Tile, len(ts))
	for i, t := range ts {
		out[i] = pages.Tile{Label: t.Label, Money: t.Money, Value: t.Value, Prev: t.Prev, HasPrev: t.HasPrev, Partial: t.Partial, PrevLabel: t.PrevLabel}
	}
	return out
}

func dayViews(ds []reports.Day) []pages.DayActivity {
	if len(ds) == 0 {
		return nil
	}
	out := make([]pages.DayActivity, len(ds))
	for i, d := range ds {
		out[i] = pages.DayActivity{Date: d.Date, Stores: d.Stores, Orders: d.Orders, Revenue: d.Revenue,
			ActiveCarts: d.ActiveCarts, NewProducts: d.NewProducts}
	}
	return out
}

func topStoreRows(ss []reports.TopStore) []pages.TopStoreRow {
	if len(ss) == 0 {
		return nil
	}
	out := make([]pages.TopStoreRow, len(ss))
	for i, st := range ss {
		out[i] = pages.TopStoreRow{Rank: st.Rank, Name: st.Name, Revenue: st.Revenue, Orders: st.Orders}
		if st.PrevRevenue != nil {
			out[i].PrevRevenue, out[i].HasPrev = *st.PrevRevenue, true
		}
	}
	return out
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
