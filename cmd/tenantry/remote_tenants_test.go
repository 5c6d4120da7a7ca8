package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/api/apitest"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// remoteConsole is a console served from its own data directory, with an
// admin and a viewer API token, and an operator's laptop: a CLI that
// drives the console through its API, whose --data does not exist.
type remoteConsole struct {
	console *cli // the console's own host
	url     string
	admin   string
	viewer  string
	laptop  *cli
}

func newRemoteConsole(t *testing.T) *remoteConsole {
	t.Helper()
	useCheckedAPI(t)
	c := newCLI(t)
	srv := c.serve("--rescan-every", "0", "--collect-every", "0")
	r := &remoteConsole{console: c, url: srv.URL}
	db, err := central.Open(context.Background(), "file:"+filepath.Join(c.data, "central.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tok := range []struct {
		secret *string
		name   string
		role   string
	}{{&r.admin, "laptop", fleet.RoleAdmin}, {&r.viewer, "dashboards", fleet.RoleViewer}} {
		if *tok.secret, _, err = db.CreateAPIToken(context.Background(), tok.name, tok.role, "admin@example.com", 0); err != nil {
			t.Fatal(err)
		}
	}
	r.laptop = &cli{t: t, data: filepath.Join(t.TempDir(), "no-data-here"),
		env: map[string]string{"TENANTRY_SERVER": r.url, "TENANTRY_TOKEN": r.admin}}
	t.Cleanup(func() {
		if _, err := os.Stat(r.laptop.data); !os.IsNotExist(err) {
			t.Errorf("remote commands touched the laptop's data directory %s: %v", r.laptop.data, err)
		}
	})
	return r
}

// useCheckedAPI makes every remote call of the test go through the
// OpenAPI document check.
func useCheckedAPI(t *testing.T) {
	prev := remoteHTTP
	remoteHTTP = &http.Client{Transport: apitest.Transport(t, nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(func() { remoteHTTP = prev })
}

var (
	rfc3339 = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	// Fields that say when the platform was last scanned: a local list
	// rescans, a remote one lists the console's registry as it is.
	volatile = []string{"created_at", "branched_at", "archived_at", "last_seen_at", "last_write_at", "size_bytes"}
)

// normal makes the output of the same command on two fleets comparable:
// each fleet's directories become placeholders, times and scan-dependent
// fields are masked, a table's SIZE and CREATED columns too.
func normal(t *testing.T, out string, dirs map[string]string, table bool) string {
	t.Helper()
	for dir, as := range dirs {
		out = strings.ReplaceAll(out, dir, as)
	}
	s := strings.TrimSpace(out)
	if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		objs, _ := v.([]any)
		if m, ok := v.(map[string]any); ok {
			objs = []any{m}
		}
		for _, o := range objs {
			m := o.(map[string]any)
			if m["created_at"] == nil {
				t.Errorf("a tenant without created_at: %s", out)
			}
			for _, k := range volatile {
				delete(m, k)
			}
		}
		b, _ := json.Marshal(v)
		return string(b) + "\n"
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if table && len(f) == 6 && f[0] != "NAME" { // a row of the tenants table
			f[3], f[4] = "<size>", "<created>"
		}
		lines = append(lines, strings.Join(f, " "))
	}
	return rfc3339.ReplaceAllString(strings.Join(lines, "\n"), "<time>")
}

// TestRemoteTenantsMatchLocal runs every tenants subcommand here and
// through a console's API on equivalent fleets: the same exit codes, the
// same output (each fleet's paths aside), the same JSON.
func TestRemoteTenantsMatchLocal(t *testing.T) {
	here := newCLI(t)
	r := newRemoteConsole(t)
	files := map[string]string{"local": t.TempDir(), "remote": t.TempDir()}
	notSQLite := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notSQLite, []byte("just text"), 0o600)

	type step struct {
		args []string
		// before, if set, runs first on each side: c is that side's
		// console host (here, the local CLI itself).
		before func(c *cli)
	}
	// A tenant whose database vanished behind the registry's back, seen
	// missing by a rescan on the console's host.
	vanish := func(c *cli) {
		for _, ext := range []string{"", "-wal", "-shm"} {
			os.Remove(filepath.Join(c.data, "tenants", "store-7.db"+ext))
		}
		c.ok("tenants", "list")
	}
	steps := []step{
		{args: []string{"tenants", "list"}},
		{args: []string{"tenants", "list", "--json"}},
		{args: []string{"tenants", "create", "store-1"}},
		{args: []string{"tenants", "create", "store-2", "--json"}},
		{args: []string{"tenants", "clone", "store-1", "store-3", "--json"}},
		{args: []string{"tenants", "clone", "store-1", "store-4"}},
		{args: []string{"tenants", "list"}},
		{args: []string{"tenants", "list", "--json"}},
		{args: []string{"tenants", "delete", "store-3"}},
		{args: []string{"tenants", "delete", "store-3", "--yes"}},
		{args: []string{"tenants", "list", "--status", "archived", "--json"}},
		{args: []string{"tenants", "restore", "store-3", "--json"}},
		{args: []string{"tenants", "delete", "store-4", "--yes"}},
		{args: []string{"tenants", "restore", "store-4"}},
		{args: []string{"tenants", "export", "store-1", "{files}/store-1.db"}},
		{args: []string{"tenants", "export", "store-1", "{files}/store-1.db"}},
		{args: []string{"tenants", "import", "store-5", "{files}/store-1.db", "--json"}},
		{args: []string{"tenants", "import", "store-6", "{files}/store-1.db"}},
		{args: []string{"tenants", "list", "--json"}},
		{args: []string{"tenants", "create", "store-7"}},
		{args: []string{"tenants", "list", "--status", "missing"}, before: vanish},
		{args: []string{"tenants", "delete", "store-7", "--yes"}},
		{args: []string{"tenants", "list", "--json"}},
		// Refusals: the same message and exit status.
		{args: []string{"tenants", "create", "store-1"}},
		{args: []string{"tenants", "create", "Bad_Name"}},
		{args: []string{"tenants", "create"}},
		{args: []string{"tenants", "clone", "nope", "x"}},
		{args: []string{"tenants", "clone", "store-1", "store-1"}},
		{args: []string{"tenants", "clone", "store-1", "new", "--at", "yesterday"}},
		{args: []string{"tenants", "clone", "store-1", "new", "--at", "2020-01-01T00:00:00Z"}},
		{args: []string{"tenants", "delete", "nope", "--yes"}},
		{args: []string{"tenants", "delete", "nope"}},
		{args: []string{"tenants", "restore", "store-1"}},
		{args: []string{"tenants", "restore", "nope"}},
		{args: []string{"tenants", "import", "store-9", notSQLite}},
		{args: []string{"tenants", "import", "store-9", "/no/such/file.db"}},
		{args: []string{"tenants", "import", "store-1", "{files}/store-1.db"}},
		{args: []string{"tenants", "export", "nope", "{files}/nope.db"}},
		{args: []string{"tenants", "list", "--status", "sleeping"}},
		{args: []string{"tenants", "frobnicate"}},
		{args: []string{"tenants", "list"}},
	}
	for _, s := range steps {
		var outs [2]string
		var codes [2]int
		for i, side := range []string{"local", "remote"} {
			c, host, dirs := here, here, map[string]string{here.data: "<data>", files["local"]: "<files>"}
			if side == "remote" {
				c, host, dirs = r.laptop, r.console, map[string]string{r.console.data: "<data>", files["remote"]: "<files>"}
			}
			if s.before != nil {
				s.before(host)
			}
			args := make([]string, len(s.args))
			for j, a := range s.args {
				args[j] = strings.ReplaceAll(a, "{files}", files[side])
			}
			code, out, errs := c.run("", args...)
			codes[i] = code
			outs[i] = fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", code, normal(t, out, dirs, true), normal(t, errs, dirs, false))
			if code == 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("%s %q: stderr is not one line: %q", side, s.args, errs)
			}
		}
		if outs[0] != outs[1] {
			t.Errorf("tenantry %s differs:\n--- local\n%s\n--- remote\n%s", strings.Join(s.args, " "), outs[0], outs[1])
		}
	}
	// The remote side did the work on the console's data directory.
	for _, n := range []string{"store-1", "store-3", "store-5"} {
		if _, err := os.Stat(filepath.Join(r.console.data, "tenants", n+".db")); err != nil {
			t.Errorf("the console has no file for %s: %v", n, err)
		}
	}
	for _, side := range []string{"local", "remote"} {
		if b, err := os.ReadFile(filepath.Join(files[side], "store-1.db")); err != nil || !strings.HasPrefix(string(b), "SQLite format 3\x00") {
			t.Errorf("%s export is not a SQLite file: %v", side, err)
		}
		if _, err := os.Stat(filepath.Join(files[side], "store-1.db.partial")); !os.IsNotExist(err) {
			t.Errorf("%s export left its partial file: %v", side, err)
		}
		if _, err := os.Stat(filepath.Join(files[side], "nope.db.partial")); !os.IsNotExist(err) {
			t.Errorf("%s failed export left its partial file: %v", side, err)
		}
	}
}

// TestRemoteTenantsErrors: what goes wrong only remotely is one clear
// line and exit status 1: a bad token, a viewer's token on a change, a
// console that is not there; and a refused command changes nothing.
func TestRemoteTenantsErrors(t *testing.T) {
	r := newRemoteConsole(t)
	r.laptop.ok("tenants", "create", "store-1")

	// A console that is not there: a port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + l.Addr().String()
	l.Close()

	cases := []struct {
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{map[string]string{"TENANTRY_TOKEN": "tnt_not-a-real-token"}, []string{"tenants", "list"}, 1, []string{"token"}},
		{map[string]string{"TENANTRY_TOKEN": r.viewer}, []string{"tenants", "create", "store-2"}, 1, []string{"viewer", "admin token"}},
		{map[string]string{"TENANTRY_TOKEN": r.viewer}, []string{"tenants", "delete", "store-1", "--yes"}, 1, []string{"viewer", "admin token"}},
		{map[string]string{"TENANTRY_TOKEN": r.viewer}, []string{"tenants", "import", "store-2", filepath.Join(r.console.data, "tenants", "store-1.db")}, 1, []string{"viewer"}},
		{map[string]string{"TENANTRY_SERVER": gone}, []string{"tenants", "list"}, 1, []string{"Cannot reach the console at " + gone}},
		{map[string]string{"TENANTRY_SERVER": gone}, []string{"tenants", "create", "store-2"}, 1, []string{"Cannot reach"}},
		{map[string]string{"TENANTRY_TOKEN": ""}, []string{"tenants", "list"}, 2, []string{"TENANTRY_TOKEN"}},
		{nil, []string{"tenants", "delete", "nope", "--yes"}, 1, []string{`Tenant "nope" not found`}},
		{nil, []string{"tenants", "create", "--", "-bad-"}, 1, []string{"Tenant name"}},
	}
	for _, tc := range cases {
		c := &cli{t: t, data: r.laptop.data, env: map[string]string{}}
		for k, v := range r.laptop.env {
			c.env[k] = v
		}
		for k, v := range tc.env {
			c.env[k] = v
		}
		code, out, errs := c.run("", tc.args...)
		ok := code == tc.code
		for _, w := range tc.want {
			ok = ok && strings.Contains(errs, w)
		}
		if !ok || out != "" {
			t.Errorf("%v tenantry %q: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", tc.env, tc.args, code, out, errs, tc.code, tc.want)
		}
		if code == 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("tenantry %q: stderr is not one line: %q", tc.args, errs)
		}
	}
	got := map[string]string{}
	for _, tn := range decode[[]tenantJSON](t, r.laptop.ok("tenants", "list", "--json")) {
		got[tn.Name] = tn.Status
	}
	if len(got) != 1 || got["store-1"] != "ready" {
		t.Fatalf("the refusals changed the fleet: %v", got)
	}
}
