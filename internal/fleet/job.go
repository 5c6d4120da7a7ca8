package fleet

import "time"

// Job kinds.
const (
	JobCreate  = "tenant.create"
	JobClone   = "tenant.clone"
	JobImport  = "tenant.import"
	JobDelete  = "tenant.delete"
	JobRestore = "tenant.restore"
	// JobRollback puts a snapshot of a live (or missing) tenant in its
	// place, keeping the database it replaces as a snapshot first.
	JobRollback = "tenant.rollback"
)

// Job states.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Run states: a metrics collection and a schema rollout, each carried out
// by a job, go through a job's states; a rollout may also stop, at its
// first failure or on request, with tenants left unvisited.
const (
	RunQueued    = JobQueued
	RunRunning   = JobRunning
	RunSucceeded = JobSucceeded
	RunFailed    = JobFailed
	RunStopped   = "stopped"
)

// A schema rollout's outcome on each tenant.
const (
	OutcomeMigrated = "migrated"
	OutcomeFailed   = "failed"
	OutcomeSkipped  = "skipped" // already at the target
	OutcomePending  = "pending" // a dry run: would migrate
)

// Job is a durable unit of background work with progress.
type Job struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Tenant     string    `json:"tenant,omitempty"`
	Args       string    `json:"-"` // JSON
	State      string    `json:"state"`
	Step       string    `json:"step"` // what it is doing now, for people
	Done       int64     `json:"done"` // progress: units done of Total
	Total      int64     `json:"total"`
	Error      string    `json:"error,omitempty"`
	Attempts   int       `json:"attempts"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Finished reports whether the job reached a final state.
func (j *Job) Finished() bool { return j.State == JobSucceeded || j.State == JobFailed }

// AuditEntry records one state change: who, what, which tenant, outcome.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"` // e-mail, or "cli" / "system"
	Action  string    `json:"action"`
	Tenant  string    `json:"tenant,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Outcome string    `json:"outcome"` // "ok" or "error"
	Error   string    `json:"error,omitempty"`
}

// Audited is the audit entry of a change actor made, or tried to: err nil
// is "ok", else "error" with err's message. A tenant that is not a valid
// name (a refused request's input) is kept, cut short.
func Audited(actor, action, tenant, detail string, err error) AuditEntry {
	e := AuditEntry{Actor: actor, Action: action, Tenant: tenant, Detail: detail, Outcome: "ok"}
	if err != nil {
		e.Outcome, e.Error = "error", ErrorMessage(err)
	}
	if tenant != "" && ValidateName(tenant) != nil {
		e.Tenant = Truncate(tenant, 80)
	}
	return e
}
