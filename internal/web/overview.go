package web

import (
	"context"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/internal/reports"
	"github.com/tenantry/tenantry/views/pages"
)

func (s *Server) overviewRoutes(g *echo.Group) {
	s.splicedRoute(g, paths.Overview, s.handleOverview)
}

func (s *Server) handleOverview(c echo.Context) error {
	ctx := c.Request().Context()
	counts, err := s.DB.CountTenants(ctx)
	if err != nil {
		return err
	}
	var vm pages.Overview
	for _, sc := range counts {
		vm.TotalTenants += sc.Count
		vm.TotalBytes += sc.Bytes
		vm.ByStatus = append(vm.ByStatus, pages.StatusCount{Status: sc.Status, Count: sc.Count})
	}
	js, err := s.DB.Jobs(ctx, central.JobFilter{Limit: 10})
	if err != nil {
		return err
	}
	for _, j := range js {
		vm.RecentJobs = append(vm.RecentJobs, jobRow(j))
	}
	var charts templ.Component
	if vm.TotalTenants > 0 {
		d, err := s.Reports.Dashboard(ctx)
		if err != nil {
			return err
		}
		// The view model is kept too: the overview is the busiest page.
		dv, err := reports.Cached(&s.fragments, ctx, d.Generation, "view\x00dashboard\x00"+d.Today, func(context.Context) (pages.Dashboard, error) {
			return dashboardView(d), nil
		})
		if err != nil {
			return err
		}
		vm.Dashboard = dv
		if charts, err = cachedFragment(s, ctx, d.Generation, "dashboard\x00"+d.Today, func() templ.Component {
			return pages.DashboardCharts(s.Currency, dv)
		}); err != nil {
			return err
		}
	}
	last, err := s.DB.LastRun(ctx)
	if err != nil {
		return err
	}
	if last != nil {
		row := runRow(*last, nil)
		vm.LastRun = &row
	}
	vm.Schedule = s.schedule()
	if vm.Snapshots, err = s.snapshotWarning(ctx); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, vm)
	}
	p := s.page(c, "Overview", "overview")
	return s.renderShell(c, http.StatusOK, p, pages.OverviewBody(p, vm, charts))
}
