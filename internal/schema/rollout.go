package schema

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/pipeline"
	"github.com/tenantry/tenantry/internal/platform"
)

// Parallelism bounds.
const (
	DefaultParallel = 4
	MaxParallel     = 64
	MaxCanary       = 10000
)

// Rollouts rolls a schema across the fleet as durable jobs: at most one at
// a time, resumed after a crash without migrating any tenant twice (goose
// records each version in the tenant's own transaction, and the run skips
// the tenants it already recorded).
type Rollouts struct {
	db  *central.DB
	p   platform.Platform
	set *Set
	log *slog.Logger
}

// NewRollouts returns the rollout service of a fleet.
func NewRollouts(db *central.DB, p platform.Platform, set *Set, log *slog.Logger) *Rollouts {
	return &Rollouts{db: db, p: p, set: set, log: log}
}

// Set is the schema being rolled out.
func (r *Rollouts) Set() *Set { return r.set }

// Spec is a rollout to start.
type Spec struct {
	DryRun   bool     // say what would run where; change nothing
	Canary   int      // only the first N ready tenants (by name), then stop for review
	Tenants  []string // only these tenants (a named canary)
	RetryOf  int64    // only the tenants this earlier run failed on
	Parallel int      // tenants migrated at once (default 4)
	OnError  string   // "stop" (default) at the first failure, or "continue"
	Actor    string
	Trigger  string // web, cli
}

// Register makes runner run rollouts.
func (r *Rollouts) Register(runner *jobs.Runner) {
	runner.Handle(central.RolloutJob, jobs.Handler{Run: r.runJob, GiveUp: r.giveUp})
}

// Submit checks a spec and queues its rollout. Bad input is refused before
// anything is queued; a second rollout while one runs is a conflict.
//
// Submit audits the rollout it queued and, as s.Actor's, any refusal.
func (r *Rollouts) Submit(ctx context.Context, runner *jobs.Runner, s Spec) (*central.MigrationRun, *fleet.Job, error) {
	run, j, err := r.submit(ctx, runner, s)
	if err != nil {
		detail := "mode " + s.mode()
		if s.RetryOf != 0 {
			detail = fmt.Sprintf("retry of rollout %d", s.RetryOf)
		}
		r.audit(ctx, fleet.Audited(s.Actor, central.RolloutJob+".start", "", detail, err))
	}
	return run, j, err
}

func (r *Rollouts) submit(ctx context.Context, runner *jobs.Runner, s Spec) (*central.MigrationRun, *fleet.Job, error) {
	run, err := r.plan(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	j := &fleet.Job{Kind: central.RolloutJob, CreatedBy: s.Actor}
	if err := r.db.QueueRollout(ctx, j, run); err != nil {
		return nil, nil, err
	}
	detail := fmt.Sprintf("rollout %d (%s) to version %d: %d tenants, parallel %d, on error %s", run.ID, run.Mode, run.Target,
		run.Total, run.Parallel, run.OnError)
	r.audit(ctx, fleet.AuditEntry{Actor: s.Actor, Action: central.RolloutJob + ".start", Detail: detail})
	runner.Wake()
	return run, j, nil
}

func (r *Rollouts) plan(ctx context.Context, s Spec) (*central.MigrationRun, error) {
	run := &central.MigrationRun{Mode: central.ModeFull, Target: r.set.Latest(), Parallel: s.Parallel, OnError: s.OnError,
		StartedBy: s.Actor, Trigger: s.Trigger}
	if run.Parallel == 0 {
		run.Parallel = DefaultParallel
	}
	if run.Parallel < 1 || run.Parallel > MaxParallel {
		return nil, fleet.Errorf(fleet.EINVALID, "Parallelism must be from 1 to %d, not %d.", MaxParallel, s.Parallel)
	}
	switch run.OnError {
	case "":
		run.OnError = "stop"
	case "stop", "continue":
	default:
		return nil, fleet.Errorf(fleet.EINVALID, "On error must be stop or continue, not %q.", fleet.Truncate(s.OnError, 20))
	}
	if run.Trigger == "" {
		run.Trigger = "web"
	}
	subsets := 0
	for _, set := range []bool{s.Canary != 0, len(s.Tenants) > 0, s.RetryOf != 0} {
		if set {
			subsets++
		}
	}
	if subsets > 1 {
		return nil, fleet.Errorf(fleet.EINVALID, "Choose one of a canary of N tenants, a list of tenants or a retry, not several.")
	}
	switch {
	case s.Canary != 0:
		if s.Canary < 1 || s.Canary > MaxCanary {
			return nil, fleet.Errorf(fleet.EINVALID, "A canary is from 1 to %d tenants, not %d.", MaxCanary, s.Canary)
		}
		names, err := r.db.ReadyNames(ctx, "", s.Canary)
		if err != nil {
			return nil, err
		}
		run.Mode, run.Tenants = central.ModeCanary, names
	case len(s.Tenants) > 0:
		names, err := r.checkNames(ctx, s.Tenants)
		if err != nil {
			return nil, err
		}
		run.Mode, run.Tenants = central.ModeCanary, names
	case s.RetryOf != 0:
		prev, err := r.db.MigrationRunByID(ctx, s.RetryOf)
		if err != nil {
			return nil, err
		}
		if prev.DryRun() {
			return nil, fleet.Errorf(fleet.EINVALID, "Rollout %d was a dry run: nothing to retry.", prev.ID)
		}
		names, err := r.db.FailedTenants(ctx, prev.ID)
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fleet.Errorf(fleet.EINVALID, "Rollout %d has no failed tenants to retry.", prev.ID)
		}
		run.Mode, run.Tenants, run.RetryOf = central.ModeRetry, names, prev.ID
	}
	if s.DryRun {
		run.Mode = central.ModeDryRun
	}
	if run.Tenants != nil {
		run.Total = int64(len(run.Tenants))
		if run.Total == 0 {
			return nil, fleet.Errorf(fleet.EINVALID, "There are no ready tenants to migrate.")
		}
	} else {
		n, err := r.db.CountStatus(ctx, fleet.StatusReady)
		if err != nil {
			return nil, err
		}
		run.Total = n
	}
	return run, nil
}

// checkNames refuses invalid, unknown and not-ready names, all at once.
func (r *Rollouts) checkNames(ctx context.Context, in []string) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, n := range in {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		if err := fleet.ValidateName(n); err != nil {
			return nil, err
		}
		seen[n] = true
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, fleet.Errorf(fleet.EINVALID, "Name at least one tenant.")
	}
	if len(names) > MaxCanary {
		return nil, fleet.Errorf(fleet.EINVALID, "Name at most %d tenants, not %d.", MaxCanary, len(names))
	}
	found, err := r.db.NamedCandidates(ctx, 0, names)
	if err != nil {
		return nil, err
	}
	status := map[string]string{}
	for _, c := range found {
		status[c.Name] = c.Status
	}
	var bad []string
	for _, n := range names {
		switch st, ok := status[n]; {
		case !ok:
			bad = append(bad, n+" (unknown)")
		case st != fleet.StatusReady:
			bad = append(bad, n+" ("+st+")")
		}
	}
	if len(bad) > 0 {
		return nil, fleet.Errorf(fleet.EINVALID, "Only ready tenants can be migrated: %s.", fleet.Truncate(strings.Join(bad, ", "), 300))
	}
	return names, nil
}

type jobArgs struct {
	Run int64 `json:"run"`
}

// Progress is a running rollout's progress.
type Progress struct {
	Done, Total int64
	Failed      int64
	Rate        float64 // tenants a second
	Last        central.MigrationResult
}

func (p Progress) String() string {
	s := fmt.Sprintf("%.0f/s", p.Rate)
	if p.Failed > 0 {
		s += fmt.Sprintf(", %d failed", p.Failed)
	}
	if p.Last.Tenant != "" {
		s += fmt.Sprintf(", last %s %s", p.Last.Tenant, p.Last.Outcome)
		if p.Last.To >= 0 && p.Last.To != p.Last.From {
			s += fmt.Sprintf(" %d→%d", p.Last.From, p.Last.To)
		}
	}
	return s
}

func (r *Rollouts) runJob(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	var a jobArgs
	if err := json.Unmarshal([]byte(j.Args), &a); err != nil || a.Run == 0 {
		return fmt.Errorf("rollout job arguments %q: %v", j.Args, err)
	}
	run, err := r.db.MigrationRunByID(ctx, a.Run)
	if err != nil {
		return err
	}
	if run.Finished() {
		return nil
	}
	verb := "Migrating"
	if run.DryRun() {
		verb = "Checking"
	}
	step := fmt.Sprintf("%s to version %d", verb, run.Target)
	err = r.Run(ctx, run, j.Attempts > 1, func(pr Progress) { p(step+": "+pr.String(), pr.Done, pr.Total) })
	if ctx.Err() != nil {
		return err // interrupted: the job resumes on the next start
	}
	if err != nil {
		return err
	}
	if run, err = r.db.MigrationRunByID(ctx, run.ID); err == nil && !run.DryRun() {
		detail := fmt.Sprintf("rollout %d (%s) to version %d: %d migrated, %d failed, %d skipped", run.ID, run.Mode, run.Target,
			run.Migrated, run.Failed, run.Skipped)
		e := fleet.AuditEntry{Actor: run.StartedBy, Action: central.RolloutJob, Detail: detail}
		if run.Failed > 0 {
			e.Outcome, e.Error = "error", fmt.Sprintf("%d tenants failed", run.Failed)
		}
		_ = r.db.Audit(ctx, e)
	}
	return nil
}

func (r *Rollouts) giveUp(ctx context.Context, j *fleet.Job, cause error) {
	var a jobArgs
	if json.Unmarshal([]byte(j.Args), &a) != nil {
		return
	}
	if run, err := r.db.MigrationRunByID(ctx, a.Run); err == nil && !run.Finished() {
		_ = r.db.FinishRollout(ctx, run.ID, false, fleet.ErrorMessage(cause))
	}
	_ = r.db.Audit(ctx, fleet.AuditEntry{Actor: j.CreatedBy, Action: central.RolloutJob, Outcome: "error", Error: cause.Error()})
}

// task is a tenant handed to a worker.
type task struct {
	central.RolloutCandidate
}

// Run runs (or resumes) a queued rollout to its end and records it
// finished. It fails only if the central database does; tenants' failures
// are results.
func (r *Rollouts) Run(ctx context.Context, run *central.MigrationRun, resumed bool, progress func(Progress)) error {
	total := int64(len(run.Tenants))
	if run.Tenants == nil {
		left, err := r.db.CountRolloutRemaining(ctx, run.ID)
		if err != nil {
			return err
		}
		total = run.Done() + left
	}
	run, err := r.db.StartRollout(ctx, run.ID, total)
	if err != nil {
		return err
	}
	stopped, err := r.execute(ctx, run, resumed, progress)
	if ctx.Err() != nil {
		return ctx.Err() // interrupted, not finished: it resumes
	}
	if err != nil {
		// The central database failed: the run stays unfinished, and the
		// job's next attempt resumes it (its giving up finishes it failed).
		return err
	}
	if err := r.db.FinishRollout(ctx, run.ID, stopped, ""); err != nil {
		return err
	}
	if fin, err := r.db.MigrationRunByID(ctx, run.ID); err == nil {
		r.log.Info("rollout finished", "run", fin.ID, "mode", fin.Mode, "target", fin.Target, "state", fin.State,
			"migrated", fin.Migrated, "failed", fin.Failed, "skipped", fin.Skipped, "duration", fin.Duration())
	}
	return nil
}

// execute visits the run's tenants with bounded parallelism and records
// results in batches; it reports whether it stopped early.
func (r *Rollouts) execute(ctx context.Context, run *central.MigrationRun, resumed bool, progress func(Progress)) (stopped bool, err error) {
	// halted stops the starting of tenants: the source hands out no more
	// and workers check it before each one, so that after a failure in
	// stop mode no tenant is started, only those in progress finish.
	var halted atomic.Bool
	stopOnError := run.OnError == "stop" && !run.DryRun()
	rec := newRecorder(r.db, run, progress)
	lastStopCheck := time.Now()
	err = pipeline.Run(ctx, pipeline.Options{Workers: run.Parallel, Batch: 200, Every: 250 * time.Millisecond},
		func(ctx context.Context, emit func(task) bool) error {
			return r.produce(ctx, run, func(t task) bool { return !halted.Load() && emit(t) })
		},
		func(ctx context.Context, _ int, t task) central.MigrationResult {
			if halted.Load() {
				return central.MigrationResult{} // not started: no result
			}
			res := r.visit(ctx, run, t, resumed)
			if res.Outcome == central.OutcomeFailed && ctx.Err() != nil {
				return central.MigrationResult{} // interrupted, not failed: visited again when the run resumes
			}
			if res.Outcome == central.OutcomeFailed && stopOnError {
				halted.Store(true)
			}
			return res
		},
		func(batch []central.MigrationResult) error {
			// Tenants not visited (halted, interrupted) have no outcome.
			batch = slices.DeleteFunc(batch, func(res central.MigrationResult) bool { return res.Outcome == "" })
			for _, res := range batch {
				if res.Outcome == central.OutcomeFailed && stopOnError {
					stopped = true
				}
			}
			if rec.record(ctx, batch) != nil {
				halted.Store(true)
			}
			if time.Since(lastStopCheck) >= 500*time.Millisecond {
				lastStopCheck = time.Now()
				if asked, err := r.db.StopRequested(ctx, run.ID); err == nil && asked {
					stopped = true
					halted.Store(true)
				}
			}
			return nil
		})
	rec.record(ctx, nil)
	if rec.err != nil {
		return stopped, fmt.Errorf("record results in the central database: %w", rec.err)
	}
	if err != nil && ctx.Err() == nil {
		return stopped, err
	}
	// A run stopped only after its last tenant did not stop anything.
	if stopped {
		if fin, err := r.db.MigrationRunByID(ctx, run.ID); err == nil && fin.Done() >= fin.Total {
			stopped = false
		}
	}
	return stopped, nil
}

// recorder writes a rollout's results to the central database and reports
// its progress.
type recorder struct {
	db        *central.DB
	run       *central.MigrationRun
	progress  func(Progress)
	pr        Progress
	start     time.Time
	startDone int64
	err       error // the central database's: nothing more is written
}

func newRecorder(db *central.DB, run *central.MigrationRun, progress func(Progress)) *recorder {
	return &recorder{db: db, run: run, progress: progress, start: time.Now(), startDone: run.Done(),
		pr: Progress{Done: run.Done(), Total: run.Total, Failed: run.Failed}}
}

// record writes batch, even if ctx has ended (those tenants were visited),
// and reports progress. It returns the central database's error, once it
// failed.
func (rec *recorder) record(ctx context.Context, batch []central.MigrationResult) error {
	if rec.err == nil && len(batch) > 0 {
		rec.err = rec.db.WriteMigrationResults(context.WithoutCancel(ctx), rec.run, batch)
	}
	if rec.err == nil {
		for _, res := range batch {
			rec.pr.Done++
			if res.Outcome == central.OutcomeFailed {
				rec.pr.Failed++
			}
			rec.pr.Last = res
		}
	}
	if secs := time.Since(rec.start).Seconds(); secs > 0 {
		rec.pr.Rate = float64(rec.pr.Done-rec.startDone) / secs
	}
	if rec.progress != nil {
		rec.progress(rec.pr)
	}
	return rec.err
}

// produce hands out the run's unvisited tenants in name order, a page at a
// time, until done or emit refuses one.
func (r *Rollouts) produce(ctx context.Context, run *central.MigrationRun, emit func(task) bool) error {
	send := func(page []central.RolloutCandidate) bool {
		for _, c := range page {
			if !emit(task{c}) {
				return false
			}
		}
		return true
	}
	if run.Tenants != nil {
		for chunk := range chunks(run.Tenants, 500) {
			page, err := r.db.NamedCandidates(ctx, run.ID, chunk)
			if err != nil {
				return err
			}
			// A named tenant the registry no longer has is still visited,
			// so that the run accounts for it.
			have := map[string]bool{}
			for _, c := range page {
				have[c.Name] = true
			}
			for _, n := range chunk {
				if !have[n] && !r.visited(ctx, run.ID, n) {
					page = append(page, central.RolloutCandidate{Name: n, Status: "unknown", Version: -1})
				}
			}
			if !send(page) {
				return nil
			}
		}
		return nil
	}
	after := ""
	for {
		page, err := r.db.RolloutCandidates(ctx, run.ID, after, 500)
		if err != nil || len(page) == 0 {
			return err
		}
		after = page[len(page)-1].Name
		if !send(page) {
			return nil
		}
	}
}

func (r *Rollouts) visited(ctx context.Context, runID int64, name string) bool {
	done, err := r.db.Visited(ctx, runID, name)
	return err != nil || done
}

func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for i := 0; i < len(s); i += n {
			if !yield(s[i:min(i+n, len(s))]) {
				return
			}
		}
	}
}

// visit migrates (or, in a dry run, inspects) one tenant.
func (r *Rollouts) visit(ctx context.Context, run *central.MigrationRun, t task, resumed bool) (res central.MigrationResult) {
	start := time.Now()
	res = central.MigrationResult{Tenant: t.Name, From: t.Version, To: -1}
	defer func() { res.Duration = time.Since(start) }()
	if t.Status != fleet.StatusReady {
		res.Outcome, res.Detail = central.OutcomeSkipped, "not ready ("+t.Status+")"
		return res
	}
	fail := func(err error) central.MigrationResult {
		res.Outcome, res.Error = central.OutcomeFailed, errorText(err)
		return res
	}
	db, err := r.p.Open(ctx, t.Name)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	if run.DryRun() {
		return r.inspect(ctx, db, run, res)
	}
	o, err := r.set.Apply(ctx, db, run.Target)
	if o.Before >= 0 { // else unreadable: the registry's version, and none after
		res.From, res.To = o.Before, o.After
	}
	// A resumed run finds tenants that an earlier attempt migrated but did
	// not get to record: the registry still has the version from before.
	if resumed && t.Version >= 0 && t.Version < o.Before && len(o.Applied) == 0 && err == nil {
		res.From = t.Version
		res.Outcome, res.Detail = central.OutcomeMigrated, fmt.Sprintf("migrated to %d before the rollout was interrupted", o.Before)
		return res
	}
	res.Detail = r.describe(o)
	switch {
	case err != nil:
		return fail(err)
	case len(o.Applied) > 0 || o.Baselined:
		res.Outcome = central.OutcomeMigrated
	default:
		res.Outcome, res.Detail = central.OutcomeSkipped, fmt.Sprintf("already at version %d", o.After)
	}
	return res
}

// inspect is a dry run's visit: what would run, changing nothing.
func (r *Rollouts) inspect(ctx context.Context, db *sql.DB, run *central.MigrationRun, res central.MigrationResult) central.MigrationResult {
	st, err := r.set.Inspect(ctx, db)
	if err != nil {
		res.Outcome, res.Error = central.OutcomeFailed, errorText(err)
		return res
	}
	res.From, res.To = st.Version, st.Version
	pending := r.set.Pending(st, run.Target)
	if len(pending) == 0 && !st.Adoptable {
		res.Outcome, res.Detail = central.OutcomeSkipped, fmt.Sprintf("already at version %d", st.Version)
		return res
	}
	var parts []string
	if st.Adoptable {
		parts = append(parts, fmt.Sprintf("baseline at version %d (schema made without goose)", r.set.Baseline()))
	}
	if len(pending) > 0 {
		names := make([]string, len(pending))
		for i, m := range pending {
			names[i] = m.Name
		}
		parts = append(parts, "apply "+strings.Join(names, ", "))
	}
	res.Outcome, res.Detail = central.OutcomePending, "would "+strings.Join(parts, ", then ")
	return res
}

// describe says what Apply did, for people.
func (r *Rollouts) describe(o Outcome) string {
	var parts []string
	if o.Baselined {
		parts = append(parts, fmt.Sprintf("baselined at version %d", r.set.Baseline()))
	}
	if len(o.Applied) > 0 {
		names := make([]string, len(o.Applied))
		for i, v := range o.Applied {
			names[i] = r.set.Name(v)
		}
		parts = append(parts, "applied "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; ")
}

func errorText(err error) string {
	msg := fleet.ErrorMessage(err)
	if fleet.ErrorCode(err) == fleet.EINTERNAL {
		msg = err.Error()
	}
	return fleet.Truncate(strings.Join(strings.Fields(msg), " "), 1000)
}
