package backups

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// At returns the newest snapshot of tenant taken at or before at.
func (s *Service) At(ctx context.Context, tenant string, at time.Time) (*fleet.Snapshot, error) {
	if err := s.enabled(); err != nil {
		return nil, err
	}
	return s.db.SnapshotAt(ctx, tenant, at)
}

// ByID returns a recorded snapshot.
func (s *Service) ByID(ctx context.Context, id int64) (*fleet.Snapshot, error) {
	return s.db.SnapshotByID(ctx, id)
}

// Fetch writes a snapshot's database to dst. A snapshot whose bytes no
// longer match their checksum is refused, logged and audited: someone
// must look at the store.
func (s *Service) Fetch(ctx context.Context, snap fleet.Snapshot, dst string) error {
	if err := s.enabled(); err != nil {
		return err
	}
	err := snapshot.Fetch(ctx, s.store, snap, dst)
	if err != nil && ctx.Err() == nil && fleet.ErrorCode(err) == fleet.EINVALID {
		s.log.Error("snapshot refused", "tenant", snap.Tenant, "key", snap.Key, "err", err)
		s.audit(ctx, fleet.Audited("system", "snapshot.refused", snap.Tenant, snap.Key, err))
	}
	return err
}

// Keep makes sure the tenant's database as it is now is kept: it takes
// and records a snapshot, unless the newest one is of the same state
// (same fingerprint), which it returns.
func (s *Service) Keep(ctx context.Context, tenant string) (fleet.Snapshot, error) {
	if err := s.enabled(); err != nil {
		return fleet.Snapshot{}, err
	}
	last, err := s.db.LatestSnapshots(ctx, []string{tenant})
	if err != nil {
		return fleet.Snapshot{}, err
	}
	var res snapshot.Result
	err = snapshot.TakeAll(ctx, s.p, s.store, s.o.Snapshot, snapshot.Targets(snapshot.Target{Tenant: tenant, Last: last[tenant].Fingerprint}),
		func(rs []snapshot.Result) error { res = rs[0]; return nil })
	switch {
	case err != nil:
		return fleet.Snapshot{}, err
	case res.Err != nil:
		return fleet.Snapshot{}, res.Err
	case res.Unchanged:
		return last[tenant], nil
	}
	if err := s.db.RecordSnapshot(ctx, &res.Snapshot); err != nil {
		return fleet.Snapshot{}, err
	}
	return res.Snapshot, nil
}

// TempDir is where restores and drills write databases: the snapshot
// options' work directory, or the store's.
func (s *Service) TempDir() string {
	if s.o.Snapshot.TempDir != "" {
		return s.o.Snapshot.TempDir
	}
	if d, ok := s.store.(interface{ TempDir() string }); ok {
		return d.TempDir()
	}
	return ""
}
