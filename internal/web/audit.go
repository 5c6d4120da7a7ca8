package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/pages"
)

// AuditPageSize is the number of audit entries per page; older ones are a
// link away.
const AuditPageSize = 500

func (s *Server) auditRoutes(g *echo.Group) {
	g.GET(paths.Audit, s.handleAudit)
}

// auditQuery reads the audit page's filters. Unlike the tenant list's
// shaping parameters, a bad date is refused: silently dropping it would
// show entries the user asked to exclude.
func auditQuery(c echo.Context) (central.AuditFilter, pages.Audit, error) {
	vm := pages.Audit{
		Actor:  fleet.Truncate(strings.TrimSpace(c.QueryParam("actor")), 200),
		Tenant: fleet.Truncate(strings.TrimSpace(c.QueryParam("tenant")), 100),
		Action: fleet.Truncate(strings.TrimSpace(c.QueryParam("action")), 100),
		From:   strings.TrimSpace(c.QueryParam("from")),
		To:     strings.TrimSpace(c.QueryParam("to")),
	}
	f := central.AuditFilter{Actor: vm.Actor, Tenant: vm.Tenant, Action: vm.Action, Limit: AuditPageSize + 1}
	if vm.From != "" {
		d, err := fleet.ParseDay(vm.From)
		if err != nil {
			return f, vm, fleet.Errorf(fleet.EINVALID, "From: %s", fleet.ErrorMessage(err))
		}
		f.From = d
	}
	if vm.To != "" {
		d, err := fleet.ParseDay(vm.To)
		if err != nil {
			return f, vm, fleet.Errorf(fleet.EINVALID, "To: %s", fleet.ErrorMessage(err))
		}
		f.Until = d.AddDate(0, 0, 1) // the whole day
	}
	if !f.From.IsZero() && !f.Until.IsZero() && !f.From.Before(f.Until) {
		return f, vm, fleet.Errorf(fleet.EINVALID, "The dates are the wrong way round: from %s is after to %s.", vm.From, vm.To)
	}
	if b := c.QueryParam("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return f, vm, fleet.Errorf(fleet.EINVALID, "%q is not an audit entry number to page back from.", fleet.Truncate(b, 30))
		}
		f.Before = n
	}
	return f, vm, nil
}

// auditURL is the audit page with vm's filters, before entry id if not 0.
func auditURL(vm pages.Audit, before int64) string {
	q := url.Values{}
	for k, v := range map[string]string{"actor": vm.Actor, "tenant": vm.Tenant, "action": vm.Action, "from": vm.From, "to": vm.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	return paths.WithQuery(paths.Audit, q)
}

func (s *Server) handleAudit(c echo.Context) error {
	f, vm, err := auditQuery(c)
	if err != nil {
		if wantsJSON(c) {
			return err
		}
		vm.Error = fleet.ErrorMessage(err)
		return render(c, fleet.HTTPStatus(fleet.ErrorCode(err)), pages.AuditPage(s.page(c, "Audit log", "audit"), vm))
	}
	es, err := s.DB.AuditLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if len(es) > AuditPageSize {
		es = es[:AuditPageSize]
		vm.Older = auditURL(vm, es[len(es)-1].ID)
	}
	if f.Before > 0 {
		vm.Newest = auditURL(vm, 0)
	}
	if wantsJSON(c) {
		// The answer stays a plain array; the next page back is a Link.
		if vm.Older != "" {
			c.Response().Header().Set("Link", "<"+vm.Older+`>; rel="next"`)
		}
		if es == nil {
			es = []fleet.AuditEntry{}
		}
		return c.JSON(http.StatusOK, es)
	}
	for _, e := range es {
		vm.Entries = append(vm.Entries, pages.AuditRow{At: e.At, Actor: e.Actor, Action: e.Action, Tenant: e.Tenant,
			Detail: e.Detail, Outcome: e.Outcome, Error: e.Error})
	}
	return render(c, http.StatusOK, pages.AuditPage(s.page(c, "Audit log", "audit"), vm))
}
