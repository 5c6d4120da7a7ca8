package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/tenantry/tenantry/internal/backups"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/fleet"
	"golang.org/x/term"
)

const usage = `Usage: tenantry [global flags] COMMAND [flags]

Commands:
  serve [--addr 127.0.0.1:8080]          run the web console
  tenants list [--json]                  list tenants (reconciled with the platform)
  tenants create NAME [--json]           create a tenant with the latest schema
  tenants clone SOURCE NAME [--at RFC3339] [--json]
                                         branch a tenant (point in time with --at)
  tenants delete NAME [--yes]            delete a tenant (archived, restorable)
  tenants restore NAME                   bring an archived tenant back
  tenants restore NAME --at RFC3339 [--yes]
                                         roll a tenant back to its newest snapshot at or before that time
  tenants import NAME FILE               new tenant seeded from a SQLite file
  tenants export NAME FILE               consistent SQLite copy of a tenant
  collect [--date D | --from D --to D] [--shard i/n] [--json]
                                         collect daily metrics (default yesterday and today, UTC)
  migrate status [--json]                show every tenant's schema version, pending migrations and failures
  migrate up [--dry-run] [--canary N | --tenants A,B | --retry RUN] [--parallel N] [--continue] [--json]
                                         roll pending migrations across the fleet (stops at the first failure)
  sql TENANT "SQL" [--write] [--format table|csv|json] [--param name=value]
                                         query one tenant (read-only unless --write)
  sql --all|--pattern GLOB|--tenants A,B "SQL" [--format table|csv|json]
                                         query many tenants, results merged
  users add EMAIL [--role admin|viewer]  add a user (password from TENANTRY_PASSWORD, else stdin)
  users list [--json]                    list users: role, status, live sessions, last seen
  users set-role EMAIL admin|viewer      change a user's role (from their next request)
  users disable EMAIL | users enable EMAIL
                                         stop a user logging in (ends their sessions), or let them again
  users passwd EMAIL                     set a user's password (as users add) and end their sessions
  tokens create NAME --role admin|viewer [--expires 90d|30d|365d|never] [--json]
                                         make an API token (its secret is printed once)
  tokens list [--json]                   list API tokens: prefix, role, status, last used, expiry
  tokens revoke NAME [--yes]             revoke an API token (its calls are refused from then on)
  demo [--stores N] [--days D] [--seed S]
                                         make a demo fleet and an admin user
  backup FILE [--force] [--json]         consistent copy of the central database, safe while serving
  snapshots take [--tenant NAME] [--json]
                                         snapshot every tenant that changed (local and sqld), then prune by the retention policy
  snapshots list [TENANT] [--json]       a tenant's snapshots, or every tenant's newest
  snapshots verify [--sample N] [--tenant NAME] [--json]
                                         restore drill: restore a sample into a temporary file, check it, count its rows

Global flags:
`

// env is how commands read the environment.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cfg    *config.Config
	// now is the console's one wall clock, handed to the central
	// database: what day it is, when things happened.
	now func() time.Time
	// backupOpts configure the snapshot service (serve's flags).
	backupOpts backups.Options
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tenantry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Flags(fs, getenv)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		return usageError{err.Error()}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return usagef("no command given")
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	e := &env{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, cfg: cfg, now: time.Now}
	if path := cfg.CPUProfile; path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "serve":
		return e.serve(rest)
	case "tenants":
		return e.tenants(rest)
	case "users":
		return e.users(rest)
	case "tokens":
		return e.tokens(rest)
	case "demo":
		return e.demo(rest)
	case "collect":
		return e.collect(rest)
	case "sql":
		return e.sql(rest)
	case "migrate":
		return e.migrate(rest)
	case "backup":
		return e.backup(rest)
	case "snapshots":
		return e.snapshots(rest)
	case "help":
		fs.Usage()
		return errHelp
	}
	return usagef("unknown command %q", cmd)
}

// parse parses a subcommand's flags, which may come before, between or
// after its positional arguments, and checks the number of positionals.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer, synopsis string, nargs int) ([]string, error) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tenantry %s\n", synopsis)
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errHelp
			}
			return nil, usagef("%v (usage: tenantry %s)", err, synopsis)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if nargs >= 0 && len(pos) != nargs {
		return nil, usagef("expected %d argument(s), got %d (usage: tenantry %s)", nargs, len(pos), synopsis)
	}
	return pos, nil
}

// oneLine flattens an error for the one-line CLI report.
func oneLine(err error) string {
	msg := fleet.ErrorMessage(err)
	if fleet.ErrorCode(err) == fleet.EINTERNAL {
		msg = err.Error()
	}
	return strings.Join(strings.Fields(msg), " ")
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress rewrites one status line on a terminal stderr; elsewhere (CI,
// pipes) it prints nothing, so logs stay clean.
func (e *env) progress(format string, args ...any) {
	if isTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "\r\033[K"+format, args...)
	}
}

// progressEnd ends a progress line.
func (e *env) progressEnd() {
	if isTerminal(e.stderr) {
		fmt.Fprintln(e.stderr)
	}
}
