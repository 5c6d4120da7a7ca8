package api

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func (s *Server) snapshotRoutes(g *echo.Group) {
	g.POST("/snapshots", s.handleSnapshotTake, admin)
	g.GET("/snapshots", s.handleSnapshotsNewest)
	g.GET("/snapshots/runs", s.handleSnapshotRuns)
	g.GET("/snapshots/runs/:id", s.handleSnapshotRun)
	g.POST("/snapshots/verify", s.handleSnapshotVerify, admin)
	g.GET("/tenants/:name/snapshots", s.handleTenantSnapshots)
	g.GET("/backups", s.handleBackups)
}

// backups is the snapshot service, or the refusal every snapshot call
// answers with where tenants are not snapshotted (Turso Cloud keeps its
// own history): 400 with backups.Unsupported.
func (s *Server) backups() (*backups.Service, error) {
	if !s.Backups.Enabled() {
		return nil, fleet.Errorf(fleet.EINVALID, "%s", backups.Unsupported)
	}
	return s.Backups, nil
}

// optionalBody decodes a JSON body into v, as bind does, when there is
// one: a call whose body is empty takes its defaults.
func optionalBody(c echo.Context, v any) error {
	r := c.Request()
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return bind(c, v)
}

// bodyError makes an EINVALID refusal of what the body asked a 422.
func bodyError(err error) error {
	if fleet.ErrorCode(err) == fleet.EINVALID {
		return unprocessable{err}
	}
	return err
}

// SnapshotRequest is the body of POST /snapshots: one tenant, or the
// fleet (no body, or no tenant).
type SnapshotRequest struct {
	Tenant string `json:"tenant,omitempty"`
}

// handleSnapshotTake queues a snapshot run: 202 with the run (Location:
// the run), or, when it finished within ?wait, 200 with the finished run
// and its failed tenants.
func (s *Server) handleSnapshotTake(c echo.Context) error {
	wait, err := waitParam(c)
	if err != nil {
		return err
	}
	var req SnapshotRequest
	if err := optionalBody(c, &req); err != nil {
		return err
	}
	b, err := s.backups()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	run, j, err := b.Submit(ctx, actor(c), "api", req.Tenant)
	if err != nil {
		return bodyError(err)
	}
	status := http.StatusAccepted
	if wait > 0 {
		if j, err = s.await(c, j.ID, wait); err != nil {
			return err
		}
		if j.Finished() {
			if run, err = s.DB.SnapshotRunByID(ctx, run.ID); err != nil {
				return err
			}
			status = http.StatusOK
		}
	}
	if run.Errors == nil {
		run.Errors = []fleet.TenantError{} // queued: none yet
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("%s/snapshots/runs/%d", Prefix, run.ID))
	return c.JSON(status, run)
}

// handleSnapshotRun is a run with its failed tenants, as `tenantry
// snapshots take --json` reports it.
func (s *Server) handleSnapshotRun(c echo.Context) error {
	id, err := idParam(c, "snapshot run")
	if err != nil {
		return err
	}
	if _, err := s.backups(); err != nil {
		return err
	}
	run, err := s.DB.SnapshotRunByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, run)
}

// SnapshotRunPage is a page of snapshot runs, newest first. Their errors
// are null: GET a run for its failed tenants.
type SnapshotRunPage struct {
	Runs  []fleet.SnapshotRun `json:"runs"`
	Total int64               `json:"total"`
}

func (s *Server) handleSnapshotRuns(c echo.Context) error {
	limit, err := intQuery(c, "limit", DefaultPage, 1, MaxPage)
	if err != nil {
		return err
	}
	offset, err := intQuery(c, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	if _, err := s.backups(); err != nil {
		return err
	}
	runs, total, err := s.DB.SnapshotRuns(c.Request().Context(), limit, offset)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []fleet.SnapshotRun{}
	}
	return c.JSON(http.StatusOK, SnapshotRunPage{Runs: runs, Total: total})
}

// SnapshotList is a tenant's snapshots, newest first.
type SnapshotList struct {
	Snapshots []fleet.Snapshot `json:"snapshots"`
}

// SnapshotPage is a page of the newest snapshot of every tenant that has
// one, in name order.
type SnapshotPage struct {
	Snapshots []fleet.Snapshot `json:"snapshots"`
	// NextCursor continues the list after this page; null on the last.
	NextCursor *string `json:"next_cursor"`
}

// handleTenantSnapshots lists a tenant's snapshots newest first. With
// ?at= it lists those a restore or branch at that time could start from,
// the one it would use first, and refuses as they would: a time in the
// future, or none that old (naming the oldest).
func (s *Server) handleTenantSnapshots(c echo.Context) error {
	name, err := tenantName(c)
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit", DefaultPage, 1, MaxPage)
	if err != nil {
		return err
	}
	var at time.Time
	if v := c.QueryParam("at"); v != "" {
		if at, err = time.Parse(time.RFC3339, v); err != nil {
			return fleet.Errorf(fleet.EINVALID, "at=%q is not an RFC 3339 time such as 2026-11-20T15:04:05Z.", fleet.Truncate(v, 40))
		}
	}
	b, err := s.backups()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var snaps []fleet.Snapshot
	if at.IsZero() {
		if snaps, err = b.Snapshots(ctx, name, limit); err != nil {
			return err
		}
	} else {
		first, err := b.At(ctx, name, at)
		if err != nil {
			return err
		}
		snaps = []fleet.Snapshot{*first}
		if limit > 1 {
			// Then the older ones: a person picking another sees what
			// came before it.
			older, err := s.DB.Snapshots(ctx, name, first.TakenAt, limit-1)
			if err != nil {
				return err
			}
			snaps = append(snaps, older...)
		}
	}
	if len(snaps) == 0 {
		// A tenant deleted and forgotten keeps its snapshots until they
		// age out; a name never seen has none, and is not found.
		if _, err := s.DB.Tenant(ctx, name); err != nil {
			return err
		}
		snaps = []fleet.Snapshot{}
	}
	return c.JSON(http.StatusOK, SnapshotList{Snapshots: snaps})
}

// handleSnapshotsNewest pages through the newest snapshot of every tenant
// that has one (registered or not), in name order.
func (s *Server) handleSnapshotsNewest(c echo.Context) error {
	limit, err := intQuery(c, "limit", DefaultPage, 1, MaxPage)
	if err != nil {
		return err
	}
	after := ""
	if cur := c.QueryParam("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || fleet.ValidateName(string(b)) != nil {
			return fleet.Errorf(fleet.EINVALID, "cursor=%q is not a cursor this API gave: pass next_cursor from the previous page as it is.", fleet.Truncate(cur, 40))
		}
		after = string(b)
	}
	if _, err := s.backups(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	names, err := s.DB.SnapshotTenants(ctx, after, limit+1) // one more tells whether a next page exists
	if err != nil {
		return err
	}
	var next *string
	if len(names) > limit {
		names = names[:limit]
		cur := base64.RawURLEncoding.EncodeToString([]byte(names[limit-1]))
		next = &cur
	}
	latest, err := s.DB.LatestSnapshots(ctx, names)
	if err != nil {
		return err
	}
	p := SnapshotPage{Snapshots: []fleet.Snapshot{}, NextCursor: next}
	for _, n := range names {
		if sn, ok := latest[n]; ok {
			p.Snapshots = append(p.Snapshots, sn)
		}
	}
	return c.JSON(http.StatusOK, p)
}

// VerifyRequest is the body of POST /snapshots/verify: the newest
// snapshot of Sample tenants picked at random (default 10, 0 for every
// one), or of Tenant alone.
type VerifyRequest struct {
	Sample *int   `json:"sample,omitempty"`
	Tenant string `json:"tenant,omitempty"`
}

// DefaultDrillSample is how many tenants a drill restores when the
// request does not say.
const DefaultDrillSample = 10

// DrillReport is a restore drill's outcome, a result a snapshot.
type DrillReport struct {
	Drills []backups.DrillResult `json:"drills"`
	// Failed counts the snapshots that did not restore whole.
	Failed int `json:"failed"`
}

// handleSnapshotVerify runs the restore drill while the caller waits: 200
// with every snapshot's result, those that failed included.
func (s *Server) handleSnapshotVerify(c echo.Context) error {
	var req VerifyRequest
	if err := optionalBody(c, &req); err != nil {
		return err
	}
	sample := DefaultDrillSample
	if req.Sample != nil {
		sample = *req.Sample
	}
	if sample < 0 || sample > backups.MaxSample {
		return unprocessable{fleet.Errorf(fleet.EINVALID, "\"sample\" must be from 1 to %d snapshots, or 0 for the newest of every tenant.", backups.MaxSample)}
	}
	b, err := s.backups()
	if err != nil {
		return err
	}
	drills, err := b.Verify(c.Request().Context(), actor(c), req.Tenant, sample)
	if err != nil {
		return bodyError(err)
	}
	r := DrillReport{Drills: drills}
	if r.Drills == nil {
		r.Drills = []backups.DrillResult{}
	}
	for _, d := range drills {
		if d.Error != "" {
			r.Failed++
		}
	}
	return c.JSON(http.StatusOK, r)
}

// RestoreRequest is the body of POST /tenants/{name}/restore when it
// rolls a live tenant back: At is the time to go back to (RFC 3339).
// Without a body, or without At, the call brings an archived tenant back.
type RestoreRequest struct {
	At string `json:"at,omitempty"`
}

// handleTenantRestore brings an archived tenant back, or, given a time,
// rolls a live one back to its newest snapshot at or before it: 202 with
// the job, or 200 with the tenant when it is done within ?wait.
func (s *Server) handleTenantRestore(c echo.Context) error {
	name, err := tenantName(c)
	if err != nil {
		return err
	}
	wait, err := waitParam(c)
	if err != nil {
		return err
	}
	var req RestoreRequest
	if err := optionalBody(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if req.At == "" {
		j, err := s.Lifecycle.Restore(ctx, actor(c), name)
		if err != nil {
			return err
		}
		return s.jobAnswer(c, j, wait, http.StatusOK)
	}
	at, err := time.Parse(time.RFC3339, req.At)
	if err != nil {
		return unprocessable{fleet.Errorf(fleet.EINVALID, "\"at\" %q is not an RFC 3339 time such as 2026-11-20T15:04:05Z.", fleet.Truncate(req.At, 40))}
	}
	if _, err := s.backups(); err != nil {
		return err
	}
	j, err := s.Lifecycle.Rollback(ctx, actor(c), name, at)
	if err != nil {
		return bodyError(err)
	}
	return s.jobAnswer(c, j, wait, http.StatusOK)
}

// BackupStatus is the state of the fleet's backups, as the Backups page
// shows it. Periods are whole seconds.
type BackupStatus struct {
	// Enabled is false where tenants are not snapshotted (Turso Cloud):
	// then only the central database's history is reported.
	Enabled bool `json:"enabled"`
	// EverySeconds is the schedule (0: by hand only); MaxAgeSeconds how
	// old a tenant's newest snapshot may be before the tenant is late.
	EverySeconds  int64           `json:"every_seconds"`
	MaxAgeSeconds int64           `json:"max_age_seconds"`
	Policy        RetentionPolicy `json:"policy"`
	History       HistoryPolicy   `json:"history_policy"`
	// Runs are the newest runs (errors null: GET a run for them);
	// LastFailed the newest that failed on some tenant, with its
	// failures.
	Runs       []fleet.SnapshotRun       `json:"runs"`
	LastFailed *fleet.SnapshotRun        `json:"last_failed,omitempty"`
	Coverage   *central.SnapshotCoverage `json:"coverage,omitempty"`
	Totals     *central.SnapshotTotals   `json:"totals,omitempty"`
	Store      *StoreUsage               `json:"store,omitempty"`
	Central    *central.HistoryReport    `json:"central"`
}

// RetentionPolicy is which snapshots are kept: every one younger than
// KeepAllSeconds, then one a day for KeepDaily days, then one a month
// for KeepMonthly months; a tenant's newest is always kept.
type RetentionPolicy struct {
	KeepAllSeconds int64 `json:"keep_all_seconds"`
	KeepDaily      int   `json:"keep_daily"`
	KeepMonthly    int   `json:"keep_monthly"`
}

// HistoryPolicy is how long the central database keeps per-tenant
// results and finished jobs' details, and the audit log.
type HistoryPolicy struct {
	KeepResultsSeconds int64 `json:"keep_results_seconds"`
	KeepAuditSeconds   int64 `json:"keep_audit_seconds"`
}

// StoreUsage is the snapshot store's files and bytes, and the space left
// for more (-1: the store cannot tell).
type StoreUsage struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
	Free  int64 `json:"free"`
}

// maxStatusRuns bounds ?runs= of GET /backups.
const maxStatusRuns = 100

func (s *Server) handleBackups(c echo.Context) error {
	runs, err := intQuery(c, "runs", 10, 1, maxStatusRuns)
	if err != nil {
		return err
	}
	if s.Backups == nil {
		return fleet.Errorf(fleet.EINVALID, "%s", backups.Unsupported)
	}
	st, err := s.Backups.Status(c.Request().Context(), runs)
	if err != nil {
		return err
	}
	out := BackupStatus{Enabled: st.Enabled, EverySeconds: seconds(st.Every), MaxAgeSeconds: seconds(st.MaxAge),
		Policy:  RetentionPolicy{KeepAllSeconds: seconds(st.Policy.Every), KeepDaily: st.Policy.Daily, KeepMonthly: st.Policy.Monthly},
		History: HistoryPolicy{KeepResultsSeconds: seconds(st.History.Results), KeepAuditSeconds: seconds(st.History.Audit)},
		Runs:    st.Runs, LastFailed: st.LastFailed, Coverage: st.Coverage, Totals: st.Totals, Central: st.Central}
	if out.Runs == nil {
		out.Runs = []fleet.SnapshotRun{}
	}
	if st.Enabled {
		out.Store = &StoreUsage{Files: st.Store.Files, Bytes: st.Store.Bytes, Free: st.Store.Free}
	}
	return c.JSON(http.StatusOK, out)
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }
