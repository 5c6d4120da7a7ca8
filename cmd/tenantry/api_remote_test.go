package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api/apitest"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// remotePair is a data directory driven two ways: locally, and through
// the API of a console serving it (every call checked against the
// OpenAPI document), from a CLI whose own data directory stays empty.
type remotePair struct {
	local, remote *cli
}

func newRemotePair(t *testing.T, role string, serveArgs ...string) remotePair {
	t.Helper()
	local := newCLI(t)
	local.ok("tenants", "list") // makes the central database
	db, err := central.Open(context.Background(), "file:"+local.data+"/central.db", "")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := db.CreateAPIToken(context.Background(), "ops", role, "admin@example.com", 0)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv := local.serve(serveArgs...)
	prev := remoteHTTP
	remoteHTTP = &http.Client{Transport: apitest.Transport(t, nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(func() { remoteHTTP = prev })
	remote := newCLI(t)
	remote.env = map[string]string{"TENANTRY_SERVER": srv.URL, "TENANTRY_TOKEN": secret}
	t.Cleanup(func() {
		if left, _ := os.ReadDir(remote.data); len(left) > 0 {
			t.Errorf("remote mode touched its data directory: %v", left)
		}
	})
	return remotePair{local: local, remote: remote}
}

// same runs a command both ways and fails unless exit status, stdout and
// stderr match once norm (nil: none) has blanked what differs run to run.
func (p remotePair) same(t *testing.T, norm func(string) string, args ...string) string {
	t.Helper()
	lc, lo, le := p.local.run("", args...)
	rc, ro, re := p.remote.run("", args...)
	if norm != nil {
		lo, ro = norm(lo), norm(ro)
	}
	// stderr names the run, and a fan-out's summary how long it took.
	le, re = stderrNorm(le), stderrNorm(re)
	if lc != rc || lo != ro || le != re {
		t.Fatalf("tenantry %s\nlocal:  exit %d\n%s\n%s\nremote: exit %d\n%s\n%s", strings.Join(args, " "), lc, lo, le, rc, ro, re)
	}
	return lo
}

var (
	runIDs    = regexp.MustCompile(`\b(run|rollout|dry run) \d+`)
	durations = regexp.MustCompile(`\bin [0-9.]+(ns|µs|ms|s|m[0-9.]+s)\b`)
)

var retryIDs = regexp.MustCompile(`--retry \d+`)

func stderrNorm(s string) string { return retryIDs.ReplaceAllString(textNorm(s), "--retry N") }

// textNorm blanks run numbers and timings in a text report.
func textNorm(s string) string {
	return durations.ReplaceAllString(runIDs.ReplaceAllString(s, "$1 N"), "in T")
}

// collectNorm blanks what a second collection of the same days finds
// otherwise: the tenants collected or skipped as unchanged, and the rows.
func collectNorm(s string) string {
	if strings.HasPrefix(s, "{") {
		var v map[string]any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return "not JSON: " + s
		}
		v["ok"], v["skipped"], v["rows_written"] = v["ok"].(float64)+v["skipped"].(float64), 0, 0
		b, _ := json.Marshal(v)
		return jsonNorm(string(b))
	}
	return collectCounts.ReplaceAllString(textNorm(s), "N collected, $1 failed, N skipped (unchanged), N rows written")
}

var collectCounts = regexp.MustCompile(`\d+ collected, (\d+) failed, \d+ skipped \(unchanged\), \d+ rows written`)

// jsonNorm drops the fields that differ between two runs of the same
// command: ids, times, and who started it how.
func jsonNorm(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "not JSON: " + s
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range []string{"run_id", "job_id", "created_at", "started_at", "finished_at", "at", "duration_ms", "duration_ns", "trigger", "started_by"} {
				delete(v, k)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRemoteCLI runs sql, collect and migrate locally and through the API
// of a console serving the same data, and wants the same output and exit
// status, a tenant with a broken database included.
func TestRemoteCLI(t *testing.T) {
	p := newRemotePair(t, fleet.RoleAdmin)
	for _, n := range []string{"acme", "beta", "gamma"} {
		p.local.ok("tenants", "create", n)
	}
	today := time.Now().UTC().Format(fleet.DayLayout)
	insert := "INSERT INTO orders(total_amount, created_at) VALUES (:amount, '" + today + " 10:00:00')"
	if out := p.same(t, nil, "sql", "acme", insert, "--write", "--yes", "--param", "amount=1250"); out != "done: 1 rows changed\n" {
		t.Fatalf("write: %q", out)
	}
	p.same(t, nil, "sql", "gamma", insert, "--write", "--yes", "--param", "amount=99.5")

	q := "SELECT count(*) AS n, sum(total_amount) AS s, 'a,b' AS t, NULL AS z, 9007199254740993 AS big FROM orders"
	for _, f := range []string{"table", "csv", "json"} {
		p.same(t, nil, "sql", "acme", q, "--format", f)
	}
	if out := p.same(t, nil, "sql", "acme", "SELECT :x AS x", "--param", "x=hello", "--format", "csv"); out != "x\nhello\n" {
		t.Fatalf("param: %q", out)
	}
	p.same(t, nil, "sql", "acme", "SELECT value FROM generate_series(1, 2000)", "--format", "json")
	// Refusals: a write without --write, an unknown tenant, bad SQL, a
	// write over many tenants.
	p.same(t, nil, "sql", "acme", "DELETE FROM orders")
	p.same(t, nil, "sql", "nope", "SELECT 1")
	p.same(t, nil, "sql", "acme", "SELEKT 1")
	p.same(t, nil, "sql", "--all", "DELETE FROM orders", "--write")

	breakTenantFile(t, p.local.data, "beta")
	for _, f := range []string{"table", "csv", "json"} {
		out := p.same(t, nil, "sql", "--all", "SELECT count(*) AS n, sum(total_amount) AS s FROM orders", "--format", f)
		if f == "csv" && out != "tenant,n,s\nacme,2,2500\ngamma,2,199\n" {
			t.Fatalf("--all: %q", out)
		}
	}
	p.same(t, nil, "sql", "--pattern", "a*", "SELECT count(*) AS n FROM orders", "--format", "json")
	p.same(t, nil, "sql", "--tenants", "gamma,acme", "SELECT count(*) AS n FROM orders", "--format", "csv")
	p.same(t, nil, "sql", "--tenants", "acme,nope", "SELECT 1")

	type collected struct {
		Tenants, OK, Failed int
		Errors              []struct{ Tenant string }
	}
	out := p.same(t, collectNorm, "collect", "--date", today, "--json")
	if c := decode[collected](t, out); c.Tenants != 3 || c.OK != 2 || c.Failed != 1 || len(c.Errors) != 1 || c.Errors[0].Tenant != "beta" {
		t.Fatalf("collect: %s", out)
	}
	p.same(t, collectNorm, "collect", "--from", today, "--to", today)
	p.same(t, nil, "collect", "--from", today)
	p.same(t, nil, "collect", "--from", "2026-11-21", "--to", "2026-11-20")

	p.same(t, nil, "migrate", "status")
	p.same(t, nil, "migrate", "status", "--json")
	p.same(t, textNorm, "migrate", "up", "--dry-run")
	p.same(t, jsonNorm, "migrate", "up", "--dry-run", "--json")
	p.same(t, jsonNorm, "migrate", "up", "--canary", "1", "--json")
	p.same(t, textNorm, "migrate", "up", "--tenants", "acme,gamma")
	p.same(t, textNorm, "migrate", "up", "--tenants", "nope")
	p.same(t, textNorm, "migrate", "up", "--parallel", "2", "--continue")
}

// TestRemoteCLIViewer: a viewer's token reads through the API and is
// refused a change with the API's reason.
func TestRemoteCLIViewer(t *testing.T) {
	p := newRemotePair(t, fleet.RoleViewer)
	p.local.ok("tenants", "create", "acme")
	if out := p.remote.ok("sql", "acme", "SELECT count(*) AS n FROM orders", "--format", "csv"); out != "n\n0\n" {
		t.Fatalf("viewer read: %q", out)
	}
	for _, args := range [][]string{
		{"sql", "acme", "DELETE FROM orders", "--write", "--yes"},
		{"collect"},
		{"migrate", "up", "--dry-run"},
	} {
		code, _, errs := p.remote.run("", args...)
		if code != 1 || !strings.Contains(errs, "viewer") {
			t.Fatalf("tenantry %s as a viewer: exit %d %q", strings.Join(args, " "), code, errs)
		}
	}
	code, _, errs := p.remote.run("", "sql", "acme", "SELECT 1", "--max-rows", "5")
	if code != 2 || !strings.Contains(errs, "--server") {
		t.Fatalf("--max-rows with --server: exit %d %q", code, errs)
	}
}

// breakTenantFile makes a local tenant's database unreadable while the
// registry still lists it ready.
func breakTenantFile(t *testing.T, data, name string) {
	t.Helper()
	base := data + "/tenants/" + name + ".db"
	for _, f := range []string{base + "-wal", base + "-shm"} {
		_ = os.Remove(f)
	}
	if err := os.WriteFile(base, []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
}
