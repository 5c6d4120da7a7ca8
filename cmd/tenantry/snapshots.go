package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/fleet"
)

func (e *env) snapshots(args []string) error {
	if len(args) == 0 {
		return usagef("snapshots needs a subcommand: take, list or verify")
	}
	switch args[0] {
	case "take":
		return e.snapshotsTake(args[1:])
	case "list":
		return e.snapshotsList(args[1:])
	case "verify":
		return e.snapshotsVerify(args[1:])
	}
	return usagef("unknown snapshots subcommand %q: use take, list or verify", args[0])
}

// takeReport is what snapshots take prints (CONTRACT.md).
type takeReport struct {
	RunID       int64               `json:"run_id"`
	Tenants     int                 `json:"tenants"`
	Snapshotted int                 `json:"snapshotted"`
	Unchanged   int                 `json:"unchanged"`
	Failed      int                 `json:"failed"`
	Pruned      int                 `json:"pruned"`
	Errors      []fleet.TenantError `json:"errors"`
}

func (e *env) snapshotsTake(args []string) error {
	fs := flag.NewFlagSet("snapshots take", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "snapshot this tenant only")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args, e.stderr, "snapshots take [--tenant NAME] [--json]", 0); err != nil {
		return err
	}
	if *tenant != "" {
		if err := fleet.ValidateName(*tenant); err != nil {
			return err
		}
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteSnapshotsTake(cl, *tenant, *asJSON)
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	r, j, err := a.backups.Submit(e.ctx, e.cliActor(), "cli", *tenant)
	if err != nil {
		return err
	}
	if err := e.await(a, j); err != nil {
		return err
	}
	if r, err = a.db.SnapshotRunByID(e.ctx, r.ID); err != nil {
		return err
	}
	return e.printRun(r, *asJSON)
}

// printRun prints a finished snapshot run, as snapshots take reports it.
func (e *env) printRun(r *fleet.SnapshotRun, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(takeReport{RunID: r.ID, Tenants: r.Tenants, Snapshotted: r.Snapshotted,
			Unchanged: r.Unchanged, Failed: r.Failed, Pruned: r.Pruned, Errors: r.Errors})
	}
	fmt.Fprintf(e.stdout, "run %d: %d tenants, %d snapshotted, %d unchanged, %d failed, %d old snapshots pruned\n",
		r.ID, r.Tenants, r.Snapshotted, r.Unchanged, r.Failed, r.Pruned)
	for _, te := range r.Errors {
		fmt.Fprintf(e.stdout, "  %s: %s\n", te.Tenant, te.Error)
	}
	return nil
}

// listLimit bounds snapshots list per tenant.
const listLimit = 1000

func (e *env) snapshotsList(args []string) error {
	fs := flag.NewFlagSet("snapshots list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, e.stderr, "snapshots list [TENANT] [--json]", -1)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("expected at most one tenant (usage: tenantry snapshots list [TENANT] [--json])")
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteSnapshotsList(cl, pos, *asJSON)
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	var snaps []fleet.Snapshot
	if len(pos) == 1 {
		if err := fleet.ValidateName(pos[0]); err != nil {
			return err
		}
		if snaps, err = a.backups.Snapshots(e.ctx, pos[0], listLimit); err != nil {
			return err
		}
	} else if snaps, err = a.backups.Newest(e.ctx); err != nil {
		return err
	}
	return e.printSnapshots(snaps, *asJSON)
}

// printSnapshots prints snapshots as a table, or as JSON.
func (e *env) printSnapshots(snaps []fleet.Snapshot, asJSON bool) error {
	if snaps == nil {
		snaps = []fleet.Snapshot{}
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(snaps)
	}
	if len(snaps) == 0 {
		fmt.Fprintln(e.stdout, "no snapshots")
		return nil
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tTENANT\tTAKEN\tSIZE\tDATABASE\tVERIFIED")
	for _, s := range snaps {
		verified := "-"
		if !s.VerifiedAt.IsZero() {
			verified = s.VerifiedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Tenant, s.TakenAt.UTC().Format(time.RFC3339), humanBytes(s.Size), humanBytes(s.RawSize), verified)
	}
	return w.Flush()
}

func (e *env) snapshotsVerify(args []string) error {
	fs := flag.NewFlagSet("snapshots verify", flag.ContinueOnError)
	sample := fs.Int("sample", 10, "restore the newest snapshot of this many tenants, picked at random (0 = every tenant)")
	tenant := fs.String("tenant", "", "restore this tenant's newest snapshot only")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args, e.stderr, "snapshots verify [--sample N] [--tenant NAME] [--json]", 0); err != nil {
		return err
	}
	if *sample < 0 || *sample > backups.MaxSample {
		return usagef("--sample must be between 0 and %d", backups.MaxSample)
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteSnapshotsVerify(cl, *tenant, *sample, *asJSON)
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	drills, err := a.backups.Verify(e.ctx, e.cliActor(), *tenant, *sample)
	if err != nil {
		return err
	}
	return e.printDrills(drills, *asJSON)
}

// printDrills prints a restore drill's results; some failed, or none at
// all, is an error.
func (e *env) printDrills(drills []backups.DrillResult, asJSON bool) error {
	failed := 0
	for _, d := range drills {
		if d.Error != "" {
			failed++
		}
	}
	if asJSON {
		if drills == nil {
			drills = []backups.DrillResult{}
		}
		if err := json.NewEncoder(e.stdout).Encode(drills); err != nil {
			return err
		}
	} else {
		for _, d := range drills {
			if d.Error != "" {
				fmt.Fprintf(e.stdout, "FAIL %s %s: %s\n", d.Snapshot.Tenant, d.Snapshot.TakenAt.UTC().Format(time.RFC3339), d.Error)
				continue
			}
			fmt.Fprintf(e.stdout, "ok   %s %s: %d tables, %d rows, restored and checked in %s\n", d.Snapshot.Tenant,
				d.Snapshot.TakenAt.UTC().Format(time.RFC3339), len(d.Tables), d.Rows, d.Took.Round(time.Millisecond))
		}
		fmt.Fprintf(e.stdout, "%d snapshots restored, %d failed\n", len(drills), failed)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d snapshots failed the restore drill", failed, len(drills))
	}
	if len(drills) == 0 {
		return errors.New("no snapshots to verify: take some first (tenantry snapshots take)")
	}
	return nil
}
