package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/api/apitest"
	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/snapshot"
	"github.com/tenantry/tenantry/internal/web"
)

// env is a console over a temp directory (local platform, real SQLite
// files) with its job workers running, served on a loopback port with
// the API mounted, as serve wires it.
type env struct {
	t      testing.TB
	dir    string
	db     *central.DB
	life   *lifecycle.Service
	runner *jobs.Runner
	// bk snapshots the tenants (off on Turso, as serve wires it).
	bk     *backups.Service
	api    *api.Server
	web    *web.Server
	ts     *httptest.Server
	admin  string // an admin token's secret
	viewer string // a viewer token's secret
	// clock is the console's clock: the real time until a test sets it.
	clock *centraltest.Clock
}

func newEnv(t testing.TB, tweak func(*api.Options)) *env {
	t.Helper()
	return newEnvOn(t, func(dir string, _ *central.DB) platform.Platform {
		p, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, tweak)
}

// newEnvOn is newEnv on the platform made by mk.
func newEnvOn(t testing.TB, mk func(dir string, db *central.DB) platform.Platform, tweak func(*api.Options)) *env {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	clock := &centraltest.Clock{}
	db, err := central.Open(ctx, "file:"+dir+"/central.db", "", central.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	p := mk(dir, db)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := jobs.NewRunner(db, log)
	life := lifecycle.New(db, p, runner, log)
	coll := collect.New(db, p, func(ctx context.Context) error { _, err := life.Rescan(ctx, ""); return err }, collect.Options{}, log)
	coll.Register(runner)
	ro := schema.NewRollouts(db, p, schema.Embedded(), log)
	ro.Register(runner)
	cons := &console.Service{DB: db, Platform: p, Log: log}
	var open func() (snapshot.Store, error)
	if p.Name() != "turso" {
		open = func() (snapshot.Store, error) { return snapshot.OpenDir(filepath.Join(dir, "snapshots")) }
	}
	bk, err := backups.New(db, p, open, runner, log, backups.Options{})
	if err != nil {
		t.Fatal(err)
	}
	life.Snapshots = bk
	o := api.Options{DB: db, Lifecycle: life, Jobs: runner, Collector: coll, Console: cons, Rollouts: ro, Backups: bk, Log: log, TempDir: t.TempDir()}
	if tweak != nil {
		tweak(&o)
	}
	a := api.New(o)
	w := web.New(web.Options{DB: db, Lifecycle: life, Jobs: runner, Collector: coll, Rollouts: ro, Console: cons, API: a, Log: log})
	ts := httptest.NewServer(w.Handler())
	runner.Start(ctx)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		runner.Wait()
		bk.Close()
		db.Close()
	})
	e := &env{t: t, dir: dir, db: db, life: life, runner: runner, bk: bk, api: a, web: w, ts: ts, clock: clock}
	e.admin = e.token("backend", fleet.RoleAdmin, 0)
	e.viewer = e.token("reporting", fleet.RoleViewer, 0)
	return e
}

// token makes an API token and returns its secret.
func (e *env) token(name, role string, lifetime time.Duration) string {
	e.t.Helper()
	secret, _, err := e.db.CreateAPIToken(context.Background(), name, role, "admin@example.com", lifetime)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// response is an API answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not the JSON expected: %v\n%s", r.status, err, r.body)
	}
}

// problem decodes a problem document, checking its type.
func (r response) problem(t testing.TB) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("answer %d has Content-Type %q, want application/problem+json\n%s", r.status, ct, r.body)
	}
	var p api.Problem
	r.json(t, &p)
	if p.Status != r.status || p.Detail == "" || p.Code == "" {
		t.Fatalf("problem %+v does not describe answer %d", p, r.status)
	}
	return p
}

// call makes an API call with a token ("" for none) through the document
// check; body is JSON-encoded unless it is a []byte or an io.Reader.
func (e *env) call(token, method, path string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{Transport: apitest.Transport(e.t, nil)}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// want fails unless r has the status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	return r
}

// callRaw is a GET without the document check, for benchmarks.
func (e *env) callRaw(token, path string) response {
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
