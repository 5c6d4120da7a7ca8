package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/pages"
)

func (s *Server) jobRoutes(g *echo.Group) {
	g.GET(paths.Jobs, s.handleJobList)
	g.GET(paths.JobRoute, s.handleJobShow)
	g.GET(paths.JobProgressRoute, s.handleJobProgress)
}

// JobLabel describes a job for people.
func JobLabel(j fleet.Job) string {
	switch j.Kind {
	case fleet.JobCreate:
		return "Create " + j.Tenant
	case fleet.JobClone:
		return "Branch " + j.Tenant
	case fleet.JobImport:
		return "Import " + j.Tenant
	case fleet.JobDelete:
		return "Delete " + j.Tenant
	case fleet.JobRestore:
		return "Restore " + j.Tenant
	case fleet.JobRollback:
		return "Restore " + j.Tenant + " to a snapshot"
	case central.SnapshotJob:
		if j.Tenant != "" {
			return "Snapshot " + j.Tenant
		}
		return "Snapshot the fleet"
	case central.RolloutJob:
		if id := rolloutRunID(j); id != 0 {
			return fmt.Sprintf("Schema rollout #%d", id)
		}
		return "Schema rollout"
	}
	return j.Kind + " " + j.Tenant
}

func jobRow(j fleet.Job) pages.JobRow {
	r := pages.JobRow{ID: j.ID, Kind: j.Kind, Label: JobLabel(j), Tenant: j.Tenant, State: j.State, Step: j.Step,
		Done: j.Done, Total: j.Total, Error: j.Error, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
	if j.Tenant != "" {
		r.Link = paths.Tenant(j.Tenant)
	}
	if j.Kind == central.SnapshotJob && j.Tenant == "" {
		r.Link = paths.Backups
	}
	if id := rolloutRunID(j); j.Kind == central.RolloutJob && id != 0 {
		r.Link = paths.Rollout(id)
	}
	return r
}

func (s *Server) handleJobList(c echo.Context) error {
	js, err := s.DB.Jobs(c.Request().Context(), central.JobFilter{Limit: 200})
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		if js == nil {
			js = []fleet.Job{}
		}
		return c.JSON(http.StatusOK, js)
	}
	var vm pages.Jobs
	for _, j := range js {
		vm.Rows = append(vm.Rows, jobRow(j))
	}
	return render(c, http.StatusOK, pages.JobsPage(s.page(c, "Jobs", "jobs"), vm))
}

func (s *Server) job(c echo.Context) (*fleet.Job, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "No job %q.", fleet.Truncate(c.Param("id"), 30))
	}
	return s.DB.Job(c.Request().Context(), id)
}

func (s *Server) handleJobShow(c echo.Context) error {
	j, err := s.job(c)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, j)
	}
	return render(c, http.StatusOK, pages.JobPage(s.page(c, fmt.Sprintf("Job %d", j.ID), "jobs"), jobRow(*j)))
}

func (s *Server) handleJobProgress(c echo.Context) error {
	j, err := s.job(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.JobProgressFragment(jobRow(*j)))
}
