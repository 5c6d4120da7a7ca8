package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/api/client"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
)

func (e *env) migrate(args []string) error {
	if len(args) == 0 {
		return usagef("migrate needs a subcommand: status or up")
	}
	switch sub, args := args[0], args[1:]; sub {
	case "status":
		return e.migrateStatus(args)
	case "up":
		return e.migrateUp(args)
	default:
		return usagef("unknown migrate subcommand %q", sub)
	}
}

// openReconciled opens the app with the registry reconciled with the
// platform, so that tenants dropped in since the last scan count.
func (e *env) openReconciled() (*app, error) {
	a, err := e.openCLI()
	if err != nil {
		return nil, err
	}
	if _, err := a.life.Rescan(e.ctx, ""); err != nil {
		a.Close()
		return nil, fmt.Errorf("reconcile the registry: %w", err)
	}
	return a, nil
}

func (e *env) migrateStatus(args []string) error {
	fs := flag.NewFlagSet("migrate status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON: every ready tenant's version, pending migrations and last error")
	if _, err := parse(fs, args, e.stderr, "migrate status [--json]", 0); err != nil {
		return err
	}
	rc, err := e.remote()
	if err != nil {
		return err
	}
	var st *api.MigrationStatus
	if rc != nil {
		st, err = rc.MigrationStatus(e.ctx)
	} else {
		a, oerr := e.openReconciled()
		if oerr != nil {
			return oerr
		}
		defer a.Close()
		st, err = api.FleetStatus(e.ctx, a.rollout)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(st)
	}
	w := e.stdout
	fmt.Fprintf(w, "latest version %d (%s), from %s\n", st.Latest, st.LatestName, st.Source)
	fmt.Fprintf(w, "%d ready tenants: %d at the latest version, %d behind, %d whose last migration failed\n",
		st.Ready, st.Ready-st.Behind, st.Behind, st.Failed)
	for _, v := range st.Versions {
		fmt.Fprintf(w, "  version %d: %d tenants\n", v.Version, v.Tenants)
	}
	if st.Behind > 0 {
		fmt.Fprintln(w, "behind:")
		for _, t := range st.BehindList {
			fmt.Fprintf(w, "  %s at version %d, %d pending\n", t.Name, t.Version, t.Pending)
		}
		if more := st.Behind - int64(len(st.BehindList)); more > 0 {
			fmt.Fprintf(w, "  … and %d more (--json lists every tenant)\n", more)
		}
		fmt.Fprintln(w, "pending migrations:")
		for _, m := range st.Pending {
			fmt.Fprintf(w, "  %s\n", m.Name)
		}
	}
	if st.Failed > 0 {
		fmt.Fprintln(w, "last migration failed:")
		for _, t := range st.FailedList {
			fmt.Fprintf(w, "  %s at version %d: %s\n", t.Name, t.Version, t.Error)
		}
	}
	if st.Active != nil {
		fmt.Fprintf(w, "rollout %d (%s) is %s: %d of %d tenants done\n", st.Active.ID, st.Active.Mode, st.Active.State, st.Active.Done(), st.Active.Total)
	}
	return nil
}

// upJSON is `migrate up --json`.
type upJSON struct {
	central.MigrationRun
	DurationMS int64                     `json:"duration_ms"`
	Groups     []central.ResultGroup     `json:"groups"`
	Results    []central.MigrationResult `json:"tenants"`
}

func (e *env) migrateUp(args []string) error {
	fs := flag.NewFlagSet("migrate up", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON: the run and every tenant's result")
	dry := fs.Bool("dry-run", false, "say what would run where; change nothing")
	canary := fs.Int("canary", 0, "migrate only the first N ready tenants (by name), then stop for review")
	names := fs.String("tenants", "", "migrate only these tenants (comma-separated)")
	retry := fs.Int64("retry", 0, "migrate only the tenants rollout RUN failed on")
	parallel := fs.Int("parallel", schema.DefaultParallel, fmt.Sprintf("tenants migrated at once (1 to %d)", schema.MaxParallel))
	cont := fs.Bool("continue", false, "go on after a tenant fails (default: stop at the first failure)")
	if _, err := parse(fs, args, e.stderr, "migrate up [--dry-run] [--canary N | --tenants A,B | --retry RUN] [--parallel N] [--continue] [--json]", 0); err != nil {
		return err
	}
	spec := schema.Spec{DryRun: *dry, Canary: *canary, RetryOf: *retry, Parallel: *parallel, OnError: "stop", Actor: e.cliActor(), Trigger: "cli"}
	if *cont {
		spec.OnError = "continue"
	}
	if *names != "" {
		spec.Tenants = strings.Split(*names, ",")
	}
	rc, err := e.remote()
	if err != nil {
		return err
	}
	var out upJSON
	if rc != nil {
		if out, err = e.remoteRollout(rc, spec); err != nil {
			return err
		}
	} else if out, err = e.localRollout(spec); err != nil {
		return err
	}
	run := &out.MigrationRun
	if *asJSON {
		if err := json.NewEncoder(e.stdout).Encode(out); err != nil {
			return err
		}
	} else {
		e.printRollout(run, out.Groups)
	}
	switch {
	case run.DryRun():
		return nil
	case run.State == central.RunStopped:
		return fmt.Errorf("rollout %d stopped after %d of %d tenants (%d failed); fix the cause, then 'tenantry migrate up --retry %d' and 'tenantry migrate up'",
			run.ID, run.Done(), run.Total, run.Failed, run.ID)
	case run.Failed > 0:
		return fmt.Errorf("rollout %d: %d of %d tenants failed and stay at their version; fix the cause, then 'tenantry migrate up --retry %d'",
			run.ID, run.Failed, run.Total, run.ID)
	}
	return nil
}

// localRollout runs a rollout here and reads what it did.
func (e *env) localRollout(spec schema.Spec) (upJSON, error) {
	a, err := e.openReconciled()
	if err != nil {
		return upJSON{}, err
	}
	defer a.Close()
	run, j, err := a.rollout.Submit(e.ctx, a.jobs, spec)
	if err != nil {
		return upJSON{}, err
	}
	stop := e.watchJob(a, j.ID)
	err = e.await(a, j)
	stop()
	if err != nil {
		return upJSON{}, fmt.Errorf("rollout %d failed: %w", run.ID, err)
	}
	if run, err = a.db.MigrationRunByID(e.ctx, run.ID); err != nil {
		return upJSON{}, err
	}
	groups, err := a.db.ResultGroups(e.ctx, run.ID)
	if err != nil {
		return upJSON{}, err
	}
	out := upJSON{MigrationRun: *run, DurationMS: run.Duration().Milliseconds(), Groups: groups, Results: []central.MigrationResult{}}
	if out.Groups == nil {
		out.Groups = []central.ResultGroup{}
	}
	after := ""
	for {
		page, err := a.db.MigrationResults(e.ctx, run.ID, central.ResultFilter{After: after, Limit: 1000})
		if err != nil {
			return upJSON{}, err
		}
		if len(page) == 0 {
			return out, nil
		}
		out.Results = append(out.Results, page...)
		after = page[len(page)-1].Tenant
	}
}

// remoteRollout runs a rollout on the console of --server and reads what
// it did.
func (e *env) remoteRollout(rc *client.Client, spec schema.Spec) (upJSON, error) {
	req := api.RolloutRequest{Mode: api.RolloutFull, Canary: spec.Canary, Tenants: spec.Tenants, RetryOf: spec.RetryOf,
		Parallel: spec.Parallel, OnError: spec.OnError}
	switch {
	case spec.DryRun:
		req.Mode = api.RolloutDryRun
	case spec.Canary != 0:
		req.Mode = api.RolloutCanary
	case spec.Tenants != nil:
		req.Mode = api.RolloutTenants
	case spec.RetryOf != 0:
		req.Mode = api.RolloutRetry
	}
	run, err := rc.StartRollout(e.ctx, req)
	if err != nil {
		return upJSON{}, err
	}
	j, err := rc.WaitRunJob(e.ctx, run.JobID)
	if err != nil {
		return upJSON{}, err
	}
	if j.State == fleet.JobFailed {
		return upJSON{}, fmt.Errorf("rollout %d failed: %w", run.ID, errors.New(j.Error))
	}
	ro, err := rc.Rollout(e.ctx, run.ID)
	if err != nil {
		return upJSON{}, err
	}
	return upJSON{MigrationRun: ro.MigrationRun, DurationMS: ro.DurationMS, Groups: ro.Groups, Results: ro.Results}, nil
}

// printRollout prints a finished run and what it did, grouped.
func (e *env) printRollout(run *central.MigrationRun, groups []central.ResultGroup) {
	w := e.stdout
	if run.DryRun() {
		fmt.Fprintf(w, "dry run %d to version %d: %d tenants, %d would migrate, %d already there, %d cannot be read (nothing was changed) in %s\n",
			run.ID, run.Target, run.Total, run.Migrated, run.Skipped, run.Failed, run.Duration().Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "rollout %d (%s) to version %d, %s: %d tenants, %d migrated, %d failed, %d skipped (already there)",
			run.ID, run.Mode, run.Target, run.State, run.Total, run.Migrated, run.Failed, run.Skipped)
		if left := run.Total - run.Done(); left > 0 {
			fmt.Fprintf(w, ", %d not visited", left)
		}
		fmt.Fprintf(w, " in %s\n", run.Duration().Round(time.Millisecond))
	}
	for _, g := range groups {
		names := strings.Join(g.First, ", ")
		if g.Tenants > int64(len(g.First)) {
			names += fmt.Sprintf(", … (%d more)", g.Tenants-int64(len(g.First)))
		}
		label := g.Outcome
		if g.Outcome == central.OutcomeFailed {
			label = "failed: " + g.Detail
		} else if g.Detail != "" {
			label = g.Detail
		}
		fmt.Fprintf(w, "  %s: %d (%s)\n", label, g.Tenants, names)
	}
}
