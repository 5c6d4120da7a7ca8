package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/api/apitest"
	"github.com/tenantry/tenantry/internal/api/client"
	"github.com/tenantry/tenantry/internal/backups"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// console is the API over a temp directory (local platform, real SQLite
// files, job workers running), served on a loopback port, with a client
// whose every call is checked against the OpenAPI document.
type console struct {
	db     *central.DB
	runner *jobs.Runner
	client *client.Client
	// onCall, if set, sees each request before it is sent.
	onCall atomic.Pointer[func(*http.Request)]
}

func newConsole(t *testing.T) *console {
	t.Helper()
	return newConsoleWith(t, false)
}

// newConsoleWith is newConsole, its tenants snapshotted if snapshots.
func newConsoleWith(t *testing.T, snapshots bool) *console {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := central.Open(ctx, "file:"+dir+"/central.db", "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := jobs.NewRunner(db, log)
	life := lifecycle.New(db, p, runner, log)
	o := api.Options{DB: db, Lifecycle: life, Jobs: runner, Log: log, RateLimit: -1, TempDir: t.TempDir()}
	if snapshots {
		bk, err := backups.New(db, p, func() (snapshot.Store, error) { return snapshot.OpenDir(filepath.Join(dir, "snapshots")) }, runner, log, backups.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bk.Close() }) // after the workers stopped
		life.Snapshots, o.Backups = bk, bk
	}
	a := api.New(o)
	ts := httptest.NewServer(a)
	runner.Start(ctx)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		runner.Wait()
		db.Close()
	})
	secret, _, err := db.CreateAPIToken(ctx, "test", fleet.RoleAdmin, "admin@example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := &console{db: db, runner: runner}
	hc := &http.Client{Transport: hook{c, apitest.Transport(t, nil)}}
	if c.client, err = client.New(ts.URL, secret, hc); err != nil {
		t.Fatal(err)
	}
	return c
}

type hook struct {
	c    *console
	base http.RoundTripper
}

func (h hook) RoundTrip(r *http.Request) (*http.Response, error) {
	if f := h.c.onCall.Load(); f != nil {
		(*f)(r)
	}
	return h.base.RoundTrip(r)
}

// register puts names in the registry as the platform scan would (no
// files: listing reads the registry alone).
func (c *console) register(t *testing.T, names []string) {
	t.Helper()
	seen := make([]central.Observed, len(names))
	for i, n := range names {
		seen[i] = central.Observed{Name: n, URL: "file:" + n}
	}
	if _, err := c.db.Reconcile(context.Background(), "local", seen, nil); err != nil {
		t.Fatal(err)
	}
}

// TestAPIClientPagesWhileCreating: following next_cursor over 1,000+
// tenants yields each one exactly once, in name order, though tenants are
// registered between pages before, among and after those listed.
func TestAPIClientPagesWhileCreating(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()
	var all []string
	for i := range 1050 {
		all = append(all, fmt.Sprintf("t-%04d", i))
	}
	c.register(t, all)
	first := slices.Clone(all)

	var got []string
	added := map[string]bool{}
	pages := 0
	q := client.TenantQuery{Limit: 97}
	for tn, err := range c.client.Tenants(ctx, q) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tn.Name)
		if len(got)%97 == 0 { // the end of a page: the next one is fetched after these land
			pages++
			last := tn.Name
			more := []string{fmt.Sprintf("a-%02d", pages), last + "-new", fmt.Sprintf("z-%02d", pages)}
			for _, n := range more {
				added[n] = true
			}
			all = append(all, more...)
			c.register(t, all)
		}
	}
	if pages < 10 {
		t.Fatalf("only %d full pages", pages)
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("the listing is not strictly in name order: a tenant repeated or out of place")
	}
	for _, n := range first {
		if _, ok := slices.BinarySearch(got, n); !ok {
			t.Fatalf("%s, registered before listing began, was skipped", n)
		}
	}
	for n := range added {
		_, ok := slices.BinarySearch(got, n)
		// Names after the cursor when they were made are listed; those
		// before it are not (the page they belong to was already read).
		if want := !strings.HasPrefix(n, "a-"); ok != want {
			t.Errorf("%s added between pages: listed %v, want %v", n, ok, want)
		}
	}

	// AllTenants agrees with the registry, and a one-page listing says
	// where to go on.
	every, err := c.client.AllTenants(ctx, client.TenantQuery{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(all)
	if names := names(every); !slices.Equal(names, all) {
		t.Fatalf("AllTenants: %d tenants, registry %d", len(names), len(all))
	}
	p, err := c.client.ListTenants(ctx, client.TenantQuery{Prefix: "z-", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tenants) != 2 || p.Tenants[0].Name != "z-01" || p.NextCursor == nil {
		t.Fatalf("prefix page: %+v", p)
	}
	ts, err := c.client.AllTenants(ctx, client.TenantQuery{Status: fleet.StatusArchived})
	if err != nil || ts == nil || len(ts) != 0 {
		t.Fatalf("no archived tenants: %v, %v", ts, err)
	}
}

func names(ts []fleet.Tenant) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

// TestAPIClientTenantLifecycle drives create (job and idempotent replay), branch,
// delete, restore, export and import through the typed client.
func TestAPIClientTenantLifecycle(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()

	o, err := c.client.CreateTenant(ctx, "acme", "", time.Time{}, "key-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if o.Job == nil || o.Tenant != nil || o.Replayed {
		t.Fatalf("create without wait: %+v", o)
	}
	j, err := c.client.AwaitJob(ctx, o.Job.ID)
	if err != nil || j.State != fleet.JobSucceeded || j.Tenant != "acme" {
		t.Fatalf("AwaitJob: %+v, %v", j, err)
	}
	again, err := c.client.CreateTenant(ctx, "acme", "", time.Time{}, "key-1", api.MaxWait)
	if err != nil || !again.Replayed {
		t.Fatalf("the same key again: %+v, %v", again, err)
	}
	tn, err := c.client.Settle(ctx, again)
	if err != nil || tn.Name != "acme" || tn.Status != fleet.StatusReady {
		t.Fatalf("Settle: %+v, %v", tn, err)
	}

	o, err = c.client.CreateTenant(ctx, "acme-2", "acme", time.Time{}, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tn, err = c.client.Settle(ctx, o); err != nil || tn.Parent != "acme" {
		t.Fatalf("branch: %+v, %v", tn, err)
	}
	_, err = c.client.CreateTenant(ctx, "acme-3", "acme", time.Now().Add(-time.Hour), "", 30*time.Second)
	if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(err.Error(), "Point-in-time") {
		t.Fatalf("a point-in-time branch on local: %v", err)
	}

	if o, err = c.client.DeleteTenant(ctx, "acme-2", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if o.Tenant == nil || o.Tenant.Status != fleet.StatusArchived {
		t.Fatalf("delete: %+v", o)
	}
	if o, err = c.client.RestoreTenant(ctx, "acme-2", 0); err != nil {
		t.Fatal(err)
	}
	if tn, err = c.client.Settle(ctx, o); err != nil || tn.Status != fleet.StatusReady {
		t.Fatalf("restore: %+v, %v", tn, err)
	}

	var file bytes.Buffer
	n, err := c.client.Export(ctx, "acme", &file)
	if err != nil || n != int64(file.Len()) || !strings.HasPrefix(file.String(), "SQLite format 3\x00") {
		t.Fatalf("export: %d bytes, %v", n, err)
	}
	// Streamed from a reader of unknown length, with the size it was given
	// as Content-Length (not chunked), so a console can refuse it up front.
	var sent int64 = -2
	f := func(r *http.Request) {
		if r.Method == http.MethodPut {
			sent = r.ContentLength
		}
	}
	c.onCall.Store(&f)
	body := io.MultiReader(bytes.NewReader(file.Bytes()[:100]), bytes.NewReader(file.Bytes()[100:]))
	if tn, err = c.client.Import(ctx, "acme-copy", body, int64(file.Len())); err != nil || tn.Status != fleet.StatusReady {
		t.Fatalf("import: %+v, %v", tn, err)
	}
	c.onCall.Store(nil)
	if sent != int64(file.Len()) {
		t.Fatalf("import sent Content-Length %d, want %d", sent, file.Len())
	}
	if _, err = c.client.Import(ctx, "acme-bad", strings.NewReader("not a database"), 14); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("import of text: %v", err)
	}

	for name, call := range map[string]func() error{
		"get":     func() error { _, err := c.client.GetTenant(ctx, "nope"); return err },
		"delete":  func() error { _, err := c.client.DeleteTenant(ctx, "nope", 0); return err },
		"restore": func() error { _, err := c.client.RestoreTenant(ctx, "nope", 0); return err },
		"export":  func() error { _, err := c.client.Export(ctx, "nope", io.Discard); return err },
	} {
		if err := call(); fleet.ErrorCode(err) != fleet.ENOTFOUND {
			t.Errorf("%s of an unknown tenant: %v, want not found", name, err)
		}
	}
}

// TestAPIClientAwaitJobFailed: AwaitJob long-polls a job until it fails and returns
// the job's error as its message.
func TestAPIClientAwaitJobFailed(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()
	release := make(chan struct{})
	c.runner.Handle("test-fail", jobs.Handler{Run: func(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
		<-release
		return errors.New("the disk caught fire")
	}})
	id, err := c.db.InsertJob(ctx, &fleet.Job{Kind: "test-fail", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c.runner.Wake()
	// The job ends only once the client is polling it.
	var polled atomic.Bool
	f := func(r *http.Request) {
		if strings.Contains(r.URL.Path, "/jobs/") && polled.CompareAndSwap(false, true) {
			if r.URL.Query().Get("wait") == "" {
				t.Errorf("AwaitJob polls without a wait: %s", r.URL)
			}
			close(release)
		}
	}
	c.onCall.Store(&f)
	j, err := c.client.AwaitJob(ctx, id)
	var je *client.JobError
	if !errors.As(err, &je) || err.Error() != "the disk caught fire" || j == nil || j.State != fleet.JobFailed {
		t.Fatalf("AwaitJob of a failing job: %+v, %v", j, err)
	}
}
