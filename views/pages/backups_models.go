package pages

import (
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// SnapshotRow is one snapshot of a tenant, on its page.
type SnapshotRow struct {
	ID         int64
	TakenAt    time.Time
	Size       int64 // compressed, in the store
	RawSize    int64 // the database's
	SHA256     string
	VerifiedAt time.Time // zero if no drill restored it
}

// TenantSnapshots is a tenant page's Snapshots card.
type TenantSnapshots struct {
	On      bool   // the platform's tenants are snapshotted
	Off     string // why not, when On is false
	Rows    []SnapshotRow
	More    bool          // older ones exist beyond Rows
	Every   time.Duration // the schedule; 0 by hand only
	CanTake bool          // the tenant is ready: "Snapshot now"
	// CanRestore: the tenant is ready or missing, so a rollback may start.
	CanRestore bool
}

// SnapshotRunRow is one run of the snapshot job, on the Backups page.
type SnapshotRunRow struct {
	ID          int64
	JobID       int64
	Tenant      string // "" for the fleet
	State       string
	StartedAt   time.Time
	FinishedAt  time.Time
	Tenants     int
	Snapshotted int
	Unchanged   int
	Failed      int
	Pruned      int
	Error       string
}

// Duration is how long the run took, or has taken so far.
func (r SnapshotRunRow) Duration() time.Duration {
	if r.FinishedAt.IsZero() {
		return time.Since(r.StartedAt)
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// Running reports whether the run has not ended.
func (r SnapshotRunRow) Running() bool {
	return r.State == fleet.RunQueued || r.State == fleet.RunRunning
}

// HistoryRow is one of the central database's history tables.
type HistoryRow struct {
	Name   string
	Keep   string // "90 days", "400 days", "forever"
	Rows   int64
	Oldest time.Time
}

// Backups is the page "/backups".
type Backups struct {
	On  bool   // snapshots are taken on this platform
	Off string // why not
	// Schedule and Policy say, in words, when snapshots are taken and
	// what is kept.
	Schedule  string
	Scheduled bool // serve takes snapshots on a schedule
	Policy    string
	MaxAge    time.Duration // a tenant's newest snapshot older than this is late
	Runs      []SnapshotRunRow
	Running   *SnapshotRunRow // the fleet run in progress, nil if none
	// Failed is the newest run that failed on some tenant, with them.
	Failed       *SnapshotRunRow
	FailedErrors []fleet.TenantError
	// Coverage of the ready tenants.
	Tenants, Fresh, Late int64
	LateNames            []string
	// Storage.
	Snapshots     int64
	StoredBytes   int64 // compressed
	DatabaseBytes int64 // what they hold
	StoreFree     int64 // free on the store's volume
	Oldest        time.Time
	CentralSize   int64
	CentralFree   int64
	History       []HistoryRow
	FormError     string
}

// SnapshotWarning is the overview's warning: ready tenants whose newest
// snapshot is older than MaxAge.
type SnapshotWarning struct {
	Late   int64
	Names  []string
	MaxAge time.Duration
}
