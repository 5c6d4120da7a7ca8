package backups

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// Status is everything the Backups page shows.
type Status struct {
	Enabled bool `json:"enabled"`
	// Every is the schedule (0: by hand only); MaxAge how old a newest
	// snapshot may be before its tenant is late.
	Every   time.Duration         `json:"every"`
	MaxAge  time.Duration         `json:"max_age"`
	Policy  snapshot.Policy       `json:"policy"`
	History central.HistoryPolicy `json:"history_policy"`
	// Runs are the newest runs; LastFailed the newest run that failed on
	// some tenant, with its failures (nil if none).
	Runs       []fleet.SnapshotRun       `json:"runs"`
	LastFailed *fleet.SnapshotRun        `json:"last_failed,omitempty"`
	Coverage   *central.SnapshotCoverage `json:"coverage"`
	Totals     *central.SnapshotTotals   `json:"totals"`
	Store      snapshot.Usage            `json:"store"`
	Central    *central.HistoryReport    `json:"central"`
}

// lateNames is how many late tenants Status names.
const lateNames = 50

// Status reads the state of the fleet's backups: recent runs, coverage,
// storage and the central database's history.
func (s *Service) Status(ctx context.Context, runs int) (*Status, error) {
	st := &Status{Enabled: s.Enabled(), Every: s.o.Every, MaxAge: s.MaxAge(), Policy: s.policy, History: s.o.History}
	var err error
	if st.Central, err = s.db.HistoryReport(ctx); err != nil {
		return nil, err
	}
	if !st.Enabled {
		return st, nil
	}
	if err := s.Open(); err != nil {
		return nil, err
	}
	if st.Runs, _, err = s.db.SnapshotRuns(ctx, runs, 0); err != nil {
		return nil, err
	}
	for _, r := range st.Runs {
		if r.Failed > 0 || r.Error != "" {
			if st.LastFailed, err = s.db.SnapshotRunByID(ctx, r.ID); err != nil {
				return nil, err
			}
			break
		}
	}
	if st.Coverage, err = s.db.SnapshotCoverage(ctx, st.MaxAge, lateNames); err != nil {
		return nil, err
	}
	if st.Totals, err = s.db.SnapshotTotals(ctx); err != nil {
		return nil, err
	}
	if st.Store, err = s.store.Usage(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// Late counts the ready tenants whose newest snapshot is older than
// MaxAge (and that are older than that themselves): the overview warns
// when any is. 0 when snapshots are off.
func (s *Service) Late(ctx context.Context) (*central.SnapshotCoverage, error) {
	if !s.Enabled() {
		return &central.SnapshotCoverage{LateNames: []string{}}, nil
	}
	return s.db.SnapshotCoverage(ctx, s.MaxAge(), 5)
}

// Snapshots lists a tenant's snapshots newest first, up to limit.
func (s *Service) Snapshots(ctx context.Context, tenant string, limit int) ([]fleet.Snapshot, error) {
	if err := s.enabled(); err != nil {
		return nil, err
	}
	return s.db.Snapshots(ctx, tenant, time.Time{}, limit)
}

// DrillResult is one snapshot's restore drill.
type DrillResult struct {
	snapshot.Drill
	Error string `json:"error,omitempty"`
}

// MaxSample bounds a drill's sample.
const MaxSample = 1000

// Verify is the restore drill: the newest snapshot of up to sample
// tenants (picked at random; every one of them when sample is 0 and
// tenant is "", or the one tenant named) is restored into a temporary
// file, checked whole (PRAGMA integrity_check) and its rows counted. A
// snapshot that passes is marked verified; one that fails is reported
// and the rest go on.
func (s *Service) Verify(ctx context.Context, actor, tenant string, sample int) ([]DrillResult, error) {
	if err := s.enabled(); err != nil {
		return nil, err
	}
	if sample < 0 || sample > MaxSample {
		return nil, fleet.Errorf(fleet.EINVALID, "The sample must be between 1 and %d snapshots.", MaxSample)
	}
	var names []string
	if tenant != "" {
		if err := fleet.ValidateName(tenant); err != nil {
			return nil, err
		}
		names = []string{tenant}
	} else {
		var err error
		if names, err = s.snapshotTenants(ctx); err != nil {
			return nil, err
		}
		if sample > 0 && sample < len(names) {
			rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
			names = names[:sample]
		}
	}
	latest, err := s.db.LatestSnapshots(ctx, names)
	if err != nil {
		return nil, err
	}
	if tenant != "" && len(latest) == 0 {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "Tenant %s has no snapshot yet.", tenant)
	}
	var out []DrillResult
	failed := 0
	for _, n := range names {
		sn, ok := latest[n]
		if !ok {
			continue
		}
		d, err := snapshot.Verify(ctx, s.store, sn, s.TempDir())
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		r := DrillResult{Drill: d}
		if err != nil {
			r.Snapshot, r.Error = sn, fleet.ErrorMessage(err)
			failed++
			s.log.Error("restore drill failed", "tenant", n, "key", sn.Key, "err", err)
		} else if err := s.db.MarkSnapshotVerified(ctx, sn.ID, s.db.Now()); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	var err2 error
	if failed > 0 {
		err2 = fleet.Errorf(fleet.EINVALID, "%d of %d snapshots failed the restore drill.", failed, len(out))
	}
	s.audit(ctx, fleet.Audited(actor, "snapshot.verify", tenant, fmtDrill(len(out), failed), err2))
	return out, nil
}

func fmtDrill(n, failed int) string {
	return strconv.Itoa(n) + " snapshots restored, " + strconv.Itoa(failed) + " failed"
}

// Newest returns the newest snapshot of every tenant that has one, in
// name order.
func (s *Service) Newest(ctx context.Context) ([]fleet.Snapshot, error) {
	if err := s.enabled(); err != nil {
		return nil, err
	}
	names, err := s.snapshotTenants(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := s.db.LatestSnapshots(ctx, names)
	if err != nil {
		return nil, err
	}
	var out []fleet.Snapshot
	for _, n := range names {
		if sn, ok := latest[n]; ok {
			out = append(out, sn)
		}
	}
	return out, nil
}

// snapshotTenants lists every tenant that has snapshots, in name order.
func (s *Service) snapshotTenants(ctx context.Context) ([]string, error) {
	var names []string
	for after := ""; ; {
		got, err := s.db.SnapshotTenants(ctx, after, page)
		if err != nil {
			return nil, err
		}
		names = append(names, got...)
		if len(got) < page {
			return names, nil
		}
		after = got[len(got)-1]
	}
}
