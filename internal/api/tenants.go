package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/lifecycle"
)

func (s *Server) tenantRoutes(g *echo.Group) {
	g.GET("/tenants", s.handleTenantList)
	g.POST("/tenants", s.handleTenantCreate, admin)
	g.GET("/tenants/:name", s.handleTenantGet)
	g.DELETE("/tenants/:name", s.tenantJob(s.Lifecycle.Delete), admin)
	g.POST("/tenants/:name/restore", s.handleTenantRestore, admin)
	g.GET("/tenants/:name/export", s.handleTenantExport)
	g.PUT("/tenants/:name/import", s.handleTenantImport, admin)
	g.POST("/tenants/:name/credentials", s.handleCredentials, admin)
}

// TenantPage is one page of the registry in name order.
type TenantPage struct {
	Tenants []fleet.Tenant `json:"tenants"`
	// NextCursor continues the list after this page; null on the last.
	NextCursor *string `json:"next_cursor"`
}

var statuses = map[string]bool{fleet.StatusCreating: true, fleet.StatusReady: true, fleet.StatusDeleting: true,
	fleet.StatusRestoring: true, fleet.StatusArchived: true, fleet.StatusMissing: true, fleet.StatusFailed: true}

func (s *Server) handleTenantList(c echo.Context) error {
	f := central.TenantFilter{Status: c.QueryParam("status"), Prefix: c.QueryParam("prefix"), NoCount: true}
	if f.Status != "" && !statuses[f.Status] {
		return fleet.Errorf(fleet.EINVALID, "status=%q is not a tenant status: creating, ready, restoring, deleting, archived, missing or failed.", fleet.Truncate(f.Status, 20))
	}
	if len(f.Prefix) > fleet.MaxNameLen {
		return fleet.Errorf(fleet.EINVALID, "prefix=%q is longer than a tenant name can be.", fleet.Truncate(f.Prefix, 20))
	}
	limit, err := intQuery(c, "limit", DefaultPage, 1, MaxPage)
	if err != nil {
		return err
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || fleet.ValidateName(string(b)) != nil {
			return fleet.Errorf(fleet.EINVALID, "cursor=%q is not a cursor this API gave: pass next_cursor from the previous page as it is.", fleet.Truncate(cur, 40))
		}
		f.After = string(b)
	}
	f.Limit = limit + 1 // one more tells whether a next page exists
	ts, _, err := s.DB.ListTenants(c.Request().Context(), f)
	if err != nil {
		return err
	}
	p := TenantPage{Tenants: ts}
	if len(ts) > limit {
		p.Tenants = ts[:limit]
		next := base64.RawURLEncoding.EncodeToString([]byte(ts[limit-1].Name))
		p.NextCursor = &next
	}
	if p.Tenants == nil {
		p.Tenants = []fleet.Tenant{}
	}
	return c.JSON(http.StatusOK, p)
}

// intQuery reads an integer query parameter within [lo, hi].
func intQuery(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fleet.Errorf(fleet.EINVALID, "%s=%q must be a whole number from %d to %d.", name, fleet.Truncate(v, 20), lo, hi)
	}
	return n, nil
}

// tenantName reads and checks the {name} path parameter.
func tenantName(c echo.Context) (string, error) {
	name := c.Param("name")
	return name, fleet.ValidateName(name)
}

func (s *Server) handleTenantGet(c echo.Context) error {
	name, err := tenantName(c)
	if err != nil {
		return err
	}
	t, err := s.DB.Tenant(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// CreateTenant is the body of POST /tenants.
type CreateTenant struct {
	Name string `json:"name"`
	From string `json:"from,omitempty"` // branch this tenant
	At   string `json:"at,omitempty"`   // RFC 3339: the branch's point in time
}

// MaxKeyLen bounds an Idempotency-Key.
const MaxKeyLen = 200

func idempotencyKey(c echo.Context) (string, error) {
	k := c.Request().Header.Get("Idempotency-Key")
	if len(k) > MaxKeyLen {
		return "", fleet.Errorf(fleet.EINVALID, "Idempotency-Key is over %d characters.", MaxKeyLen)
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return "", fleet.Errorf(fleet.EINVALID, "Idempotency-Key must be printable ASCII without spaces (a UUID is a good key).")
		}
	}
	return k, nil
}

func (s *Server) handleTenantCreate(c echo.Context) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	wait, err := waitParam(c)
	if err != nil {
		return err
	}
	var req CreateTenant
	if err := bind(c, &req); err != nil {
		return err
	}
	p := lifecycle.Provision{Name: req.Name, From: req.From}
	if req.At != "" {
		if p.At, err = time.Parse(time.RFC3339, req.At); err != nil {
			return unprocessable{fleet.Errorf(fleet.EINVALID, "\"at\" %q is not an RFC 3339 time such as 2026-11-20T15:04:05Z.", fleet.Truncate(req.At, 40))}
		}
	}
	if key != "" {
		// The request as understood, not its bytes: the same request sent
		// with other spacing or field order is the same request.
		canon, _ := json.Marshal(struct {
			Name, From string
			At         time.Time
		}{p.Name, p.From, p.At.UTC()})
		h := sha256.Sum256(canon)
		p.Once = &central.Once{Actor: actor(c), Key: key, Hash: hex.EncodeToString(h[:])}
	}
	j, again, err := s.Lifecycle.Provision(c.Request().Context(), actor(c), p)
	if err != nil {
		if fleet.ErrorCode(err) == fleet.EINVALID {
			return unprocessable{err}
		}
		return err
	}
	if again {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	return s.jobAnswer(c, j, wait, http.StatusCreated)
}

// jobAnswer answers a request that queued a job on a tenant: 202 with the
// job (Location: the job), or, when the job succeeded within wait,
// ready status with the tenant (Location: the tenant).
func (s *Server) jobAnswer(c echo.Context, j *fleet.Job, wait time.Duration, ready int) error {
	if wait > 0 {
		var err error
		if j, err = s.await(c, j.ID, wait); err != nil {
			return err
		}
	}
	if j.State == fleet.JobSucceeded {
		t, err := s.DB.Tenant(c.Request().Context(), j.Tenant)
		switch {
		case err == nil:
			c.Response().Header().Set(echo.HeaderLocation, Prefix+"/tenants/"+t.Name)
			return c.JSON(ready, t)
		case fleet.ErrorCode(err) != fleet.ENOTFOUND:
			return err
		}
		// Deleting a tenant whose database was missing forgets it: the
		// job, succeeded, is all there is to answer with (not a 404).
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("%s/jobs/%d", Prefix, j.ID))
	return c.JSON(http.StatusAccepted, j)
}

// tenantJob handles a call that queues a job on an existing tenant
// (delete, restore): 202 with the job, or 200 with the tenant when it is
// done within ?wait.
func (s *Server) tenantJob(queue func(ctx context.Context, actor, name string) (*fleet.Job, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		name, err := tenantName(c)
		if err != nil {
			return err
		}
		wait, err := waitParam(c)
		if err != nil {
			return err
		}
		j, err := queue(c.Request().Context(), actor(c), name)
		if err != nil {
			return err
		}
		return s.jobAnswer(c, j, wait, http.StatusOK)
	}
}

func (s *Server) handleTenantExport(c echo.Context) error {
	name, err := tenantName(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/vnd.sqlite3")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.db"`, name))
	// Export makes the whole copy before writing a byte, so an error
	// still reaches the error funnel with nothing sent.
	return s.Lifecycle.Export(c.Request().Context(), actor(c), name, c.Response())
}

// handleTenantImport makes a new tenant from the SQLite file in the body.
// The body is streamed to a temporary file (never held in memory), cut
// off past MaxImportBytes, checked, and removed once the import job has
// run, whatever happened.
func (s *Server) handleTenantImport(c echo.Context) error {
	name, err := tenantName(c)
	if err != nil {
		return err
	}
	req := c.Request()
	if req.ContentLength > s.MaxImportBytes {
		return s.tooLarge()
	}
	// A name taken is refused before the upload, in the words of the
	// CLI's local import; a failed tenant's name is free, as the import
	// job's claim of it would find.
	if t, err := s.DB.Tenant(req.Context(), name); err == nil && t.Status != fleet.StatusFailed {
		return fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists (%s).", name, t.Status)
	}
	f, err := os.CreateTemp(s.TempDir, "import-*.db")
	if err != nil {
		return fmt.Errorf("make the upload's temporary file: %w", err)
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, io.LimitReader(req.Body, s.MaxImportBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fleet.Errorf(fleet.EUNAVAILABLE, "The console's disk is full: the upload was not kept. Free space in the data directory and send it again.")
	case err != nil:
		return fmt.Errorf("receive the upload: %w", err)
	case n > s.MaxImportBytes:
		return s.tooLarge()
	case n == 0:
		return unprocessable{fleet.Errorf(fleet.EINVALID, "The body is empty: send the SQLite file as the body.")}
	}
	j, err := s.Lifecycle.Import(req.Context(), actor(c), name, f.Name())
	if err != nil {
		if fleet.ErrorCode(err) == fleet.EINVALID {
			return unprocessable{err}
		}
		return err
	}
	// The job reads the file: it is removed only once the job is over,
	// even if the client goes away meanwhile.
	if j, err = s.Jobs.Await(context.WithoutCancel(req.Context()), j.ID); err != nil {
		return err
	}
	if j.State != fleet.JobSucceeded {
		return unprocessable{fleet.Errorf(fleet.EINVALID, "The import failed: %s", j.Error)}
	}
	return s.jobAnswer(c, j, 0, http.StatusCreated)
}

func (s *Server) tooLarge() error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("The file is over the import limit of %d MiB (--max-import-size).", s.MaxImportBytes>>20))
}
