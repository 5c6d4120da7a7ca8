package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
)

func (s *Server) migrationRoutes(g *echo.Group) {
	g.GET("/migrations", s.handleMigrationStatus)
	g.POST("/migrations/rollouts", s.handleRolloutCreate, admin)
	g.GET("/migrations/rollouts/:id", s.handleRolloutGet)
}

// MigrationStatus is the fleet's schema status, as `tenantry migrate
// status --json` prints it: the counts, the first behind and failed
// tenants, the pending migrations and every ready tenant's version.
type MigrationStatus struct {
	Latest     int64                        `json:"latest"`
	LatestName string                       `json:"latest_name"`
	Source     string                       `json:"source"`
	Ready      int64                        `json:"ready"`
	Versions   []central.VersionCount       `json:"versions"`
	Behind     int64                        `json:"behind"`
	BehindList []schema.TenantVersionStatus `json:"behind_list"`
	Failed     int64                        `json:"failed"`
	FailedList []schema.TenantVersionStatus `json:"failed_list"`
	Pending    []PendingMigration           `json:"pending"`
	Active     *central.MigrationRun        `json:"active,omitempty"`
	Tenants    []schema.TenantVersionStatus `json:"tenants"`
}

// PendingMigration is a migration some ready tenant has not applied.
type PendingMigration struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
}

// FleetStatus reads the fleet's schema status; the CLI prints it locally
// and the API serves it, so both say the same.
func FleetStatus(ctx context.Context, ro *schema.Rollouts) (*MigrationStatus, error) {
	st, err := ro.Status(ctx)
	if err != nil {
		return nil, err
	}
	set := ro.Set()
	withPending := func(ts []central.TenantVersion) []schema.TenantVersionStatus {
		out := make([]schema.TenantVersionStatus, len(ts))
		for i, t := range ts {
			out[i] = schema.TenantVersionStatus{Name: t.Name, Version: t.Version, Pending: len(set.After(t.Version)), Error: t.Error}
		}
		return out
	}
	out := &MigrationStatus{Latest: st.Latest, LatestName: st.LatestName, Source: st.Source, Ready: st.Ready, Versions: st.Versions,
		Behind: st.Behind, BehindList: withPending(st.BehindList), Failed: st.Failed, FailedList: withPending(st.FailedList),
		Pending: []PendingMigration{}, Active: st.Active, Tenants: []schema.TenantVersionStatus{}}
	if out.Versions == nil {
		out.Versions = []central.VersionCount{}
	}
	for _, m := range st.Pending {
		out.Pending = append(out.Pending, PendingMigration{Version: m.Version, Name: m.Name})
	}
	err = ro.EachTenant(ctx, func(t schema.TenantVersionStatus) error {
		out.Tenants = append(out.Tenants, t)
		return nil
	})
	return out, err
}

func (s *Server) handleMigrationStatus(c echo.Context) error {
	st, err := FleetStatus(c.Request().Context(), s.Rollouts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// Rollout modes, as `tenantry migrate up` and the migrations page offer
// them.
const (
	RolloutDryRun  = "dry-run" // say what would run where (over a subset if one is given)
	RolloutCanary  = "canary"  // the first canary ready tenants by name
	RolloutFull    = "full"    // every ready tenant
	RolloutTenants = "tenants" // the named tenants
	RolloutRetry   = "retry"   // the tenants rollout retry_of failed on
)

// RolloutRequest is the body of POST /migrations/rollouts.
type RolloutRequest struct {
	Mode     string   `json:"mode"`
	Canary   int      `json:"canary,omitempty"`
	Tenants  []string `json:"tenants,omitempty"`
	RetryOf  int64    `json:"retry_of,omitempty"`
	Parallel int      `json:"parallel,omitempty"`
	OnError  string   `json:"on_error,omitempty"`
}

// Spec checks the request's fields against its mode and returns the
// rollout it asks for.
func (r RolloutRequest) Spec() (schema.Spec, error) {
	spec := schema.Spec{Canary: r.Canary, Tenants: r.Tenants, RetryOf: r.RetryOf, Parallel: r.Parallel, OnError: r.OnError}
	bad := func(format string, args ...any) (schema.Spec, error) {
		return spec, fleet.Errorf(fleet.EINVALID, format, args...)
	}
	subsets := 0
	for _, set := range []bool{r.Canary != 0, r.Tenants != nil, r.RetryOf != 0} {
		if set {
			subsets++
		}
	}
	switch {
	case r.Parallel < 0 || r.Parallel > schema.MaxParallel:
		return bad("\"parallel\" is from 1 to %d tenants at once, not %d.", schema.MaxParallel, r.Parallel)
	case r.OnError != "" && r.OnError != "stop" && r.OnError != "continue":
		return bad("\"on_error\" is stop or continue, not %q.", fleet.Truncate(r.OnError, 20))
	case subsets > 1:
		return bad("Give one of \"canary\", \"tenants\" or \"retry_of\", not several.")
	}
	switch r.Mode {
	case RolloutDryRun:
		spec.DryRun = true
	case RolloutFull:
		if subsets > 0 {
			return bad("A full rollout visits every ready tenant: leave out \"canary\", \"tenants\" and \"retry_of\", or choose that mode.")
		}
	case RolloutCanary:
		if r.Canary < 1 || r.Canary > schema.MaxCanary {
			return bad("A canary rollout needs \"canary\": a number of tenants from 1 to %d.", schema.MaxCanary)
		}
	case RolloutTenants:
		if len(r.Tenants) == 0 {
			return bad("A tenants rollout needs \"tenants\": the names to migrate.")
		}
	case RolloutRetry:
		if r.RetryOf <= 0 {
			return bad("A retry needs \"retry_of\": the rollout whose failed tenants to migrate again.")
		}
	case "":
		return bad("Say what to run: \"mode\" is dry-run, canary, full, tenants or retry.")
	default:
		return bad("Unknown mode %q: dry-run, canary, full, tenants or retry.", fleet.Truncate(r.Mode, 20))
	}
	return spec, nil
}

// handleRolloutCreate queues a rollout: 202 with the run (Location: the
// run; its job_id's /jobs/{id}?wait= waits for it). A rollout already
// under way is a conflict.
func (s *Server) handleRolloutCreate(c echo.Context) error {
	var req RolloutRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	spec, err := req.Spec()
	if err != nil {
		return unprocessable{err}
	}
	spec.Actor, spec.Trigger = actor(c), "api"
	run, _, err := s.Rollouts.Submit(c.Request().Context(), s.Jobs, spec)
	if err != nil {
		// The body named a tenant or a rollout that is not there, or
		// asked for what cannot run: the request, not the URL, is wrong.
		switch fleet.ErrorCode(err) {
		case fleet.EINVALID:
			return unprocessable{err}
		case fleet.ENOTFOUND:
			return unprocessable{fleet.Errorf(fleet.EINVALID, "%s", fleet.ErrorMessage(err))}
		}
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("%s/migrations/rollouts/%d", Prefix, run.ID))
	return c.JSON(http.StatusAccepted, run)
}

// Rollout is a rollout with what it did, grouped, and a page of its
// per-tenant results in tenant order, as `tenantry migrate up --json`
// prints it (which reads every page).
type Rollout struct {
	central.MigrationRun
	DurationMS int64                     `json:"duration_ms"`
	Groups     []central.ResultGroup     `json:"groups"`
	Results    []central.MigrationResult `json:"tenants"`
	// NextCursor continues the results after this page; null on the last.
	NextCursor *string `json:"next_cursor"`
}

func (s *Server) handleRolloutGet(c echo.Context) error {
	id, err := idParam(c, "rollout")
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit", MaxPage, 1, MaxPage)
	if err != nil {
		return err
	}
	f := central.ResultFilter{Outcome: c.QueryParam("outcome"), Limit: limit + 1}
	switch f.Outcome {
	case "", central.OutcomeMigrated, central.OutcomeFailed, central.OutcomeSkipped, central.OutcomePending:
	default:
		return fleet.Errorf(fleet.EINVALID, "outcome=%q is not migrated, failed, skipped or pending.", fleet.Truncate(f.Outcome, 20))
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || fleet.ValidateName(string(b)) != nil {
			return fleet.Errorf(fleet.EINVALID, "cursor=%q is not a cursor this API gave: pass next_cursor from the previous page as it is.", fleet.Truncate(cur, 40))
		}
		f.After = string(b)
	}
	ctx := c.Request().Context()
	run, err := s.DB.MigrationRunByID(ctx, id)
	if err != nil {
		return err
	}
	groups, err := s.DB.ResultGroups(ctx, id)
	if err != nil {
		return err
	}
	results, err := s.DB.MigrationResults(ctx, id, f)
	if err != nil {
		return err
	}
	out := Rollout{MigrationRun: *run, DurationMS: run.Duration().Milliseconds(), Groups: groups, Results: results}
	if len(results) > limit {
		out.Results = results[:limit]
		next := base64.RawURLEncoding.EncodeToString([]byte(results[limit-1].Tenant))
		out.NextCursor = &next
	}
	if out.Groups == nil {
		out.Groups = []central.ResultGroup{}
	}
	if out.Results == nil {
		out.Results = []central.MigrationResult{}
	}
	return c.JSON(http.StatusOK, out)
}
