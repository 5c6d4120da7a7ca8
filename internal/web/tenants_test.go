package web_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform/platformtest"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	c.refreshCSRF("/login")
	res := c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"wrong password"}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	if msg := c.doc(res).Find(`[data-testid="login-error"]`).Text(); !strings.Contains(msg, "Wrong e-mail or password") {
		t.Fatalf("login error = %q", msg)
	}
	res = c.post("/login", url.Values{"email": {"ADMIN@example.com"}, "password": {password}, "next": {"/tenants"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/tenants" {
		t.Fatalf("login: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "tenantry_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie: %+v", session)
	}
	// An open redirect is not followed.
	c2 := e.anon()
	c2.refreshCSRF("/login")
	res = c2.post("/login", url.Values{"email": {"admin@example.com"}, "password": {password}, "next": {"//evil.example/"}})
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Fatalf("next=//evil: redirected to %q", loc)
	}
	c.refreshCSRF("/")
	if res := c.get("/tenants"); res.StatusCode != http.StatusOK {
		t.Fatalf("logged in /tenants: %d", res.StatusCode)
	}
	if res := c.post("/logout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res := c.get("/tenants"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout /tenants: %d", res.StatusCode)
	}
	// The old session token is dead even if replayed.
	c3 := e.anon()
	u, _ := url.Parse(e.ts.URL)
	c3.http.Jar.SetCookies(u, []*http.Cookie{session})
	if res := c3.get("/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("replayed session after logout: %d", res.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	e.clock.Add(central.SessionIdle + time.Minute)
	if res := c.get("/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("idle session still works: %d", res.StatusCode)
	}
}

// jobID follows a 303 to /jobs/{id}.
func jobID(t *testing.T, res *http.Response) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/jobs/%d", &id); err != nil || res.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("want a redirect to a job, got %d %q: %.300s", res.StatusCode, res.Header.Get("Location"), body)
	}
	return id
}

func (c *client) tenantStatus(name string) string {
	c.e.t.Helper()
	res := c.get("/tenants/"+name, "Accept", "application/json")
	if res.StatusCode != http.StatusOK {
		return fmt.Sprint(res.StatusCode)
	}
	return jsonBody[fleet.Tenant](c.e.t, res).Status
}

// TestTenantForms drives the lifecycle through the console's forms.
func TestTenantForms(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")

	id := jobID(t, c.post("/tenants", url.Values{"name": {"store-1"}}))
	// The job page polls while the job is queued...
	if doc := c.doc(c.get(fmt.Sprintf("/jobs/%d", id))); doc.Find(`[data-testid="job-progress"][hx-get]`).Length() != 1 {
		t.Fatal("queued job page does not poll")
	}
	e.runJobs()
	// ...and stops once it finished, linking to the tenant.
	doc := c.doc(c.get(fmt.Sprintf("/jobs/%d/progress", id)))
	if st, _ := doc.Find(`[data-testid="job-progress"]`).Attr("data-state"); st != "succeeded" || doc.Find(`[hx-get]`).Length() != 0 {
		t.Fatalf("finished job fragment: state %q", st)
	}
	if href, _ := doc.Find(`[data-testid="job-link"]`).Attr("href"); href != "/tenants/store-1" {
		t.Fatalf("job link = %q", href)
	}
	if st := c.tenantStatus("store-1"); st != "ready" {
		t.Fatalf("store-1 is %s", st)
	}

	// Bad names: inline error, 400 or 409, nothing made.
	for _, name := range append([]string{"store-1"}, platformtest.InvalidNames...) {
		res := c.post("/tenants", url.Values{"name": {name}})
		if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusConflict {
			t.Errorf("create %q: %d", name, res.StatusCode)
			continue
		}
		if msg := c.doc(res).Find(`[data-testid="create-form"] [data-testid="inline-error"]`).Text(); msg == "" {
			t.Errorf("create %q: no inline error", name)
		}
	}
	if _, total, _ := e.db.ListTenants(t.Context(), central.TenantFilter{}); total != 1 {
		t.Fatalf("bad creates left %d tenants", total)
	}

	// Branch, then refuse a branch onto an existing name.
	jobID(t, c.post("/tenants/store-1/clone", url.Values{"name": {"store-2"}}))
	e.runJobs()
	if st := c.tenantStatus("store-2"); st != "ready" {
		t.Fatalf("branch is %s", st)
	}
	res := c.post("/tenants/store-1/clone", url.Values{"name": {"store-2"}})
	if res.StatusCode != http.StatusConflict || c.doc(res).Find(`[data-testid="clone-form"] [data-testid="inline-error"]`).Length() != 1 {
		t.Fatalf("clone onto existing: %d", res.StatusCode)
	}

	// Delete needs the typed name.
	res = c.post("/tenants/store-2/delete", url.Values{"confirm": {"store-"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(c.doc(res).Find(`[data-testid="delete-form"]`).Text(), "to confirm") {
		t.Fatalf("unconfirmed delete: %d", res.StatusCode)
	}
	if st := c.tenantStatus("store-2"); st != "ready" {
		t.Fatalf("unconfirmed delete changed store-2 to %s", st)
	}
	jobID(t, c.post("/tenants/store-2/delete", url.Values{"confirm": {"store-2"}}))
	e.runJobs()
	if st := c.tenantStatus("store-2"); st != "archived" {
		t.Fatalf("deleted store-2 is %s", st)
	}
	if doc := c.doc(c.get("/tenants/store-2")); doc.Find(`[data-testid="restore-button"]`).Length() != 1 {
		t.Fatal("archived tenant has no restore button")
	}
	jobID(t, c.post("/tenants/store-2/restore", nil))
	e.runJobs()
	if st := c.tenantStatus("store-2"); st != "ready" {
		t.Fatalf("restored store-2 is %s", st)
	}

	// Export: a SQLite file download.
	res = c.get("/tenants/store-1/export")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("SQLite format 3\x00")) ||
		!strings.Contains(res.Header.Get("Content-Disposition"), `filename="store-1.db"`) {
		t.Fatalf("export: %d %q %d bytes", res.StatusCode, res.Header.Get("Content-Disposition"), len(body))
	}
	if res := c.get("/tenants/nope/export"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("export of unknown tenant: %d", res.StatusCode)
	}
	if res := c.get("/tenants/..%2F..%2Fetc/export"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("export with a path trick: %d", res.StatusCode)
	}

	// JSON clients get JSON errors and jobs.
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/tenants", strings.NewReader(url.Values{"name": {"Nope!"}, "csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res = c.do(req)
	if res.StatusCode != http.StatusBadRequest || jsonBody[map[string]string](t, res)["code"] != fleet.EINVALID {
		t.Fatalf("JSON create with bad name: %d", res.StatusCode)
	}

	// Every change is in the audit log.
	doc = c.doc(c.get("/audit?tenant=store-2"))
	actions := doc.Find(`[data-testid="audit-row"]`).Map(func(_ int, s *goquery.Selection) string { v, _ := s.Attr("data-action"); return v })
	for _, want := range []string{"tenant.clone", "tenant.delete", "tenant.restore"} {
		if !strings.Contains(strings.Join(actions, ","), want) {
			t.Errorf("audit for store-2 lacks %s: %v", want, actions)
		}
	}
}

func TestTenantListPages(t *testing.T) {
	e := newEnv(t)
	var seen []central.Observed
	for i := range 120 {
		seen = append(seen, central.Observed{Name: fmt.Sprintf("shop-%03d", i), URL: "file:x", SizeBytes: int64(i * 1000), ModifiedAt: time.Now()})
	}
	if _, err := e.db.Reconcile(t.Context(), "local", seen, nil); err != nil {
		t.Fatal(err)
	}
	c := e.login("viewer@example.com")
	doc := c.doc(c.get("/tenants"))
	if n := doc.Find(`[data-testid="tenant-row"]`).Length(); n != 50 {
		t.Fatalf("page 1 has %d rows", n)
	}
	if txt := doc.Find(`[data-testid="tenant-count"]`).Text(); !strings.Contains(txt, "120") {
		t.Fatalf("count = %q", txt)
	}
	doc = c.doc(c.get("/tenants?page=3"))
	if n := doc.Find(`[data-testid="tenant-row"]`).Length(); n != 20 {
		t.Fatalf("page 3 has %d rows", n)
	}
	doc = c.doc(c.get("/tenants?q=shop-11&sort=size_bytes&desc=1"))
	first, _ := doc.Find(`[data-testid="tenant-row"]`).First().Attr("data-name")
	if n := doc.Find(`[data-testid="tenant-row"]`).Length(); n != 10 || first != "shop-119" {
		t.Fatalf("search+sort: %d rows, first %s", n, first)
	}
	doc = c.doc(c.get("/tenants?status=missing"))
	if doc.Find(`[data-testid="no-match"]`).Length() != 1 {
		t.Fatal("no empty state for a filter without matches")
	}
	// Nonsense parameters fall back to defaults instead of failing.
	if res := c.get("/tenants?page=-4&sort=%3Bdrop&status=%27"); res.StatusCode != http.StatusOK {
		t.Fatalf("nonsense parameters: %d", res.StatusCode)
	}
}

// TestExportErrorIsNoDownload: a failed export answers its error page,
// not a download of that page named <name>.db.
func TestExportErrorIsNoDownload(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	for _, path := range []string{"/tenants/nope/export", "/tenants/..%2Fx/export"} {
		res := c.get(path)
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		if cd := res.Header.Get("Content-Disposition"); cd != "" {
			t.Fatalf("%s: error page sent as a download: %q", path, cd)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s: error page type %q", path, ct)
		}
		if c.doc(res).Find("title").Length() == 0 {
			t.Fatalf("%s: no error page", path)
		}
	}
}

// TestRefusedActionSaysWhy: a refused action on a tenant that is not
// ready (a second restore click, a delete while deleting) tells the user
// why, on the tenant's page, for a form post and an htmx request alike.
func TestRefusedActionSaysWhy(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	jobID(t, c.post("/tenants", url.Values{"name": {"store-1"}}))
	e.runJobs()
	flash := func(what string, res *http.Response, want string) {
		t.Helper()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/tenants/store-1" {
			t.Fatalf("%s: %d to %q, want a redirect to the tenant", what, res.StatusCode, res.Header.Get("Location"))
		}
		msg := c.doc(c.get("/tenants/store-1")).Find(`[data-testid="flash"][data-kind="error"]`).Text()
		if !strings.Contains(msg, want) {
			t.Fatalf("%s: flash %q does not say %q", what, msg, want)
		}
	}
	jobID(t, c.post("/tenants/store-1/delete", url.Values{"confirm": {"store-1"}})) // queued: deleting
	flash("delete while deleting", c.post("/tenants/store-1/delete", url.Values{"confirm": {"store-1"}}), "is deleting and cannot be deleted")

	// htmx: the refusal's status, a redirect htmx follows, the same flash.
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/tenants/store-1/delete",
		strings.NewReader(url.Values{"confirm": {"store-1"}, "csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	res := c.do(req)
	if res.StatusCode != http.StatusConflict || res.Header.Get("HX-Redirect") != "/tenants/store-1" {
		t.Fatalf("htmx delete while deleting: %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	if msg := c.doc(c.get("/tenants/store-1")).Find(`[data-testid="flash"]`).Text(); !strings.Contains(msg, "cannot be deleted") {
		t.Fatalf("htmx refusal left no message: %q", msg)
	}

	e.runJobs() // archived
	jobID(t, c.post("/tenants/store-1/restore", nil))
	flash("second restore click", c.post("/tenants/store-1/restore", nil), "cannot be restored now")
}

// TestDeleteMissingForgets: deleting a tenant whose database is missing
// removes it from the registry (audited), rather than mark it archived
// with no copy and offer a restore that can only fail.
func TestDeleteMissingForgets(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	jobID(t, c.post("/tenants", url.Values{"name": {"store-1"}}))
	e.runJobs()
	if err := os.Remove(filepath.Join(e.dir, "tenants", "store-1.db")); err != nil {
		t.Fatal(err)
	}
	c.post("/tenants/rescan", nil)
	if st := c.tenantStatus("store-1"); st != fleet.StatusMissing {
		t.Fatalf("store-1 is %s, want missing", st)
	}
	// The page offers to forget it (a form with a confirm word), not to
	// delete or restore it; a viewer sees no such form.
	page := c.doc(c.get("/tenants/store-1"))
	form := page.Find(`form[data-testid="forget-form"]`)
	if action, _ := form.Attr("action"); action != "/tenants/store-1/delete" || form.Find(`input[name="confirm"]`).Length() != 1 ||
		page.Find(`[data-testid="restore-button"], [data-testid="delete-button"]`).Length() != 0 {
		t.Fatalf("missing tenant's page: forget form %q, restore or delete offered: %d", action, page.Find(`[data-testid="restore-button"], [data-testid="delete-button"]`).Length())
	}
	if v := e.login("viewer@example.com"); v.doc(v.get("/tenants/store-1")).Find(`[data-testid="forget-form"]`).Length() != 0 {
		t.Fatal("a viewer is offered to forget")
	}
	jobID(t, c.post("/tenants/store-1/delete", url.Values{"confirm": {"store-1"}}))
	e.runJobs()
	res := c.get("/tenants/store-1")
	if res.StatusCode != http.StatusNotFound {
		doc := c.doc(res)
		t.Fatalf("deleted missing tenant: %d, restore offered: %v", res.StatusCode, doc.Find(`[data-testid="restore-button"]`).Length() > 0)
	}
	doc := c.doc(c.get("/audit?tenant=store-1"))
	if !strings.Contains(doc.Find(`[data-testid="audit-row"][data-action="tenant.delete"]`).Text(), "forgotten") {
		t.Fatal("forgetting store-1 is not in the audit log")
	}
	if m, _ := filepath.Glob(filepath.Join(e.dir, "archive", "store-1.*")); len(m) != 0 {
		t.Fatalf("archive holds %v", m)
	}
}

// TestConsoleAdoptsDroppedFile: a database dropped into <data>/tenants is
// found by the console's pages at once, without waiting for a rescan.
func TestConsoleAdoptsDroppedFile(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	dropTenant(t, filepath.Join(e.dir, "tenants", "store-7.db"))
	if st := c.tenantStatus("store-7"); st != fleet.StatusReady {
		t.Fatalf("dropped store-7: %s", st)
	}
	dropTenant(t, filepath.Join(e.dir, "tenants", "store-8.db"))
	if res := c.get("/sql?tenant=store-8"); res.StatusCode != http.StatusOK {
		t.Fatalf("SQL console on dropped store-8: %d", res.StatusCode)
	}
	if res := c.get("/tenants/store-9"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a tenant nobody made: %d", res.StatusCode)
	}
}

// dropTenant writes a small SQLite database at path, as an operator
// copying one in would.
func dropTenant(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello')`); err != nil {
		t.Fatal(err)
	}
}
