package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/reports"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/collect"
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

// intEnv reads an integer setting from the environment, def if unset.
func intEnv(getenv func(string) string, key string, def int) (int, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, fmt.Errorf("%s=%q is not a whole number", key, v)
	}
	return n, nil
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
	shardF := fs.String("collect-shard", e.getenv("TENANTRY_COLLECT_SHARD"), "the scheduled collection covers part i of n of the fleet (i/n, 1-based; one replica per part; env TENANTRY_COLLECT_SHARD)")
	proxies := fs.String("trusted-proxies", e.getenv("TENANTRY_TRUSTED_PROXIES"), "comma-separated addresses or CIDR ranges of the proxies in front of the console whose X-Forwarded-For is believed, such as 127.0.0.1 or 10.0.0.0/8 (env TENANTRY_TRUSTED_PROXIES; default none: the client is the connection's peer)")
	secure := fs.Bool("secure-cookies", e.getenv("TENANTRY_SECURE_COOKIES") == "1", "mark cookies Secure (behind a TLS proxy; env TENANTRY_SECURE_COOKIES=1)")
	currency := fs.String("currency", envOr(e.getenv, "TENANTRY_CURRENCY", "USD"), "ISO 4217 code money is shown in; amounts are stored in minor units (env TENANTRY_CURRENCY)")
	sqlTimeout := fs.String("sql-timeout", envOr(e.getenv, "TENANTRY_SQL_TIMEOUT", console.DefaultTimeout.String()), "SQL console: time limit of a query, for each tenant of a fan-out (env TENANTRY_SQL_TIMEOUT)")
	sqlMaxRows := fs.String("sql-max-rows", envOr(e.getenv, "TENANTRY_SQL_MAX_ROWS", strconv.Itoa(console.DefaultMaxRows)), "SQL console: rows shown, for each tenant of a fan-out (env TENANTRY_SQL_MAX_ROWS)")
	opsAddr := fs.String("ops-addr", e.getenv("TENANTRY_OPS_ADDR"), "also serve /healthz, /readyz and /metrics on this address WITHOUT login, for a load balancer's checks and a Prometheus scraper on a private network, never a public one (env TENANTRY_OPS_ADDR; default off). On --addr they need a login or the bearer token in TENANTRY_METRICS_TOKEN")
	logFormat := fs.String("log-format", envOr(e.getenv, "TENANTRY_LOG_FORMAT", "text"), "log lines on stderr as text or json (env TENANTRY_LOG_FORMAT)")
	logLevel := fs.String("log-level", envOr(e.getenv, "TENANTRY_LOG_LEVEL", "info"), "least severe log lines written: debug (adds a line per request), info, warn or error (env TENANTRY_LOG_LEVEL)")
	rateDef, rateErr := intEnv(e.getenv, "TENANTRY_API_RATE_LIMIT", api.DefaultRateLimit)
	importDef, importErr := intEnv(e.getenv, "TENANTRY_MAX_IMPORT_SIZE", 1024)
	rate := fs.Int("api-rate-limit", rateDef, "calls an API token may make a minute, counted in the central database across replicas; past it, 429 (env TENANTRY_API_RATE_LIMIT; -1 = no limit)")
	maxImport := fs.Int64("max-import-size", int64(importDef), "largest SQLite file the API's import takes, in MiB (env TENANTRY_MAX_IMPORT_SIZE)")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long in-flight requests may take to finish, and then running jobs to stop at a safe point (they resume on the next start)")
	if _, err := parse(fs, args, e.stderr, "serve [--addr 127.0.0.1:8080]", 0); err != nil {
		return err
	}
	limits, err := sqlLimits(*sqlTimeout, *sqlMaxRows)
	if err != nil {
		return err
	}
	trusted, err := parseProxies(*proxies)
	if err != nil {
		return err
	}
	if !currencyCode.MatchString(*currency) {
		return usagef("--currency %q is not an ISO 4217 code such as USD or EUR", *currency)
	}
	if *workers < 1 || *workers > 64 {
		return usagef("--job-workers must be between 1 and 64")
	}
	if err := cmp.Or(rateErr, importErr); err != nil {
		return usageError{err.Error()}
	}
	if *rate == 0 || *rate < -1 {
		return usagef("--api-rate-limit must be positive (calls a minute), or -1 for no limit")
	}
	if *maxImport < 1 {
		return usagef("--max-import-size must be at least 1 (MiB)")
	}
	if *shutdown <= 0 {
		return usagef("--shutdown-timeout must be positive (30s, 2m)")
	}
	lvl, err := telemetry.ParseLevel(*logLevel)
	if err != nil {
		return usagef("--log-level %q is not debug, info, warn or error", *logLevel)
	}
	log, err := telemetry.NewLogger(e.stderr, *logFormat, lvl)
	if err != nil {
		return usagef("--log-format %q is not text or json", *logFormat)
	}
	web.TuneGC(e.getenv)
	if *every < 0 {
		return usagef("--collect-every must not be negative")
	}
	shard, err := collect.ParseShard(*shardF)
	if err != nil {
		return usageError{"--collect-shard: " + fleet.ErrorMessage(err)}
	}
	a, err := e.open(log, *copts)
	if err != nil {
		return err
	}
	defer a.Close() // last, after the server and the jobs stopped

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
	background.Go(func() { e.schedule(ctx, a, *every, shard) })

	uploads, err := uploadDir(e.cfg.DataDir)
	if err != nil {
		return err
	}
	cons := &console.Service{DB: a.db, Platform: a.p, Limits: limits, Log: log}
	rep := reports.New(a.db, nil)
	apiSrv := api.New(api.Options{DB: a.db, Reports: rep, Lifecycle: a.life, Jobs: a.jobs, Collector: a.collect, Console: cons, Rollouts: a.rollout,
		Log: log, RateLimit: *rate, MaxImportBytes: *maxImport << 20, TempDir: uploads})
	srv := web.New(web.Options{DB: a.db, Lifecycle: a.life, Jobs: a.jobs, Collector: a.collect, Rollouts: a.rollout, CollectEvery: *every,
		Console: cons, API: apiSrv, APIRateLimit: *rate, Reports: rep, Log: log, Dev: *dev, StaticDir: *staticDir, SecureCookies: *secure, Currency: *currency,
		Metrics: metrics, MetricsToken: e.getenv("TENANTRY_METRICS_TOKEN"), ShutdownTimeout: *shutdown, TrustedProxies: trusted})
	servers, sctx := errgroup.WithContext(ctx)
	servers.Go(func() error {
		return srv.Serve(sctx, *addr, func(bound string) {
			fmt.Fprintf(e.stdout, "tenantry: serving on http://%s\n", bound)
			log.Info("serving", "addr", bound, "platform", a.p.Name(), "data", e.cfg.DataDir)
		})
	})
	if *opsAddr != "" {
		servers.Go(func() error {
			return srv.ServeOps(sctx, *opsAddr, func(bound string) {
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

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// parseProxies reads --trusted-proxies: addresses (a host of its own) and
// CIDR ranges, separated by commas.
func parseProxies(s string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip := net.ParseIP(f)
			if ip == nil {
				return nil, usagef("--trusted-proxies: %q is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8)", f)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(f)
		if err != nil {
			return nil, usagef("--trusted-proxies: %q is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8)", f)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// sqlLimits reads the console's limits.
func sqlLimits(timeout, maxRows string) (console.Limits, error) {
	t, err := time.ParseDuration(timeout)
	if err != nil || t <= 0 || t > time.Hour {
		return console.Limits{}, usagef("--sql-timeout %q is not a duration from 1ms to 1h (5s, 30s, 2m)", timeout)
	}
	n, err := strconv.Atoi(maxRows)
	if err != nil || n < 1 || n > 1_000_000 {
		return console.Limits{}, usagef("--sql-max-rows %q is not a number from 1 to 1000000", maxRows)
	}
	return console.Limits{Timeout: t, MaxRows: n}, nil
}

// envOr is getenv(key), or def when it is unset.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
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
		from, to := collect.DefaultRange(time.Now())
		_, _, err := a.collect.Submit(ctx, a.jobs, collect.Spec{From: from, To: to, Trigger: "schedule", Actor: "schedule", Shard: shard})
		if fleet.ErrorCode(err) == fleet.ECONFLICT {
			a.log.Info("scheduled collection skipped: one is already running")
		} else if err != nil && ctx.Err() == nil {
			a.log.Error("scheduled collection", "err", err)
		}
	}
	if last, err := a.db.LastRunOf(ctx, shard.String()); err == nil && (last == nil || time.Since(last.StartedAt) > every) {
		submit()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			submit()
		}
	}
}
