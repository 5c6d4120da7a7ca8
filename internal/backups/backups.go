// Package backups is the fleet snapshot service: the durable job that
// snapshots every tenant that changed since its newest snapshot, applies
// the retention policy, sweeps what a crash left in the store and prunes
// the central database's own history; the lookups that restores and
// point-in-time branches start from; and the restore drill. The
// mechanics of one snapshot (copy, check, compress, store, fetch) are
// package snapshot's.
package backups

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// JobKind is the snapshot job's kind: at most one is queued or running for
// the fleet, and one for each tenant, across every console replica.
const JobKind = central.SnapshotJob

// Options configure the service.
type Options struct {
	// Every is how often the schedule takes snapshots (0: never on a
	// schedule). A tenant whose newest snapshot is older than twice this
	// is late (the Backups page, the overview's warning).
	Every time.Duration
	// Policy is the retention policy applied after every run; nil for
	// snapshot.DefaultPolicy.
	Policy *snapshot.Policy
	// History is the central database's own retention, applied after
	// every run over the fleet.
	History central.HistoryPolicy
	// Snapshot tunes the copies: workers, per-tenant timeout, work dir.
	Snapshot snapshot.Options
}

// Service takes, keeps, prunes and restores fleet snapshots.
type Service struct {
	db     *central.DB
	p      platform.Platform
	jobs   *jobs.Runner
	log    *slog.Logger
	o      Options
	policy snapshot.Policy

	open     func() (snapshot.Store, error)
	once     sync.Once
	store    snapshot.Store
	storeErr error

	mu sync.Mutex
	// maintained is when a run over the fleet last pruned every tenant,
	// swept the store and pruned the central history; zero in a new
	// process, whose first run does.
	maintained time.Time
}

// MaintainEvery is how often a run over the fleet does its full
// maintenance: the retention policy on every tenant, the store's sweep
// and the central database's history. Other runs prune only the tenants
// they snapshotted, so an hourly run over a quiet fleet reads almost
// nothing; a snapshot that ages out of the policy goes within a day.
const MaintainEvery = 24 * time.Hour

// Unsupported explains why a platform's tenants are not snapshotted here.
const Unsupported = "Snapshots are taken of local and sqld tenants; Turso Cloud keeps its own history of every database, so branch at a point in time there instead."

// New returns the service. open opens the snapshot store when it is
// first needed (so that commands that take no snapshot never touch it);
// nil means snapshots are off (the Turso platform), and every call says
// so.
func New(db *central.DB, p platform.Platform, open func() (snapshot.Store, error), runner *jobs.Runner, log *slog.Logger, o Options) (*Service, error) {
	policy := snapshot.DefaultPolicy
	if o.Policy != nil {
		policy = *o.Policy
	}
	if err := policy.Check(); err != nil {
		return nil, err
	}
	if o.History == (central.HistoryPolicy{}) {
		o.History = central.DefaultHistoryPolicy()
	}
	if o.Every < 0 {
		return nil, fleet.Errorf(fleet.EINVALID, "The snapshot schedule must not be negative.")
	}
	o.Snapshot.Now = db.Now
	s := &Service{db: db, p: p, open: open, jobs: runner, log: log, o: o, policy: policy}
	if runner != nil {
		runner.Handle(JobKind, jobs.Handler{Run: s.runJob, GiveUp: s.giveUp})
	}
	return s, nil
}

// Enabled reports whether this platform's tenants are snapshotted.
func (s *Service) Enabled() bool { return s != nil && s.open != nil }

// Open opens the snapshot store, once: serve calls it at start, so that
// a directory that is not writable stops it with a clear message.
func (s *Service) Open() error {
	if !s.Enabled() {
		return nil
	}
	s.once.Do(func() {
		if s.store, s.storeErr = s.open(); s.storeErr != nil {
			s.store = nil // not a typed nil that Close would call
		}
	})
	return s.storeErr
}

// Close closes the store if it was opened.
func (s *Service) Close() error {
	if s.Enabled() && s.store != nil {
		if c, ok := s.store.(interface{ Close() error }); ok {
			return c.Close()
		}
	}
	return nil
}

// Every is the schedule's period; 0 when off.
func (s *Service) Every() time.Duration { return s.o.Every }

// Policy is the retention policy.
func (s *Service) Policy() snapshot.Policy { return s.policy }

// HistoryPolicy is the central database's retention policy.
func (s *Service) HistoryPolicy() central.HistoryPolicy { return s.o.History }

// MaxAge is how old a tenant's newest snapshot may be before it is late:
// twice the schedule, or a day when snapshots are taken only by hand.
func (s *Service) MaxAge() time.Duration {
	if s.o.Every > 0 {
		return 2 * s.o.Every
	}
	return 24 * time.Hour
}

func (s *Service) enabled() error {
	if !s.Enabled() {
		return fleet.Errorf(fleet.EINVALID, "%s", Unsupported)
	}
	return s.Open()
}

type jobArgs struct {
	Trigger string `json:"trigger"`
}

// Submit queues a snapshot run of the fleet (tenant "") or of one ready
// tenant. trigger is "schedule", "cli", "web" or "api". A run of the same
// scope already queued or running is a conflict naming it.
func (s *Service) Submit(ctx context.Context, actor, trigger, tenant string) (*fleet.SnapshotRun, *fleet.Job, error) {
	r, j, err := s.submit(ctx, actor, trigger, tenant)
	if err != nil && trigger != "schedule" {
		s.audit(ctx, fleet.Audited(actor, JobKind, fleet.Truncate(tenant, 80), "", err))
	}
	return r, j, err
}

func (s *Service) submit(ctx context.Context, actor, trigger, tenant string) (*fleet.SnapshotRun, *fleet.Job, error) {
	if err := s.enabled(); err != nil {
		return nil, nil, err
	}
	if tenant != "" {
		if err := fleet.ValidateName(tenant); err != nil {
			return nil, nil, err
		}
		t, err := s.db.Tenant(ctx, tenant)
		if err != nil {
			return nil, nil, err
		}
		if t.Status != fleet.StatusReady {
			return nil, nil, fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s; only a ready tenant can be snapshotted.", tenant, t.Status)
		}
	}
	b, _ := json.Marshal(jobArgs{Trigger: trigger})
	j := &fleet.Job{Args: string(b), CreatedBy: actor}
	r := &fleet.SnapshotRun{Tenant: tenant}
	if err := s.db.QueueSnapshotRun(ctx, j, r); err != nil {
		return nil, nil, err
	}
	if s.jobs != nil {
		s.jobs.Wake()
	}
	return r, j, nil
}

func (s *Service) audit(ctx context.Context, e fleet.AuditEntry) {
	if err := s.db.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("write audit entry", "action", e.Action, "err", err)
	}
}

// page is how many tenants the job reads from the registry at once.
const page = 500

func (s *Service) runJob(ctx context.Context, j *fleet.Job, progress jobs.Progress) error {
	var a jobArgs
	if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
		return fmt.Errorf("snapshot job arguments: %w", err)
	}
	if err := s.enabled(); err != nil {
		return err
	}
	r := &fleet.SnapshotRun{JobID: j.ID, Tenant: j.Tenant}
	if err := s.db.StartSnapshotRun(ctx, r); err != nil {
		return err
	}
	err := s.run(ctx, r, progress)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped by a shutdown: the job resumes and so does the run.
			return err
		}
		r.Error = fleet.ErrorMessage(err)
	}
	if ferr := s.db.FinishSnapshotRun(ctx, r); ferr != nil {
		return errors.Join(err, ferr)
	}
	detail := fmt.Sprintf("run %d: %d snapshotted, %d unchanged, %d failed, %d pruned", r.ID, r.Snapshotted, r.Unchanged, r.Failed, r.Pruned)
	if a.Trigger != "schedule" || r.Failed > 0 || err != nil {
		s.audit(ctx, fleet.Audited(j.CreatedBy, JobKind, j.Tenant, detail, err))
	}
	s.log.Info("snapshot run finished", "run", r.ID, "tenant", r.Tenant, "tenants", r.Tenants, "snapshotted", r.Snapshotted,
		"unchanged", r.Unchanged, "failed", r.Failed, "pruned", r.Pruned)
	return err
}

// run walks the run's tenants, snapshots the changed ones, records each
// snapshot as soon as its file is whole, and then prunes.
func (s *Service) run(ctx context.Context, r *fleet.SnapshotRun, progress jobs.Progress) error {
	total := int64(1)
	if r.Tenant == "" {
		n, err := s.db.CountStatus(ctx, fleet.StatusReady)
		if err != nil {
			return err
		}
		total = n
	}
	step := "Snapshotting the fleet"
	if r.Tenant != "" {
		step = "Snapshotting " + r.Tenant
	}
	progress(step, 0, total)
	var failures []fleet.TenantError
	var taken []string // this run's snapshotted tenants, to prune
	source := func(ctx context.Context, emit func(snapshot.Target) bool) error {
		after := ""
		for {
			names := []string{r.Tenant}
			if r.Tenant == "" {
				var err error
				if names, err = s.db.ReadyNamesAfter(ctx, after, page); err != nil {
					return err
				}
			}
			if len(names) == 0 {
				return nil
			}
			last, err := s.db.LatestSnapshots(ctx, names)
			if err != nil {
				return err
			}
			for _, n := range names {
				if !emit(snapshot.Target{Tenant: n, Last: last[n].Fingerprint}) {
					return ctx.Err()
				}
			}
			if r.Tenant != "" || len(names) < page {
				return nil
			}
			after = names[len(names)-1]
		}
	}
	o := s.o.Snapshot
	o.Batch, o.Every = 100, time.Second
	sink := func(rs []snapshot.Result) error {
		var failed []fleet.TenantError
		for _, res := range rs {
			r.Tenants++
			switch {
			case res.Err != nil:
				r.Failed++
				te := fleet.TenantError{Tenant: res.Tenant, Error: errorText(res.Err)}
				failed = append(failed, te)
				s.log.Warn("snapshot failed", "tenant", res.Tenant, "err", res.Err)
			case res.Unchanged:
				r.Unchanged++
			default:
				res.Snapshot.RunID = r.ID
				if err := s.db.RecordSnapshot(ctx, &res.Snapshot); err != nil {
					return err
				}
				r.Snapshotted++
				taken = append(taken, res.Tenant)
			}
		}
		if len(failed) > 0 && len(failures) < central.MaxSnapshotRunErrors {
			failures = append(failures, failed...)
			if err := s.db.RecordSnapshotFailures(ctx, r.ID, failed); err != nil {
				return err
			}
		}
		progress(step, int64(r.Tenants), max(total, int64(r.Tenants)))
		return s.db.SnapshotRunProgress(ctx, r)
	}
	if err := snapshot.TakeAll(ctx, s.p, s.store, o, source, sink); err != nil {
		return err
	}
	progress("Applying the retention policy", 0, 0)
	s.mu.Lock()
	full := r.Tenant == "" && !s.db.Now().Before(s.maintained.Add(MaintainEvery))
	s.mu.Unlock()
	if !full {
		for _, n := range taken {
			k, err := s.prune(ctx, n)
			r.Pruned += k
			if err != nil {
				return err
			}
		}
		return nil
	}
	pruned, err := s.prune(ctx, "")
	r.Pruned = pruned
	if err != nil {
		return err
	}
	progress("Sweeping the store", 0, 0)
	// Files' ages are the file system's, against the machine's clock.
	sw, err := snapshot.Sweep(ctx, s.store, time.Now(), s.recorded)
	if err != nil {
		return fmt.Errorf("sweep the snapshot store: %w", err)
	}
	if sw.Unfinished+sw.Orphans > 0 {
		s.log.Info("snapshot store swept", "unfinished", sw.Unfinished, "orphans", sw.Orphans, "bytes", sw.Bytes)
	}
	progress("Pruning the central database's history", 0, 0)
	h, err := s.db.PruneHistory(ctx, s.o.History)
	if err != nil {
		return fmt.Errorf("prune the central database's history: %w", err)
	}
	if h.Total() > 0 {
		s.log.Info("central history pruned", "rows", h.Total())
	}
	s.mu.Lock()
	s.maintained = s.db.Now()
	s.mu.Unlock()
	return nil
}

// recorded adapts the central database's answer to snapshot.Sweep's.
func (s *Service) recorded(ctx context.Context, keys []string) ([]bool, error) {
	known, err := s.db.RecordedSnapshotKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	for i, k := range keys {
		out[i] = known[k]
	}
	return out, nil
}

// prune applies the retention policy to one tenant's snapshots, or to
// every tenant that has any (deleted ones too): records first, then
// files, so a crash in between leaves orphan files the sweep removes,
// never a record without its file.
func (s *Service) prune(ctx context.Context, tenant string) (int, error) {
	if err := s.enabled(); err != nil {
		return 0, err
	}
	pruned := 0
	after := ""
	for {
		names := []string{tenant}
		if tenant == "" {
			var err error
			if names, err = s.db.SnapshotTenants(ctx, after, page); err != nil {
				return pruned, err
			}
		}
		for _, n := range names {
			k, err := s.pruneTenant(ctx, n)
			pruned += k
			if err != nil {
				return pruned, err
			}
		}
		if tenant != "" || len(names) < page {
			return pruned, nil
		}
		after = names[len(names)-1]
	}
}

func (s *Service) pruneTenant(ctx context.Context, tenant string) (int, error) {
	snaps, err := s.db.Snapshots(ctx, tenant, time.Time{}, 0)
	if err != nil {
		return 0, err
	}
	_, drop := s.policy.Prune(snaps, s.db.Now())
	if len(drop) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(drop))
	for i, sn := range drop {
		ids[i] = sn.ID
	}
	if _, err := s.db.DeleteSnapshots(ctx, ids...); err != nil {
		return 0, err
	}
	for _, sn := range drop {
		if err := s.store.Remove(ctx, sn.Key); err != nil {
			// The record is gone: the file is an orphan the sweep removes.
			s.log.Warn("remove a pruned snapshot's file", "key", sn.Key, "err", err)
		}
	}
	return len(drop), nil
}

func (s *Service) giveUp(ctx context.Context, j *fleet.Job, cause error) {
	if r, err := s.db.SnapshotRunByJob(ctx, j.ID); err == nil && r.FinishedAt.IsZero() {
		r.Error = cause.Error()
		_ = s.db.FinishSnapshotRun(ctx, r)
	}
	s.audit(ctx, fleet.Audited(j.CreatedBy, JobKind, j.Tenant, "", cause))
}

// errorText is a tenant's failure as the Backups page shows it: a fleet
// error's message, or the cause itself (a damaged file, a refused
// connection), which the operator needs to act on.
func errorText(err error) string {
	var fe *fleet.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return fleet.Truncate(strings.Join(strings.Fields(err.Error()), " "), 1000)
}
