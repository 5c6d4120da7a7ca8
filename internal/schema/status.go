package schema

import (
	"context"
	"slices"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Status is the fleet's schema at a glance, from the registry's mirror.
type Status struct {
	Latest     int64                   `json:"latest"`
	LatestName string                  `json:"latest_name"`
	Source     string                  `json:"source"`
	Ready      int64                   `json:"ready"`
	Versions   []central.VersionCount  `json:"versions"` // ready tenants per version, oldest first
	Behind     int64                   `json:"behind"`   // ready tenants below the latest version
	BehindList []central.TenantVersion `json:"behind_list"`
	Failed     int64                   `json:"failed"` // ready tenants whose last migration failed
	FailedList []central.TenantVersion `json:"failed_list"`
	// Pending are the migrations some ready tenant has not applied: those
	// after the oldest version in the fleet, oldest first.
	Pending []Migration            `json:"-"`
	Active  *central.MigrationRun  `json:"active,omitempty"`
	Runs    []central.MigrationRun `json:"runs"` // newest first
}

// StatusListLimit is how many behind and failed tenants Status lists.
const StatusListLimit = 50

// Status reads the fleet's schema status.
func (r *Rollouts) Status(ctx context.Context) (*Status, error) {
	s := &Status{Latest: r.set.Latest(), LatestName: r.set.Name(r.set.Latest()), Source: r.set.Source()}
	var err error
	if s.Versions, err = r.db.SchemaVersions(ctx); err != nil {
		return nil, err
	}
	oldest := s.Latest
	for _, v := range s.Versions {
		s.Ready += v.Tenants
		if v.Version < s.Latest {
			s.Behind += v.Tenants
		}
		oldest = min(oldest, v.Version)
	}
	s.Pending = r.set.After(oldest)
	if s.Behind > 0 {
		if s.BehindList, err = r.db.TenantVersions(ctx, s.Latest, false, "", StatusListLimit); err != nil {
			return nil, err
		}
	}
	if s.Failed, err = r.db.CountMigrationFailed(ctx); err != nil {
		return nil, err
	}
	if s.Failed > 0 {
		if s.FailedList, err = r.db.TenantVersions(ctx, 0, true, "", StatusListLimit); err != nil {
			return nil, err
		}
	}
	if s.Active, err = r.db.ActiveRollout(ctx); err != nil {
		return nil, err
	}
	if s.Runs, _, err = r.db.MigrationRuns(ctx, 20, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// TenantVersionStatus is one tenant in `migrate status`.
type TenantVersionStatus struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
	Pending int    `json:"pending"`
	Error   string `json:"error"`
}

// EachTenant calls fn for every ready tenant in name order with its
// mirrored version, pending count and last migration error, a page at a
// time.
func (r *Rollouts) EachTenant(ctx context.Context, fn func(TenantVersionStatus) error) error {
	after := ""
	for {
		page, err := r.db.TenantVersions(ctx, 0, false, after, 1000)
		if err != nil || len(page) == 0 {
			return err
		}
		for _, t := range page {
			if err := fn(TenantVersionStatus{Name: t.Name, Version: t.Version, Pending: len(r.set.After(t.Version)), Error: t.Error}); err != nil {
				return err
			}
		}
		after = page[len(page)-1].Name
	}
}

// AppliedMigration is one migration a tenant has applied.
type AppliedMigration struct {
	Version int64  `json:"version"`
	Name    string `json:"name"` // "" if this schema does not know the version
	At      string `json:"applied_at"`
}

// TenantSchema is one tenant's schema: its version, what it applied and
// when (from its own goose table), what is pending, and what rollouts did
// to it.
type TenantSchema struct {
	Name      string                    `json:"name"`
	Version   int64                     `json:"version"`
	Latest    int64                     `json:"latest"`
	Applied   []AppliedMigration        `json:"applied"` // newest first
	Pending   []Migration               `json:"-"`
	Adoptable bool                      `json:"adoptable,omitempty"`
	Error     string                    `json:"error,omitempty"` // the database could not be read
	Rollouts  []central.MigrationResult `json:"rollouts"`        // newest first, dry runs left out
}

// TenantSchema reads one tenant's schema live from its database, and the
// rollouts' record of it from the central database. A database that does
// not answer is reported in Error, with the registry's version.
func (r *Rollouts) TenantSchema(ctx context.Context, name string) (*TenantSchema, error) {
	t, err := r.db.Tenant(ctx, name)
	if err != nil {
		return nil, err
	}
	ts := &TenantSchema{Name: name, Version: t.SchemaVersion, Latest: r.set.Latest()}
	if ts.Rollouts, err = r.db.TenantMigrationResults(ctx, name, 20); err != nil {
		return nil, err
	}
	if t.Status != fleet.StatusReady {
		ts.Error = "The tenant is " + t.Status + "."
		return ts, nil
	}
	db, err := r.p.Open(ctx, name)
	if err != nil {
		ts.Error = errorText(err)
		return ts, nil
	}
	defer db.Close()
	st, err := r.set.Inspect(ctx, db)
	if err != nil {
		ts.Error = errorText(err)
		return ts, nil
	}
	ts.Version, ts.Adoptable = st.Version, st.Adoptable
	for _, a := range st.Applied {
		ts.Applied = append(ts.Applied, AppliedMigration{Version: a.Version, Name: r.set.Name(a.Version), At: a.At})
	}
	slices.Reverse(ts.Applied)
	ts.Pending = r.set.Pending(st, r.set.Latest())
	return ts, nil
}
