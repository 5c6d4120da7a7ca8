package fleet

import "time"

// Job kinds.
const (
	JobCreate  = "tenant.create"
	JobClone   = "tenant.clone"
	JobImport  = "tenant.import"
	JobDelete  = "tenant.delete"
	JobRestore = "tenant.restore"
)

// Job states.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Job is a durable unit of background work with progress.
type Job struct {
	ID         int64
	Kind       string
	Tenant     string
	Args       string // JSON
	State      string
	Step       string // what it is doing now, for people
	Done       int64  // progress: units done of Total
	Total      int64
	Error      string
	Attempts   int
	CreatedBy  string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// Finished reports whether the job reached a final state.
func (j *Job) Finished() bool { return j.State == JobSucceeded || j.State == JobFailed }

// AuditEntry records one state change: who, what, which tenant, outcome.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Actor   string // e-mail, or "cli" / "system"
	Action  string
	Tenant  string
	Detail  string
	Outcome string // "ok" or "error"
	Error   string
}
