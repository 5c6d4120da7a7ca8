package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/platform"
	"golang.org/x/sync/errgroup"
)

// Snapshots is what the lifecycle needs of fleet snapshots (the backups
// service): on platforms without history of their own, a point-in-time
// branch and a rollback start from the newest snapshot at or before the
// time asked for.
type Snapshots interface {
	// Enabled reports whether this platform's tenants are snapshotted.
	Enabled() bool
	// At returns the newest snapshot of tenant taken at or before at; a
	// time in the future is EINVALID, none that old ENOTFOUND naming the
	// oldest.
	At(ctx context.Context, tenant string, at time.Time) (*fleet.Snapshot, error)
	// ByID returns a recorded snapshot.
	ByID(ctx context.Context, id int64) (*fleet.Snapshot, error)
	// Fetch writes the snapshot's database to dst, a file it creates,
	// refusing a snapshot whose checksum no longer matches.
	Fetch(ctx context.Context, snap fleet.Snapshot, dst string) error
	// Keep makes sure the tenant's database as it is now is kept as a
	// snapshot, taking one unless the newest is of the same state.
	Keep(ctx context.Context, tenant string) (fleet.Snapshot, error)
	// TempDir is where fetched databases are written before import.
	TempDir() string
}

// snapshotted reports whether branches and rollbacks come from snapshots
// here: the platform has no history of its own, and snapshots are on.
func (s *Service) snapshotted() bool {
	return !s.p.Caps().PointInTime && s.Snapshots != nil && s.Snapshots.Enabled()
}

// BranchPoint returns the snapshot a branch of src at at starts from on
// this platform, or nil where the platform branches at a time itself.
func (s *Service) BranchPoint(ctx context.Context, src string, at time.Time) (*fleet.Snapshot, error) {
	if at.IsZero() || !s.snapshotted() {
		return nil, nil
	}
	return s.Snapshots.At(ctx, src, at)
}

// rollbackArgs name the snapshot a rollback puts in place.
type rollbackArgs struct {
	Snapshot int64     `json:"snapshot"`
	At       time.Time `json:"at"`
}

// Rollback queues putting a tenant back to the newest snapshot taken at
// or before at. The tenant must be ready, or missing (its database lost).
// The database it replaces is kept as a snapshot first, so a rollback can
// itself be rolled back.
func (s *Service) Rollback(ctx context.Context, actor, name string, at time.Time) (*fleet.Job, error) {
	detail := ""
	if !at.IsZero() {
		detail = "to " + at.UTC().Format(time.RFC3339)
	}
	refuse := func(err error) (*fleet.Job, error) {
		return nil, s.refused(ctx, actor, fleet.JobRollback, name, detail, err)
	}
	if err := fleet.ValidateName(name); err != nil {
		return refuse(err)
	}
	if at.IsZero() {
		return refuse(fleet.Errorf(fleet.EINVALID, "A restore needs the time to go back to (RFC 3339)."))
	}
	if !s.snapshotted() {
		if s.p.Caps().PointInTime {
			return refuse(fleet.Errorf(fleet.EINVALID, "The %s platform keeps its own history: branch %s at %s instead and move your application to the branch.",
				s.p.Name(), name, at.UTC().Format(time.RFC3339)))
		}
		return refuse(fleet.Errorf(fleet.EINVALID, "Snapshots are off, so there is nothing to restore %s from.", name))
	}
	t, err := s.db.Tenant(ctx, name)
	if err != nil {
		return refuse(err)
	}
	if t.Status != fleet.StatusReady && t.Status != fleet.StatusMissing {
		return refuse(fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s; only a ready or missing tenant can be restored to a snapshot.", name, t.Status))
	}
	snap, err := s.Snapshots.At(ctx, name, at)
	if err != nil {
		return refuse(err)
	}
	b, _ := json.Marshal(rollbackArgs{Snapshot: snap.ID, At: at})
	j := &fleet.Job{Kind: fleet.JobRollback, Tenant: name, Args: string(b), CreatedBy: actor}
	status := fleet.StatusRestoring
	if err := s.db.MoveTenant(ctx, j, name, central.TenantUpdate{Status: &status, IfStatus: []string{t.Status}}); err != nil {
		return refuse(err)
	}
	s.jobs.Wake()
	return j, nil
}

// runRollback fetches the snapshot (checked before anything is touched),
// keeps the live database as a snapshot, removes it (archived where the
// platform archives) and imports the snapshot in its place. Every step
// can be run again: a resumed rollback fetches again, keeps whatever is
// live (the old database, or the snapshot already imported) and imports.
func (s *Service) runRollback(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	var a rollbackArgs
	if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
		return fmt.Errorf("rollback job arguments: %w", err)
	}
	if !s.snapshotted() {
		return fleet.Errorf(fleet.EINVALID, "Snapshots are off, so there is nothing to restore %s from.", j.Tenant)
	}
	snap, err := s.Snapshots.ByID(ctx, a.Snapshot)
	if err != nil {
		return err
	}
	_, err = s.p.Get(ctx, j.Tenant)
	live := err == nil
	if !live && fleet.ErrorCode(err) != fleet.ENOTFOUND {
		return err
	}
	// The snapshot is fetched and checked while the live database is
	// kept: two independent copies, one per core.
	p("Fetching the snapshot taken "+snap.TakenAt.UTC().Format(time.RFC3339)+" and keeping the current database", 1, 5)
	var (
		file string
		k    fleet.Snapshot
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		file, err = s.fetch(gctx, j, *snap)
		return err
	})
	if live {
		g.Go(func() (err error) {
			if k, err = s.Snapshots.Keep(gctx, j.Tenant); err != nil {
				return fmt.Errorf("keep the current database before restoring: %w", err)
			}
			return nil
		})
	}
	err = g.Wait()
	if file != "" {
		defer os.Remove(file)
	}
	if err != nil {
		return err
	}
	kept := ""
	if live {
		p("Setting the current database aside", 2, 5)
		kept = fmt.Sprintf("; the database it replaced is snapshot %d, taken %s", k.ID, k.TakenAt.UTC().Format(time.RFC3339))
		if err := s.p.Delete(ctx, j.Tenant); err != nil {
			return fmt.Errorf("set the current database aside: %w", err)
		}
	}
	p("Putting the snapshot in place", 3, 5)
	d, err := s.importFetched(ctx, j.Tenant, file)
	if err != nil {
		return err
	}
	if err := s.finish(ctx, j, d, false, p); err != nil {
		return err
	}
	s.audit(ctx, j, "to the snapshot taken "+snap.TakenAt.UTC().Format(time.RFC3339)+" (snapshot "+strconv.FormatInt(snap.ID, 10)+")"+kept, nil)
	return nil
}

// fetch writes a snapshot into the snapshots' work directory under a name
// of the job's, replacing what an earlier attempt left there.
func (s *Service) fetch(ctx context.Context, j *fleet.Job, snap fleet.Snapshot) (string, error) {
	file := filepath.Join(s.Snapshots.TempDir(), fmt.Sprintf("job-%d.db", j.ID))
	removeFiles(file)
	if err := s.Snapshots.Fetch(ctx, snap, file); err != nil {
		return "", err
	}
	return file, nil
}

// removeFiles removes a database file and its journals.
func removeFiles(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// giveUpRollback leaves the tenant ready if its database is there (the
// old one, or the snapshot already put in place), missing if not: a
// missing tenant can be restored again.
func (s *Service) giveUpRollback(ctx context.Context, j *fleet.Job, cause error) {
	status := fleet.StatusMissing
	if _, err := s.p.Get(ctx, j.Tenant); err == nil {
		status = fleet.StatusReady
	}
	msg, noJob := "Restore failed: "+fleet.ErrorMessage(cause), int64(0)
	if err := s.db.UpdateTenant(ctx, j.Tenant, central.TenantUpdate{Status: &status, Error: &msg, JobID: &noJob,
		IfStatus: []string{fleet.StatusRestoring}}); err != nil {
		s.log.Error("reset tenant after failed rollback", "tenant", j.Tenant, "err", err)
	}
	s.audit(ctx, j, "", cause)
}

// cloneSnapshot makes a branch from a snapshot of its source: fetched,
// checked, and imported under the branch's name.
func (s *Service) cloneSnapshot(ctx context.Context, j *fleet.Job, a cloneArgs) (platform.Database, string, error) {
	if !s.snapshotted() {
		return platform.Database{}, "", fleet.Errorf(fleet.EINVALID, "Snapshots are off, so %s cannot be branched at a point in time.", a.Source)
	}
	snap, err := s.Snapshots.ByID(ctx, a.Snapshot)
	if err != nil {
		return platform.Database{}, "", err
	}
	file, err := s.fetch(ctx, j, *snap)
	if err != nil {
		return platform.Database{}, "", err
	}
	defer os.Remove(file)
	d, err := s.importFetched(ctx, j.Tenant, file)
	return d, fmt.Sprintf("from %s at %s: the snapshot taken %s (snapshot %d)", a.Source, a.At.UTC().Format(time.RFC3339),
		snap.TakenAt.UTC().Format(time.RFC3339), snap.ID), err
}

// checkedImporter is a platform that can take a database file already
// checked without checking it again (the local one: a link, not a copy).
type checkedImporter interface {
	ImportChecked(ctx context.Context, name, file string) (platform.Database, error)
}

// importFetched makes the tenant from a fetched snapshot, which Fetch
// has checked already.
func (s *Service) importFetched(ctx context.Context, name, file string) (platform.Database, error) {
	if ci, ok := s.p.(checkedImporter); ok {
		return ci.ImportChecked(ctx, name, file)
	}
	f, err := os.Open(file)
	if err != nil {
		return platform.Database{}, err
	}
	defer f.Close()
	return s.p.Import(ctx, name, f)
}
