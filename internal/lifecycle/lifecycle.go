// Package lifecycle creates, branches, imports, deletes and restores
// tenants. Every change runs as a durable job: the registry row is claimed
// first (status creating or deleting), the platform does the work, and only
// a finished tenant is marked ready. A job killed part-way is resumed by
// the next runner, or fails and cleans up what it left.
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Service is the tenant lifecycle.
type Service struct {
	db   *central.DB
	p    platform.Platform
	jobs *jobs.Runner
	log  *slog.Logger
	// Schema is what new tenants are migrated to (default: the built-in
	// store schema).
	Schema *schema.Set
	// Snapshots, where set, make point-in-time branches and rollbacks
	// on platforms without history of their own.
	Snapshots Snapshots

	unadoptable atomic.Pointer[[]platform.Skipped] // as of the last rescan
}

// New returns the service and registers its job handlers with the runner.
func New(db *central.DB, p platform.Platform, runner *jobs.Runner, log *slog.Logger) *Service {
	s := &Service{db: db, p: p, jobs: runner, log: log, Schema: schema.Embedded()}
	runner.Handle(fleet.JobCreate, jobs.Handler{Run: s.runCreate, GiveUp: s.giveUpMaking})
	runner.Handle(fleet.JobClone, jobs.Handler{Run: s.runClone, GiveUp: s.giveUpMaking})
	runner.Handle(fleet.JobImport, jobs.Handler{Run: s.runImport, GiveUp: s.giveUpMaking})
	runner.Handle(fleet.JobDelete, jobs.Handler{Run: s.runDelete, GiveUp: s.giveUpDelete})
	runner.Handle(fleet.JobRestore, jobs.Handler{Run: s.runRestore, GiveUp: s.giveUpRestore})
	runner.Handle(fleet.JobRollback, jobs.Handler{Run: s.runRollback, GiveUp: s.giveUpRollback})
	db.OnUnknownTenant(s.adopt)
	return s
}

// adopt looks for a tenant the registry lacks on a platform whose list
// can hold databases nobody registered (local files dropped into place),
// and rescans if it is there: CONTRACT.md says the console adopts such a
// database, and "not found" must not depend on whether something else
// rescanned first. The name is probed first, as a rescan would before
// adopting it: a name the platform lacks, or a file that is not a
// database, costs one open and no rescan, however often it is asked for.
func (s *Service) adopt(ctx context.Context, name string) bool {
	pr, ok := s.p.(prober)
	if !ok || pr.Probe(ctx, name) != nil {
		return false
	}
	if _, err := s.rescan(ctx); err != nil {
		s.log.Warn("rescan for an unknown tenant", "tenant", name, "err", err)
		return false
	}
	return true
}

// Platform returns the platform the service manages.
func (s *Service) Platform() platform.Platform { return s.p }

type cloneArgs struct {
	Source string    `json:"source"`
	At     time.Time `json:"at,omitzero"`
	// Snapshot is the snapshot a branch at At is made from, on
	// platforms without history of their own; 0 elsewhere.
	Snapshot int64 `json:"snapshot,omitempty"`
}

type importArgs struct {
	File string `json:"file"`
}

// deleteArgs: Forget is set when the tenant was missing when its delete
// was asked for: there is nothing to archive, so, unless the database
// came back meanwhile, the delete removes the registry row rather than
// leave an "archived" tenant with no copy to restore.
type deleteArgs struct {
	Forget bool `json:"forget,omitempty"`
}

// Create queues the creation of a tenant with the latest schema.
func (s *Service) Create(ctx context.Context, actor, name string) (*fleet.Job, error) {
	return s.create(ctx, actor, name, nil)
}

func (s *Service) create(ctx context.Context, actor, name string, once *central.Once) (*fleet.Job, error) {
	if err := fleet.ValidateName(name); err != nil {
		return nil, s.refused(ctx, actor, fleet.JobCreate, name, "", err)
	}
	return s.claim(ctx, actor, &fleet.Tenant{Name: name}, fleet.JobCreate, nil, once)
}

// Clone queues a branch of src named dst, as of at if not zero.
func (s *Service) Clone(ctx context.Context, actor, src, dst string, at time.Time) (*fleet.Job, error) {
	return s.clone(ctx, actor, src, dst, at, nil)
}

func (s *Service) clone(ctx context.Context, actor, src, dst string, at time.Time, once *central.Once) (*fleet.Job, error) {
	detail := "from " + src
	if !at.IsZero() {
		detail += " at " + at.UTC().Format(time.RFC3339)
	}
	for _, n := range []string{src, dst} {
		if err := fleet.ValidateName(n); err != nil {
			return nil, s.refused(ctx, actor, fleet.JobClone, dst, detail, err)
		}
	}
	if src == dst {
		return nil, s.refused(ctx, actor, fleet.JobClone, dst, detail, fleet.Errorf(fleet.EINVALID, "A branch needs a name different from its source."))
	}
	st, err := s.db.Tenant(ctx, src)
	if err != nil {
		return nil, s.refused(ctx, actor, fleet.JobClone, dst, detail, err)
	}
	if st.Status != fleet.StatusReady {
		return nil, s.refused(ctx, actor, fleet.JobClone, dst, detail, fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s; only a ready tenant can be branched.", src, st.Status))
	}
	if !at.IsZero() && at.After(s.db.Now()) {
		return nil, s.refused(ctx, actor, fleet.JobClone, dst, detail, fleet.Errorf(fleet.EINVALID, "The branch point %s is in the future.", at.UTC().Format(time.RFC3339)))
	}
	args := cloneArgs{Source: src, At: at}
	if caps := s.p.Caps(); !at.IsZero() && !caps.PointInTime {
		if !s.snapshotted() {
			return nil, s.refused(ctx, actor, fleet.JobClone, dst, detail, fleet.Errorf(fleet.EINVALID, "%s", caps.NoPointInTime))
		}
		// The branch is made from the newest snapshot at or before at,
		// and says so: its branch point is that snapshot's time.
		snap, err := s.Snapshots.At(ctx, src, at)
		if fleet.ErrorCode(err) == fleet.ENOTFOUND {
			err = fleet.Wrap(fleet.ENOTFOUND, err, "%s Point-in-time branches on the %s platform are made from snapshots (taken on serve's schedule, or by tenantry snapshots take).",
				fleet.ErrorMessage(err), s.p.Name())
		}
		if err != nil {
			return nil, s.refused(ctx, actor, fleet.JobClone, dst, detail, err)
		}
		args.Snapshot, at = snap.ID, snap.TakenAt
	}
	return s.claim(ctx, actor, &fleet.Tenant{Name: dst, Parent: src, BranchedAt: at}, fleet.JobClone, args, once)
}

// Import queues a new tenant seeded from a SQLite file on this machine.
func (s *Service) Import(ctx context.Context, actor, name, file string) (*fleet.Job, error) {
	if err := fleet.ValidateName(name); err != nil {
		return nil, s.refused(ctx, actor, fleet.JobImport, name, file, err)
	}
	// Check the file before claiming the name, so a bad file leaves no trace.
	if err := tenantdb.CheckFile(ctx, file); err != nil {
		return nil, s.refused(ctx, actor, fleet.JobImport, name, file, err)
	}
	return s.claim(ctx, actor, &fleet.Tenant{Name: name}, fleet.JobImport, importArgs{File: file}, nil)
}

func (s *Service) claim(ctx context.Context, actor string, t *fleet.Tenant, kind string, args any, once *central.Once) (*fleet.Job, error) {
	b, _ := json.Marshal(args)
	if args == nil {
		b = []byte("{}")
	}
	t.Platform, t.Status, t.CreatedAt = s.p.Name(), fleet.StatusCreating, s.db.Now()
	j := &fleet.Job{Kind: kind, Tenant: t.Name, Args: string(b), CreatedBy: actor}
	if err := s.db.ClaimTenantJob(ctx, t, j, once); err != nil {
		if errors.Is(err, central.ErrOnceTaken) {
			return nil, err // not refused: the key's first request goes on
		}
		return nil, s.refused(ctx, actor, kind, t.Name, "", err)
	}
	s.jobs.Wake()
	return j, nil
}

// Delete queues the deletion of a tenant: archived, restorable.
func (s *Service) Delete(ctx context.Context, actor, name string) (*fleet.Job, error) {
	if err := fleet.ValidateName(name); err != nil {
		return nil, s.refused(ctx, actor, fleet.JobDelete, name, "", err)
	}
	return s.move(ctx, actor, name, fleet.JobDelete, fleet.StatusDeleting,
		[]string{fleet.StatusReady, fleet.StatusMissing, fleet.StatusFailed})
}

// Restore queues bringing an archived tenant back.
func (s *Service) Restore(ctx context.Context, actor, name string) (*fleet.Job, error) {
	if err := fleet.ValidateName(name); err != nil {
		return nil, s.refused(ctx, actor, fleet.JobRestore, name, "", err)
	}
	return s.move(ctx, actor, name, fleet.JobRestore, fleet.StatusCreating, []string{fleet.StatusArchived})
}

// move queues a job on an existing tenant, moving it to a transitional
// status only from the states allowed.
func (s *Service) move(ctx context.Context, actor, name, kind, status string, from []string) (*fleet.Job, error) {
	t, err := s.db.Tenant(ctx, name)
	if err != nil {
		return nil, s.refused(ctx, actor, kind, name, "", err)
	}
	ok := false
	for _, f := range from {
		ok = ok || t.Status == f
	}
	if !ok {
		verb := map[string]string{fleet.JobDelete: "deleted", fleet.JobRestore: "restored"}[kind]
		return nil, s.refused(ctx, actor, kind, name, "", fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s and cannot be %s now.", name, t.Status, verb))
	}
	j := &fleet.Job{Kind: kind, Tenant: name, CreatedBy: actor}
	if kind == fleet.JobDelete && t.Status == fleet.StatusMissing {
		b, _ := json.Marshal(deleteArgs{Forget: true})
		j.Args = string(b)
	}
	if err := s.db.MoveTenant(ctx, j, name, central.TenantUpdate{Status: &status, IfStatus: []string{t.Status}}); err != nil {
		return nil, s.refused(ctx, actor, kind, name, "", err)
	}
	s.jobs.Wake()
	return j, nil
}

// refused audits a request turned down before any job ran.
func (s *Service) refused(ctx context.Context, actor, action, tenant, detail string, err error) error {
	if tenant != "" && fleet.ValidateName(tenant) != nil {
		tenant = fleet.Truncate(tenant, 80)
	}
	if aerr := s.db.Audit(ctx, fleet.AuditEntry{Actor: actor, Action: action, Tenant: tenant, Detail: detail,
		Outcome: "error", Error: fleet.ErrorMessage(err)}); aerr != nil {
		s.log.Error("write audit entry", "err", aerr)
	}
	return err
}

func (s *Service) audit(ctx context.Context, j *fleet.Job, detail string, err error) {
	e := fleet.AuditEntry{Actor: j.CreatedBy, Action: j.Kind, Tenant: j.Tenant, Detail: detail, Outcome: "ok"}
	if err != nil {
		e.Outcome, e.Error = "error", fleet.ErrorMessage(err)
		if fleet.ErrorCode(err) == fleet.EINTERNAL {
			e.Error = err.Error()
		}
	}
	if aerr := s.db.Audit(ctx, e); aerr != nil {
		s.log.Error("write audit entry", "err", aerr)
	}
}

// finish migrates (when asked) and checks a made tenant, then marks it
// ready. It is the last step of every job that makes a tenant.
func (s *Service) finish(ctx context.Context, j *fleet.Job, d platform.Database, migrate bool, p jobs.Progress) error {
	db, err := s.p.Open(ctx, j.Tenant)
	if err != nil {
		return err
	}
	defer db.Close()
	var version int64
	if migrate {
		p("Applying the store schema", 2, 3)
		o, err := s.Schema.Apply(ctx, db, s.Schema.Latest())
		if err != nil {
			return fmt.Errorf("apply the store schema: %w", err)
		}
		version = o.After
	} else if version, err = schema.Version(ctx, db); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	p("Checking the database answers", 3, 3)
	var one int
	if err := db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("database does not answer: %w", err)
	}
	if d2, err := s.p.Get(ctx, j.Tenant); err == nil {
		d = d2 // size after migrating
	}
	ready, noJob, empty := fleet.StatusReady, int64(0), ""
	lastWrite := d.ModifiedAt
	var zero time.Time
	return s.settle(ctx, j.Tenant, central.TenantUpdate{
		Status: &ready, PlatformID: &d.ID, URL: &d.URL, SchemaVersion: &version, SizeBytes: &d.SizeBytes,
		LastWriteAt: &lastWrite, ArchivedAt: &zero, Error: &empty, JobID: &noJob,
		IfStatus: []string{fleet.StatusCreating, fleet.StatusRestoring},
	})
}

// settle makes a job's last registry update. If the tenant is already in
// the state the update sets, with no job holding it, an earlier attempt of
// this job made the update and was killed before the job's end was
// recorded: the job is done, not failed (nor, for a job that makes a
// tenant, cleaned up after, which would discard a ready tenant).
func (s *Service) settle(ctx context.Context, name string, u central.TenantUpdate) error {
	err := s.db.UpdateTenant(ctx, name, u)
	if fleet.ErrorCode(err) == fleet.ECONFLICT {
		if t, terr := s.db.Tenant(ctx, name); terr == nil && t.Status == *u.Status && t.JobID == 0 {
			return nil
		}
	}
	return err
}

func (s *Service) runCreate(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	p("Creating the database", 1, 3)
	d, err := s.p.Get(ctx, j.Tenant)
	if fleet.ErrorCode(err) == fleet.ENOTFOUND {
		d, err = s.p.Create(ctx, j.Tenant)
	}
	// On a resumed attempt the database exists already: it is this job's,
	// since the registry row (status creating) has been ours all along.
	if err != nil {
		return err
	}
	if err := s.finish(ctx, j, d, true, p); err != nil {
		return err
	}
	s.audit(ctx, j, "", nil)
	return nil
}

func (s *Service) runClone(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	var a cloneArgs
	if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
		return fmt.Errorf("clone job arguments: %w", err)
	}
	p("Copying "+a.Source, 1, 3)
	detail := "from " + a.Source
	// Platforms publish a branch atomically: if it exists, it is whole.
	d, err := s.p.Get(ctx, j.Tenant)
	if fleet.ErrorCode(err) == fleet.ENOTFOUND {
		if a.Snapshot != 0 {
			d, detail, err = s.cloneSnapshot(ctx, j, a)
		} else {
			d, err = s.p.Clone(ctx, a.Source, j.Tenant, a.At)
		}
	}
	if err != nil {
		return err
	}
	// A branch keeps its source's schema version.
	if err := s.finish(ctx, j, d, false, p); err != nil {
		return err
	}
	s.audit(ctx, j, detail, nil)
	return nil
}

func (s *Service) runImport(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	var a importArgs
	if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
		return fmt.Errorf("import job arguments: %w", err)
	}
	p("Importing "+a.File, 1, 3)
	d, err := s.p.Get(ctx, j.Tenant)
	if fleet.ErrorCode(err) == fleet.ENOTFOUND {
		var f *os.File
		if f, err = os.Open(a.File); err != nil {
			return fleet.Errorf(fleet.EINVALID, "Cannot read %s: %v.", a.File, errors.Unwrap(err))
		}
		d, err = s.p.Import(ctx, j.Tenant, f)
		f.Close()
	}
	if err != nil {
		return err
	}
	if err := s.finish(ctx, j, d, true, p); err != nil {
		return err
	}
	s.audit(ctx, j, "from "+a.File, nil)
	return nil
}

// giveUpMaking cleans up after a create, clone or import that failed for
// good: whatever it made is discarded and the row says failed, freeing
// the name.
func (s *Service) giveUpMaking(ctx context.Context, j *fleet.Job, cause error) {
	// Only while the row is still this job's is what the platform holds
	// this job's to discard. An earlier attempt may have finished the
	// tenant before a kill, and a delete may hold it now: its database is
	// a real tenant's, not leftovers.
	if t, err := s.db.Tenant(ctx, j.Tenant); err != nil || t.Status != fleet.StatusCreating || t.JobID != j.ID {
		s.log.Warn("not discarding: the tenant is no longer this job's", "tenant", j.Tenant, "job", j.ID, "err", err)
		s.audit(ctx, j, "", cause)
		return
	}
	if err := s.p.Discard(ctx, j.Tenant); err != nil {
		s.log.Error("discard leftovers", "tenant", j.Tenant, "err", err)
	}
	failed, msg, noJob := fleet.StatusFailed, fleet.ErrorMessage(cause), int64(0)
	if fleet.ErrorCode(cause) == fleet.EINTERNAL {
		msg = cause.Error()
	}
	if err := s.db.UpdateTenant(ctx, j.Tenant, central.TenantUpdate{Status: &failed, Error: &msg, JobID: &noJob,
		IfStatus: []string{fleet.StatusCreating}}); err != nil {
		s.log.Error("mark tenant failed", "tenant", j.Tenant, "err", err)
	}
	s.audit(ctx, j, "", cause)
}

func (s *Service) runDelete(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	var a deleteArgs
	if j.Args != "" {
		if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
			return fmt.Errorf("delete job arguments: %w", err)
		}
	}
	p("Archiving the database", 1, 2)
	err := s.p.Delete(ctx, j.Tenant)
	// Not found: an earlier attempt archived it already, or it was missing.
	if err != nil && fleet.ErrorCode(err) != fleet.ENOTFOUND {
		return err
	}
	if err != nil && a.Forget {
		p("Removing it from the registry", 2, 2)
		if err := s.db.ForgetTenant(ctx, j.Tenant, fleet.StatusDeleting); err != nil {
			return err
		}
		s.audit(ctx, j, "forgotten: its database was missing, so nothing was archived and there is nothing to restore", nil)
		return nil
	}
	p("Updating the registry", 2, 2)
	archived, now, noJob, empty := fleet.StatusArchived, s.db.Now(), int64(0), ""
	if err := s.settle(ctx, j.Tenant, central.TenantUpdate{Status: &archived, ArchivedAt: &now, JobID: &noJob,
		Error: &empty, IfStatus: []string{fleet.StatusDeleting}}); err != nil {
		return err
	}
	s.audit(ctx, j, "archived", nil)
	return nil
}

func (s *Service) giveUpDelete(ctx context.Context, j *fleet.Job, cause error) {
	// Whatever state the database is in, say so truthfully.
	status := fleet.StatusArchived
	if _, err := s.p.Get(ctx, j.Tenant); err == nil {
		status = fleet.StatusReady
	}
	msg, noJob := "Delete failed: "+fleet.ErrorMessage(cause), int64(0)
	if err := s.db.UpdateTenant(ctx, j.Tenant, central.TenantUpdate{Status: &status, Error: &msg, JobID: &noJob,
		IfStatus: []string{fleet.StatusDeleting}}); err != nil {
		s.log.Error("reset tenant after failed delete", "tenant", j.Tenant, "err", err)
	}
	s.audit(ctx, j, "", cause)
}

func (s *Service) runRestore(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	p("Restoring from the archive", 1, 3)
	d, err := s.p.Get(ctx, j.Tenant)
	if fleet.ErrorCode(err) == fleet.ENOTFOUND {
		d, err = s.p.Restore(ctx, j.Tenant)
	}
	if err != nil {
		return err
	}
	if err := s.finish(ctx, j, d, false, p); err != nil {
		return err
	}
	s.audit(ctx, j, "", nil)
	return nil
}

func (s *Service) giveUpRestore(ctx context.Context, j *fleet.Job, cause error) {
	status := fleet.StatusArchived
	if _, err := s.p.Get(ctx, j.Tenant); err == nil {
		status = fleet.StatusReady
	}
	msg, noJob := "Restore failed: "+fleet.ErrorMessage(cause), int64(0)
	if err := s.db.UpdateTenant(ctx, j.Tenant, central.TenantUpdate{Status: &status, Error: &msg, JobID: &noJob,
		IfStatus: []string{fleet.StatusCreating}}); err != nil {
		s.log.Error("reset tenant after failed restore", "tenant", j.Tenant, "err", err)
	}
	s.audit(ctx, j, "", cause)
}

// Export writes a consistent SQLite copy of a tenant to w.
func (s *Service) Export(ctx context.Context, actor, name string, w io.Writer) error {
	if err := fleet.ValidateName(name); err != nil {
		return err
	}
	t, err := s.db.Tenant(ctx, name)
	if err != nil {
		return err
	}
	if t.Status != fleet.StatusReady {
		return fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s; only a ready tenant can be exported.", name, t.Status)
	}
	err = s.p.Export(ctx, name, w)
	s.audit(ctx, &fleet.Job{CreatedBy: actor, Kind: "tenant.export", Tenant: name}, "", err)
	return err
}

// prober is implemented by platforms whose List may include entries that
// are not databases.
type prober interface {
	Probe(ctx context.Context, name string) error
}

// Rescan reconciles the registry with the platform's list and reads the
// schema version of every database it adopted. A rescan a person asked
// for (actor not "") is audited, failed or not; the background's and the
// CLI's own rescans (actor "") are not.
func (s *Service) Rescan(ctx context.Context, actor string) (res central.ReconcileResult, err error) {
	if actor != "" {
		defer func() {
			detail := ""
			if err == nil {
				detail = fmt.Sprintf("%d adopted, %d missing, %d back", len(res.Adopted), len(res.Missing), len(res.Reappeared))
			}
			if aerr := s.db.Audit(ctx, fleet.Audited(actor, "tenant.rescan", "", detail, err)); aerr != nil {
				s.log.Error("write audit entry", "action", "tenant.rescan", "err", aerr)
			}
		}()
	}
	return s.rescan(ctx)
}

func (s *Service) rescan(ctx context.Context) (central.ReconcileResult, error) {
	dbs, err := s.p.List(ctx)
	if err != nil {
		return central.ReconcileResult{}, err
	}
	seen := make([]central.Observed, len(dbs))
	for i, d := range dbs {
		seen[i] = central.Observed{Name: d.Name, PlatformID: d.ID, URL: d.URL, SizeBytes: d.SizeBytes, ModifiedAt: d.ModifiedAt, CreatedAt: d.CreatedAt}
	}
	// A platform whose list may hold things that are not databases (stray
	// files) is asked about each new name once, before it is adopted.
	var accept func(string) bool
	var rejected []string
	if pr, ok := s.p.(prober); ok {
		accept = func(name string) bool {
			if pr.Probe(ctx, name) != nil {
				rejected = append(rejected, name)
				return false
			}
			return true
		}
	}
	res, err := s.db.Reconcile(ctx, s.p.Name(), seen, accept)
	if err != nil {
		return res, err
	}
	s.noteUnadoptable(ctx, rejected)
	for _, name := range append(res.Adopted, res.Reappeared...) {
		s.readVersion(ctx, name)
	}
	if len(res.Adopted)+len(res.Missing)+len(res.Reappeared) > 0 {
		s.log.Info("registry reconciled", "adopted", len(res.Adopted), "missing", len(res.Missing), "reappeared", len(res.Reappeared))
	}
	return res, nil
}

func (s *Service) readVersion(ctx context.Context, name string) {
	var msg string
	v, err := func() (int64, error) {
		db, err := s.p.Open(ctx, name)
		if err != nil {
			return 0, err
		}
		defer db.Close()
		return schema.Version(ctx, db)
	}()
	if err != nil {
		msg = "Cannot read the database: " + err.Error()
	}
	if err := s.db.UpdateTenant(ctx, name, central.TenantUpdate{SchemaVersion: &v, Error: &msg}); err != nil {
		s.log.Warn("record schema version", "tenant", name, "err", err)
	}
}
