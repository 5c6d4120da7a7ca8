// Package jobs runs durable background jobs stored in the central
// database. A job is claimed under a lease that its runner renews; if the
// runner dies, the lease lapses (or, on the same host, the dead process is
// noticed at once) and another runner resumes the job. Handlers must
// therefore be idempotent: each attempt finishes what the last began.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Progress reports what a running job is doing.
type Progress func(step string, done, total int64)

// Handler does one job. It is called again after a crash, so it must pick
// up where an earlier attempt stopped. GiveUp, if set, cleans up after a job
// that failed for good.
type Handler struct {
	Run    func(ctx context.Context, j *fleet.Job, p Progress) error
	GiveUp func(ctx context.Context, j *fleet.Job, cause error)
}

// live holds the owners of this process's runners until they stop, so that
// one runner can tell a sibling at work from one that stopped.
var live sync.Map

// MaxAttempts bounds the runs of a job whose runner keeps dying under it
// (a crash, a kill, a stall that lost the lease): the claim after the
// last fails the job for good, and its GiveUp cleans up. A handler's
// error fails the job at once, with no retry; a run handed back at a
// shutdown or a lapsing lease uses up no attempt but the first.
const MaxAttempts = 3

// Runner claims and runs jobs.
type Runner struct {
	db       *central.DB
	handlers map[string]Handler
	owner    string
	host     string
	Lease    time.Duration
	Workers  int
	wake     chan struct{}
	finMu    sync.Mutex
	fin      chan struct{} // closed (and replaced) whenever a run here ends
	wg       sync.WaitGroup
	log      *slog.Logger
}

// NewRunner returns a runner with no handlers.
func NewRunner(db *central.DB, log *slog.Logger) *Runner {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	r := &Runner{
		db:       db,
		handlers: map[string]Handler{},
		host:     host,
		owner:    fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b)),
		Lease:    30 * time.Second,
		Workers:  2,
		wake:     make(chan struct{}, 1),
		fin:      make(chan struct{}),
		log:      log,
	}
	live.Store(r.owner, struct{}{})
	return r
}

// Handle registers the handler of a job kind.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Kinds lists the registered job kinds, sorted.
func (r *Runner) Kinds() []string {
	return slices.Sorted(maps.Keys(r.handlers))
}

// Wake tells idle workers to look for work now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// ended wakes everyone waiting in Await.
func (r *Runner) ended() {
	r.finMu.Lock()
	close(r.fin)
	r.fin = make(chan struct{})
	r.finMu.Unlock()
}

// awaitPoll is how often Await reads a job that may be running elsewhere
// (another replica or a CLI): runs here wake it at once.
const awaitPoll = 250 * time.Millisecond

// Await waits until the job finished or ctx ends, and returns the job as
// it is then (finished or not; ctx's end is not an error).
func (r *Runner) Await(ctx context.Context, id int64) (*fleet.Job, error) {
	for {
		r.finMu.Lock()
		fin := r.fin
		r.finMu.Unlock()
		j, err := r.db.Job(context.WithoutCancel(ctx), id)
		if err != nil || j.Finished() {
			return j, err
		}
		t := time.NewTimer(awaitPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, nil
		case <-fin:
		case <-t.C:
		}
		t.Stop()
	}
}

// stale reports whether a lease owner is a process on this host that no
// longer runs, so its jobs can be resumed without waiting out the lease.
func (r *Runner) stale(owner string) bool {
	parts := strings.Split(owner, ":")
	if len(parts) != 3 || parts[0] != r.host {
		return false
	}
	if owner == r.owner {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		// Another runner of this process: stale once it stopped.
		_, alive := live.Load(owner)
		return !alive
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// RunNow claims the job and runs it in this goroutine. It returns the job
// as it ended, or nil if another runner holds it. A run that could not
// keep its lease handed the job back; RunNow then claims it again, so
// that the caller waiting for it is not left waiting for nobody.
func (r *Runner) RunNow(ctx context.Context, id int64) (*fleet.Job, error) {
	for {
		j, err := r.db.ClaimJob(ctx, id, r.owner, r.Lease, r.stale)
		if err != nil || j == nil {
			return nil, err
		}
		if !r.run(ctx, j) || ctx.Err() != nil {
			return r.db.Job(context.WithoutCancel(ctx), id)
		}
	}
}

// RunPending runs every claimable job (queued, or abandoned by a dead
// runner) in this goroutine, oldest first. The CLI calls it so that a
// command killed part-way is finished by the next one.
func (r *Runner) RunPending(ctx context.Context) error {
	ids, owners, err := r.db.ClaimableJobs(ctx, 100)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if owners[i] != "" && !r.stale(owners[i]) {
			continue // a live runner holds it (or its lease has not lapsed)
		}
		if _, err := r.RunNow(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Start runs workers until ctx ends; Wait waits for them.
func (r *Runner) Start(ctx context.Context) {
	for range max(r.Workers, 1) {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.work(ctx)
		}()
	}
}

// Wait blocks until the workers stopped; the runner is then stopped for
// good, and other runners may resume the jobs it was running.
func (r *Runner) Wait() {
	r.wg.Wait()
	live.Delete(r.owner)
}

func (r *Runner) work(ctx context.Context) {
	tick := time.NewTicker(r.Lease / 3)
	defer tick.Stop()
	for {
		r.claimAndRun(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

func (r *Runner) claimAndRun(ctx context.Context) {
	for ctx.Err() == nil {
		ids, _, err := r.db.ClaimableJobs(ctx, 20)
		if err != nil {
			r.log.Error("list jobs", "err", err)
			return
		}
		ran := false
		for _, id := range ids {
			j, err := r.db.ClaimJob(ctx, id, r.owner, r.Lease, r.stale)
			if err != nil {
				r.log.Error("claim job", "job", id, "err", err)
				continue
			}
			if j == nil {
				continue
			}
			r.run(ctx, j)
			ran = true
			break
		}
		if !ran {
			return
		}
	}
}

// Why a run's work was stopped, as its context's cause.
var (
	// errLeaseTaken: another runner holds the job now (this one stalled
	// past its lease); the job is theirs to finish.
	errLeaseTaken = errors.New("another runner holds the job's lease")
	// errLeaseLapsing: the lease could not be renewed before it would
	// lapse (the central database busy or unreachable for that long).
	// Nothing is wrong with the work itself, so the job goes back to the
	// queue rather than failing.
	errLeaseLapsing = errors.New("the job's lease could not be renewed")
)

// run executes a claimed job: renews its lease while it runs, records
// progress, and records the outcome. A job whose context was cancelled
// (shutdown), or whose lease could not be kept, goes back to the queue,
// and run reports that it did so; only the work's own failure fails it.
func (r *Runner) run(ctx context.Context, j *fleet.Job) (requeued bool) {
	defer r.ended()
	h, ok := r.handlers[j.Kind]
	if !ok {
		_ = r.db.FinishJob(ctx, j.ID, fleet.JobFailed, "Failed", "no handler for job kind "+j.Kind)
		return false
	}
	log := r.log.With("job", j.ID, "kind", j.Kind, "tenant", j.Tenant, "attempt", j.Attempts)
	if ctx.Err() != nil {
		// Claimed as the runner was stopping: hand it straight back.
		if rerr := r.db.ReleaseJob(ctx, j.ID, r.owner, "Interrupted by a shutdown; resumes on the next start"); rerr != nil {
			log.Error("release job claimed during shutdown", "err", rerr)
		}
		return false
	}
	if j.Attempts > MaxAttempts {
		cause := fmt.Errorf("gave up after %d attempts", MaxAttempts)
		r.giveUp(ctx, h, j, cause, log)
		return false
	}
	claimed := time.Now() // just after the claim that started the lease
	jctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		r.keepLease(jctx, stop, j.ID, claimed, log)
	}()
	progress := func(step string, done, total int64) {
		if err := r.db.JobProgress(jctx, j.ID, step, done, total); err != nil && jctx.Err() == nil {
			log.Warn("record job progress", "err", err)
		}
	}
	log.Info("job started")
	err := safeRun(jctx, h, j, progress)
	stop(nil)
	<-renewed
	why := context.Cause(jctx) // the first reason given wins
	took := time.Since(claimed)
	switch {
	case errors.Is(why, errLeaseTaken):
		// Neither an outcome nor a clean-up: either would be the new
		// holder's to make.
		log.Warn("job left to the runner that holds its lease now", "err", err, "duration", took)
	case err == nil:
		log.Info("job succeeded", "duration", took)
		if ferr := r.db.FinishJob(ctx, j.ID, fleet.JobSucceeded, "Done", ""); ferr != nil {
			log.Error("record job success", "err", ferr)
		}
	case errors.Is(why, errLeaseLapsing):
		// The work was stopped because the lease could not be kept, not
		// because it failed: whatever it returned, hand the job back
		// uncounted. If the central database still refuses, the lapsed
		// lease hands it on all the same.
		if rerr := r.db.ReleaseJob(ctx, j.ID, r.owner, "Paused: the central database did not answer in time; resumes at once"); rerr != nil {
			log.Error("release job after its lease lapsed", "err", rerr)
		}
		log.Warn("job stopped as its lease could not be renewed; it goes back to the queue", "err", err, "cause", why, "duration", took)
		return true
	case ctx.Err() != nil:
		// Shutdown: the handler stopped at a safe point. Hand the job back
		// rather than let its lease lapse, so the next start resumes it
		// at once; it is neither failed nor counted as a crash.
		if rerr := r.db.ReleaseJob(ctx, j.ID, r.owner, "Interrupted by a shutdown; resumes on the next start"); rerr != nil {
			log.Error("release interrupted job", "err", rerr)
		}
		log.Info("job interrupted; it resumes on the next start", "err", err, "duration", took)
	default:
		r.giveUp(ctx, h, j, err, log)
	}
	return false
}

// keepLease renews a running job's lease every third of it until ctx
// ends. A renewal that fails for a passing reason (the central database
// busy or locked, a network hiccup) is retried until the lease is about
// to lapse; only then, or as soon as another runner holds the job, does
// it stop the work, giving the reason as ctx's cause. It stops the work
// a sixth of the lease early, so that the work has stopped before anyone
// else may claim the job.
func (r *Runner) keepLease(ctx context.Context, stop context.CancelCauseFunc, id int64, held time.Time, log *slog.Logger) {
	every, retry := r.Lease/3, max(r.Lease/30, 10*time.Millisecond)
	t := time.NewTimer(every)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		giveUpAt := held.Add(r.Lease - r.Lease/6)
		tried := time.Now() // the renewed lease runs from a moment after this
		rctx, cancel := context.WithDeadline(ctx, giveUpAt)
		err := r.db.RenewLease(rctx, id, r.owner, r.Lease)
		cancel()
		switch {
		case err == nil:
			if failures > 0 {
				log.Info("job lease renewed after failures", "failures", failures)
			}
			held, failures = tried, 0
			t.Reset(every)
		case ctx.Err() != nil:
			return // the work ended; its outcome is recorded elsewhere
		case fleet.ErrorCode(err) == fleet.ECONFLICT:
			log.Error("lost job lease", "err", err)
			stop(errLeaseTaken)
			return
		case !time.Now().Add(retry).Before(giveUpAt):
			log.Error("job lease not renewed before it would lapse", "err", err, "failures", failures+1)
			stop(fmt.Errorf("%w: %w", errLeaseLapsing, err))
			return
		default:
			failures++
			log.Warn("renew job lease; retrying", "err", err, "failures", failures)
			t.Reset(retry)
		}
	}
}

func (r *Runner) giveUp(ctx context.Context, h Handler, j *fleet.Job, cause error, log *slog.Logger) {
	if fleet.ErrorCode(cause) == fleet.EINTERNAL {
		log.Error("job failed", "err", cause)
	} else {
		log.Info("job failed", "err", cause)
	}
	if h.GiveUp != nil {
		h.GiveUp(context.WithoutCancel(ctx), j, cause)
	}
	msg := fleet.ErrorMessage(cause)
	if fleet.ErrorCode(cause) == fleet.EINTERNAL {
		msg = cause.Error() // operators need the real cause of an internal failure
	}
	if err := r.db.FinishJob(ctx, j.ID, fleet.JobFailed, "Failed", msg); err != nil {
		log.Error("record job failure", "err", err)
	}
}

func safeRun(ctx context.Context, h Handler, j *fleet.Job, p Progress) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("job panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return h.Run(ctx, j, p)
}
