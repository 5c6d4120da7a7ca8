package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/platform/turso"
	"github.com/tenantry/tenantry/internal/platform/turso/tursotest"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/tenantdb"
	"github.com/tenantry/tenantry/internal/web"
)

// newPlatformEnv is newEnv on the platform mk makes over the central
// database (sqld keeps its catalog there).
func newPlatformEnv(t *testing.T, mk func(db *central.DB, dir string) platform.Platform) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	u, err := tenantdb.CentralURL(filepath.Join(dir, "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := central.Open(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := mk(db, dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := jobs.NewRunner(db, log)
	life := lifecycle.New(db, p, runner, log)
	coll := collect.New(db, p, func(ctx context.Context) error { _, err := life.Rescan(ctx, ""); return err }, collect.Options{}, log)
	coll.Register(runner)
	ro := schema.NewRollouts(db, p, schema.Embedded(), log)
	ro.Register(runner)
	srv := web.New(web.Options{DB: db, Lifecycle: life, Jobs: runner, Collector: coll, Rollouts: ro, Log: log,
		Console: &console.Service{DB: db, Platform: p, Log: log}})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	for _, u := range []struct{ email, role string }{{"admin@example.com", fleet.RoleAdmin}, {"viewer@example.com", fleet.RoleViewer}} {
		if _, err := db.AddUser(ctx, u.email, password, u.role); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, db: db, life: life, runner: runner, srv: srv, ts: ts, dir: dir}
}

// newSqldEnv is a console on a real sqld, archiving deleted tenants.
func newSqldEnv(t *testing.T, srv *sqldtest.Server) *env {
	t.Helper()
	return newPlatformEnv(t, func(db *central.DB, dir string) platform.Platform {
		p, err := sqld.New(sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, SigningKey: srv.Key, Catalog: db.Catalog("sqld"),
			ArchiveDir: filepath.Join(dir, "archive")})
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}

// newTursoEnv is a console on the Turso API double, whose data plane is
// the real sqld sq.
func newTursoEnv(t *testing.T, sq *sqldtest.Server) (*env, *tursotest.Server) {
	t.Helper()
	api := tursotest.New(t, sq, tursotest.Options{})
	e := newPlatformEnv(t, func(*central.DB, string) platform.Platform {
		p, err := turso.New(turso.Options{Org: api.Org, Token: api.Token, Group: api.Group, APIURL: api.URL, DataProxy: sq.URL,
			RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
	return e, api
}

// create makes a ready tenant through the console, as an admin would.
func (e *env) create(name string) {
	e.t.Helper()
	if _, err := e.life.Create(e.t.Context(), "test", name); err != nil {
		e.t.Fatal(err)
	}
	e.runJobs()
	if tn, err := e.db.Tenant(e.t.Context(), name); err != nil || tn.Status != fleet.StatusReady {
		e.t.Fatalf("create %s: %+v %v", name, tn, err)
	}
}

// exec runs statements on a tenant's database over the platform's data
// plane, as the tenant's application would.
func (e *env) exec(name string, stmts ...string) {
	e.t.Helper()
	db, err := e.life.Platform().Open(e.t.Context(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(e.t.Context(), q); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
	}
}

// body reads a response whole, for what must not be anywhere in it.
func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// usageJSON is the JSON of /tenants/{name}/usage.
type usageJSON struct {
	Name         string     `json:"name"`
	Platform     string     `json:"platform"`
	RowsRead     int64      `json:"rows_read"`
	RowsWritten  int64      `json:"rows_written"`
	StorageBytes int64      `json:"storage_bytes"`
	From         *time.Time `json:"from"`
	To           *time.Time `json:"to"`
	TopQueries   []struct {
		SQL         string `json:"sql"`
		RowsRead    int64  `json:"rows_read"`
		RowsWritten int64  `json:"rows_written"`
	} `json:"top_queries"`
}

const insertOrders = `INSERT INTO orders(total_amount, created_at) VALUES (1000, '2026-11-20 10:00:00'), (2500, '2026-11-20 11:00:00'), (400, '2026-11-20 12:00:00')`

// TestTenantUsageOnSqld: a viewer sees the Usage card of a tenant on a
// real sqld, with the rows its application wrote and its heaviest
// statements; JSON clients get the same numbers; a database gone from
// sqld breaks the card, not the page; no token is ever in the HTML.
func TestTenantUsageOnSqld(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	e := newSqldEnv(t, srv)
	e.create("store-1")
	e.exec("store-1", insertOrders, `SELECT count(*) FROM orders`)
	c := e.login("viewer@example.com")

	res := c.get("/tenants/store-1")
	page := body(t, res)
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
	load := doc.Find(`[data-testid="tenant-usage-loading"]`)
	if load.AttrOr("hx-get", "") != "/tenants/store-1/usage" || load.AttrOr("hx-trigger", "") != "load" || load.AttrOr("hx-swap", "") != "outerHTML" {
		t.Errorf("usage card placeholder: hx-get %q hx-trigger %q hx-swap %q", load.AttrOr("hx-get", ""), load.AttrOr("hx-trigger", ""), load.AttrOr("hx-swap", ""))
	}
	if got := doc.Find(`[data-testid="platform"]`).Text(); got != "sqld" {
		t.Errorf("details say the platform is %q", got)
	}

	// sqld counts a statement after it has answered: wait until the
	// INSERT is counted before reading the card.
	waitFor(t, "sqld to count the INSERT", func() bool {
		for _, q := range jsonBody[usageJSON](t, c.get("/tenants/store-1/usage", "Accept", "application/json")).TopQueries {
			if q.SQL == insertOrders {
				return true
			}
		}
		return false
	})
	res = c.get("/tenants/store-1/usage")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("usage card: %d", res.StatusCode)
	}
	card := body(t, res)
	doc, _ = goquery.NewDocumentFromReader(strings.NewReader(card))
	if doc.Find(`[data-testid="nav-overview"], title`).Length() != 0 {
		t.Error("the card holds the page shell")
	}
	if got := squash(doc.Find(`[data-testid="usage-period"]`).Text()); got != "Since the database was made, as sqld counts it" {
		t.Errorf("period %q", got)
	}
	value := func(id string) int64 {
		t.Helper()
		sel := doc.Find(`[data-testid="` + id + `"]`)
		n, err := strconv.ParseInt(sel.AttrOr("data-value", ""), 10, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", id, sel.AttrOr("data-value", ""), err)
		}
		return n
	}
	written, read, storage := value("usage-rows-written"), value("usage-rows-read"), value("usage-storage")
	if written < 3 || read < 1 {
		t.Errorf("rows written %d, read %d: the three orders written and counted are not in them", written, read)
	}
	if got := doc.Find(`[data-testid="usage-storage"]`).Text(); !strings.HasSuffix(got, "B") {
		t.Errorf("storage shows %q, not in bytes' units", got)
	}
	var insert *goquery.Selection
	doc.Find(`[data-testid="top-query"]`).Each(func(_ int, q *goquery.Selection) {
		if strings.Contains(q.Find(`[data-testid="top-query-sql"]`).Text(), "INSERT INTO orders") {
			insert = q
		}
	})
	if insert == nil {
		t.Fatalf("the INSERT is not among the top queries:\n%s", squash(doc.Find(`[data-testid="top-queries"]`).Text()))
	}
	// sqld counts the index's rows too: three orders are six rows.
	if got := insert.Find(`[data-testid="top-query-written"]`).Text(); got != "6" {
		t.Errorf("the INSERT wrote %q rows, want 6 (3 orders and their index entries)", got)
	}
	// A statement longer than a row shows is cut, with all of it at hand.
	sum := insert.Find(`summary[data-testid="top-query-sql"]`)
	if !strings.HasSuffix(sum.Text(), "…") || sum.AttrOr("title", "") != insertOrders || insert.Find(`[data-testid="top-query-full"]`).Text() != insertOrders {
		t.Errorf("the long INSERT shows %q, title %q, full %q", sum.Text(), sum.AttrOr("title", ""), insert.Find(`[data-testid="top-query-full"]`).Text())
	}

	// JSON says the same.
	u := jsonBody[usageJSON](t, c.get("/tenants/store-1/usage", "Accept", "application/json"))
	if u.Name != "store-1" || u.Platform != "sqld" || u.RowsWritten < written || u.RowsRead < read || u.StorageBytes < 0 || u.From != nil || u.To != nil {
		t.Errorf("JSON usage %+v; HTML had written %d read %d storage %d", u, written, read, storage)
	}
	found := false
	for _, q := range u.TopQueries {
		found = found || q.SQL == insertOrders && q.RowsWritten == 6
	}
	if !found {
		t.Errorf("JSON top queries lack the INSERT: %+v", u.TopQueries)
	}

	// No token, in the page or the card: sqld's are JWTs ("eyJ...").
	for what, html := range map[string]string{"page": page, "card": card} {
		if strings.Contains(html, "eyJ") || strings.Contains(strings.ToLower(html), "authtoken") {
			t.Errorf("the %s holds a token", what)
		}
	}

	// Unknown tenants are 404s, as HTML and as JSON.
	for _, p := range []string{"/tenants/nobody/usage", "/tenants/Not_A_Name/usage"} {
		if res := c.get(p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
		res := c.get(p, "Accept", "application/json")
		if m := jsonBody[map[string]string](t, res); res.StatusCode != http.StatusNotFound || m["code"] != fleet.ENOTFOUND {
			t.Errorf("GET %s as JSON: %d %v", p, res.StatusCode, m)
		}
	}
	// Logged out: no usage.
	if res := e.anon().get("/tenants/store-1/usage", "Accept", "application/json"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("usage logged out: %d", res.StatusCode)
	}

	// The database gone from sqld behind the console's back: the card
	// says so, the page still opens.
	req, _ := http.NewRequest(http.MethodDelete, srv.AdminURL+"/v1/namespaces/store-1", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("delete the namespace behind the console's back: %v %v", res, err)
	}
	res = c.get("/tenants/store-1/usage")
	doc = c.doc(res)
	if msg := squash(doc.Find(`[data-testid="usage-error"]`).Text()); res.StatusCode != http.StatusOK || !strings.Contains(msg, "sqld could not report") || !strings.Contains(msg, "not found") {
		t.Errorf("usage of a vanished database: %d %q", res.StatusCode, msg)
	}
	if doc.Find(`[data-testid="usage-totals"]`).Length() != 0 {
		t.Error("the card of a vanished database shows numbers")
	}
	if res := c.get("/tenants/store-1/usage", "Accept", "application/json"); res.StatusCode != http.StatusNotFound {
		t.Errorf("JSON usage of a vanished database: %d", res.StatusCode)
	}
	if res := c.get("/tenants/store-1"); res.StatusCode != http.StatusOK {
		t.Errorf("page of a vanished database: %d", res.StatusCode)
	}
}

// TestTenantPageOnSqld: the branch form cannot branch at a point in time
// on sqld and says why before anyone tries; a branch without one works;
// a time posted anyway is refused in place; the danger zone promises a
// restore, which sqld with an archive keeps.
func TestTenantPageOnSqld(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	e := newSqldEnv(t, srv)
	e.create("store-1")
	a := e.login("admin@example.com")

	doc := a.doc(a.get("/tenants/store-1"))
	at := doc.Find(`[data-testid="clone-form"] input[name="at"]`)
	if at.AttrOr("type", "") != "datetime-local" || at.AttrOr("step", "") != "1" {
		t.Errorf("the As of input is %q step %q", at.AttrOr("type", ""), at.AttrOr("step", ""))
	}
	if _, disabled := at.Attr("disabled"); !disabled {
		t.Error("As of is enabled on sqld, which cannot branch at a point in time")
	}
	hintID := at.AttrOr("aria-describedby", "")
	if got := doc.Find("#" + hintID).Text(); hintID == "" || got != sqld.NoPointInTime {
		t.Errorf("As of is described by #%s %q, want sqld's reason", hintID, got)
	}
	dz := doc.Find(`[data-testid="delete-consequence"]`)
	if got := squash(dz.Text()); dz.AttrOr("data-restorable", "") != "true" || !strings.Contains(got, "archived, not destroyed") || strings.Contains(got, "for good") {
		t.Errorf("danger zone on sqld with an archive: %q", got)
	}
	if doc.Find(`[data-testid="delete-form"] input[name="confirm"]`).Length() != 1 {
		t.Error("the delete no longer asks for the name")
	}

	// A time posted anyway (an old form, a script) is refused in place,
	// with sqld's reason and what was typed.
	res := a.post("/tenants/store-1/clone", url.Values{"name": {"store-past"}, "at": {"2026-11-20T10:00:00"}})
	doc = a.doc(res)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(inlineError(doc), "S3 backups") {
		t.Errorf("point-in-time branch on sqld: %d %q", res.StatusCode, inlineError(doc))
	}
	if got := doc.Find(`#clone-name`).AttrOr("value", ""); got != "store-past" {
		t.Errorf("after the refusal the name holds %q", got)
	}
	if _, err := e.db.Tenant(t.Context(), "store-past"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Errorf("the refused branch left a tenant: %v", err)
	}

	// Without a time it branches.
	res = a.post("/tenants/store-1/clone", url.Values{"name": {"store-2"}, "at": {""}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("branch: %d %q", res.StatusCode, inlineError(a.doc(res)))
	}
	e.runJobs()
	if tn, err := e.db.Tenant(t.Context(), "store-2"); err != nil || tn.Status != fleet.StatusReady || tn.Parent != "store-1" {
		t.Fatalf("branch store-2: %+v %v", tn, err)
	}

	// A viewer sees the usage, not the forms.
	v := e.login("viewer@example.com")
	doc = v.doc(v.get("/tenants/store-2"))
	if doc.Find(`[data-testid="tenant-usage-loading"]`).Length() != 1 || doc.Find(`[data-testid="clone-form"], [data-testid="delete-form"]`).Length() != 0 {
		t.Error("a viewer's page of store-2: wrong cards")
	}
	if res := v.get("/tenants/store-2/usage"); res.StatusCode != http.StatusOK || v.doc(res).Find(`[data-testid="usage-totals"]`).Length() != 1 {
		t.Errorf("a viewer's usage card: %d", res.StatusCode)
	}
}

// TestTenantPageOnTurso: Turso branches at a point in time, so As of is
// open and says it is UTC; a delete there is for good, and the page says
// so before and after; usage covers a stated period, and a refusal of
// the usage endpoint is a message in the card.
func TestTenantPageOnTurso(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	e, api := newTursoEnv(t, sq)
	e.create("store-1")
	e.create("store-2")
	e.exec("store-1", insertOrders)
	a := e.login("admin@example.com")

	doc := a.doc(a.get("/tenants/store-1"))
	if got := doc.Find(`[data-testid="platform"]`).Text(); got != "Turso Cloud" {
		t.Errorf("details say the platform is %q", got)
	}
	at := doc.Find(`[data-testid="clone-form"] input[name="at"]`)
	if _, disabled := at.Attr("disabled"); disabled || at.AttrOr("type", "") != "datetime-local" {
		t.Error("As of is not an open datetime-local input on Turso")
	}
	if got := doc.Find(`[data-testid="clone-at-hint"]`).Text(); !strings.Contains(got, "UTC") {
		t.Errorf("the As of hint %q does not say UTC", got)
	}
	if !strings.Contains(doc.Find(`label[for="clone-at"]`).Text(), "UTC") {
		t.Error("the As of label does not say UTC")
	}
	dz := doc.Find(`[data-testid="delete-consequence"]`)
	if got := squash(dz.Text()); dz.AttrOr("data-restorable", "") != "false" || !strings.Contains(got, "deletes its database from Turso Cloud for good") ||
		!strings.Contains(got, "cannot be restored") || strings.Contains(got, "archived") {
		t.Errorf("danger zone on Turso: %q", got)
	}

	// Usage over Turso's stated period.
	doc = a.doc(a.get("/tenants/store-1/usage"))
	period := squash(doc.Find(`[data-testid="usage-period"]`).Text())
	if !strings.Contains(period, " – ") || !strings.HasSuffix(period, "UTC, as Turso Cloud counts it") {
		t.Errorf("period %q", period)
	}
	if got := doc.Find(`[data-testid="usage-rows-written"]`).AttrOr("data-value", ""); got == "" || got == "0" {
		t.Errorf("rows written on Turso %q", got)
	}
	u := jsonBody[usageJSON](t, a.get("/tenants/store-1/usage", "Accept", "application/json"))
	if u.Platform != "turso" || u.From == nil || u.To == nil || !u.From.Before(*u.To) {
		t.Errorf("JSON usage on Turso %+v", u)
	}

	// Turso refusing: a message in the card.
	api.Fail(tursotest.Fault{Method: "GET", Path: "/databases/store-1/usage", Status: http.StatusForbidden, Message: "not allowed on this plan"})
	res := a.get("/tenants/store-1/usage")
	doc = a.doc(res)
	if msg := squash(doc.Find(`[data-testid="usage-error"]`).Text()); res.StatusCode != http.StatusOK || !strings.Contains(msg, "Turso") || !strings.Contains(msg, "not allowed on this plan") {
		t.Errorf("refused usage: %d %q", res.StatusCode, msg)
	}
	page := body(t, a.get("/tenants/store-1"))
	card := body(t, a.get("/tenants/store-1/usage"))
	for what, html := range map[string]string{"page": page, "card": card} {
		if strings.Contains(html, api.Token) || strings.Contains(html, "eyJ") {
			t.Errorf("the %s holds a token", what)
		}
	}

	// Deleted: the page no longer offers a restore, and says why.
	res = a.post("/tenants/store-2/delete", url.Values{"confirm": {"store-2"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d %q", res.StatusCode, inlineError(a.doc(res)))
	}
	e.runJobs()
	if api.Has("store-2") {
		t.Fatal("store-2 is still on Turso")
	}
	doc = a.doc(a.get("/tenants/store-2"))
	if doc.Find(`[data-testid="restore-button"]`).Length() != 0 {
		t.Error("a tenant deleted from Turso offers a restore")
	}
	if got := squash(doc.Find(`[data-testid="no-restore"]`).Text()); !strings.Contains(got, "cannot be restored here") {
		t.Errorf("no-restore %q", got)
	}
	if got := squash(doc.Find(`[data-testid="status-notice"]`).Text()); !strings.Contains(got, "deleted from Turso Cloud") || strings.Contains(got, "kept so it can be restored") {
		t.Errorf("status notice %q", got)
	}
	if doc.Find(`[data-testid="tenant-usage-loading"]`).Length() != 0 {
		t.Error("a deleted tenant asks for its usage")
	}
}

// TestTenantPageOnLocal: the local platform reports no usage, so there is
// no card and the route says so; it branches at a point in time from
// snapshots, and cannot without them.
func TestTenantPageOnLocal(t *testing.T) {
	e := newEnv(t)
	e.create("store-1")
	a := e.login("admin@example.com")
	doc := a.doc(a.get("/tenants/store-1"))
	if doc.Find(`[data-testid="tenant-usage-loading"], [data-testid="tenant-usage"]`).Length() != 0 {
		t.Error("the local platform's tenant page has a Usage card")
	}
	if _, disabled := doc.Find(`#clone-at`).Attr("disabled"); disabled || !strings.Contains(doc.Find(`[data-testid="clone-at-hint"]`).Text(), "newest snapshot") {
		t.Errorf("As of on local with snapshots: disabled %v, hint %q", disabled, doc.Find(`[data-testid="clone-at-hint"]`).Text())
	}
	bare := newEnvWith(t, t.TempDir(), schema.Embedded(), func(o *web.Options) { o.Backups = nil })
	bare.create("store-1")
	bd := bare.login("admin@example.com")
	d2 := bd.doc(bd.get("/tenants/store-1"))
	if _, disabled := d2.Find(`#clone-at`).Attr("disabled"); !disabled || !strings.Contains(d2.Find(`[data-testid="clone-at-hint"]`).Text(), "local platform") {
		t.Errorf("As of on local without snapshots: disabled %v, hint %q", disabled, d2.Find(`[data-testid="clone-at-hint"]`).Text())
	}
	if d2.Find(`[data-testid="snapshots-card"]`).Length() != 0 {
		t.Error("a console without snapshots shows a Snapshots card")
	}
	if got := doc.Find(`[data-testid="delete-consequence"]`).AttrOr("data-restorable", ""); got != "true" {
		t.Errorf("local delete restorable %q", got)
	}
	if res := a.get("/tenants/store-1/usage"); res.StatusCode != http.StatusNotFound {
		t.Errorf("usage on local: %d", res.StatusCode)
	}
}
