package web_test

import (
	"context"
	"encoding/json"
	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/snapshot"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/web"
)

func init() { central.SetBcryptCost(4) }

const password = "correct horse battery"

// env is a console over a fresh data directory, served by the whole Echo
// router on a loopback port.
type env struct {
	t      testing.TB
	db     *central.DB
	life   *lifecycle.Service
	runner *jobs.Runner
	srv    *web.Server
	ts     *httptest.Server
	dir    string // the data directory
	// clock is the console's clock: the real time until a test sets it.
	clock *centraltest.Clock
	// backups takes the fleet's snapshots, in <dir>/snapshots.
	backups *backups.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvIn(t, t.TempDir())
}

// newEnvIn is newEnv over a data directory that may already hold a
// central database.
func newEnvIn(t testing.TB, dir string) *env {
	t.Helper()
	return newEnvSchema(t, dir, schema.Embedded())
}

// newEnvSchema is newEnvIn rolling out the tenant schema set.
func newEnvSchema(t testing.TB, dir string, set *schema.Set) *env {
	t.Helper()
	return newEnvWith(t, dir, set, nil)
}

// newEnvWith is newEnvSchema with the server's options changed by tweak.
func newEnvWith(t testing.TB, dir string, set *schema.Set, tweak func(*web.Options)) *env {
	t.Helper()
	ctx := context.Background()
	clock := &centraltest.Clock{}
	db, err := central.Open(ctx, "file:"+dir+"/central.db", "", central.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := jobs.NewRunner(db, log)
	life := lifecycle.New(db, p, runner, log)
	coll := collect.New(db, p, func(ctx context.Context) error { _, err := life.Rescan(ctx, ""); return err }, collect.Options{}, log)
	coll.Register(runner)
	ro := schema.NewRollouts(db, p, set, log)
	ro.Register(runner)
	snaps, err := backups.New(db, p, func() (snapshot.Store, error) { return snapshot.OpenDir(filepath.Join(dir, "snapshots")) }, runner, log, backups.Options{Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snaps.Close() })
	life.Snapshots = snaps
	opts := web.Options{DB: db, Lifecycle: life, Jobs: runner, Collector: coll, Rollouts: ro, CollectEvery: time.Hour, Log: log,
		Console: &console.Service{DB: db, Platform: p, Log: log}, Backups: snaps}
	if tweak != nil {
		tweak(&opts)
	}
	srv := web.New(opts)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	for _, u := range []struct{ email, role string }{{"admin@example.com", fleet.RoleAdmin}, {"viewer@example.com", fleet.RoleViewer}} {
		// A second console over the same data directory (a replica)
		// finds them there.
		if _, err := db.AddUser(ctx, u.email, password, u.role); err != nil && fleet.ErrorCode(err) != fleet.ECONFLICT {
			t.Fatal(err)
		}
	}
	return &env{t: t, db: db, life: life, runner: runner, srv: srv, ts: ts, dir: dir, clock: clock, backups: snaps}
}

// runJobs runs every queued job, as the server's workers would.
func (e *env) runJobs() {
	e.t.Helper()
	if err := e.runner.RunPending(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// client is a browser-like client: a cookie jar, no redirects followed.
type client struct {
	e    *env
	http *http.Client
	csrf string
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login returns a client logged in as email.
func (e *env) login(email string) *client {
	e.t.Helper()
	c := e.anon()
	c.refreshCSRF("/login")
	res := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login as %s: %d", email, res.StatusCode)
	}
	c.refreshCSRF("/")
	return c
}

func (c *client) do(req *http.Request) *http.Response {
	c.e.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	c.e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (c *client) get(path string, header ...string) *http.Response {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.ts.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// post submits a form with the CSRF token, like the console's own forms.
func (c *client) post(path string, form url.Values) *http.Response {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if c.csrf != "" && form.Get("csrf") == "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// refreshCSRF reads the token a page hands its forms.
func (c *client) refreshCSRF(path string) {
	c.e.t.Helper()
	doc := c.doc(c.get(path))
	if v, ok := doc.Find(`input[name="csrf"]`).First().Attr("value"); ok {
		c.csrf = v
	} else if v, ok := doc.Find(`meta[name="csrf-token"]`).Attr("content"); ok {
		c.csrf = v
	}
}

func (c *client) doc(res *http.Response) *goquery.Document {
	c.e.t.Helper()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return doc
}

func jsonBody[T any](t testing.TB, res *http.Response) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatalf("decode JSON (status %d): %v", res.StatusCode, err)
	}
	return v
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
