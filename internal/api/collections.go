package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
)

func (s *Server) collectionRoutes(g *echo.Group) {
	g.POST("/collections", s.handleCollectionCreate, admin)
	g.GET("/collections/:id", s.handleCollectionGet)
}

// CollectionRequest is the body of POST /collections: inclusive UTC days,
// both or neither (yesterday and today).
type CollectionRequest struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// handleCollectionCreate queues a collection run: 202 with the run
// (Location: the run; its job_id's /jobs/{id}?wait= waits for it).
func (s *Server) handleCollectionCreate(c echo.Context) error {
	var req CollectionRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	from, to := collect.DefaultRange(s.DB.Now())
	if req.From != "" || req.To != "" {
		if req.From == "" || req.To == "" {
			return unprocessable{fleet.Errorf(fleet.EINVALID, "Give both \"from\" and \"to\" (the same day for one day), or neither for yesterday and today.")}
		}
		var err error
		if from, to, err = fleet.ParseRange(req.From, req.To); err != nil {
			return unprocessable{err}
		}
	}
	run, _, err := s.Collector.Submit(c.Request().Context(), s.Jobs, collect.Spec{From: from, To: to, Trigger: "api", Actor: actor(c)})
	if err != nil {
		if fleet.ErrorCode(err) == fleet.EINVALID {
			return unprocessable{err}
		}
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("%s/collections/%d", Prefix, run.ID))
	return c.JSON(http.StatusAccepted, run)
}

// handleCollectionGet is a run with its failed tenants, as `tenantry
// collect --json` prints it.
func (s *Server) handleCollectionGet(c echo.Context) error {
	id, err := idParam(c, "collection run")
	if err != nil {
		return err
	}
	sum, err := s.Collector.Summary(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sum)
}

// idParam reads a positive :id; anything else names nothing (404).
func idParam(c echo.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fleet.Errorf(fleet.ENOTFOUND, "No %s %q.", what, fleet.Truncate(c.Param("id"), 30))
	}
	return id, nil
}
