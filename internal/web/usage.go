package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/views/pages"
)

// tenantUsageTimeout bounds asking the platform for a tenant's usage: a
// platform that does not answer breaks only the card, and not for long.
const tenantUsageTimeout = 10 * time.Second

// maxTopQueries and maxQueryLen bound what the card shows of the
// heaviest statements: a platform may record a statement with a long
// VALUES list in full.
const (
	maxTopQueries = 20
	maxQueryLen   = 10_000
)

// usageJSON is a tenant's usage for JSON clients.
type usageJSON struct {
	Name         string      `json:"name"`
	Platform     string      `json:"platform"`
	RowsRead     int64       `json:"rows_read"`
	RowsWritten  int64       `json:"rows_written"`
	StorageBytes int64       `json:"storage_bytes"`
	From         time.Time   `json:"from,omitzero"` // zero: since the database was made
	To           time.Time   `json:"to,omitzero"`
	TopQueries   []queryJSON `json:"top_queries"` // heaviest first
}

type queryJSON struct {
	SQL         string `json:"sql"`
	RowsRead    int64  `json:"rows_read"`
	RowsWritten int64  `json:"rows_written"`
}

// handleTenantUsage is the Usage card of a tenant's page, loaded apart
// because it asks the platform over the network: a platform that refuses
// or does not answer is a message in the card, not a failed page. JSON
// clients get the usage, or the error with its status.
func (s *Server) handleTenantUsage(c echo.Context) error {
	name, err := tenantParam(c)
	if err != nil {
		return err
	}
	t, err := s.DB.Tenant(c.Request().Context(), name)
	if err != nil {
		return err
	}
	p := s.Lifecycle.Platform()
	r, ok := p.(platform.UsageReporter)
	if !ok {
		return fleet.Errorf(fleet.ENOTFOUND, "The %s platform reports no usage.", p.Name())
	}
	vm := pages.TenantUsage{Name: name, Platform: p.Name(), Status: t.Status}
	if t.Status != fleet.StatusReady {
		if wantsJSON(c) {
			return fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s; the platform is asked for the usage of ready tenants only.", name, t.Status)
		}
		return render(c, http.StatusOK, pages.TenantUsageCard(vm))
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), tenantUsageTimeout)
	defer cancel()
	u, err := r.Usage(ctx, name)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fleet.Errorf(fleet.EUNAVAILABLE, "The platform did not answer within %s.", tenantUsageTimeout)
	}
	if err != nil {
		if wantsJSON(c) {
			return err
		}
		vm.Error = fleet.ErrorMessage(err)
		if fleet.ErrorCode(err) == fleet.EINTERNAL {
			s.logger(c).Error("tenant usage", "tenant", name, "err", err)
			vm.Error = "Internal error; the server's log has the detail."
		}
		return render(c, http.StatusOK, pages.TenantUsageCard(vm))
	}
	vm.RowsRead, vm.RowsWritten, vm.StorageBytes, vm.From, vm.To = u.RowsRead, u.RowsWritten, u.StorageBytes, u.From, u.To
	out := usageJSON{Name: name, Platform: p.Name(), RowsRead: u.RowsRead, RowsWritten: u.RowsWritten, StorageBytes: u.StorageBytes,
		From: u.From, To: u.To, TopQueries: []queryJSON{}}
	for i, q := range u.TopQueries {
		if i == maxTopQueries {
			break
		}
		sql := fleet.Truncate(q.SQL, maxQueryLen)
		vm.TopQueries = append(vm.TopQueries, pages.QueryUsage{SQL: sql, RowsRead: q.RowsRead, RowsWritten: q.RowsWritten})
		out.TopQueries = append(out.TopQueries, queryJSON{SQL: sql, RowsRead: q.RowsRead, RowsWritten: q.RowsWritten})
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, out)
	}
	return render(c, http.StatusOK, pages.TenantUsageCard(vm))
}
