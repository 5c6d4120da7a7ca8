// Package collect is the metrics ETL: it reads every ready tenant's daily
// numbers with bounded concurrency and writes them, in batched idempotent
// transactions, to the central metrics table and its rollups.
package collect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/pipeline"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Options tune a collection.
type Options struct {
	Workers   int           // tenants read at once (default 4 local files, 32 over the network)
	Timeout   time.Duration // per tenant and attempt (default 30 s)
	Attempts  int           // tries per tenant on transient errors (default 3)
	BatchSize int           // tenants per central transaction (default 250)
	PageSize  int           // registry rows read at a time (default 500)
}

func (o Options) withDefaults(p platform.Platform) Options {
	if o.Workers <= 0 {
		// Local reads are CPU and disk bound; remote ones wait on the
		// network, so many at once pay off.
		o.Workers = 4
		if p.Name() != "local" {
			o.Workers = 32
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 250
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	return o
}

// Collector runs collections.
type Collector struct {
	db     *central.DB
	p      platform.Platform
	rescan func(context.Context) error
	opts   Options
	log    *slog.Logger
	// OnFinish, if set before any run, is called once with each run that
	// ends, succeeded or failed (not one stopped to resume later).
	OnFinish func(Summary)
}

// New returns a collector. rescan reconciles the registry with the
// platform before each run (so new tenants are collected and sizes and
// write times are fresh); nil skips it.
func New(db *central.DB, p platform.Platform, rescan func(context.Context) error, opts Options, log *slog.Logger) *Collector {
	return &Collector{db: db, p: p, rescan: rescan, opts: opts.withDefaults(p), log: log}
}

// Spec is what to collect.
type Spec struct {
	From, To time.Time // inclusive UTC days
	Trigger  string    // manual, schedule, cli, demo
	Actor    string
	JobID    int64
	Shard    Shard // the part of the fleet to collect; zero for all of it
}

// Summary is a finished run and its failures.
type Summary struct {
	central.CollectRun
	Errors []TenantError `json:"errors"`
}

// TenantError is one failed tenant.
type TenantError struct {
	Tenant string `json:"tenant"`
	Error  string `json:"error"`
}

// Progress reports tenants done (collected, failed or skipped) of total.
type Progress func(done, total int64)

// DefaultRange is yesterday and today (UTC).
func DefaultRange(now time.Time) (time.Time, time.Time) {
	today := now.UTC().Truncate(24 * time.Hour)
	return today.AddDate(0, 0, -1), today
}

// task is a tenant to read or, with skipped set, a count of a page's
// tenants unchanged since their last collection, to be counted.
type task struct {
	name    string
	fp      string          // the tenant's fingerprint when it was handed out
	id      tenantdb.FileID // its file's identity then, if the platform has files
	cookie  uint32          // its schema cookie when its version was last read; 0 if unknown
	version int64           // that version; -1 if unknown
	fresh   bool            // the version was read today
	skipped int
}

type outcome struct {
	task
	metrics  []fleet.Metrics
	version  int64  // schema version, -1 if unknown or not read
	cookie   uint32 // the schema cookie it was read at, 0 if unknown
	err      error
	attempts int
	took     time.Duration
}

// Run collects spec's days from every ready tenant. One failing tenant is
// recorded and the rest go on; Run fails only if the central database
// does. Memory is bounded by the batch size, whatever the fleet size.
func (c *Collector) Run(ctx context.Context, spec Spec, progress Progress) (*Summary, error) {
	from, to := spec.From.UTC().Truncate(24*time.Hour), spec.To.UTC().Truncate(24*time.Hour)
	run := &central.CollectRun{JobID: spec.JobID, From: from.Format(fleet.DayLayout), To: to.Format(fleet.DayLayout),
		Trigger: spec.Trigger, StartedBy: spec.Actor, Shard: spec.Shard.String()}
	if err := c.db.StartRun(ctx, run); err != nil {
		return nil, fmt.Errorf("start collection run: %w", err)
	}
	total, err := c.run(ctx, run, spec.Shard, from, to, progress)
	if err != nil && ctx.Err() != nil {
		return nil, err // stopped (a shutdown): the run stays open for its job to resume
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if ferr := c.db.FinishRun(ctx, run.ID, total, msg); ferr != nil && err == nil {
		err = ferr
	}
	s, serr := c.Summary(context.WithoutCancel(ctx), run.ID)
	if serr == nil && c.OnFinish != nil {
		c.OnFinish(*s)
	}
	if err != nil {
		return nil, err
	}
	return s, serr
}

// Summary returns a run with its failures.
func (c *Collector) Summary(ctx context.Context, runID int64) (*Summary, error) {
	r, err := c.db.CollectRunByID(ctx, runID)
	if err != nil {
		return nil, err
	}
	s := &Summary{CollectRun: *r, Errors: []TenantError{}}
	failed, err := c.db.RunResults(ctx, runID, true, 1000)
	if err != nil {
		return nil, err
	}
	for _, f := range failed {
		s.Errors = append(s.Errors, TenantError{Tenant: f.Tenant, Error: f.Error})
	}
	return s, nil
}

// RescanAfter is how old the registry's last rescan may be before a run
// on a platform with its own fingerprints rescans first: such a platform
// tells changed tenants apart without the registry, so a rescan only
// adopts new databases and notices vanished ones, which the server does
// every 30 s anyway.
const RescanAfter = time.Minute

func (c *Collector) needsRescan(ctx context.Context) bool {
	if _, ok := c.p.(stamper); !ok {
		return true
	}
	return c.db.Now().Sub(c.db.LastScan(ctx)) > RescanAfter
}

func (c *Collector) run(ctx context.Context, run *central.CollectRun, shard Shard, from, to time.Time, progress Progress) (int64, error) {
	if c.rescan != nil && c.needsRescan(ctx) {
		if err := c.rescan(ctx); err != nil {
			return 0, fmt.Errorf("reconcile the registry: %w", err)
		}
	}
	total, err := c.count(ctx, shard)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readers := make([]reader, c.opts.Workers) // one per worker, kept from tenant to tenant
	for i := range readers {
		readers[i] = newReader(c.p, lockWait(c.opts.Timeout))
	}

	// Batches are written by their own goroutine, so that reading goes on
	// while the central database commits the batch before.
	batches := make(chan central.CollectBatch, 1)
	written := make(chan error, 1)
	go func() {
		var done int64
		var err error
		for b := range batches {
			if err != nil {
				continue // drain
			}
			if _, err = c.db.WriteCollectBatch(ctx, b); err != nil {
				cancel() // stop reading tenants; the pipeline drains
				continue
			}
			done += int64(len(b.Results) + b.Skipped)
			if progress != nil {
				progress(done, total)
			}
		}
		written <- err
	}()
	newBatch := func() central.CollectBatch {
		return central.CollectBatch{RunID: run.ID, From: run.From, To: run.To}
	}
	b := newBatch()
	err = pipeline.Run(ctx, pipeline.Options{Workers: c.opts.Workers},
		func(ctx context.Context, emit func(task) bool) error {
			return c.produce(ctx, run, shard, emit)
		},
		func(ctx context.Context, worker int, t task) outcome {
			if t.skipped > 0 {
				return outcome{task: t}
			}
			return c.collectOne(ctx, readers[worker], t, from, to)
		},
		func(outcomes []outcome) error {
			for _, o := range outcomes {
				addOutcome(&b, o)
				if len(b.Results)+b.Skipped >= c.opts.BatchSize {
					batches <- b
					b = newBatch()
				}
			}
			return nil
		})
	if len(b.Results) > 0 || b.Skipped > 0 {
		batches <- b
	}
	close(batches)
	for _, r := range readers { // while the last batch is written
		r.close()
	}
	if writeErr := <-written; writeErr != nil {
		return total, fmt.Errorf("write to the central database: %w", writeErr)
	}
	return total, err // the registry's error, or why ctx ended
}

// addOutcome adds a tenant's outcome to the batch that records it.
func addOutcome(b *central.CollectBatch, o outcome) {
	if o.skipped > 0 {
		b.Skipped += o.skipped
		return
	}
	res := central.CollectResult{Tenant: o.name, OK: o.err == nil, Attempts: o.attempts, Duration: o.took}
	if o.err != nil {
		res.Error = fleet.Truncate(errorText(o.err), 1000)
	} else {
		b.Metrics = append(b.Metrics, o.metrics...)
		b.States = append(b.States, central.CollectState{Tenant: o.name, Fingerprint: o.fp, From: b.From, To: b.To, Version: o.version, Cookie: o.cookie})
	}
	b.Results = append(b.Results, res)
}

// count is the number of ready tenants in shard.
func (c *Collector) count(ctx context.Context, shard Shard) (int64, error) {
	if shard.N <= 1 {
		return c.db.CountStatus(ctx, fleet.StatusReady)
	}
	names, err := c.db.ReadyNames(ctx, "", 0)
	var n int64
	for _, name := range names {
		if shard.Has(name) {
			n++
		}
	}
	return n, err
}

// stamper is implemented by platforms that can tell, from the file
// system and at once, whether a tenant changed (the local platform), and
// which file it is. Other platforms' fingerprints come from the registry,
// as fresh as its last rescan.
type stamper interface {
	Stamps(ctx context.Context, names []string) []tenantdb.Stamp
}

// produce pages through the ready tenants, counts those unchanged since
// their last collection of the same days, and hands out the rest.
func (c *Collector) produce(ctx context.Context, run *central.CollectRun, shard Shard, emit func(task) bool) error {
	st, _ := c.p.(stamper)
	today := c.db.Now().UTC().Format(fleet.DayLayout)
	after := ""
	for {
		page, err := c.db.CollectCandidates(ctx, after, c.opts.PageSize)
		if err != nil || len(page) == 0 {
			return err
		}
		after = page[len(page)-1].Name
		if shard.N > 1 {
			page = slices.DeleteFunc(page, func(t central.CollectCandidate) bool { return !shard.Has(t.Name) })
		}
		var ids []tenantdb.FileID
		if st != nil {
			names := make([]string, len(page))
			for i, t := range page {
				names[i] = t.Name
			}
			ids = make([]tenantdb.FileID, len(page))
			for i, s := range st.Stamps(ctx, names) {
				page[i].Fingerprint, ids[i] = s.Fingerprint, s.ID
			}
		}
		skipped := 0
		for i, t := range page {
			if t.Fingerprint != "" && t.Last.Fingerprint == t.Fingerprint && t.Last.From <= run.From && t.Last.To >= run.To {
				skipped++
				continue
			}
			next := task{name: t.Name, fp: t.Fingerprint, cookie: t.Last.Cookie, version: t.Last.Version, fresh: t.Last.ReadOn == today}
			if ids != nil {
				next.id = ids[i]
			}
			if !emit(next) {
				return ctx.Err()
			}
		}
		if skipped > 0 && !emit(task{skipped: skipped}) {
			return ctx.Err()
		}
	}
}

// collectOne reads one tenant, retrying transient failures with backoff.
func (c *Collector) collectOne(ctx context.Context, r reader, t task, from, to time.Time) outcome {
	start := time.Now()
	o := outcome{task: t}
	for o.attempts = 1; ; o.attempts++ {
		var got reading
		got, o.err = c.read(ctx, r, t, from, to)
		o.metrics, o.version, o.cookie = got.metrics, got.version, got.cookie
		if o.err == nil || !transient(o.err) || o.attempts >= c.opts.Attempts || ctx.Err() != nil {
			break
		}
		backoff := time.Duration(50<<(2*(o.attempts-1))) * time.Millisecond // 50 ms, 200 ms, 800 ms …
		backoff += time.Duration(rand.Int64N(int64(backoff)))               // jitter
		c.log.Debug("read tenant again", "tenant", t.name, "attempt", o.attempts, "err", o.err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
	}
	o.took = time.Since(start)
	return o
}

// lockWait is how long a reader waits for a tenant's lock: well inside
// the per-tenant timeout, by an absolute margin that the attach and the
// query's own work fit in however busy the machine is, so that a locked
// tenant is reported as locked rather than as timed out.
func lockWait(timeout time.Duration) time.Duration {
	return timeout - min(timeout/2, 5*time.Second)
}

func (c *Collector) read(ctx context.Context, r reader, t task, from, to time.Time) (reading, error) {
	name := t.name
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	m, err := r.read(ctx, t, from, to)
	err = tenantdb.Classify(err)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Say what the time went on: "timed out after 30s: database is
		// locked" tells the operator where to look. The driver reports
		// any failure after the deadline as the deadline, so a lock wait
		// that outlasted it is told by looking at the lock. A timeout is
		// worth another try.
		switch {
		case !errors.Is(err, context.DeadlineExceeded) && !tenantdb.Interrupted(err):
			return reading{}, fleet.Wrap(fleet.EUNAVAILABLE, err, "timed out after %s: %v", c.opts.Timeout, err)
		case c.lockedNow(context.WithoutCancel(ctx), name):
			return reading{}, fleet.Wrap(fleet.EUNAVAILABLE, err, "timed out after %s: database is locked", c.opts.Timeout)
		}
		return reading{}, fleet.Wrap(fleet.EUNAVAILABLE, err, "timed out after %s", c.opts.Timeout)
	}
	return m, err
}

// lockedNow reports whether a writer holds a local tenant's file locked,
// without waiting for the lock.
func (c *Collector) lockedNow(ctx context.Context, name string) bool {
	a, ok := c.p.(attacher)
	if !ok {
		return false // a server waits for its locks; its errors say so
	}
	att, err := a.Attachment(name) // a regular file in the tenants directory, or no probe
	if err != nil {
		return false
	}
	// The driver directly: a probe of one file must not leave a cached
	// connector behind. It reads no data, only whether the lock is free.
	db, err := sql.Open("sqlite", att.URI+"&_pragma=busy_timeout(0)")
	if err != nil {
		return false
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n)
	return tenantdb.Code(err) == fleet.EUNAVAILABLE // the probe does not wait: busy is all a local file can be
}

// transient reports whether trying again may help: the error is
// unavailability (a busy or locked database, a timeout, a network
// hiccup; see tenantdb.Code), as read classifies it.
func transient(err error) bool { return fleet.ErrorCode(err) == fleet.EUNAVAILABLE }

func errorText(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
