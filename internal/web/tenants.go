package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/views/pages"
)

// PageSize is the number of tenants per registry page.
const PageSize = 50

func (s *Server) tenantRoutes(g *echo.Group) {
	g.GET(paths.Tenants, s.handleTenantList)
	g.POST(paths.Tenants, s.handleTenantCreate, requireAdmin)
	g.POST(paths.TenantsRescan, s.handleTenantRescan, requireAdmin)
	s.splicedRoute(g, paths.TenantRoute, s.handleTenantShow)
	g.POST(paths.TenantCloneRoute, s.handleTenantClone, requireAdmin)
	g.POST(paths.TenantDeleteRoute, s.handleTenantDelete, requireAdmin)
	g.POST(paths.TenantRestoreRoute, s.handleTenantRestore, requireAdmin)
	g.GET(paths.TenantExportRoute, s.handleTenantExport)
	g.GET(paths.TenantUsageRoute, s.handleTenantUsage)
}

func (s *Server) tenantRow(t fleet.Tenant) pages.TenantRow {
	set := s.schemaSet()
	return pages.TenantRow{Name: t.Name, Status: t.Status, SchemaVersion: t.SchemaVersion, LatestVersion: set.Latest(),
		Pending: len(set.After(t.SchemaVersion)), SizeBytes: t.SizeBytes, URL: t.URL, Parent: t.Parent, CreatedAt: t.CreatedAt,
		LastWriteAt: t.LastWriteAt, ArchivedAt: t.ArchivedAt, Error: t.Error, JobID: t.JobID,
		Orders30d: t.Orders30d, Revenue30d: t.Revenue30d, LastOrderDate: deref(t.LastOrderDate), OrdersDaily: t.OrdersDaily}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// listFilter reads the registry page's query; bad values fall back to
// defaults rather than failing, since they only shape the view.
func listFilter(c echo.Context) pages.TenantList {
	l := pages.TenantList{
		Query:    strings.TrimSpace(c.QueryParam("q")),
		Status:   c.QueryParam("status"),
		Sort:     c.QueryParam("sort"),
		Desc:     c.QueryParam("desc") == "1",
		Page:     1,
		PageSize: PageSize,
		Statuses: fleet.Statuses,
	}
	if n, err := strconv.Atoi(c.QueryParam("page")); err == nil && n > 0 && n < 1_000_000 {
		l.Page = n
	}
	valid := false
	for _, st := range fleet.Statuses {
		valid = valid || st == l.Status
	}
	if !valid {
		l.Status = ""
	}
	valid = false
	for _, col := range central.SortColumns {
		valid = valid || col == l.Sort
	}
	if !valid {
		l.Sort = "name"
	}
	l.Query = fleet.Truncate(l.Query, 100)
	return l
}

// tenantList fills one page of the registry; it also returns the page's
// tenants as the registry has them, for JSON clients.
func (s *Server) tenantList(c echo.Context, l pages.TenantList) (pages.TenantList, []fleet.Tenant, error) {
	ctx := c.Request().Context()
	rows, total, err := s.DB.ListTenants(ctx, central.TenantFilter{Query: l.Query, Status: l.Status, Sort: l.Sort,
		Desc: l.Desc, Limit: l.PageSize, Offset: (l.Page - 1) * l.PageSize})
	if err != nil {
		return l, nil, err
	}
	l.Total = total
	for _, t := range rows {
		l.Rows = append(l.Rows, s.tenantRow(t))
	}
	l.LastScan = s.DB.LastScan(ctx)
	l.Unadoptable = unadoptableView(s.Lifecycle.Unadoptable())
	return l, rows, nil
}

// tenantListJSON is a page of the registry for JSON clients.
type tenantListJSON struct {
	Tenants  []fleet.Tenant `json:"tenants"`
	Total    int64          `json:"total"`
	Page     int            `json:"page"`
	PageSize int            `json:"page_size"`
}

func (s *Server) handleTenantList(c echo.Context) error {
	l, rows, err := s.tenantList(c, listFilter(c))
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		if rows == nil {
			rows = []fleet.Tenant{}
		}
		return c.JSON(http.StatusOK, tenantListJSON{Tenants: rows, Total: l.Total, Page: l.Page, PageSize: l.PageSize})
	}
	return render(c, http.StatusOK, pages.TenantsPage(s.page(c, "Tenants", "tenants"), l))
}

// accepted answers a queued job: JSON clients get the job, browsers go to
// its progress page.
func (s *Server) accepted(c echo.Context, j *fleet.Job) error {
	if wantsJSON(c) {
		return c.JSON(http.StatusAccepted, j)
	}
	return c.Redirect(http.StatusSeeOther, paths.Job(j.ID))
}

func (s *Server) handleTenantCreate(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	j, err := s.Lifecycle.Create(c.Request().Context(), actor(c), name)
	if err != nil {
		if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
			return err
		}
		l, _, lerr := s.tenantList(c, listFilter(c))
		if lerr != nil {
			return lerr
		}
		l.CreateName, l.CreateError = fleet.Truncate(name, 100), fleet.ErrorMessage(err)
		return render(c, fleet.HTTPStatus(fleet.ErrorCode(err)), pages.TenantsPage(s.page(c, "Tenants", "tenants"), l))
	}
	return s.accepted(c, j)
}

func (s *Server) handleTenantRescan(c echo.Context) error {
	res, err := s.Lifecycle.Rescan(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Registry rescanned: %d adopted, %d missing, %d back.", len(res.Adopted), len(res.Missing), len(res.Reappeared))
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, res)
	}
	s.setFlash(c, "success", msg)
	return c.Redirect(http.StatusSeeOther, paths.Tenants)
}

// tenantParam validates the :name path parameter.
func tenantParam(c echo.Context) (string, error) {
	name := c.Param("name")
	if err := fleet.ValidateName(name); err != nil {
		return "", fleet.Errorf(fleet.ENOTFOUND, "No tenant named %q.", fleet.Truncate(name, 70))
	}
	return name, nil
}

// tenantPlatform is what the tenant page says of the platform, so that it
// offers only what the platform can do and says truthfully what a delete
// does.
func (s *Server) tenantPlatform() pages.TenantPlatform {
	p := s.Lifecycle.Platform()
	caps := p.Caps()
	_, usage := p.(platform.UsageReporter)
	return pages.TenantPlatform{Name: p.Name(), PointInTime: caps.PointInTime, NoPointInTime: caps.NoPointInTime,
		DeleteIsFinal: !caps.Restore, Usage: usage, Snapshots: s.snapshotsOn()}
}

func (s *Server) tenantDetail(c echo.Context, name string) (pages.TenantDetail, *fleet.Tenant, error) {
	ctx := c.Request().Context()
	t, err := s.DB.Tenant(ctx, name)
	if err != nil {
		return pages.TenantDetail{}, nil, err
	}
	js, err := s.DB.Jobs(ctx, central.JobFilter{Tenant: name, Limit: 20})
	if err != nil {
		return pages.TenantDetail{}, nil, err
	}
	vm := pages.TenantDetail{Tenant: s.tenantRow(*t), Platform: s.tenantPlatform()}
	for _, j := range js {
		vm.Jobs = append(vm.Jobs, jobRow(j))
	}
	if vm.Snapshots, err = s.tenantSnapshots(ctx, t); err != nil {
		return pages.TenantDetail{}, nil, err
	}
	return vm, t, nil
}

func (s *Server) handleTenantShow(c echo.Context) error {
	name, err := tenantParam(c)
	if err != nil {
		return err
	}
	vm, t, err := s.tenantDetail(c, name)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, t)
	}
	// A snapshot's Branch button: the branch form set to its time.
	if at := c.QueryParam("at"); at != "" {
		vm.CloneAt = branchAt(at)
	}
	return s.renderTenant(c, http.StatusOK, name, vm)
}

// tenantFormError re-renders a tenant's page with an inline error in the
// form that was sent. When the tenant's status no longer shows that form
// (a second restore click, a delete while deleting), the message goes to
// the top of the tenant's page instead (see refusedAction): a refusal is
// never a bare status code.
func (s *Server) tenantFormError(c echo.Context, name string, err error, set func(*pages.TenantDetail, string)) error {
	if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
		return err
	}
	vm, t, verr := s.tenantDetail(c, name)
	if verr != nil {
		return verr // the tenant itself is unknown: its 404 says more
	}
	if set == nil || t.Status != fleet.StatusReady {
		return s.refusedAction(c, name, err)
	}
	set(&vm, fleet.ErrorMessage(err))
	return s.renderTenant(c, fleet.HTTPStatus(fleet.ErrorCode(err)), name, vm)
}

// refusedAction answers a refused form post with the message as an error
// flash on the tenant's page: a redirect for a plain form, HX-Redirect
// (with the refusal's status) for htmx, which would otherwise drop an
// error response silently.
func (s *Server) refusedAction(c echo.Context, name string, err error) error {
	s.setFlash(c, "error", fleet.ErrorMessage(err))
	to := paths.Tenant(name)
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(fleet.HTTPStatus(fleet.ErrorCode(err)))
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// renderTenant renders a tenant's page with its metrics history.
func (s *Server) renderTenant(c echo.Context, status int, name string, vm pages.TenantDetail) error {
	history, err := s.tenantHistory(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return render(c, status, pages.TenantPage(s.page(c, name, "tenants"), vm, history))
}

func (s *Server) handleTenantClone(c echo.Context) error {
	src, err := tenantParam(c)
	if err != nil {
		return err
	}
	dst := strings.TrimSpace(c.FormValue("name"))
	when := strings.TrimSpace(c.FormValue("at"))
	refused := func(vm *pages.TenantDetail, m string) {
		vm.CloneName, vm.CloneAt, vm.CloneError = fleet.Truncate(dst, 100), fleet.Truncate(when, 40), m
	}
	var at time.Time
	if when != "" {
		if at, err = parseWhen(when); err != nil {
			return s.tenantFormError(c, src, err, refused)
		}
	}
	j, err := s.Lifecycle.Clone(c.Request().Context(), actor(c), src, dst, at)
	if err != nil {
		return s.tenantFormError(c, src, err, refused)
	}
	return s.accepted(c, j)
}

// parseWhen reads an RFC 3339 time or an HTML datetime-local value (UTC).
func parseWhen(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fleet.Errorf(fleet.EINVALID, "%q is not a time: use RFC 3339, e.g. 2026-11-20T15:04:05Z.", fleet.Truncate(v, 40))
}

func (s *Server) handleTenantDelete(c echo.Context) error {
	name, err := tenantParam(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != name {
		err := fleet.Errorf(fleet.EINVALID, "Type the tenant's name, %s, to confirm the delete.", name)
		return s.tenantFormError(c, name, err, func(vm *pages.TenantDetail, m string) { vm.DeleteError = m })
	}
	j, err := s.Lifecycle.Delete(c.Request().Context(), actor(c), name)
	if err != nil {
		return s.tenantFormError(c, name, err, func(vm *pages.TenantDetail, m string) { vm.DeleteError = m })
	}
	return s.accepted(c, j)
}

func (s *Server) handleTenantRestore(c echo.Context) error {
	name, err := tenantParam(c)
	if err != nil {
		return err
	}
	j, err := s.Lifecycle.Restore(c.Request().Context(), actor(c), name)
	if err != nil {
		// The restore form has no inline error: the message is a flash.
		return s.tenantFormError(c, name, err, nil)
	}
	return s.accepted(c, j)
}

func (s *Server) handleTenantExport(c echo.Context) error {
	name, err := tenantParam(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/vnd.sqlite3")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.db"`, name))
	h.Set("Cache-Control", "no-store")
	// Export makes the whole copy before writing a byte, so an error still
	// reaches the error handler with nothing sent (which drops the
	// download headers).
	return s.Lifecycle.Export(c.Request().Context(), actor(c), name, c.Response())
}
