package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/views/pages"
)

func (s *Server) auditRoutes(g *echo.Group) {
	g.GET("/audit", s.handleAudit)
}

func (s *Server) handleAudit(c echo.Context) error {
	f := central.AuditFilter{
		Actor:  fleet.Truncate(strings.TrimSpace(c.QueryParam("actor")), 200),
		Tenant: fleet.Truncate(strings.TrimSpace(c.QueryParam("tenant")), 100),
		Action: fleet.Truncate(strings.TrimSpace(c.QueryParam("action")), 100),
		Limit:  500,
	}
	es, err := s.DB.AuditLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		if es == nil {
			es = []fleet.AuditEntry{}
		}
		return c.JSON(http.StatusOK, es)
	}
	vm := pages.Audit{Actor: f.Actor, Tenant: f.Tenant, Action: f.Action}
	for _, e := range es {
		vm.Entries = append(vm.Entries, pages.AuditRow{At: e.At, Actor: e.Actor, Action: e.Action, Tenant: e.Tenant,
			Detail: e.Detail, Outcome: e.Outcome, Error: e.Error})
	}
	return render(c, http.StatusOK, pages.AuditPage(s.page(c, "Audit log", "audit"), vm))
}
