package pages

import (
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// RunRow is one metrics collection run.
type RunRow struct {
	ID          int64
	From, To    string // inclusive days, YYYY-MM-DD
	Trigger     string // manual, schedule, cli, demo
	Shard       string // "i/n" of a sharded collection, "" for the whole fleet
	StartedBy   string
	State       string // queued, running, succeeded, failed
	Tenants     int64  // ready tenants when the run started (0 until known)
	OK          int64
	Failed      int64
	Skipped     int64 // unchanged since their last collection
	RowsWritten int64 // metrics rows inserted or changed
	Error       string
	StartedAt   time.Time
	FinishedAt  time.Time // zero while running
	Duration    time.Duration
	JobID       int64
}

// Done is how many tenants the run has dealt with.
func (r RunRow) Done() int64 { return r.OK + r.Failed + r.Skipped }

// Finished reports whether the run ended.
func (r RunRow) Finished() bool { return r.State == fleet.RunSucceeded || r.State == fleet.RunFailed }

// Percent is the run's progress 0..100.
func (r RunRow) Percent() int {
	if r.State == fleet.RunSucceeded {
		return 100
	}
	if r.Tenants <= 0 {
		return 0
	}
	return int(min(100, r.Done()*100/r.Tenants))
}

// Collections is the page "/collections".
type Collections struct {
	Runs     []RunRow // newest first
	Page     int
	PageSize int
	Total    int64
	// Backfill form defaults and state after a refused submission.
	From, To  string
	FormError string
	Running   *RunRow // the run in progress, nil if none
	Schedule  string  // e.g. "every 1h0m0s, yesterday and today" or "off"
}

// Pages returns the number of pages of runs.
func (c Collections) Pages() int {
	if c.PageSize <= 0 {
		return 1
	}
	return max(1, int((c.Total+int64(c.PageSize)-1)/int64(c.PageSize)))
}

// ResultRow is what happened to one tenant in a run.
type ResultRow struct {
	Tenant   string
	OK       bool
	Error    string
	Attempts int
	Duration time.Duration
}

// CollectionRun is the page "/collections/{id}".
type CollectionRun struct {
	Run         RunRow
	Failed      []ResultRow // every failed tenant
	Results     []ResultRow // collected tenants, at most ResultLimit
	ResultLimit int
}
