package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/reports"
)

func (s *Server) reportRoutes(g *echo.Group) {
	g.GET("/reports/top-stores", s.handleTopStores)
	g.GET("/reports/daily-activity", s.handleDailyActivity)
	g.GET("/reports/average-revenue", s.handleAverageRevenue)
}

// The reports take the pages' parameters and answer what the pages
// answer as JSON: the same service computes both.

func (s *Server) handleTopStores(c echo.Context) error {
	q, err := reports.ParseTopStores(c.QueryParams(), s.Reports.Today())
	if err != nil {
		return err
	}
	r, err := s.Reports.TopStores(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) handleDailyActivity(c echo.Context) error {
	from, to, err := reports.ParseRange(c.QueryParams(), s.Reports.Today())
	if err != nil {
		return err
	}
	r, err := s.Reports.DailyActivity(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) handleAverageRevenue(c echo.Context) error {
	from, to, err := reports.ParseRange(c.QueryParams(), s.Reports.Today())
	if err != nil {
		return err
	}
	r, err := s.Reports.AverageRevenue(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
