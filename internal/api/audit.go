package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func (s *Server) auditRoutes(g *echo.Group) {
	g.GET("/audit", s.handleAudit)
}

// AuditPage is a page of the audit log, newest first.
type AuditPage struct {
	Entries []fleet.AuditEntry `json:"entries"`
	// NextCursor pages back to older entries; null on the last page.
	NextCursor *string `json:"next_cursor"`
}

// auditFilter reads the audit page's filters (actor, action, tenant,
// outcome, from and to days) and the cursor. As on the page, a bad
// value is refused rather than dropped: dropping it would list entries
// the caller asked to leave out.
func auditFilter(c echo.Context) (central.AuditFilter, int, error) {
	q := func(name string) string { return strings.TrimSpace(c.QueryParam(name)) }
	f := central.AuditFilter{Actor: q("actor"), Tenant: q("tenant"), Action: q("action"), Outcome: q("outcome")}
	switch {
	case len(f.Actor) > 200 || len(f.Tenant) > 100 || len(f.Action) > 100:
		return f, 0, fleet.Errorf(fleet.EINVALID, "actor, tenant and action are at most 200, 100 and 100 characters.")
	case f.Outcome != "" && f.Outcome != "ok" && f.Outcome != "error" && f.Outcome != "failed":
		return f, 0, fleet.Errorf(fleet.EINVALID, "outcome=%q is not ok, error or failed.", fleet.Truncate(f.Outcome, 20))
	}
	if v := q("from"); v != "" {
		d, err := fleet.ParseDay(v)
		if err != nil {
			return f, 0, fleet.Errorf(fleet.EINVALID, "from: %s", fleet.ErrorMessage(err))
		}
		f.From = d
	}
	if v := q("to"); v != "" {
		d, err := fleet.ParseDay(v)
		if err != nil {
			return f, 0, fleet.Errorf(fleet.EINVALID, "to: %s", fleet.ErrorMessage(err))
		}
		f.Until = d.AddDate(0, 0, 1) // the whole day
	}
	if !f.From.IsZero() && !f.Until.IsZero() && !f.From.Before(f.Until) {
		return f, 0, fleet.Errorf(fleet.EINVALID, "The dates are the wrong way round: from %s is after to %s.", q("from"), q("to"))
	}
	if v := c.QueryParam("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return f, 0, fleet.Errorf(fleet.EINVALID, "cursor=%q is not a cursor this API gave: pass next_cursor from the previous page as it is.", fleet.Truncate(v, 30))
		}
		f.Before = n
	}
	limit, err := intQuery(c, "limit", DefaultPage, 1, min(MaxPage, central.MaxAuditLimit-1))
	return f, limit, err
}

func (s *Server) handleAudit(c echo.Context) error {
	f, limit, err := auditFilter(c)
	if err != nil {
		return err
	}
	f.Limit = limit + 1 // one more tells whether an older page exists
	es, err := s.DB.AuditLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	p := AuditPage{Entries: es}
	if len(es) > limit {
		p.Entries = es[:limit]
		next := strconv.FormatInt(es[limit-1].ID, 10)
		p.NextCursor = &next
	}
	if p.Entries == nil {
		p.Entries = []fleet.AuditEntry{}
	}
	return c.JSON(http.StatusOK, p)
}
