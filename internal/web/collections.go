package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/pages"
)

// RunsPageSize is the number of collection runs per page.
const RunsPageSize = 25

// resultLimit caps the collected tenants listed on a run's page.
const resultLimit = 500

func (s *Server) collectionRoutes(g *echo.Group) {
	g.GET(paths.Collections, s.handleCollectionList)
	g.POST(paths.Collections, s.handleCollectionCreate, requireAdmin)
	g.GET(paths.CollectionRoute, s.handleCollectionShow)
	g.GET(paths.CollectionProgressRoute, s.handleCollectionProgress)
}

func runRow(r central.CollectRun, j *fleet.Job) pages.RunRow {
	row := pages.RunRow{ID: r.ID, From: r.From, To: r.To, Trigger: r.Trigger, Shard: r.Shard, StartedBy: r.StartedBy, State: r.State,
		Tenants: r.Tenants, OK: r.OK, Failed: r.Failed, Skipped: r.Skipped, RowsWritten: r.RowsWritten, Error: r.Error,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, JobID: r.JobID}
	if r.State != central.RunQueued {
		row.Duration = r.Duration()
	}
	// While it runs, the job knows how many tenants there are.
	if j != nil && row.Tenants == 0 {
		row.Tenants = j.Total
	}
	return row
}

func (s *Server) schedule() string {
	if s.CollectEvery <= 0 {
		return "off: collections run only when started here or with tenantry collect"
	}
	return fmt.Sprintf("every %s, yesterday and today (UTC)", s.CollectEvery)
}

func (s *Server) collectionsPage(c echo.Context, vm pages.Collections) (pages.Collections, error) {
	ctx := c.Request().Context()
	runs, total, err := s.DB.CollectRuns(ctx, RunsPageSize, (vm.Page-1)*RunsPageSize)
	if err != nil {
		return vm, err
	}
	vm.PageSize, vm.Total, vm.Schedule = RunsPageSize, total, s.schedule()
	for _, r := range runs {
		vm.Runs = append(vm.Runs, runRow(r, nil))
	}
	active, err := s.DB.ActiveRun(ctx)
	if err != nil {
		return vm, err
	}
	if active != nil {
		j, _ := s.DB.Job(ctx, active.JobID)
		row := runRow(*active, j)
		vm.Running = &row
	}
	if vm.From == "" {
		from, to := collect.DefaultRange(s.DB.Now())
		vm.From, vm.To = from.AddDate(0, 0, -29).Format(fleet.DayLayout), to.Format(fleet.DayLayout)
	}
	return vm, nil
}

// collectionsJSON is a page of collection runs for JSON clients.
type collectionsJSON struct {
	Runs  []pages.RunRow `json:"runs"`
	Total int64          `json:"total"`
	Page  int            `json:"page"`
}

func (s *Server) handleCollectionList(c echo.Context) error {
	vm := pages.Collections{Page: 1}
	if n, err := strconv.Atoi(c.QueryParam("page")); err == nil && n > 0 && n < 1_000_000 {
		vm.Page = n
	}
	vm, err := s.collectionsPage(c, vm)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, collectionsJSON{Runs: vm.Runs, Total: vm.Total, Page: vm.Page})
	}
	return render(c, http.StatusOK, pages.CollectionsPage(s.page(c, "Metrics collection", "collections"), vm))
}

// handleCollectionCreate starts a collection: yesterday and today, or the
// from..to range of the backfill form.
func (s *Server) handleCollectionCreate(c echo.Context) error {
	fromS, toS := strings.TrimSpace(c.FormValue("from")), strings.TrimSpace(c.FormValue("to"))
	run, _, err := s.Collector.SubmitRange(c.Request().Context(), s.Jobs, actor(c), "manual", fromS, toS)
	if err != nil {
		if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
			return err
		}
		vm, verr := s.collectionsPage(c, pages.Collections{Page: 1, From: fleet.Truncate(fromS, 20), To: fleet.Truncate(toS, 20), FormError: fleet.ErrorMessage(err)})
		if verr != nil {
			return verr
		}
		return render(c, fleet.HTTPStatus(fleet.ErrorCode(err)), pages.CollectionsPage(s.page(c, "Metrics collection", "collections"), vm))
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusAccepted, run)
	}
	return c.Redirect(http.StatusSeeOther, paths.Collection(run.ID))
}

func (s *Server) collectionRun(c echo.Context) (pages.CollectionRun, error) {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return pages.CollectionRun{}, fleet.Errorf(fleet.ENOTFOUND, "No collection run %q.", fleet.Truncate(c.Param("id"), 30))
	}
	r, err := s.DB.CollectRunByID(ctx, id)
	if err != nil {
		return pages.CollectionRun{}, err
	}
	var j *fleet.Job
	if r.JobID != 0 {
		j, _ = s.DB.Job(ctx, r.JobID)
	}
	vm := pages.CollectionRun{Run: runRow(*r, j), ResultLimit: resultLimit}
	results, err := s.DB.RunResults(ctx, id, false, resultLimit+int(r.Failed))
	if err != nil {
		return vm, err
	}
	for _, res := range results {
		row := pages.ResultRow{Tenant: res.Tenant, OK: res.OK, Error: res.Error, Attempts: res.Attempts, Duration: res.Duration}
		if res.OK {
			if len(vm.Results) < resultLimit {
				vm.Results = append(vm.Results, row)
			}
		} else {
			vm.Failed = append(vm.Failed, row)
		}
	}
	return vm, nil
}

func (s *Server) handleCollectionShow(c echo.Context) error {
	vm, err := s.collectionRun(c)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		sum, err := s.Collector.Summary(c.Request().Context(), vm.Run.ID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, sum)
	}
	return render(c, http.StatusOK, pages.CollectionRunPage(s.page(c, fmt.Sprintf("Collection #%d", vm.Run.ID), "collections"), vm))
}

func (s *Server) handleCollectionProgress(c echo.Context) error {
	vm, err := s.collectionRun(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.CollectionProgressFragment(vm))
}
