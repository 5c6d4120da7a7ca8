package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/pages"
)

// The SQL console: one tenant at a time read-only from a shareable GET
// URL, a write only as an admin's POST confirmed by the tenant's name,
// and fan-outs over many tenants, started only by a POST (a link fills
// the form), that run in the background while the page shows their
// progress. Every run holds a slot of the console's (console.Busy past
// them: 429 with Retry-After).

func (s *Server) sqlRoutes(g *echo.Group) {
	g.GET(paths.SQL, func(c echo.Context) error { return s.handleSQL(c, false) })
	g.POST(paths.SQL, func(c echo.Context) error { return s.handleSQL(c, true) })
	g.POST(paths.SQLWrite, s.handleSQLWrite, requireAdmin)
	g.GET(paths.SQLTenants, s.handleSQLTenants)
	g.GET(paths.SQLSchema, s.handleSQLSchema)
	g.GET(paths.SQLRunRoute, s.handleSQLRun)
	for _, format := range []string{"csv", "json"} {
		h := func(c echo.Context) error { return s.handleSQLExport(c, format) }
		g.GET(paths.Export(paths.SQL, format), h)
		g.POST(paths.Export(paths.SQL, format), h)
	}
	g.POST(paths.SQLSaved, s.handleSQLSave)
	g.POST(paths.SQLSavedDeleteRoute, s.handleSQLSavedDelete)
}

// sqlForm is a console request as the form (or a shared link) sends it.
type sqlForm struct {
	Scope                 pages.SQLScope
	Tenant, Pattern, List string
	SQL                   string
	Params                map[string]string
	Run, Write            bool
	Confirm               string
}

func readSQLForm(c echo.Context) sqlForm {
	f := sqlForm{
		Scope:   pages.SQLScopeOf(c.FormValue("scope")),
		Tenant:  strings.TrimSpace(c.FormValue("tenant")),
		Pattern: c.FormValue("pattern"),
		List:    c.FormValue("list"),
		SQL:     c.FormValue("sql"),
		Run:     c.FormValue("run") != "",
		Write:   c.FormValue("write") != "",
		Confirm: strings.TrimSpace(c.FormValue("confirm")),
		Params:  map[string]string{},
	}
	form, _ := c.FormParams()
	for _, name := range console.Params(f.SQL) {
		if v, ok := form["p_"+name]; ok && len(v) > 0 {
			f.Params[name] = v[0]
		}
	}
	return f
}

func (f sqlForm) request() console.Request { return console.Request{SQL: f.SQL, Params: f.Params} }

func (f sqlForm) scope() fleet.Scope {
	switch f.Scope {
	case pages.ScopePattern:
		return fleet.Scope{Pattern: f.Pattern}
	case pages.ScopeList:
		return fleet.Scope{List: f.List}
	}
	return fleet.Scope{}
}

// fanOutForm is the form of a fan-out over sc.
func fanOutForm(sc fleet.Scope) sqlForm {
	switch {
	case sc.Pattern != "":
		return sqlForm{Scope: pages.ScopePattern, Pattern: sc.Pattern}
	case sc.List != "":
		return sqlForm{Scope: pages.ScopeList, List: sc.List}
	}
	return sqlForm{Scope: pages.ScopeAll}
}

// query returns the URL query of the form: the console with this query,
// run (a shareable link) or not.
func (f sqlForm) query(run bool) url.Values {
	q := url.Values{}
	q.Set("scope", string(f.Scope))
	switch f.Scope {
	case pages.ScopeTenant:
		if f.Tenant != "" {
			q.Set("tenant", f.Tenant)
		}
	case pages.ScopePattern:
		q.Set("pattern", f.Pattern)
	case pages.ScopeList:
		q.Set("list", f.List)
	}
	q.Set("sql", f.SQL)
	for n, v := range f.Params {
		q.Set("p_"+n, v)
	}
	if run {
		q.Set("run", "1")
	}
	return q
}

// page builds the console's view model around f.
func (s *Server) sqlPage(c echo.Context, f sqlForm) pages.SQLConsole {
	ctx := c.Request().Context()
	l := s.Console.CurrentLimits()
	vm := pages.SQLConsole{Scope: f.Scope, Tenant: f.Tenant, Pattern: f.Pattern, List: f.List, SQL: f.SQL,
		CanWrite: userFrom(c).IsAdmin() && f.Scope == pages.ScopeTenant, Write: f.Write && userFrom(c).IsAdmin(),
		Timeout: l.Timeout.String(), MaxRows: l.MaxRows}
	for _, n := range console.Params(f.SQL) {
		vm.Params = append(vm.Params, pages.SQLParam{Name: n, Value: f.Params[n]})
	}
	if saved, err := s.DB.SavedQueries(ctx); err == nil {
		u := userFrom(c)
		for _, q := range saved {
			sf := sqlForm{Scope: pages.ScopeTenant, Tenant: q.Tenant, SQL: q.SQL}
			if q.Tenant == "" {
				sf.Scope = pages.ScopeAll
			}
			vm.Saved = append(vm.Saved, pages.SQLSavedRow{ID: q.ID, Name: q.Name, SQL: q.SQL, Tenant: q.Tenant, CreatedBy: q.CreatedBy,
				URL: paths.WithQuery(paths.SQL, sf.query(false)), CanDelete: u.IsAdmin() || u.Email == q.CreatedBy})
		}
	}
	if f.Scope == pages.ScopeTenant && f.Tenant != "" {
		vm.Schema = s.sqlSchema(ctx, f.Tenant)
	}
	return vm
}

// sqlHistory is the user's recent runs.
func (s *Server) sqlHistory(c echo.Context) []pages.SQLHistoryRow {
	var out []pages.SQLHistoryRow
	hist, err := s.DB.QueryHistory(c.Request().Context(), actor(c), 20)
	if err != nil {
		s.logger(c).Error("read the console history", "err", err)
		return nil
	}
	for _, h := range hist {
		hf := sqlForm{Scope: pages.ScopeTenant, Tenant: h.Tenant}
		target := h.Tenant
		if h.Scope != nil {
			hf, target = fanOutForm(*h.Scope), h.Scope.String()
		}
		hf.SQL, hf.Params = h.SQL, h.Params
		out = append(out, pages.SQLHistoryRow{At: h.At.UTC().Format("2006-01-02 15:04 UTC"), Target: target, SQL: h.SQL,
			Write: h.Write, OK: h.Outcome == "ok", Error: h.Error, Rows: h.Rows, Elapsed: elapsed(h.Duration), URL: paths.WithQuery(paths.SQL, hf.query(false))})
	}
	return out
}

// sqlSchema is the schema browser's model of a tenant.
func (s *Server) sqlSchema(ctx context.Context, tenant string) *pages.SQLSchema {
	sc := &pages.SQLSchema{Tenant: tenant}
	tables, err := s.Console.Schema(ctx, tenant)
	if err != nil {
		sc.Error = fleet.ErrorMessage(err)
		return sc
	}
	for _, t := range tables {
		tv := pages.SQLTable{Name: t.Name, Kind: t.Kind,
			QueryURL: paths.WithQuery(paths.SQL, sqlForm{Scope: pages.ScopeTenant, Tenant: tenant, SQL: "SELECT * FROM " + quoteIdent(t.Name) + " LIMIT 100"}.query(true))}
		for _, col := range t.Columns {
			tv.Columns = append(tv.Columns, pages.SQLSchemaColumn{Name: col.Name, Type: col.Type, NotNull: col.NotNull, PK: col.PK})
		}
		for _, ix := range t.Indexes {
			tv.Indexes = append(tv.Indexes, pages.SQLIndex{Name: ix.Name, Columns: strings.Join(ix.Columns, ", "), Unique: ix.Unique})
		}
		sc.Tables = append(sc.Tables, tv)
	}
	return sc
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// inlineError is the status of a page showing err inline: the user's
// mistakes (bad SQL, an unknown tenant) keep their codes, a run refused
// for being busy is 429 with Retry-After; anything else is returned to
// the error handler.
func inlineError(c echo.Context, err error) (int, bool) {
	if b, ok := console.AsBusy(err); ok {
		setRetryAfter(c, b)
		return http.StatusTooManyRequests, true
	}
	switch fleet.ErrorCode(err) {
	case fleet.EINVALID, fleet.ENOTFOUND, fleet.ECONFLICT, fleet.EUNAVAILABLE:
		return fleet.HTTPStatus(fleet.ErrorCode(err)), true
	}
	return 0, false
}

// errFanOutGET refuses a fan-out asked for by a GET.
var errFanOutGET = fleet.Errorf(fleet.EINVALID, "A query over many tenants starts only from a POST with the form's CSRF token: open the link and press Run.")

// handleSQL is the console: a GET shows it and runs a read-only query on
// one tenant (a shared link); a POST runs that too, or starts a fan-out.
func (s *Server) handleSQL(c echo.Context, post bool) error {
	f := readSQLForm(c)
	vm := s.sqlPage(c, f)
	status := http.StatusOK
	if f.Run && strings.TrimSpace(f.SQL) != "" {
		switch {
		case f.Scope == pages.ScopeTenant && f.Tenant == "":
			vm.Error, status = "Choose a tenant to run the query on.", http.StatusBadRequest
		case f.Scope != pages.ScopeTenant && !post:
			if wantsJSON(c) {
				return errFanOutGET
			}
			vm.Notice = "This query runs on " + f.scope().String() + ": check it and press Run to start it."
			f.Run = false
		case f.Scope == pages.ScopeTenant:
			res, err := s.Console.Query(c.Request().Context(), actor(c), f.Tenant, f.request(), false)
			if err != nil {
				code, ok := inlineError(c, err)
				if !ok {
					return err
				}
				if wantsJSON(c) {
					return err
				}
				vm.Error, status = fleet.ErrorMessage(err), code
				break
			}
			if wantsJSON(c) {
				return c.JSON(http.StatusOK, res.JSON())
			}
			vm.Result = sqlResult(res, s.Console.CurrentLimits())
		default:
			if wantsJSON(c) {
				// A JSON client gets the merged rows at once.
				out, err := s.Console.Gather(c.Request().Context(), actor(c), f.scope(), f.request())
				if err != nil {
					return err
				}
				return c.JSON(http.StatusOK, out)
			}
			run, err := s.runs.Start(c.Request().Context(), actor(c), f.scope(), f.request())
			if err != nil {
				code, ok := inlineError(c, err)
				if !ok {
					return err
				}
				vm.Error, status = fleet.ErrorMessage(err), code
				break
			}
			fo := fanOutView(run)
			vm.FanOut = &fo
		}
		if vm.Error == "" && f.Run {
			vm.ShareURL = paths.WithQuery(paths.SQL, f.query(true))
			vm.CSVURL = paths.WithQuery(paths.Export(paths.SQL, "csv"), f.query(false))
			vm.JSONURL = paths.WithQuery(paths.Export(paths.SQL, "json"), f.query(false))
		}
	}
	return s.renderSQL(c, status, vm)
}

// renderSQL renders the console with the user's history, the run just
// made included.
func (s *Server) renderSQL(c echo.Context, status int, vm pages.SQLConsole) error {
	vm.History = s.sqlHistory(c)
	return render(c, status, pages.SQLPage(s.page(c, "SQL console", "sql"), vm))
}

// handleSQLWrite runs a write after the admin typed the tenant's name.
func (s *Server) handleSQLWrite(c echo.Context) error {
	f := readSQLForm(c)
	f.Scope, f.Write = pages.ScopeTenant, true
	vm := s.sqlPage(c, f)
	switch {
	case f.Tenant == "":
		vm.Error = "Choose a tenant to run the query on."
		return s.renderSQL(c, http.StatusBadRequest, vm)
	case strings.TrimSpace(f.SQL) == "":
		vm.Error = "Write some SQL to run."
		return s.renderSQL(c, http.StatusBadRequest, vm)
	case f.Confirm != f.Tenant:
		vm.Confirm = true
		status := http.StatusOK
		if f.Confirm != "" {
			vm.ConfirmError = fmt.Sprintf("That is not the tenant's name: type %s to run the query.", f.Tenant)
			status = http.StatusBadRequest
		}
		return s.renderSQL(c, status, vm)
	}
	res, err := s.Console.Query(c.Request().Context(), actor(c), f.Tenant, f.request(), true)
	status := http.StatusOK
	if err != nil {
		code, ok := inlineError(c, err)
		if !ok {
			return err
		}
		vm.Error, status = fleet.ErrorMessage(err), code
	} else {
		vm.Result = sqlResult(res, s.Console.CurrentLimits())
		if len(res.Columns) == 0 {
			vm.Result.Message = fmt.Sprintf("Done: %s changed.", plural(res.Changes, "row"))
		}
	}
	return s.renderSQL(c, status, vm)
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatInt(n, 10) + " " + what + "s"
}

// handleSQLTenants is the tenant type-ahead: up to 20 ready tenants
// matching what was typed, as datalist options (or JSON).
func (s *Server) handleSQLTenants(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("tenant"))
	if q == "" {
		q = strings.TrimSpace(c.QueryParam("q"))
	}
	names, err := s.DB.ReadyNames(c.Request().Context(), fleet.Truncate(q, 63), 20)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		if names == nil {
			names = []string{}
		}
		return c.JSON(http.StatusOK, names)
	}
	return render(c, http.StatusOK, pages.SQLTenantOptions(names))
}

// handleSQLSchema answers a tenant's schema as JSON.
func (s *Server) handleSQLSchema(c echo.Context) error {
	tables, err := s.Console.Schema(c.Request().Context(), c.QueryParam("tenant"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, console.SchemaJSON{Tenant: c.QueryParam("tenant"), Tables: tables})
}

// maxCellText bounds a shown text or blob; exports carry it whole.
const maxCellText = 2000

// setRetryAfter tells a client refused for being busy when to come back.
func setRetryAfter(c echo.Context, b *console.Busy) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(b.RetrySeconds()))
}

// sqlResult formats a result for the page.
func sqlResult(r *console.Result, l console.Limits) *pages.SQLResult {
	out := &pages.SQLResult{Truncated: r.Truncated, MaxRows: l.MaxRows, Elapsed: elapsed(r.Elapsed)}
	if r.CutAtBytes {
		out.CutAtBytes = mib(l.MaxBytes)
	}
	for _, c := range r.Columns {
		out.Columns = append(out.Columns, pages.SQLColumn{Name: c.Name, Type: c.Type})
	}
	for _, row := range r.Rows {
		out.Rows = append(out.Rows, sqlCells(row))
	}
	if len(r.Columns) == 0 {
		out.Message = "The statement ran and returned no rows."
	}
	return out
}

func sqlCells(row []any) []pages.SQLCell {
	cells := make([]pages.SQLCell, len(row))
	for i, v := range row {
		cells[i] = sqlCell(v)
	}
	return cells
}

func sqlCell(v any) pages.SQLCell {
	switch v := v.(type) {
	case nil:
		return pages.SQLCell{Text: "NULL", Kind: "null"}
	case int64:
		return pages.SQLCell{Text: strconv.FormatInt(v, 10), Kind: "int"}
	case float64:
		return pages.SQLCell{Text: strconv.FormatFloat(v, 'g', -1, 64), Kind: "real"}
	case []byte:
		return pages.SQLCell{Text: console.BlobText(v, 64), Kind: "blob"}
	case string:
		if len(v) > maxCellText {
			cut := maxCellText
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			v = v[:cut] + "…"
		}
		return pages.SQLCell{Text: v, Kind: "text"}
	}
	return pages.SQLCell{Text: fmt.Sprint(v), Kind: "text"}
}

// mib shows a byte count in MiB ("16 MiB").
func mib(n int) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB"
}

func elapsed(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// handleSQLExport streams a query's whole result as CSV or JSON: one
// tenant (no row cap, the time limit holds) or a fan-out (each tenant
// capped as on the page, failures listed in the JSON; a POST only). Until
// the first row an error is an error page; after it, the JSON ends saying
// so and a CSV stops (the log says why). A CSV's text cells that a
// spreadsheet would take for a formula are neutralised (console.CSVCell)
// unless raw=1 asks for the values as they are.
func (s *Server) handleSQLExport(c echo.Context, format string) error {
	f := readSQLForm(c)
	if err := f.request().Check(); err != nil {
		return err
	}
	if f.Scope == pages.ScopeTenant && f.Tenant == "" {
		return fleet.Errorf(fleet.EINVALID, "Choose a tenant to run the query on.")
	}
	if f.Scope != pages.ScopeTenant && c.Request().Method != http.MethodPost {
		return errFanOutGET
	}
	ctx := c.Request().Context()
	res := c.Response()
	name := "query-" + s.DB.Now().UTC().Format("20060102-150405") + "." + format
	x := &console.Exporter{W: res, Format: format, Raw: c.FormValue("raw") == "1", Start: func() {
		if format == "csv" {
			res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		} else {
			res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		}
		res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
		res.WriteHeader(http.StatusOK)
	}}
	var err error
	if f.Scope == pages.ScopeTenant {
		err = s.Console.Export(ctx, actor(c), f.Tenant, f.request(), x.Header, x.Write)
	} else {
		_, err = s.Console.FanOut(ctx, actor(c), f.scope(), f.request(), x)
	}
	if err != nil && x.Started() {
		s.logger(c).Warn("export stopped", "err", err)
	}
	return x.Finish(err)
}

// fanOutView is a background fan-out's model for the page.
func fanOutView(r console.RunState) pages.SQLFanOut {
	v := pages.SQLFanOut{ID: r.ID, PollURL: paths.SQLRun(r.ID), Done: r.Done, Total: r.Total, Finished: r.Finished,
		Failed: r.Failed, Stopped: r.Stopped, TruncatedTenants: r.TruncatedTenants, Elapsed: elapsed(r.Elapsed)}
	if r.Elapsed > 0 && r.Finished > 0 {
		v.Rate = strconv.FormatFloat(float64(r.Finished)/r.Elapsed.Seconds(), 'f', 0, 64) + " tenants/s"
	}
	for _, e := range r.Errors {
		v.Errors = append(v.Errors, pages.SQLTenantError{Tenant: e.Tenant, Error: e.Error})
	}
	if r.Result != nil {
		v.Result = sqlResult(r.Result, r.Limits)
	}
	return v
}

// handleSQLRun is a fan-out's progress, or its result once done.
func (s *Server) handleSQLRun(c echo.Context) error {
	run, err := s.runs.Get(actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, run.Progress())
	}
	return render(c, http.StatusOK, pages.SQLFanOutPanel(fanOutView(run)))
}

// handleSQLSave saves the query under a name for the whole team.
func (s *Server) handleSQLSave(c echo.Context) error {
	f := readSQLForm(c)
	tenant := ""
	if f.Scope == pages.ScopeTenant {
		tenant = f.Tenant
	}
	q, err := s.Console.SaveQuery(c.Request().Context(), actor(c), c.FormValue("name"), f.SQL, tenant)
	if err != nil {
		return err
	}
	s.setFlash(c, "success", fmt.Sprintf("Saved the query as %q for the whole team.", q.Name))
	return c.Redirect(http.StatusSeeOther, paths.WithQuery(paths.SQL, f.query(false)))
}

// handleSQLSavedDelete deletes a saved query: its author or an admin.
func (s *Server) handleSQLSavedDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return fleet.Errorf(fleet.ENOTFOUND, "No saved query %q.", fleet.Truncate(c.Param("id"), 20))
	}
	q, err := s.Console.DeleteSavedQuery(c.Request().Context(), actor(c), userFrom(c).IsAdmin(), id)
	if err != nil {
		return err
	}
	s.setFlash(c, "success", fmt.Sprintf("Deleted the saved query %q.", q.Name))
	return c.Redirect(http.StatusSeeOther, paths.SQL)
}
