package pages

import (
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// ConfirmWord is what an admin types before a rollout changes tenant
// databases (the server checks it too).
const ConfirmWord = "migrate"

// Rollout modes as the form sends them; "named" is a canary of listed
// tenants, recorded as mode "canary".
const (
	RolloutDryRun = "dry-run"
	RolloutCanary = "canary"
	RolloutNamed  = "named"
	RolloutFull   = "full"
)

// RolloutRow is one fleet schema rollout.
type RolloutRow struct {
	ID            int64
	Mode          string // dry-run, canary, full, retry
	Target        int64  // the version it migrates to
	Parallel      int
	OnError       string   // stop or continue
	Tenants       []string // the named tenants of a canary or retry; nil for every ready tenant
	RetryOf       int64
	Trigger       string
	StartedBy     string
	State         string // queued, running, succeeded, failed, stopped
	Total         int64
	Migrated      int64 // in a dry run: would migrate
	Failed        int64
	Skipped       int64 // already at the target
	StopRequested bool
	Error         string
	CreatedAt     time.Time
	StartedAt     time.Time // zero while queued
	FinishedAt    time.Time // zero until it ends
	Duration      time.Duration
	JobID         int64
	// Step is the job's own account while it runs: rate, failures, the
	// last tenant.
	Step string
}

// Done is how many tenants the rollout has visited.
func (r RolloutRow) Done() int64 { return r.Migrated + r.Failed + r.Skipped }

// Finished reports whether the rollout ended.
func (r RolloutRow) Finished() bool {
	return r.State == fleet.RunSucceeded || r.State == fleet.RunFailed || r.State == fleet.RunStopped
}

// Partial reports a rollout that ended failed with some tenants done well.
func (r RolloutRow) Partial() bool { return r.State == fleet.RunFailed && r.Failed < r.Done() }

// DryRun reports whether the rollout changes nothing.
func (r RolloutRow) DryRun() bool { return r.Mode == RolloutDryRun }

// NotVisited is how many tenants a finished rollout never reached.
func (r RolloutRow) NotVisited() int64 {
	if !r.Finished() {
		return 0
	}
	return max(0, r.Total-r.Done())
}

// Percent is the rollout's progress 0..100.
func (r RolloutRow) Percent() int {
	if r.State == fleet.RunSucceeded {
		return 100
	}
	if r.Total <= 0 {
		return 0
	}
	return int(min(100, r.Done()*100/r.Total))
}

// VersionBar is how many ready tenants sit at a schema version.
type VersionBar struct {
	Version int64
	Tenants int64
	Latest  bool
}

// SchemaTenant is a tenant with its mirrored version and last migration
// error.
type SchemaTenant struct {
	Name    string
	Version int64
	Error   string
}

// MigrationFile is one migration of the tenant schema.
type MigrationFile struct {
	Version int64
	Name    string // e.g. 00002_product_sku.sql
	SQL     string
}

// RolloutForm is the start form's state: what was sent, after a refusal.
type RolloutForm struct {
	Mode     string // dry-run, canary, named, full
	Canary   string // N of "the first N tenants"
	Tenants  string // named tenants, as typed
	Parallel string
	OnError  string // stop or continue
	Error    string
}

// Migrations is the page "/migrations".
type Migrations struct {
	Latest     int64
	LatestName string
	Source     string
	Ready      int64
	AtLatest   int64
	Behind     int64
	Ahead      int64 // ready tenants at a version this schema does not have
	Failed     int64 // ready tenants whose last migration failed
	Versions   []VersionBar
	BehindList []SchemaTenant // the first few behind
	FailedList []SchemaTenant // the first few failed, with errors
	// LastFailedRun is the newest rollout (not a dry run) with failures, 0
	// if none is among the recent ones: where to retry from.
	LastFailedRun int64
	Pending       []MigrationFile
	Active        *RolloutRow // queued or running, nil if none
	Runs          []RolloutRow
	Form          RolloutForm
	MaxParallel   int
}

// RolloutResult is what a rollout did to one tenant.
type RolloutResult struct {
	RunID    int64
	Tenant   string
	Outcome  string // migrated, failed, skipped, pending
	From, To int64  // To -1: unknown
	Detail   string
	Error    string
	Duration time.Duration
	At       time.Time
}

// RolloutRun is the page "/migrations/runs/{id}".
type RolloutRun struct {
	Run RolloutRow
	// Failed are the failed tenants from FailedAfter on, a page at a time;
	// FailedNext is where the next page starts, "" if this is the last.
	Failed      []RolloutResult
	FailedAfter string
	FailedNext  string
	// Results are the other tenants (or only Outcome's), a page at a time.
	Outcome      string
	Results      []RolloutResult
	ResultsAfter string
	ResultsNext  string
	ActionError  string // a refused stop, retry or continuation
}

// AppliedMigration is one migration a tenant applied.
type AppliedMigration struct {
	Version int64
	Name    string // "" if this schema does not know it
	At      string // UTC "YYYY-MM-DD HH:MM:SS"
}

// TenantSchema is the schema card on a tenant's page.
type TenantSchema struct {
	Name           string
	Status         string
	Version        int64
	Latest         int64
	Applied        []AppliedMigration // newest first
	Pending        []MigrationFile
	Adoptable      bool
	Error          string // the database could not be read
	MigrationError string // why the last rollout failed on it
	Rollouts       []RolloutResult
}
