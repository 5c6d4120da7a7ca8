package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/api/client"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
)

// collectOptions are the tuning flags shared by collect and serve.
func collectOptions(fs *flag.FlagSet) *collect.Options {
	o := &collect.Options{}
	fs.IntVar(&o.Workers, "collect-workers", 0, "tenants read at once during a collection (default 4 on the local platform, 32 on sqld and turso)")
	fs.DurationVar(&o.Timeout, "collect-timeout", 30*time.Second, "time limit per tenant and attempt")
	return o
}

func (e *env) collect(args []string) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	date := fs.String("date", "", "collect one day (YYYY-MM-DD)")
	fromF := fs.String("from", "", "first day of a backfill (YYYY-MM-DD, inclusive)")
	toF := fs.String("to", "", "last day of a backfill (YYYY-MM-DD, inclusive)")
	shardF := fs.String("shard", "", "collect part i of n of the fleet (i/n, 1-based: run 1/4 … 4/4 on four machines to cover it once)")
	opts := collectOptions(fs)
	if _, err := parse(fs, args, e.stderr, "collect [--date YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD] [--shard i/n] [--json]", 0); err != nil {
		return err
	}
	shard, err := collect.ParseShard(*shardF)
	if err != nil {
		return usageError{fleet.ErrorMessage(err)}
	}
	from, to := collect.DefaultRange(e.now())
	switch {
	case *date != "" && (*fromF != "" || *toF != ""):
		return usagef("use either --date or --from and --to")
	case *date != "":
		d, err := fleet.ParseDay(*date)
		if err != nil {
			return usageError{fleet.ErrorMessage(err)}
		}
		from, to = d, d
	case *fromF != "" || *toF != "":
		if *fromF == "" || *toF == "" {
			return usagef("--from and --to go together")
		}
		f, t, err := fleet.ParseRange(*fromF, *toF)
		if err != nil {
			return usageError{fleet.ErrorMessage(err)}
		}
		from, to = f, t
	}
	rc, err := e.remote()
	if err != nil {
		return err
	}
	var s *collect.Summary
	if rc != nil {
		if shard != (collect.Shard{}) || flagSet(fs, "collect-workers") || flagSet(fs, "collect-timeout") {
			return usagef("--shard, --collect-workers and --collect-timeout are for a collection run here, not with --server")
		}
		if s, err = e.remoteCollection(rc, from, to); err != nil {
			return err
		}
	} else {
		a, err := e.openCLIWith(*opts)
		if err != nil {
			return err
		}
		defer a.Close()
		if s, err = e.runCollection(a, collect.Spec{From: from, To: to, Trigger: "cli", Actor: e.cliActor(), Shard: shard}); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(s)
	}
	if s.Shard != "" {
		fmt.Fprintf(e.stdout, "shard %s: ", s.Shard)
	}
	fmt.Fprintf(e.stdout, "collection run %d, %s to %s: %d tenants, %d collected, %d failed, %d skipped (unchanged), %d rows written in %s\n",
		s.ID, s.From, s.To, s.Tenants, s.OK, s.Failed, s.Skipped, s.RowsWritten, s.Duration().Round(time.Millisecond))
	for _, te := range s.Errors {
		fmt.Fprintf(e.stdout, "  failed: %s: %s\n", te.Tenant, te.Error)
	}
	return nil
}

// remoteCollection runs a collection on the console of --server, waits
// for it and returns its summary.
func (e *env) remoteCollection(rc *client.Client, from, to time.Time) (*collect.Summary, error) {
	run, err := rc.Collect(e.ctx, from.Format(fleet.DayLayout), to.Format(fleet.DayLayout))
	if err != nil {
		return nil, err
	}
	j, err := rc.WaitRunJob(e.ctx, run.JobID)
	if err != nil {
		return nil, err
	}
	if j.State == fleet.JobFailed {
		return nil, fmt.Errorf("collection run %d failed: %w", run.ID, errors.New(j.Error))
	}
	return rc.Collection(e.ctx, run.ID)
}

// runCollection queues a collection, runs it here with a progress line on
// a terminal, and returns its summary.
func (e *env) runCollection(a *app, spec collect.Spec) (*collect.Summary, error) {
	run, j, err := a.collect.Submit(e.ctx, a.jobs, spec)
	if err != nil {
		return nil, err
	}
	stop := e.watchJob(a, j.ID)
	err = e.await(a, j)
	stop()
	if err != nil {
		return nil, fmt.Errorf("collection run %d failed: %w", run.ID, err)
	}
	return a.collect.Summary(e.ctx, run.ID)
}

// watchJob shows a job's progress on a terminal until stop is called.
func (e *env) watchJob(a *app, id int64) (stop func()) {
	if !isTerminal(e.stderr) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				e.progressEnd()
				return
			case <-t.C:
			}
			if j, err := a.db.Job(e.ctx, id); err == nil && j.Total > 0 {
				e.progress("[%d/%d] %s", j.Done, j.Total, j.Step)
			}
		}
	}()
	return func() { close(done); <-finished }
}
