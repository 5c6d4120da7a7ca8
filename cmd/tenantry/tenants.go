package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/api/client"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
	"golang.org/x/term"
)

func (e *env) tenants(args []string) error {
	if len(args) == 0 {
		return usagef("tenants needs a subcommand: list, create, clone, delete, restore, import or export")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return e.tenantsList(args)
	case "create":
		return e.tenantsCreate(args)
	case "clone":
		return e.tenantsClone(args)
	case "delete":
		return e.tenantsDelete(args)
	case "restore":
		return e.tenantsRestore(args)
	case "import":
		return e.tenantsImport(args)
	case "export":
		return e.tenantsExport(args)
	}
	return usagef("unknown tenants subcommand %q", sub)
}

// cliActor names the CLI user in jobs and the audit log.
func (e *env) cliActor() string {
	if u := e.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// openCLI opens the app for a CLI command and first finishes any job a
// killed earlier command left behind.
func (e *env) openCLI() (*app, error) { return e.openCLIWith(collect.Options{}) }

// openCLIWith is openCLI with collection options.
func (e *env) openCLIWith(copts collect.Options) (*app, error) {
	a, err := e.open(e.logger(slog.LevelWarn), copts)
	if err != nil {
		return nil, err
	}
	if err := a.jobs.RunPending(e.ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("resume unfinished jobs: %w", err)
	}
	return a, nil
}

// await runs a queued job here (or waits for the runner that holds it) and
// turns its failure into an error.
func (e *env) await(a *app, j *fleet.Job) error {
	fin, err := a.jobs.RunNow(e.ctx, j.ID)
	if err != nil {
		return err
	}
	for fin == nil || !fin.Finished() {
		select {
		case <-e.ctx.Done():
			return e.ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if fin, err = a.db.Job(e.ctx, j.ID); err != nil {
			return err
		}
	}
	if fin.State == fleet.JobFailed {
		return errors.New(fin.Error)
	}
	return nil
}

// runJob opens the app, submits a lifecycle job, runs it to the end and
// prints the tenant it made.
func (e *env) runJob(name string, asJSON bool, submit func(a *app) (*fleet.Job, error)) error {
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	j, err := submit(a)
	if err != nil {
		return err
	}
	if err := e.await(a, j); err != nil {
		return err
	}
	t, err := a.db.Tenant(e.ctx, name)
	if err != nil {
		return err
	}
	return e.printTenant(t, asJSON)
}

// printTenant prints the tenant a command made or changed, here or
// through a console's API alike.
func (e *env) printTenant(t *fleet.Tenant, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(t)
	}
	fmt.Fprintf(e.stdout, "%s %s (schema %d, %s)\n", t.Name, t.Status, t.SchemaVersion, t.URL)
	return nil
}

func (e *env) tenantsList(args []string) error {
	fs := flag.NewFlagSet("tenants list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "only tenants in this status")
	if _, err := parse(fs, args, e.stderr, "tenants list [--json] [--status S]", 0); err != nil {
		if errors.Is(err, errHelp) {
			fmt.Fprintln(e.stderr, "Here the registry is first reconciled with the platform; with --server it is listed as the console has it (the console rescans on its own schedule).")
		}
		return err
	}
	// A typo would otherwise list nothing, as if the fleet had none.
	if *status != "" && !slices.Contains(fleet.Statuses, *status) {
		return usagef("--status %q is not a tenant status: %s", *status, strings.Join(fleet.Statuses, ", "))
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		// No rescan: the console reconciles its registry on its own
		// schedule (serve --rescan-every).
		ts, err := cl.AllTenants(e.ctx, client.TenantQuery{Status: *status, Limit: api.MaxPage})
		if err != nil {
			return err
		}
		return e.printTenants(ts, *asJSON)
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.life.Rescan(e.ctx, ""); err != nil {
		return err
	}
	e.noteUnadoptable(a.life.Unadoptable())
	ts, _, err := a.db.ListTenants(e.ctx, central.TenantFilter{Status: *status})
	if err != nil {
		return err
	}
	return e.printTenants(ts, *asJSON)
}

// printTenants prints the registry: a table, or a JSON array.
func (e *env) printTenants(ts []fleet.Tenant, asJSON bool) error {
	if asJSON {
		if ts == nil {
			ts = []fleet.Tenant{}
		}
		return json.NewEncoder(e.stdout).Encode(ts)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATUS\tSCHEMA\tSIZE\tORDERS_30D\tREVENUE_30D\tLAST_ORDER\tCREATED\tURL")
	for _, t := range ts {
		last := "-"
		if t.LastOrderDate != nil {
			last = *t.LastOrderDate
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", t.Name, t.Status, t.SchemaVersion, sizeIEC(t.SizeBytes),
			t.Orders30d, minorUnits(t.Revenue30d), last, t.CreatedAt.UTC().Format(time.RFC3339), t.URL)
	}
	return w.Flush()
}

// sizeIEC is a size for people: 60.0 KiB, 12.3 MiB (bytes stay in --json).
func sizeIEC(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, units := float64(n)/1024, []string{"KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1023.95 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// minorUnits shows an amount in minor units with two decimals, without a
// currency (the CLI does not know the console's): 1234 → "12.34".
func minorUnits(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

func (e *env) tenantsCreate(args []string) error {
	fs := flag.NewFlagSet("tenants create", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, e.stderr, "tenants create NAME [--json]", 1)
	if err != nil {
		return err
	}
	// Refuse a bad name before opening anything.
	if err := fleet.ValidateName(pos[0]); err != nil {
		return err
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteProvision(cl, pos[0], "", time.Time{}, *asJSON)
	}
	return e.runJob(pos[0], *asJSON, func(a *app) (*fleet.Job, error) {
		return a.life.Create(e.ctx, e.cliActor(), pos[0])
	})
}

func (e *env) tenantsClone(args []string) error {
	fs := flag.NewFlagSet("tenants clone", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	atFlag := fs.String("at", "", "branch as of this time (RFC 3339)")
	pos, err := parse(fs, args, e.stderr, "tenants clone SOURCE NAME [--at RFC3339] [--json]", 2)
	if err != nil {
		return err
	}
	var at time.Time
	if *atFlag != "" {
		if at, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			return usagef("--at %q is not an RFC 3339 time such as 2026-11-20T15:04:05Z", *atFlag)
		}
	}
	for _, n := range pos {
		if err := fleet.ValidateName(n); err != nil {
			return err
		}
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteProvision(cl, pos[1], pos[0], at, *asJSON)
	}
	return e.runJob(pos[1], *asJSON, func(a *app) (*fleet.Job, error) {
		// On platforms without history, say which snapshot the branch
		// is made from.
		if snap, err := a.life.BranchPoint(e.ctx, pos[0], at); err == nil && snap != nil {
			fmt.Fprintf(e.stderr, "branching %s from its snapshot taken %s, the newest at or before %s\n",
				pos[0], snap.TakenAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
		return a.life.Clone(e.ctx, e.cliActor(), pos[0], pos[1], at)
	})
}

// confirm asks a person at a terminal to type the tenant's name.
func (e *env) confirm(name string) error {
	return e.confirmWith(name, fmt.Sprintf("Delete tenant %s? It is archived and can be restored. Type its name to confirm: ", name), "delete "+name)
}

// confirmWith asks a person at a terminal to type name after prompt;
// without a terminal, --yes must say it to do what.
func (e *env) confirmWith(name, prompt, what string) error {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usagef("refusing to %s without confirmation: pass --yes", what)
	}
	fmt.Fprint(e.stderr, prompt)
	line, _ := bufio.NewReader(f).ReadString('\n')
	if strings.TrimSpace(line) != name {
		return fmt.Errorf("not confirmed; nothing was done to %s", name)
	}
	return nil
}

func (e *env) tenantsDelete(args []string) error {
	fs := flag.NewFlagSet("tenants delete", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	pos, err := parse(fs, args, e.stderr, "tenants delete NAME [--yes]", 1)
	if err != nil {
		return err
	}
	name := pos[0]
	if err := fleet.ValidateName(name); err != nil {
		return err
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteDelete(cl, name, *yes)
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	// Check the tenant exists before asking to confirm its deletion.
	if _, err := a.db.Tenant(e.ctx, name); err != nil {
		return err
	}
	if !*yes {
		if err := e.confirm(name); err != nil {
			return err
		}
	}
	j, err := a.life.Delete(e.ctx, e.cliActor(), name)
	if err != nil {
		return err
	}
	if err := e.await(a, j); err != nil {
		return err
	}
	e.printDeleted(name)
	return nil
}

func (e *env) printDeleted(name string) {
	fmt.Fprintf(e.stdout, "%s deleted (archived; 'tenantry tenants restore %s' brings it back)\n", name, name)
}

func (e *env) tenantsRestore(args []string) error {
	fs := flag.NewFlagSet("tenants restore", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	atFlag := fs.String("at", "", "roll the live tenant back to its newest snapshot at or before this time (RFC 3339)")
	yes := fs.Bool("yes", false, "with --at: do not ask for confirmation")
	pos, err := parse(fs, args, e.stderr, "tenants restore NAME [--at RFC3339 [--yes]]", 1)
	if err != nil {
		return err
	}
	if err := fleet.ValidateName(pos[0]); err != nil {
		return err
	}
	if *atFlag != "" {
		at, err := time.Parse(time.RFC3339, *atFlag)
		if err != nil {
			return usagef("--at %q is not an RFC 3339 time such as 2026-11-20T15:04:05Z", *atFlag)
		}
		return e.tenantsRollback(pos[0], at, *yes, *asJSON)
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteRestore(cl, pos[0], *asJSON)
	}
	return e.runJob(pos[0], *asJSON, func(a *app) (*fleet.Job, error) {
		return a.life.Restore(e.ctx, e.cliActor(), pos[0])
	})
}

func (e *env) tenantsImport(args []string) error {
	fs := flag.NewFlagSet("tenants import", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, e.stderr, "tenants import NAME FILE", 2)
	if err != nil {
		return err
	}
	if err := fleet.ValidateName(pos[0]); err != nil {
		return err
	}
	file, err := filepath.Abs(pos[1])
	if err != nil {
		return err
	}
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteImport(cl, pos[0], file, *asJSON)
	}
	return e.runJob(pos[0], *asJSON, func(a *app) (*fleet.Job, error) {
		return a.life.Import(e.ctx, e.cliActor(), pos[0], file)
	})
}

func (e *env) tenantsExport(args []string) error {
	fs := flag.NewFlagSet("tenants export", flag.ContinueOnError)
	pos, err := parse(fs, args, e.stderr, "tenants export NAME FILE", 2)
	if err != nil {
		return err
	}
	name, file := pos[0], pos[1]
	if err := fleet.ValidateName(name); err != nil {
		return err
	}
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("%s exists; choose a new file name (nothing was overwritten)", file)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var export func(w io.Writer) error
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		export = func(w io.Writer) error { _, err := cl.Export(e.ctx, name, w); return err }
	} else {
		a, err := e.openCLI()
		if err != nil {
			return err
		}
		defer a.Close()
		export = func(w io.Writer) error { return a.life.Export(e.ctx, e.cliActor(), name, w) }
	}
	if err := writeNew(file, export); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s exported to %s\n", name, file)
	return nil
}

// writeNew writes a new file through FILE.partial, renamed into place once
// whole: FILE never holds half an export, and an existing one is never
// overwritten (the partial file is made exclusively).
func writeNew(file string, write func(io.Writer) error) error {
	part := file + ".partial"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, file)
	}
	if err != nil {
		os.Remove(part)
		return err
	}
	return nil
}

// tenantsRollback rolls a tenant back to a snapshot, after a person types
// its name (or --yes says so).
func (e *env) tenantsRollback(name string, at time.Time, yes, asJSON bool) error {
	if cl, err := e.remote(); err != nil {
		return err
	} else if cl != nil {
		return e.remoteRollback(cl, name, at, yes, asJSON)
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.db.Tenant(e.ctx, name); err != nil {
		return err
	}
	snap, err := a.backups.At(e.ctx, name, at)
	if err != nil {
		return err
	}
	if !yes {
		if err := e.confirmRollback(name, snap); err != nil {
			return err
		}
	}
	j, err := a.life.Rollback(e.ctx, e.cliActor(), name, at)
	if err != nil {
		return err
	}
	if err := e.await(a, j); err != nil {
		return err
	}
	t, err := a.db.Tenant(e.ctx, name)
	if err != nil {
		return err
	}
	return e.printRolledBack(t, snap, asJSON)
}

// confirmRollback asks a person to type the tenant's name to roll it back
// to snap.
func (e *env) confirmRollback(name string, snap *fleet.Snapshot) error {
	prompt := fmt.Sprintf("Restore tenant %s to its snapshot taken %s? Writes since then are replaced (the current database is kept as a snapshot first). Type its name to confirm: ",
		name, snap.TakenAt.UTC().Format(time.RFC3339))
	return e.confirmWith(name, prompt, "restore "+name)
}

// printRolledBack says which snapshot a tenant was rolled back to, and
// prints the tenant.
func (e *env) printRolledBack(t *fleet.Tenant, snap *fleet.Snapshot, asJSON bool) error {
	fmt.Fprintf(e.stderr, "restored %s to its snapshot taken %s\n", t.Name, snap.TakenAt.UTC().Format(time.RFC3339))
	return e.printTenant(t, asJSON)
}
