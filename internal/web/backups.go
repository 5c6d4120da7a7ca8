package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/components"
	"github.com/tenantry/tenantry/views/pages"
)

func (s *Server) backupRoutes(g *echo.Group) {
	g.GET(paths.Backups, s.handleBackups)
	g.POST(paths.BackupsSnapshots, s.handleSnapshotFleet, requireAdmin)
	g.POST(paths.TenantSnapshotsRoute, s.handleSnapshotTenant, requireAdmin)
	g.GET(paths.TenantRollbackRoute, s.handleRollbackConfirm, requireAdmin)
	g.POST(paths.TenantRollbackRoute, s.handleRollback, requireAdmin)
}

// snapshotsOn reports whether this console takes snapshots.
func (s *Server) snapshotsOn() bool { return s.Backups != nil && s.Backups.Enabled() }

// runsShown is how many snapshot runs the Backups page lists.
const runsShown = 20

func (s *Server) handleBackups(c echo.Context) error {
	vm, st, err := s.backupsPage(c.Request().Context())
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, st)
	}
	return render(c, http.StatusOK, pages.BackupsPage(s.page(c, "Backups", "backups"), vm))
}

func (s *Server) backupsPage(ctx context.Context) (pages.Backups, *backups.Status, error) {
	vm := pages.Backups{On: s.snapshotsOn(), Off: backups.Unsupported}
	if s.Backups == nil {
		h, err := s.DB.HistoryReport(ctx)
		if err != nil {
			return vm, nil, err
		}
		vm.CentralSize, vm.CentralFree, vm.History = h.FileSize, h.FreeSize, historyRows(h, central.DefaultHistoryPolicy())
		return vm, &backups.Status{Central: h}, nil
	}
	st, err := s.Backups.Status(ctx, runsShown)
	if err != nil {
		return vm, nil, err
	}
	vm.CentralSize, vm.CentralFree, vm.History = st.Central.FileSize, st.Central.FreeSize, historyRows(st.Central, st.History)
	if !st.Enabled {
		return vm, st, nil
	}
	vm.MaxAge = st.MaxAge
	vm.Schedule = "By hand only (serve --snapshot-every 0)."
	if vm.Scheduled = st.Every > 0; vm.Scheduled {
		vm.Schedule = "Every " + components.Duration(st.Every) + ", tenants that changed."
	}
	vm.Policy = policyText(st)
	for _, r := range st.Runs {
		row := snapshotRunRow(r)
		vm.Runs = append(vm.Runs, row)
		if row.Running() && r.Tenant == "" && vm.Running == nil && r.JobID != 0 {
			vm.Running = &row
		}
	}
	if st.LastFailed != nil {
		row := snapshotRunRow(*st.LastFailed)
		vm.Failed, vm.FailedErrors = &row, st.LastFailed.Errors
	}
	vm.Tenants, vm.Fresh, vm.Late, vm.LateNames = st.Coverage.Tenants, st.Coverage.Fresh, st.Coverage.Late, st.Coverage.LateNames
	vm.Snapshots, vm.StoredBytes, vm.DatabaseBytes, vm.StoreFree = st.Totals.Snapshots, st.Totals.Size, st.Totals.RawSize, st.Store.Free
	if st.Totals.Oldest != nil {
		vm.Oldest = st.Totals.Oldest.TakenAt
	}
	return vm, st, nil
}

// policyText says the retention policy in words.
func policyText(st *backups.Status) string {
	p := st.Policy
	var parts []string
	if p.Every > 0 {
		parts = append(parts, "every snapshot for "+components.Duration(p.Every))
	}
	if p.Daily > 0 {
		parts = append(parts, fmt.Sprintf("then one a day for %d days", p.Daily))
	}
	if p.Monthly > 0 {
		parts = append(parts, fmt.Sprintf("then one a month for %d months", p.Monthly))
	}
	parts = append(parts, "and always each tenant's newest")
	text := strings.Join(parts, ", ")
	return strings.ToUpper(text[:1]) + text[1:] + "."
}

func historyRows(h *central.HistoryReport, policy central.HistoryPolicy) []pages.HistoryRow {
	var out []pages.HistoryRow
	for _, t := range h.Tables {
		keep := "forever (run summaries)"
		switch t.Keep {
		case central.KeepResults:
			keep = components.Duration(policy.Results)
		case central.KeepAudit:
			keep = components.Duration(policy.Audit)
		}
		out = append(out, pages.HistoryRow{Name: t.Name, Keep: keep, Rows: t.Rows, Oldest: t.Oldest})
	}
	return out
}

func snapshotRunRow(r fleet.SnapshotRun) pages.SnapshotRunRow {
	return pages.SnapshotRunRow{ID: r.ID, JobID: r.JobID, Tenant: r.Tenant, State: r.State, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Tenants: r.Tenants, Snapshotted: r.Snapshotted, Unchanged: r.Unchanged, Failed: r.Failed, Pruned: r.Pruned, Error: r.Error}
}

// handleSnapshotFleet queues a snapshot run of the fleet and shows its job.
func (s *Server) handleSnapshotFleet(c echo.Context) error {
	ctx := c.Request().Context()
	if !s.snapshotsOn() {
		return fleet.Errorf(fleet.EINVALID, "%s", backups.Unsupported)
	}
	_, j, err := s.Backups.Submit(ctx, actor(c), "web", "")
	if err != nil {
		if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
			return err
		}
		vm, _, verr := s.backupsPage(ctx)
		if verr != nil {
			return verr
		}
		vm.FormError = fleet.ErrorMessage(err)
		return render(c, fleet.HTTPStatus(fleet.ErrorCode(err)), pages.BackupsPage(s.page(c, "Backups", "backups"), vm))
	}
	return s.accepted(c, j)
}

// handleSnapshotTenant queues a snapshot of one tenant.
func (s *Server) handleSnapshotTenant(c echo.Context) error {
	name, err := tenantParam(c)
	if err != nil {
		return err
	}
	if !s.snapshotsOn() {
		return s.tenantFormError(c, name, fleet.Errorf(fleet.EINVALID, "%s", backups.Unsupported), nil)
	}
	_, j, err := s.Backups.Submit(c.Request().Context(), actor(c), "web", name)
	if err != nil {
		return s.tenantFormError(c, name, err, nil)
	}
	return s.accepted(c, j)
}

// rollbackTarget reads the snapshot a rollback names: the tenant's newest
// snapshot at or before ?at=.
func (s *Server) rollbackTarget(c echo.Context) (string, *fleet.Snapshot, error) {
	name, err := tenantParam(c)
	if err != nil {
		return "", nil, err
	}
	if !s.snapshotsOn() {
		return name, nil, fleet.Errorf(fleet.EINVALID, "%s", backups.Unsupported)
	}
	if _, err := s.DB.Tenant(c.Request().Context(), name); err != nil {
		return name, nil, err
	}
	at, err := parseWhen(strings.TrimSpace(c.QueryParam("at")))
	if err != nil {
		return name, nil, err
	}
	snap, err := s.Backups.At(c.Request().Context(), name, at)
	return name, snap, err
}

func snapshotRow(sn fleet.Snapshot) pages.SnapshotRow {
	return pages.SnapshotRow{ID: sn.ID, TakenAt: sn.TakenAt, Size: sn.Size, RawSize: sn.RawSize, SHA256: sn.SHA256, VerifiedAt: sn.VerifiedAt}
}

// handleRollbackConfirm is the page that asks for the tenant's name
// before a rollback.
func (s *Server) handleRollbackConfirm(c echo.Context) error {
	name, snap, err := s.rollbackTarget(c)
	if err != nil {
		return s.rollbackRefused(c, name, err)
	}
	return render(c, http.StatusOK, pages.RollbackPage(s.page(c, "Restore "+name, "tenants"), name, snapshotRow(*snap), ""))
}

// rollbackRefused answers a refused rollback: on the tenant's page, with
// the reason, for a tenant the registry has; the error page otherwise.
func (s *Server) rollbackRefused(c echo.Context, name string, err error) error {
	if name == "" || wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
		return err
	}
	if _, terr := s.DB.Tenant(c.Request().Context(), name); terr != nil {
		return err
	}
	return s.refusedAction(c, name, err)
}

// handleRollback starts the rollback once the tenant's name is typed.
func (s *Server) handleRollback(c echo.Context) error {
	name, snap, err := s.rollbackTarget(c)
	if err != nil {
		return s.rollbackRefused(c, name, err)
	}
	if c.FormValue("confirm") != name {
		msg := fmt.Sprintf("Type the tenant's name, %s, to confirm the restore.", name)
		if wantsJSON(c) {
			return fleet.Errorf(fleet.EINVALID, "%s", msg)
		}
		return render(c, http.StatusBadRequest, pages.RollbackPage(s.page(c, "Restore "+name, "tenants"), name, snapshotRow(*snap), msg))
	}
	j, err := s.Lifecycle.Rollback(c.Request().Context(), actor(c), name, snap.TakenAt)
	if err != nil {
		return s.refusedAction(c, name, err)
	}
	return s.accepted(c, j)
}

// tenantSnapshotsShown is how many snapshots a tenant's page lists.
const tenantSnapshotsShown = 20

// tenantSnapshots fills a tenant page's Snapshots card.
func (s *Server) tenantSnapshots(ctx context.Context, t *fleet.Tenant) (pages.TenantSnapshots, error) {
	vm := pages.TenantSnapshots{On: s.snapshotsOn(), Off: backups.Unsupported}
	if !vm.On {
		return vm, nil
	}
	vm.Every = s.Backups.Every()
	vm.CanTake = t.Status == fleet.StatusReady
	vm.CanRestore = t.Status == fleet.StatusReady || t.Status == fleet.StatusMissing
	snaps, err := s.Backups.Snapshots(ctx, t.Name, tenantSnapshotsShown+1)
	if err != nil {
		return vm, err
	}
	if len(snaps) > tenantSnapshotsShown {
		snaps, vm.More = snaps[:tenantSnapshotsShown], true
	}
	for _, sn := range snaps {
		vm.Rows = append(vm.Rows, snapshotRow(sn))
	}
	return vm, nil
}

// snapshotWarning is the overview's warning of late tenants.
func (s *Server) snapshotWarning(ctx context.Context) (pages.SnapshotWarning, error) {
	if !s.snapshotsOn() {
		return pages.SnapshotWarning{}, nil
	}
	late, err := s.Backups.Late(ctx)
	if err != nil {
		return pages.SnapshotWarning{}, err
	}
	return pages.SnapshotWarning{Late: late.Late, Names: late.LateNames, MaxAge: s.Backups.MaxAge()}, nil
}

// branchAt is a snapshot time as the branch form's datetime-local input
// takes it: whole seconds, rounded up so that the branch is made from
// that snapshot and not the one before.
func branchAt(v string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return ""
	}
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.Format("2006-01-02T15:04:05")
}
