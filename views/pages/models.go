// Package pages holds the console's pages. Each page takes a layouts.Page
// and a typed view model defined here; handlers fill the models, views only
// format them.
package pages

import (
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/views/components"
)

// Login is the login form.
type Login struct {
	CSRF  string
	Email string // echoed back after a failed attempt
	Next  string // where to go after logging in
	Error string // inline error, "" if none
}

// Overview is the dashboard at "/".
type Overview struct {
	Dashboard
	TotalTenants int64
	TotalBytes   int64
	ByStatus     []StatusCount // every status with a count > 0
	RecentJobs   []JobRow      // newest first, at most 10
	// Snapshots warns of ready tenants without a recent snapshot.
	Snapshots SnapshotWarning
}

// StatusCount is how many tenants have a status.
type StatusCount struct {
	Status string
	Count  int64
}

// TenantRow is one tenant in a table or on its page.
type TenantRow struct {
	Name          string
	Status        string
	SchemaVersion int64
	LatestVersion int64 // latest tenant schema version, to flag lagging tenants
	Pending       int   // migrations newer than SchemaVersion
	SizeBytes     int64
	URL           string
	Parent        string
	CreatedAt     time.Time
	LastWriteAt   time.Time // zero if unknown
	ArchivedAt    time.Time // zero unless archived
	Error         string
	JobID         int64 // running job, 0 if none
	// Business over the 30 days ending today (UTC), from the metrics.
	Orders30d     int64
	Revenue30d    int64   // minor units
	LastOrderDate string  // YYYY-MM-DD, "" if it never had an order
	OrdersDaily   []int64 // orders per day of those 30 days, oldest first
}

// TenantList is the registry page "/tenants".
type TenantList struct {
	Query    string // name search
	Status   string // "" = any
	Sort     string // one of central.SortColumns
	Desc     bool
	Page     int // 1-based
	PageSize int
	Total    int64 // rows matching the filter
	Rows     []TenantRow
	Statuses []string // for the status filter
	// Create form state after a failed create.
	CreateName  string
	CreateError string
	LastScan    time.Time // when the registry was last reconciled with the platform
	// Files the last rescan found but cannot adopt, with why.
	Unadoptable []components.UnadoptableFile
}

// Pages returns the number of pages for the current filter.
func (l TenantList) Pages() int {
	if l.PageSize <= 0 {
		return 1
	}
	n := int((l.Total + int64(l.PageSize) - 1) / int64(l.PageSize))
	if n < 1 {
		n = 1
	}
	return n
}

// TenantDetail is a tenant's page "/tenants/{name}".
type TenantDetail struct {
	Tenant      TenantRow
	Platform    TenantPlatform
	Jobs        []JobRow // jobs on this tenant, newest first
	CloneName   string   // clone form state after a failed clone
	CloneAt     string   // its "as of" time, as typed
	CloneError  string
	DeleteError string
	Snapshots   TenantSnapshots
}

// TenantPlatform is what the fleet's platform can do, so that the page
// offers only that and says truthfully what a delete does. The zero value
// is the local platform's: no point in time, deletes archived, no usage.
type TenantPlatform struct {
	Name          string // "local", "sqld" or "turso"
	PointInTime   bool   // a branch can be made as of a past time
	NoPointInTime string // why not, for people, when PointInTime is false
	// DeleteIsFinal: a delete removes the database for good, with no copy
	// kept to restore (Caps.Restore false).
	DeleteIsFinal bool
	Usage         bool // the platform reports usage: the Usage card
	// Snapshots: Tenantry snapshots this platform's tenants, so a branch
	// as of a past time is made from the newest snapshot before it.
	Snapshots bool
}

// TenantUsage is the Usage card of a tenant's page: what its platform
// counted of its use.
type TenantUsage struct {
	Name         string
	Platform     string // the platform's name, as TenantPlatform.Name
	Status       string // the tenant's; only a ready tenant's usage is read
	RowsRead     int64
	RowsWritten  int64
	StorageBytes int64
	// From and To bound the period counted; zero when the platform counts
	// since the database was made.
	From, To   time.Time
	TopQueries []QueryUsage // heaviest first
	Error      string       // the platform could not report it
}

// QueryUsage is one of a tenant's heaviest statements.
type QueryUsage struct {
	SQL         string
	RowsRead    int64
	RowsWritten int64
}

// JobRow is one background job.
type JobRow struct {
	ID         int64
	Kind       string // e.g. "tenant.create"
	Label      string // e.g. "Create store-1"
	Tenant     string
	State      string // queued, running, succeeded, failed
	Step       string
	Done       int64
	Total      int64
	Error      string
	CreatedBy  string
	CreatedAt  time.Time
	FinishedAt time.Time
	Link       string // where to go when it succeeded ("" if nowhere)
}

// Finished reports whether the job reached a final state.
func (j JobRow) Finished() bool { return j.State == fleet.JobSucceeded || j.State == fleet.JobFailed }

// Percent is the job's progress 0..100.
func (j JobRow) Percent() int {
	if j.State == fleet.JobSucceeded {
		return 100
	}
	if j.Total <= 0 {
		return 0
	}
	return int(j.Done * 100 / j.Total)
}

// Jobs is the jobs page "/jobs".
type Jobs struct {
	Rows []JobRow
}

// Audit is the audit log page "/audit".
type Audit struct {
	Entries []AuditRow
	Actor   string // filters
	Tenant  string
	Action  string
	From    string // YYYY-MM-DD, inclusive
	To      string
	// Older is the URL of the next page back, "" on the last; Newest the
	// first page's, "" on the first.
	Older, Newest string
	Error         string // a refused filter
}

// AuditRow is one audit entry.
type AuditRow struct {
	At      time.Time
	Actor   string
	Action  string
	Tenant  string
	Detail  string
	Outcome string // "ok" or "error"
	Error   string
}

// ErrorView is the error page.
type ErrorView struct {
	Status  int
	Title   string
	Message string
}
