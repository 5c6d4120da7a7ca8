package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/views/layouts"
	"github.com/tenantry/tenantry/views/pages"
)

// rolloutPageSize is how many tenants a rollout's page lists per table.
const rolloutPageSize = 500

// tenantSchemaTimeout bounds reading a tenant's schema for its page: a
// database that does not answer breaks only the card, and not for long.
const tenantSchemaTimeout = 10 * time.Second

func (s *Server) migrationRoutes(g *echo.Group) {
	g.GET(paths.Migrations, s.handleMigrationStatus)
	g.POST(paths.Migrations, s.handleRolloutCreate, requireAdmin)
	g.GET(paths.RolloutRoute, s.handleRolloutShow)
	g.GET(paths.RolloutProgressRoute, s.handleRolloutProgress)
	g.POST(paths.RolloutStopRoute, s.handleRolloutStop, requireAdmin)
	g.POST(paths.RolloutRetryRoute, s.handleRolloutRetry, requireAdmin)
	g.GET(paths.TenantSchemaRoute, s.handleTenantSchema)
}

// schemaSet is the tenant schema the console rolls out.
func (s *Server) schemaSet() *schema.Set {
	if s.Rollouts == nil {
		return schema.Embedded()
	}
	return s.Rollouts.Set()
}

func rolloutRow(r central.MigrationRun, j *fleet.Job) pages.RolloutRow {
	row := pages.RolloutRow{ID: r.ID, Mode: r.Mode, Target: r.Target, Parallel: r.Parallel, OnError: r.OnError, Tenants: r.Tenants,
		RetryOf: r.RetryOf, Trigger: r.Trigger, StartedBy: r.StartedBy, State: r.State, Total: r.Total, Migrated: r.Migrated,
		Failed: r.Failed, Skipped: r.Skipped, StopRequested: r.StopRequested, Error: r.Error, CreatedAt: r.CreatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Duration: r.Duration(), JobID: r.JobID}
	if j != nil && !r.Finished() {
		row.Step = j.Step
	}
	return row
}

func resultRow(r central.MigrationResult) pages.RolloutResult {
	return pages.RolloutResult{RunID: r.RunID, Tenant: r.Tenant, Outcome: r.Outcome, From: r.From, To: r.To, Detail: r.Detail,
		Error: r.Error, Duration: r.Duration, At: r.At}
}

func migrationFiles(ms []schema.Migration) []pages.MigrationFile {
	out := make([]pages.MigrationFile, len(ms))
	for i, m := range ms {
		out[i] = pages.MigrationFile{Version: m.Version, Name: m.Name, SQL: m.SQL}
	}
	return out
}

// migrationsPage fills "/migrations" around the start form's state.
func (s *Server) migrationsPage(c echo.Context, form pages.RolloutForm) (pages.Migrations, *schema.Status, error) {
	ctx := c.Request().Context()
	st, err := s.Rollouts.Status(ctx)
	if err != nil {
		return pages.Migrations{}, nil, err
	}
	vm := pages.Migrations{Latest: st.Latest, LatestName: st.LatestName, Source: st.Source, Ready: st.Ready, Behind: st.Behind,
		Failed: st.Failed, Pending: migrationFiles(st.Pending), Form: form, MaxParallel: schema.MaxParallel}
	hasLatest := false
	for _, v := range st.Versions {
		switch {
		case v.Version == st.Latest:
			vm.AtLatest, hasLatest = v.Tenants, true
		case v.Version > st.Latest:
			vm.Ahead += v.Tenants
		}
		vm.Versions = append(vm.Versions, pages.VersionBar{Version: v.Version, Tenants: v.Tenants, Latest: v.Version == st.Latest})
	}
	// The latest version gets its bar even with no tenant on it yet: the
	// chart shows where the fleet is going.
	if !hasLatest && st.Ready > 0 {
		i := 0
		for i < len(vm.Versions) && vm.Versions[i].Version < st.Latest {
			i++
		}
		vm.Versions = append(vm.Versions[:i], append([]pages.VersionBar{{Version: st.Latest, Latest: true}}, vm.Versions[i:]...)...)
	}
	for _, t := range st.BehindList {
		vm.BehindList = append(vm.BehindList, pages.SchemaTenant{Name: t.Name, Version: t.Version, Error: t.Error})
	}
	for _, t := range st.FailedList {
		vm.FailedList = append(vm.FailedList, pages.SchemaTenant{Name: t.Name, Version: t.Version, Error: t.Error})
	}
	if st.Active != nil {
		j, _ := s.DB.Job(ctx, st.Active.JobID)
		row := rolloutRow(*st.Active, j)
		vm.Active = &row
	}
	for _, r := range st.Runs {
		vm.Runs = append(vm.Runs, rolloutRow(r, nil))
		if vm.LastFailedRun == 0 && r.Failed > 0 && !r.DryRun() {
			vm.LastFailedRun = r.ID
		}
	}
	if vm.Form.Mode == "" {
		vm.Form.Mode = pages.RolloutDryRun
	}
	if vm.Form.Parallel == "" {
		vm.Form.Parallel = strconv.Itoa(schema.DefaultParallel)
	}
	if vm.Form.Canary == "" {
		vm.Form.Canary = "5"
	}
	return vm, st, nil
}

// statusJSON is "/migrations" for JSON clients: the status with the
// pending files' names (their SQL stays on the page).
type statusJSON struct {
	*schema.Status
	PendingFiles []pendingJSON `json:"pending"`
}

type pendingJSON struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
}

func (s *Server) handleMigrationStatus(c echo.Context) error {
	if wantsJSON(c) {
		st, err := s.Rollouts.Status(c.Request().Context())
		if err != nil {
			return err
		}
		out := statusJSON{Status: st, PendingFiles: []pendingJSON{}}
		for _, m := range st.Pending {
			out.PendingFiles = append(out.PendingFiles, pendingJSON{Version: m.Version, Name: m.Name})
		}
		return c.JSON(http.StatusOK, out)
	}
	vm, _, err := s.migrationsPage(c, pages.RolloutForm{})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.MigrationsPage(s.page(c, "Schema migrations", "migrations"), vm))
}

// handleRolloutCreate starts a rollout from the form on "/migrations" (or
// the "continue with the full rollout" form on a rollout's page).
func (s *Server) handleRolloutCreate(c echo.Context) error {
	f := pages.RolloutForm{Mode: c.FormValue("mode"), Canary: c.FormValue("canary"), Tenants: c.FormValue("tenants"),
		Parallel: c.FormValue("parallel"), OnError: c.FormValue("on_error")}
	run, _, err := s.Rollouts.Start(c.Request().Context(), s.Jobs, actor(c), "web", schema.Request{Mode: f.Mode, Canary: f.Canary,
		Tenants: f.Tenants, Parallel: f.Parallel, OnError: f.OnError, Confirm: c.FormValue("confirm")})
	if err != nil {
		if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
			return err
		}
		f.Mode, f.OnError = fleet.Truncate(f.Mode, 20), fleet.Truncate(f.OnError, 20)
		f.Canary, f.Parallel = fleet.Truncate(f.Canary, 20), fleet.Truncate(f.Parallel, 20)
		f.Tenants, f.Error = fleet.Truncate(f.Tenants, 2000), fleet.ErrorMessage(err)
		vm, _, verr := s.migrationsPage(c, f)
		if verr != nil {
			return verr
		}
		return render(c, fleet.HTTPStatus(fleet.ErrorCode(err)), pages.MigrationsPage(s.page(c, "Schema migrations", "migrations"), vm))
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusAccepted, run)
	}
	return c.Redirect(http.StatusSeeOther, paths.Rollout(run.ID))
}

// rolloutParam reads the :id path parameter and its rollout.
func (s *Server) rolloutParam(c echo.Context) (*central.MigrationRun, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "No rollout %q.", fleet.Truncate(c.Param("id"), 30))
	}
	return s.DB.MigrationRunByID(c.Request().Context(), id)
}

// outcomeParam reads the results filter; "" lists every outcome but failed.
func outcomeParam(c echo.Context) (string, error) {
	switch o := c.QueryParam("outcome"); o {
	case "", central.OutcomeMigrated, central.OutcomeFailed, central.OutcomeSkipped, central.OutcomePending:
		return o, nil
	default:
		return "", fleet.Errorf(fleet.EINVALID, "Outcome must be migrated, failed, skipped or pending, not %q.", fleet.Truncate(o, 20))
	}
}

// rolloutRun fills a rollout's page: the failed tenants and the others,
// each a page at a time from their cursors.
func (s *Server) rolloutRun(c echo.Context, r *central.MigrationRun) (pages.RolloutRun, error) {
	ctx := c.Request().Context()
	var j *fleet.Job
	if r.JobID != 0 && !r.Finished() {
		j, _ = s.DB.Job(ctx, r.JobID)
	}
	outcome, err := outcomeParam(c)
	if err != nil {
		return pages.RolloutRun{}, err
	}
	vm := pages.RolloutRun{Run: rolloutRow(*r, j), Outcome: outcome,
		FailedAfter: fleet.Truncate(c.QueryParam("failed_after"), 70), ResultsAfter: fleet.Truncate(c.QueryParam("after"), 70)}
	if r.Failed > 0 {
		failed, err := s.DB.MigrationResults(ctx, r.ID, central.ResultFilter{Outcome: central.OutcomeFailed, After: vm.FailedAfter, Limit: rolloutPageSize + 1})
		if err != nil {
			return vm, err
		}
		if len(failed) > rolloutPageSize {
			failed = failed[:rolloutPageSize]
			vm.FailedNext = failed[len(failed)-1].Tenant
		}
		for _, res := range failed {
			vm.Failed = append(vm.Failed, resultRow(res))
		}
	}
	// Without a filter the table holds every outcome but failed (listed
	// above); asking for that many more rows makes room for the failed
	// ones among them.
	limit := rolloutPageSize + 1
	if outcome == "" {
		limit += int(min(r.Failed, 100_000))
	}
	results, err := s.DB.MigrationResults(ctx, r.ID, central.ResultFilter{Outcome: outcome, After: vm.ResultsAfter, Limit: limit})
	if err != nil {
		return vm, err
	}
	for _, res := range results {
		if outcome == "" && res.Outcome == central.OutcomeFailed {
			continue
		}
		if len(vm.Results) == rolloutPageSize {
			vm.ResultsNext = vm.Results[len(vm.Results)-1].Tenant
			break
		}
		vm.Results = append(vm.Results, resultRow(res))
	}
	return vm, nil
}

func (s *Server) renderRolloutRun(c echo.Context, status int, vm pages.RolloutRun) error {
	return render(c, status, pages.RolloutRunPage(s.page(c, fmt.Sprintf("Rollout #%d", vm.Run.ID), "migrations"), vm))
}

func (s *Server) handleRolloutShow(c echo.Context) error {
	r, err := s.rolloutParam(c)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return s.rolloutJSON(c, r)
	}
	vm, err := s.rolloutRun(c, r)
	if err != nil {
		return err
	}
	return s.renderRolloutRun(c, http.StatusOK, vm)
}

// rolloutPageJSON is a rollout and a page of its results for JSON
// clients.
type rolloutPageJSON struct {
	Run       *central.MigrationRun     `json:"run"`
	Results   []central.MigrationResult `json:"results"`
	NextAfter string                    `json:"next_after"`
}

// rolloutJSON is a rollout with a page of its results in tenant order,
// every outcome unless ?outcome= says; next_after is the next page's
// ?after=, "" after the last.
func (s *Server) rolloutJSON(c echo.Context, r *central.MigrationRun) error {
	outcome, err := outcomeParam(c)
	if err != nil {
		return err
	}
	results, err := s.DB.MigrationResults(c.Request().Context(), r.ID, central.ResultFilter{Outcome: outcome,
		After: c.QueryParam("after"), Limit: rolloutPageSize + 1})
	if err != nil {
		return err
	}
	next := ""
	if len(results) > rolloutPageSize {
		results = results[:rolloutPageSize]
		next = results[len(results)-1].Tenant
	}
	if results == nil {
		results = []central.MigrationResult{}
	}
	return c.JSON(http.StatusOK, rolloutPageJSON{Run: r, Results: results, NextAfter: next})
}

// handleRolloutProgress answers the polling of a rollout's progress; with
// ?compact=1, the panel on "/migrations" alone.
func (s *Server) handleRolloutProgress(c echo.Context) error {
	r, err := s.rolloutParam(c)
	if err != nil {
		return err
	}
	if c.QueryParam("compact") != "" {
		var j *fleet.Job
		if !r.Finished() {
			j, _ = s.DB.Job(c.Request().Context(), r.JobID)
		}
		return render(c, http.StatusOK, pages.RolloutProgress(rolloutRow(*r, j), true))
	}
	// The results ride along only once the rollout has ended: polling
	// does not list the tenants every second.
	vm := pages.RolloutRun{}
	if r.Finished() {
		if vm, err = s.rolloutRun(c, r); err != nil {
			return err
		}
	} else {
		j, _ := s.DB.Job(c.Request().Context(), r.JobID)
		vm.Run = rolloutRow(*r, j)
	}
	// Not s.page: a poll must not take the flash meant for the next page.
	p := layouts.Page{Nav: "migrations", CSRF: csrfToken(c)}
	if u := userFrom(c); u != nil {
		p.User, p.Role = u.Email, u.Role
	}
	return render(c, http.StatusOK, pages.RolloutProgressFragment(p, vm))
}

// rolloutActionError re-renders a rollout's page with a refused action's
// message next to its buttons.
func (s *Server) rolloutActionError(c echo.Context, r *central.MigrationRun, err error) error {
	if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
		return err
	}
	fresh, ferr := s.DB.MigrationRunByID(c.Request().Context(), r.ID)
	if ferr != nil {
		return ferr
	}
	vm, verr := s.rolloutRun(c, fresh)
	if verr != nil {
		return verr
	}
	vm.ActionError = fleet.ErrorMessage(err)
	return s.renderRolloutRun(c, fleet.HTTPStatus(fleet.ErrorCode(err)), vm)
}

func (s *Server) handleRolloutStop(c echo.Context) error {
	r, err := s.rolloutParam(c)
	if err != nil {
		return err
	}
	stopped, err := s.Rollouts.Stop(c.Request().Context(), actor(c), r.ID)
	if err != nil {
		return s.rolloutActionError(c, r, err)
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusAccepted, stopped)
	}
	s.setFlash(c, "info", fmt.Sprintf("Stop requested: rollout %d starts no new tenant; those in progress finish.", r.ID))
	return c.Redirect(http.StatusSeeOther, paths.Rollout(r.ID))
}

// handleRolloutRetry rolls out again to the tenants a rollout failed on,
// as it did (parallelism, on error); like any rollout that changes
// databases it needs the confirm word.
func (s *Server) handleRolloutRetry(c echo.Context) error {
	r, err := s.rolloutParam(c)
	if err != nil {
		return err
	}
	if strings.TrimSpace(c.FormValue("confirm")) != schema.ConfirmWord {
		return s.rolloutActionError(c, r, fleet.Errorf(fleet.EINVALID, "Type %s to confirm: the retry changes tenant databases.", schema.ConfirmWord))
	}
	run, _, err := s.Rollouts.Retry(c.Request().Context(), s.Jobs, actor(c), "web", r.ID)
	if err != nil {
		return s.rolloutActionError(c, r, err)
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusAccepted, run)
	}
	return c.Redirect(http.StatusSeeOther, paths.Rollout(run.ID))
}

// rolloutRunID is the rollout a rollout job runs, 0 if its arguments do
// not say.
func rolloutRunID(j fleet.Job) int64 {
	var a struct {
		Run int64 `json:"run"`
	}
	if json.Unmarshal([]byte(j.Args), &a) != nil {
		return 0
	}
	return a.Run
}

// handleTenantSchema is the schema card of a tenant's page, loaded apart
// because it opens the tenant's database: a database that cannot be read
// is a message in the card, not a failed page.
func (s *Server) handleTenantSchema(c echo.Context) error {
	name, err := tenantParam(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), tenantSchemaTimeout)
	defer cancel()
	ts, err := s.Rollouts.TenantSchema(ctx, name)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, ts)
	}
	t, err := s.DB.Tenant(c.Request().Context(), name)
	if err != nil {
		return err
	}
	vm := pages.TenantSchema{Name: name, Status: t.Status, Version: ts.Version, Latest: ts.Latest, Adoptable: ts.Adoptable,
		Error: ts.Error, MigrationError: t.MigrationError, Pending: migrationFiles(ts.Pending)}
	if ctx.Err() != nil && ts.Error != "" {
		vm.Error = fmt.Sprintf("The database did not answer within %s.", tenantSchemaTimeout)
	}
	for _, a := range ts.Applied {
		vm.Applied = append(vm.Applied, pages.AppliedMigration{Version: a.Version, Name: a.Name, At: a.At})
	}
	for _, r := range ts.Rollouts {
		vm.Rollouts = append(vm.Rollouts, resultRow(r))
	}
	return render(c, http.StatusOK, pages.TenantSchemaCard(vm))
}
