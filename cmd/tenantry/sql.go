package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
)

// paramFlags collects repeated --param name=value flags.
type paramFlags map[string]string

func (p paramFlags) String() string { return "" }

func (p paramFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	name = strings.TrimLeft(name, ":@$")
	if !ok || name == "" {
		return errors.New("want name=value")
	}
	p[name] = value
	return nil
}

// sql runs the console's SQL from the command line. Its CSV is raw: the
// output goes to a terminal, a pipe or a file the operator names, and
// tools reading it want the values as they are; neutralising formulas
// (a leading quote) would change data a script compares or loads. The
// web console's downloads, opened in spreadsheets, are neutralised.
func (e *env) sql(args []string) error {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	all := fs.Bool("all", false, "run on every ready tenant (read-only), results merged with a leading tenant column")
	pattern := fs.String("pattern", "", "run on the ready tenants whose names match a glob (store-*), like --all")
	list := fs.String("tenants", "", "run on these tenants (comma separated), like --all")
	write := fs.Bool("write", false, "allow writes on the one tenant (asks to type its name unless --yes; audited)")
	yes := fs.Bool("yes", false, "with --write: do not ask for confirmation")
	format := fs.String("format", "table", "output: table, csv or json (csv as the values are: no spreadsheet formula escaping, as the console's downloads have)")
	timeout := fs.Duration("timeout", console.DefaultTimeout, "time limit of the query (for each tenant of a fan-out)")
	maxRows := fs.Int("max-rows", console.DefaultMaxRows, "rows kept (for each tenant of a fan-out); past it the result says truncated")
	params := paramFlags{}
	fs.Var(params, "param", "a named parameter, name=value (repeatable): --param min=100 for :min")
	synopsis := `sql TENANT "SQL" [--write] [--format table|csv|json] | sql --all|--pattern GLOB|--tenants A,B "SQL"`
	fanOut := false
	for _, a := range args {
		if a == "--all" || a == "-all" || strings.HasPrefix(strings.TrimLeft(a, "-"), "pattern") || strings.HasPrefix(strings.TrimLeft(a, "-"), "tenants") {
			fanOut = true
		}
	}
	n := 2
	if fanOut {
		n = 1
	}
	pos, err := parse(fs, args, e.stderr, synopsis, n)
	if err != nil {
		return err
	}
	switch {
	case *format != "table" && *format != "csv" && *format != "json":
		return usagef("--format is table, csv or json, not %q", *format)
	case fanOut && *write:
		return usagef("--write runs on one tenant only; a fan-out is read-only")
	case *timeout <= 0 || *maxRows <= 0:
		return usagef("--timeout and --max-rows must be positive")
	case btoi(*all)+btoi(*pattern != "")+btoi(*list != "") > 1:
		return usagef("choose tenants with one of --all, --pattern or --tenants")
	}
	var tenant string
	req := console.Request{SQL: pos[0], Params: params}
	if !fanOut {
		tenant, req.SQL = pos[0], pos[1]
		if *write && !*yes {
			if err := e.confirmWith(tenant, fmt.Sprintf("Run this SQL on tenant %s with write access? Type its name to confirm: ", tenant), "write to "+tenant); err != nil {
				return err
			}
		}
	}
	rc, err := e.remote()
	if err != nil {
		return err
	}
	if rc != nil {
		if flagSet(fs, "timeout") || flagSet(fs, "max-rows") {
			return usagef("--timeout and --max-rows are the console's own limits with --server")
		}
		q := api.Query{Tenant: tenant, SQL: req.SQL, Params: req.Params, Write: *write}
		if fanOut {
			q.Tenant, q.Tenants = "", remoteScope(*pattern, *list)
			return e.sqlFanOut(func(sink console.Sink) (int, error) { return rc.FanOut(e.ctx, q, sink) }, *format)
		}
		res, err := rc.Query(e.ctx, q)
		if err != nil {
			return err
		}
		return e.sqlPrint(res.Result(), *format, *maxRows, *write)
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	svc := &console.Service{DB: a.db, Platform: a.p, Limits: console.Limits{Timeout: *timeout, MaxRows: *maxRows}, Log: a.log}
	if fanOut {
		sc := fleet.Scope{Pattern: *pattern, List: *list}
		return e.sqlFanOut(func(sink console.Sink) (int, error) { return svc.FanOut(e.ctx, e.cliActor(), sc, req, sink) }, *format)
	}
	res, err := svc.Query(e.ctx, e.cliActor(), tenant, req, *write)
	if err != nil {
		return err
	}
	return e.sqlPrint(res, *format, *maxRows, *write)
}

// remoteScope is a fan-out's --pattern or --tenants (else --all) as the
// API takes it.
func remoteScope(pattern, list string) *api.TenantScope {
	switch {
	case strings.TrimSpace(pattern) != "":
		return &api.TenantScope{Pattern: strings.TrimSpace(pattern)}
	case strings.TrimSpace(list) != "":
		return &api.TenantScope{List: strings.FieldsFunc(list, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })}
	}
	return &api.TenantScope{All: true}
}

// flagSet reports whether the command line set the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// sqlPrint prints one tenant's result: a table, or CSV or JSON.
func (e *env) sqlPrint(res *console.Result, format string, maxRows int, write bool) error {
	if format == "table" {
		return e.sqlTable(res.Columns, func(row func([]any)) {
			for _, r := range res.Rows {
				row(r)
			}
		}, res.Truncated, maxRows, res.Changes, write)
	}
	x := &console.Exporter{W: e.stdout, Format: format, Truncated: res.Truncated, Raw: true}
	if err := x.Header(res.Columns); err != nil {
		return err
	}
	for _, r := range res.Rows {
		if err := x.Write(r); err != nil {
			return err
		}
	}
	return x.Finish(nil)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sqlFanOut runs a read-only query over many tenants, streaming CSV or
// JSON (a table is aligned once all rows are in), with a progress line on
// a terminal and the failed tenants listed on stderr (in the JSON too).
// run runs the fan-out, here or on the console, into a sink.
func (e *env) sqlFanOut(run func(console.Sink) (int, error), format string) error {
	start := time.Now()
	var sink interface {
		console.Sink
		Failures() []console.TenantError
	}
	var table *tableSink
	if format == "table" {
		table = &tableSink{}
		sink = table
	} else {
		sink = &console.Exporter{W: e.stdout, Format: format, Raw: true}
	}
	progress := &progressSink{Sink: sink, e: e}
	failed, err := run(progress)
	e.progressEnd()
	if x, ok := sink.(*console.Exporter); ok {
		if ferr := x.Finish(err); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		return err
	}
	if table != nil {
		if err := e.sqlTable(table.cols, func(row func([]any)) {
			for _, r := range table.rows {
				row(r)
			}
		}, len(table.cut) > 0, 0, 0, false); err != nil {
			return err
		}
		for _, t := range table.cut {
			fmt.Fprintf(e.stderr, "  truncated: %s had more rows than --max-rows\n", t)
		}
	}
	for _, f := range sink.Failures() {
		fmt.Fprintf(e.stderr, "  failed: %s: %s\n", f.Tenant, f.Error)
	}
	fmt.Fprintf(e.stderr, "%d tenants queried in %s, %d failed\n", progress.total, time.Since(start).Round(time.Millisecond), failed)
	return nil
}

// progressSink shows [i/n] on a terminal.
type progressSink struct {
	console.Sink
	e     *env
	total int
}

func (p *progressSink) Progress(done, failed, total int) {
	p.total = total
	p.e.progress("[%d/%d] tenants, %d failed", done, total, failed)
}

// tableSink keeps a fan-out's rows for an aligned table.
type tableSink struct {
	cols  []console.Column
	rows  [][]any
	fails []console.TenantError
	cut   []string
}

func (t *tableSink) Columns(cols []console.Column) error { t.cols = cols; return nil }
func (t *tableSink) Row(tenant string, vals []any) error {
	t.rows = append(t.rows, append([]any{tenant}, vals...))
	return nil
}
func (t *tableSink) Fail(f console.TenantError) error    { t.fails = append(t.fails, f); return nil }
func (t *tableSink) TenantTruncated(tenant string) error { t.cut = append(t.cut, tenant); return nil }
func (t *tableSink) Progress(done, failed, total int)    {}
func (t *tableSink) Failures() []console.TenantError     { return t.fails }

// sqlTable prints rows aligned under their column names, then a count.
func (e *env) sqlTable(cols []console.Column, rows func(func([]any)), truncated bool, maxRows int, changes int64, write bool) error {
	if len(cols) == 0 {
		if write {
			fmt.Fprintf(e.stdout, "done: %d rows changed\n", changes)
		} else {
			fmt.Fprintln(e.stdout, "done: the statement returned no rows")
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	n := 0
	rows(func(r []any) {
		cells := make([]string, len(r))
		for i, v := range r {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(console.CSVValue(v))
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
		n++
	})
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case truncated && maxRows > 0:
		fmt.Fprintf(e.stdout, "(%d rows shown; the query returned more: raise --max-rows or use --format csv)\n", n)
	case truncated:
		fmt.Fprintf(e.stdout, "(%d rows; some tenants had more than --max-rows)\n", n)
	default:
		fmt.Fprintf(e.stdout, "(%d rows)\n", n)
	}
	if write && changes > 0 {
		fmt.Fprintf(e.stdout, "%d rows changed\n", changes)
	}
	return nil
}
