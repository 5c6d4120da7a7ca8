package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/fleet"
)

func (s *Server) jobRoutes(g *echo.Group) {
	g.GET("/jobs/:id", s.handleJobGet)
}

// handleJobGet returns a job; with ?wait= it answers as soon as the job
// finished, or when the wait is over with the job as it is then.
func (s *Server) handleJobGet(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return fleet.Errorf(fleet.ENOTFOUND, "No job %q.", fleet.Truncate(c.Param("id"), 30))
	}
	wait, err := waitParam(c)
	if err != nil {
		return err
	}
	j, err := s.await(c, id, wait)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

// await waits up to wait for a job to finish (and stops waiting if the
// client goes away).
func (s *Server) await(c echo.Context, id int64, wait time.Duration) (*fleet.Job, error) {
	if wait <= 0 {
		return s.DB.Job(c.Request().Context(), id)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), wait)
	defer cancel()
	return s.Jobs.Await(ctx, id)
}
