package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/reports"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/telemetry"
	"github.com/tenantry/tenantry/internal/web"
	"golang.org/x/sync/errgroup"
)

// uploadDir is where API imports are received while they are checked and
// imported, in the data directory (not a tmpfs that may be small). Files
// a crash left there a day ago are removed.
func uploadDir(data string) (string, error) {
	dir := filepath.Join(data, "uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("make the uploads directory: %w", err)
	}
	es, _ := os.ReadDir(dir)
	for _, de := range es {
		if fi, err := de.Info(); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > 24*time.Hour {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
	return dir, nil
}

func (e *env) serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dev := fs.Bool("dev", false, "serve static files from --static-dir on disk (for front-end work)")
	staticDir := fs.String("static-dir", "static", "static files directory for --dev")
	rescan := fs.Duration("rescan-every", 30*time.Second, "how often to reconcile the registry with the platform (0 = only at start and on demand)")
	workers := fs.Int("job-workers", 2, "background jobs run at once")
	copts := collectOptions(fs)
	every := fs.Duration("collect-every", time.Hour, "collect yesterday and today this often (0 = never on a schedule)")
	sc := config.ServeFlags(fs, e.getenv)
	snaps := config.SnapshotFlags(fs)
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long in-flight requests may take to finish, and then running jobs to stop at a safe point (they resume on the next start)")
	if _, err := parse(fs, args, e.stderr, "serve [--addr 127.0.0.1:8080]", 0); err != nil {
		return err
	}
	if err := sc.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if *workers < 1 || *workers > 64 {
		return usagef("--job-workers must be between 1 and 64")
	}
	if *shutdown <= 0 {
		return usagef("--shutdown-timeout must be positive (30s, 2m)")
	}
	if *every < 0 {
		return usagef("--collect-every must not be negative")
	}
	if err := snaps.Validate(); err != nil {
		return usageError{err.Error()}
	}
	e.backupOpts = backups.Options{Every: snaps.Every, Policy: &snaps.Policy, History: snaps.History}
	e.backupOpts.Snapshot.Workers = snaps.Workers
	log, err := telemetry.NewLogger(e.stderr, sc.LogFormat, sc.LogLevel)
	if err != nil {
		return err
	}
	web.TuneGC(e.getenv)
	a, err := e.open(log, *copts)
	if err != nil {
		return err
	}
	defer a.Close() // last, after the server and the jobs stopped
	if err := a.backups.Open(); err != nil {
		return err
	}

	// On SIGTERM or SIGINT, e.ctx ends: the servers stop accepting and
	// drain, the job workers stop their jobs at a safe point and hand
	// them back, and the central database closes last (deferred above).
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stopLog := context.AfterFunc(e.ctx, func() {
		log.Info("shutting down: finishing requests and stopping jobs", "timeout", *shutdown)
	})
	defer stopLog()
	if _, err := a.life.Rescan(ctx, ""); err != nil {
		log.Error("initial registry scan", "err", err)
	}
	metrics := telemetry.New(telemetry.Options{DB: a.db, JobKinds: a.jobs.Kinds(), Log: log})
	a.collect.OnFinish = func(s collect.Summary) { metrics.CollectionFinished(s.CollectRun) }
	a.jobs.Workers = *workers
	a.jobs.Start(ctx)
	var background sync.WaitGroup
	background.Go(func() { e.housekeeping(ctx, a, *rescan) })
	background.Go(func() { e.schedule(ctx, a, *every, sc.CollectShard) })
	background.Go(func() { e.snapshotSchedule(ctx, a, snaps.Every) })

	uploads, err := uploadDir(e.cfg.DataDir)
	if err != nil {
		return err
	}
	cons := &console.Service{DB: a.db, Platform: a.p, Limits: sc.SQL, Log: log}
	rep := reports.New(a.db)
	apiSrv := api.New(api.Options{DB: a.db, Reports: rep, Lifecycle: a.life, Jobs: a.jobs, Collector: a.collect, Console: cons, Rollouts: a.rollout, Backups: a.backups,
		Log: log, RateLimit: sc.APIRateLimit, MaxImportBytes: sc.MaxImport, TempDir: uploads})
	srv := web.New(web.Options{DB: a.db, Lifecycle: a.life, Jobs: a.jobs, Collector: a.collect, Rollouts: a.rollout, Backups: a.backups, CollectEvery: *every,
		Console: cons, API: apiSrv, APIRateLimit: sc.APIRateLimit, Reports: rep, Log: log, Dev: *dev, StaticDir: *staticDir, SecureCookies: sc.SecureCookies, Currency: sc.Currency,
		Metrics: metrics, MetricsToken: sc.MetricsToken, ShutdownTimeout: *shutdown, TrustedProxies: sc.TrustedProxies})
	servers, sctx := errgroup.WithContext(ctx)
	servers.Go(func() error {
		return srv.Serve(sctx, *addr, func(bound string) {
			fmt.Fprintf(e.stdout, "tenantry: serving on http://%s\n", bound)
			log.Info("serving", "addr", bound, "platform", a.p.Name(), "data", e.cfg.DataDir)
		})
	})
	if sc.OpsAddr != "" {
		servers.Go(func() error {
			return srv.ServeOps(sctx, sc.OpsAddr, func(bound string) {
				log.Info("serving /healthz, /readyz and /metrics without login", "addr", bound)
			})
		})
	}
	err = servers.Wait()
	cancel() // a server that failed to start stops the rest
	stopped := make(chan struct{})
	go func() {
		a.jobs.Wait()
		background.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(*shutdown):
		return errors.Join(err, fmt.Errorf("background jobs still running after %s (--shutdown-timeout) were cut off; they resume on the next start", *shutdown))
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// housekeeping reconciles the registry and purges expired sessions until
// ctx ends.
func (e *env) housekeeping(ctx context.Context, a *app, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := a.life.Rescan(ctx, ""); err != nil && ctx.Err() == nil {
			a.log.Error("registry scan", "err", err)
		}
		if err := a.db.PurgeSessions(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("purge sessions", "err", err)
		}
		// Copies a crashed process was making are removed once surely dead.
		if c, ok := a.p.(interface{ CleanTmp(time.Duration) }); ok {
			c.CleanTmp(time.Hour)
		}
	}
}

// schedule queues a collection of yesterday and today (of shard's part of
// the fleet) every interval, and at start when the last run of that part
// is older than that. A run still going (here or on another replica)
// makes the tick a no-op: never two at once.
func (e *env) schedule(ctx context.Context, a *app, every time.Duration, shard collect.Shard) {
	if every <= 0 {
		return
	}
	submit := func() {
		from, to := collect.DefaultRange(a.db.Now())
		_, _, err := a.collect.Submit(ctx, a.jobs, collect.Spec{From: from, To: to, Trigger: "schedule", Actor: "schedule", Shard: shard})
		if fleet.ErrorCode(err) == fleet.ECONFLICT {
			a.log.Info("scheduled collection skipped: one is already running")
		} else if err != nil && ctx.Err() == nil {
			a.log.Error("scheduled collection", "err", err)
		}
	}
	if last, err := a.db.LastRunOf(ctx, shard.String()); err == nil && (last == nil || a.db.Now().Sub(last.StartedAt) > every) {
		submit()
	}
	onTick(ctx, every, submit)
}

// snapshotSchedule queues a snapshot run of the fleet every interval, and
// at start when the newest run is older than that. A run still going
// makes the tick a no-op.
func (e *env) snapshotSchedule(ctx context.Context, a *app, every time.Duration) {
	if !a.backups.Enabled() || every <= 0 {
		// No scheduled snapshot job here (Turso, or snapshots by hand
		// only): the central history is pruned on its own, daily.
		e.historySchedule(ctx, a)
		return
	}
	submit := func() {
		_, _, err := a.backups.Submit(ctx, "schedule", "schedule", "")
		if fleet.ErrorCode(err) == fleet.ECONFLICT {
			a.log.Info("scheduled snapshot run skipped: one is already running")
		} else if err != nil && ctx.Err() == nil {
			a.log.Error("scheduled snapshot run", "err", err)
		}
	}
	if runs, _, err := a.db.SnapshotRuns(ctx, 1, 0); err == nil && (len(runs) == 0 || a.db.Now().Sub(runs[0].StartedAt) > every) {
		submit()
	}
	onTick(ctx, every, submit)
}

// historySchedule prunes the central database's history at start and
// daily, where no snapshot job does it.
func (e *env) historySchedule(ctx context.Context, a *app) {
	prune := func() {
		if h, err := a.db.PruneHistory(ctx, a.backups.HistoryPolicy()); err != nil && ctx.Err() == nil {
			a.log.Error("prune the central database's history", "err", err)
		} else if h.Total() > 0 {
			a.log.Info("central history pruned", "rows", h.Total())
		}
	}
	prune()
	onTick(ctx, backups.MaintainEvery, prune)
}

// onTick calls f every interval until ctx ends.
func onTick(ctx context.Context, every time.Duration, f func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
