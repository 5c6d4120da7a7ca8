package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Runs holds the fan-outs running in the background, by id, for a front
// that starts one and then polls it (the console's page). A run is a
// query, not a job: it lives in memory, is kept for RunTTL once done, is
// cancelled when nobody has asked for it for Idle (the page was closed),
// and CancelAll stops every run at shutdown. Runs hold fan-out slots like
// any fan-out (MaxFanOutsPerUser), and are recorded in their user's
// history like any.
type Runs struct {
	svc *Service
	// Idle is how long a run goes on without a Get before it is
	// cancelled (default RunIdle). Set it before the first Start.
	Idle time.Duration

	mu     sync.Mutex
	runs   map[string]*bgRun
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

// Bounds of the background runs.
const (
	// RunTTL is how long a finished run is kept for its page.
	RunTTL = 15 * time.Minute
	// RunIdle is how long a run goes on without its page polling (every
	// 500 ms) before it is cancelled.
	RunIdle = 30 * time.Second
	// maxRuns bounds the runs kept; the oldest finished one makes room.
	maxRuns = 64
)

var (
	errShutdown = fleet.Errorf(fleet.EUNAVAILABLE, "The console is shutting down: run the query again once it is back.")
	errIdle     = fleet.Errorf(fleet.EUNAVAILABLE, "Nobody was watching: the page that started it was closed.")
)

// NewRuns returns the background runs of svc.
func NewRuns(svc *Service) *Runs { return &Runs{svc: svc} }

// bgRun is one background fan-out.
type bgRun struct {
	id, actor string
	scope     fleet.Scope
	started   time.Time
	limits    Limits
	merge     *Merge
	cancel    context.CancelCauseFunc

	mu      sync.Mutex
	seen    time.Time // last asked for
	ended   time.Time
	stopped string
}

// RunState is a background fan-out as a front shows it: its progress
// and, once done, its merged result (capped in all at Limits).
type RunState struct {
	ID    string
	Scope fleet.Scope
	// Started and Ended (zero while it runs); Elapsed is up to now or
	// to the end.
	Started, Ended time.Time
	Elapsed        time.Duration
	Done           bool
	// Total tenants, Finished (succeeded or failed) and Failed so far.
	Total, Finished, Failed int
	Errors                  []TenantError
	TruncatedTenants        []string
	// Stopped says why a run ended early (cancelled, shut down, failed).
	Stopped string
	Limits  Limits
	// Result is the merged rows, "tenant" first, once Done.
	Result *Result
}

// RunProgress is a run's progress as JSON clients poll it.
type RunProgress struct {
	Done     bool          `json:"done"`
	Total    int           `json:"total"`
	Finished int           `json:"finished"`
	Failed   int           `json:"failed"`
	Errors   []TenantError `json:"errors"`
	Stopped  string        `json:"stopped"`
}

// Progress is the state's JSON progress.
func (st RunState) Progress() RunProgress {
	errs := st.Errors
	if errs == nil {
		errs = []TenantError{}
	}
	return RunProgress{Done: st.Done, Total: st.Total, Finished: st.Finished, Failed: st.Failed, Errors: errs, Stopped: st.Stopped}
}

// base returns the context runs start from.
func (rs *Runs) base() context.Context {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.ctx == nil {
		rs.ctx, rs.cancel = context.WithCancelCause(context.Background())
	}
	return rs.ctx
}

// CancelAll cancels every run, those started later too, and waits for
// them to end: the server is shutting down.
func (rs *Runs) CancelAll() {
	rs.base()
	rs.cancel(errShutdown)
	rs.wg.Wait()
}

func (rs *Runs) idle() time.Duration {
	if rs.Idle > 0 {
		return rs.Idle
	}
	return RunIdle
}

// Start plans a fan-out of req over sc for actor (checks, a fan-out slot,
// the tenants: a refusal is returned, and recorded like FanOut's) and
// runs it in the background. ctx bounds the planning only.
func (rs *Runs) Start(ctx context.Context, actor string, sc fleet.Scope, req Request) (RunState, error) {
	plan, err := rs.svc.plan(ctx, actor, sc, req)
	if err != nil {
		return RunState{}, err
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	l := rs.svc.limits()
	now := time.Now()
	r := &bgRun{id: hex.EncodeToString(id), actor: actor, scope: sc, started: now, seen: now, limits: l, merge: NewMerge(l)}
	r.merge.setTotal(len(plan.Tenants))
	runCtx, cancel := context.WithCancelCause(rs.base())
	r.cancel = cancel
	rs.add(r)
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		defer cancel(nil)
		go r.watch(runCtx, rs.idle())
		_, err := rs.svc.Run(runCtx, actor, plan, r.merge)
		r.mu.Lock()
		defer r.mu.Unlock()
		if cause := context.Cause(runCtx); err != nil && (errors.Is(cause, errShutdown) || errors.Is(cause, errIdle)) {
			err = cause
		}
		if err != nil {
			r.stopped = fleet.ErrorMessage(err)
		}
		r.ended = time.Now()
	}()
	return r.state(), nil
}

// Get returns actor's run id as it is now, and keeps it going: a run
// nobody asks for is cancelled after Idle. Another user's run is not
// found, as is one finished more than RunTTL ago.
func (rs *Runs) Get(actor, id string) (RunState, error) {
	rs.mu.Lock()
	r := rs.runs[id]
	rs.mu.Unlock()
	if r == nil || r.actor != actor {
		return RunState{}, fleet.Errorf(fleet.ENOTFOUND, "No such query run: runs are kept for %s after they finish.", RunTTL)
	}
	r.mu.Lock()
	r.seen = time.Now()
	r.mu.Unlock()
	return r.state(), nil
}

// watch cancels the run once nobody asks for it.
func (r *bgRun) watch(ctx context.Context, idle time.Duration) {
	t := time.NewTicker(idle / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.mu.Lock()
			gone := time.Since(r.seen) > idle
			r.mu.Unlock()
			if gone {
				r.cancel(errIdle)
				return
			}
		}
	}
}

// state is the run's snapshot.
func (r *bgRun) state() RunState {
	r.mu.Lock()
	ended, stopped := r.ended, r.stopped
	r.mu.Unlock()
	p := r.merge.Counts()
	st := RunState{ID: r.id, Scope: r.scope, Started: r.started, Ended: ended, Done: !ended.IsZero(), Total: p.Total,
		Finished: p.Done, Failed: p.Failed, Errors: p.Errors, TruncatedTenants: p.TruncatedTenants, Stopped: stopped, Limits: r.limits}
	end := ended
	if end.IsZero() {
		end = time.Now()
	}
	st.Elapsed = end.Sub(r.started)
	if st.Done {
		st.Result = r.merge.Result(st.Elapsed)
	}
	if len(st.Errors) == 0 {
		st.Errors = nil
	}
	return st
}

func (rs *Runs) add(r *bgRun) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.runs == nil {
		rs.runs = map[string]*bgRun{}
	}
	for id, old := range rs.runs {
		if e := old.endedAt(); !e.IsZero() && time.Since(e) > RunTTL {
			delete(rs.runs, id)
		}
	}
	if len(rs.runs) >= maxRuns {
		// The oldest finished run makes room.
		var oldest *bgRun
		for _, old := range rs.runs {
			if !old.endedAt().IsZero() && (oldest == nil || old.started.Before(oldest.started)) {
				oldest = old
			}
		}
		if oldest != nil {
			delete(rs.runs, oldest.id)
		}
	}
	rs.runs[r.id] = r
}

func (r *bgRun) endedAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}
