package fleet

import (
	"regexp"
	"time"
)

// Tenant statuses. Only StatusReady tenants are fully made and usable.
const (
	StatusCreating  = "creating" // a create, clone or import job is making it
	StatusReady     = "ready"
	StatusDeleting  = "deleting"  // a delete job is archiving it
	StatusRestoring = "restoring" // a rollback job is putting a snapshot in its place
	StatusArchived  = "archived"  // deleted; restorable from the archive
	StatusMissing   = "missing"   // the registry knows it, the platform does not
	StatusFailed    = "failed"    // its creating job failed; leftovers were cleaned
)

// Statuses lists every status in display order.
var Statuses = []string{StatusReady, StatusCreating, StatusRestoring, StatusDeleting, StatusArchived, StatusMissing, StatusFailed}

// Tenant is one store's database as the registry knows it.
type Tenant struct {
	Name          string    `json:"name"`
	Platform      string    `json:"platform"`
	PlatformID    string    `json:"platform_id,omitempty"`
	URL           string    `json:"url"`
	Status        string    `json:"status"`
	SchemaVersion int64     `json:"schema_version"`
	SizeBytes     int64     `json:"size_bytes"`
	Parent        string    `json:"parent,omitempty"`     // source of a branch, "" otherwise
	BranchedAt    time.Time `json:"branched_at,omitzero"` // point the branch was taken at
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at,omitzero"`  // last time the platform listed it
	LastWriteAt   time.Time `json:"last_write_at,omitzero"` // last modification the platform reported
	ArchivedAt    time.Time `json:"archived_at,omitzero"`
	Error         string    `json:"error,omitempty"`  // why the last job on it failed
	JobID         int64     `json:"job_id,omitempty"` // the job currently working on it, 0 if none
	// MigrationError is why the last schema rollout failed on it; "" if
	// it succeeded or none ran.
	MigrationError string `json:"migration_error,omitempty"`
	// The store's business over the 30 days ending today (UTC, the
	// console's clock), from the collected metrics: orders, revenue in
	// minor units, and the last day with an order over all history
	// (YYYY-MM-DD, nil if none).
	Orders30d     int64   `json:"orders_30d"`
	Revenue30d    int64   `json:"revenue_30d"`
	LastOrderDate *string `json:"last_order_date"`
	// OrdersDaily is the orders of each of those 30 days, oldest first:
	// the registry page's sparkline, left out of the JSON shape.
	OrdersDaily []int64 `json:"-"`
}

// MaxNameLen is the longest tenant name: a DNS label.
const MaxNameLen = 63

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ValidateName checks a tenant name before anything touches a file,
// namespace or API. Names are DNS labels: 1 to 63 characters of a-z, 0-9
// and '-', not starting or ending with '-'.
func ValidateName(name string) error {
	switch {
	case name == "":
		return Errorf(EINVALID, "Tenant name is required.")
	case len(name) > MaxNameLen:
		return Errorf(EINVALID, "Tenant name %q is too long: %d characters, at most %d.", Truncate(name, 20), len(name), MaxNameLen)
	case !nameRE.MatchString(name):
		return Errorf(EINVALID, "Tenant name %q is invalid: use lowercase letters a-z, digits and '-', not starting or ending with '-'.", Truncate(name, 70))
	}
	return nil
}

// Truncate shortens s to at most n runes, marking the cut with "…".
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
