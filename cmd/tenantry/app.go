package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/turso"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/snapshot"
	"github.com/tenantry/tenantry/internal/telemetry"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// app is the wired set of services; only cmd/ wires implementations.
type app struct {
	db      *central.DB
	p       platform.Platform
	jobs    *jobs.Runner
	life    *lifecycle.Service
	collect *collect.Collector
	rollout *schema.Rollouts
	backups *backups.Service
	log     *slog.Logger
}

// logger returns a command's logger on stderr: text at level, unless
// TENANTRY_LOG_FORMAT and TENANTRY_LOG_LEVEL say otherwise (serve has
// flags for both). A bad value is reported once and the defaults used.
func (e *env) logger(level slog.Level) *slog.Logger {
	lvl, err := telemetry.ParseLevel(cmp.Or(e.cfg.LogLevel, level.String()))
	if err != nil {
		fmt.Fprintf(e.stderr, "tenantry: TENANTRY_LOG_LEVEL: %v; using %s\n", err, level)
		lvl = level
	}
	log, err := telemetry.NewLogger(e.stderr, cmp.Or(e.cfg.LogFormat, "text"), lvl)
	if err != nil {
		fmt.Fprintf(e.stderr, "tenantry: TENANTRY_LOG_FORMAT: %v; using text\n", err)
		log, _ = telemetry.NewLogger(e.stderr, "text", lvl)
	}
	return log
}

// open wires the services, every job handler registered before any job
// runs. Closing the app closes the central database.
func (e *env) open(log *slog.Logger, copts collect.Options) (*app, error) {
	set := schema.Embedded()
	if e.cfg.TenantMigrations != "" {
		var err error
		if set, err = schema.Load(e.cfg.TenantMigrations); err != nil {
			return nil, err
		}
	}
	db, err := e.openCentral()
	if err != nil {
		return nil, err
	}
	p, err := e.platform(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	runner := jobs.NewRunner(db, log)
	a := &app{db: db, p: p, jobs: runner, life: lifecycle.New(db, p, runner, log), log: log}
	rescan := func(ctx context.Context) error { _, err := a.life.Rescan(ctx, ""); return err }
	a.collect = collect.New(db, p, rescan, copts, log)
	a.collect.Register(runner)
	a.life.Schema = set
	a.rollout = schema.NewRollouts(db, p, set, log)
	a.rollout.Register(runner)
	// Local and sqld tenants are snapshotted; Turso Cloud keeps history.
	var open func() (snapshot.Store, error)
	if p.Name() != "turso" {
		dir := e.cfg.SnapshotDir
		open = func() (snapshot.Store, error) {
			d, err := snapshot.OpenDir(dir)
			if err != nil {
				return nil, err // not a nil *Dir in a Store
			}
			return d, nil
		}
	}
	if a.backups, err = backups.New(db, p, open, runner, log, e.backupOpts); err != nil {
		db.Close()
		return nil, err
	}
	a.life.Snapshots = a.backups
	return a, nil
}

// platform returns the configured platform; sqld keeps its list of
// namespaces in the central database.
func (e *env) platform(db *central.DB) (platform.Platform, error) {
	switch e.cfg.Platform {
	case "local":
		return local.New(e.cfg.DataDir)
	case "sqld":
		o := sqld.Options{URL: e.cfg.SqldURL, AdminURL: e.cfg.SqldAdminURL, AdminKey: e.cfg.SqldAdminKey, PublicURL: e.cfg.SqldPublicURL,
			Catalog: db.Catalog("sqld"), ArchiveDir: filepath.Join(e.cfg.DataDir, "archive", "sqld")}
		if e.cfg.SqldJWTKeyFile != "" {
			key, err := tenantdb.LoadSigningKey(e.cfg.SqldJWTKeyFile)
			if err != nil {
				return nil, fmt.Errorf("TENANTRY_SQLD_JWT_KEY_FILE: %w", err)
			}
			o.SigningKey = key
		}
		p, err := sqld.New(o)
		if err != nil {
			return nil, err
		}
		if err := p.Check(e.ctx); err != nil {
			return nil, err
		}
		return p, nil
	case "turso":
		o := turso.Options{Org: e.cfg.TursoOrg, Token: e.cfg.TursoToken, Group: e.cfg.TursoGroup, APIURL: e.cfg.TursoAPIURL}
		tursoHook(&o)
		return turso.New(o)
	}
	return nil, fmt.Errorf("platform %q is unknown", e.cfg.Platform)
}

// tursoHook lets tests route the data plane to their sqld.
var tursoHook = func(*turso.Options) {}

func (a *app) Close() error {
	a.backups.Close()
	return a.db.Close()
}

var _ io.Closer = (*app)(nil)
