package pages

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/tenantry/tenantry/views/layouts"
)

func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func admin(title, nav string) layouts.Page {
	return layouts.Page{Title: title, Nav: nav, User: "a@example.com", Role: "admin", CSRF: "tok"}
}

func viewer(title, nav string) layouts.Page {
	p := admin(title, nav)
	p.User, p.Role = "v@example.com", "viewer"
	return p
}

func count(doc *goquery.Document, sel string) int { return doc.Find(sel).Length() }

// Every POST form must carry the CSRF token or the handler refuses it.
func assertPostFormsHaveCSRF(t *testing.T, doc *goquery.Document) {
	t.Helper()
	doc.Find(`form[method="post"]`).Each(func(_ int, f *goquery.Selection) {
		if v, _ := f.Find(`input[type="hidden"][name="csrf"]`).Attr("value"); v != "tok" {
			action, _ := f.Attr("action")
			t.Errorf("POST form %s has csrf %q", action, v)
		}
	})
}

func TestBaseShell(t *testing.T) {
	p := admin("Tenants", "tenants")
	p.Flash = &layouts.Flash{Kind: "error", Message: "Nope"}
	doc := render(t, TenantsPage(p, TenantList{Page: 1, PageSize: 50}))
	if got := doc.Find("title").Text(); got != "Tenants · Tenantry" {
		t.Errorf("title %q", got)
	}
	if v, _ := doc.Find(`meta[name="csrf-token"]`).Attr("content"); v != "tok" {
		t.Errorf("csrf meta %q", v)
	}
	if !doc.Find(`[data-testid="nav-tenants"]`).HasClass("active") || doc.Find(`[data-testid="nav-jobs"]`).HasClass("active") {
		t.Error("active nav entry is wrong")
	}
	if f := doc.Find(`[data-testid="flash"]`); !f.HasClass("flash-error") || !strings.Contains(f.Text(), "Nope") {
		t.Error("flash missing or wrong kind")
	}
	if count(doc, `script:not([src])`) != 0 || count(doc, `[style]`) != 0 {
		t.Error("inline script or style would break the CSP")
	}
	if count(doc, `form[action="/logout"] input[name="csrf"]`) != 1 {
		t.Error("logout form without csrf")
	}
	assertPostFormsHaveCSRF(t, doc)
}

func TestTenantsPage(t *testing.T) {
	vm := TenantList{
		Query: "store", Status: "ready", Sort: "size_bytes", Desc: true, Page: 2, PageSize: 2, Total: 10_000,
		Statuses: []string{"ready", "failed"},
		Rows: []TenantRow{
			{Name: "store-1", Status: "ready", SchemaVersion: 1, LatestVersion: 2, SizeBytes: 1536},
			{Name: "store-2", Status: "ready", SchemaVersion: 2, LatestVersion: 2},
		},
		CreateError: "bad name",
	}
	doc := render(t, TenantsPage(admin("Tenants", "tenants"), vm))
	if got := count(doc, `tr[data-testid="tenant-row"]`); got != 2 {
		t.Fatalf("%d rows", got)
	}
	if got := doc.Find(`[data-testid="tenant-count"]`).Text(); !strings.Contains(got, "10,000") {
		t.Errorf("tenant count %q", got)
	}
	if count(doc, `tr[data-name="store-1"] [data-testid="schema-behind"]`) != 1 || count(doc, `tr[data-name="store-2"] [data-testid="schema-behind"]`) != 0 {
		t.Error("behind marker wrong")
	}
	if href, _ := doc.Find(`[data-testid="sort-size_bytes"]`).Attr("href"); href != "/tenants?q=store&status=ready&sort=size_bytes&desc=0" {
		t.Errorf("active column sort link %q", href)
	}
	if href, _ := doc.Find(`[data-testid="sort-name"]`).Attr("href"); href != "/tenants?q=store&status=ready&sort=name&desc=0" {
		t.Errorf("other column sort link %q", href)
	}
	if href, _ := doc.Find(`[data-testid="pagination"] [data-testid="page-next"]`).Attr("href"); href != "/tenants?q=store&status=ready&sort=size_bytes&desc=1&page=3" {
		t.Errorf("next page link %q", href)
	}
	if got := doc.Find(`[data-testid="create-form"] [data-testid="inline-error"]`).Text(); got != "bad name" {
		t.Errorf("create error %q", got)
	}
	if v, _ := doc.Find(`select[name="status"] option[selected]`).Attr("value"); v != "ready" {
		t.Errorf("selected status %q", v)
	}
	assertPostFormsHaveCSRF(t, doc)

	doc = render(t, TenantsPage(viewer("Tenants", "tenants"), TenantList{Page: 1}))
	if count(doc, `[data-testid="create-form"]`) != 0 {
		t.Error("viewer sees the create form")
	}
	if count(doc, `[data-testid="no-tenants"]`) != 1 || count(doc, `[data-testid="pagination"]`) != 0 {
		t.Error("empty registry not shown as such")
	}
	doc = render(t, TenantsPage(viewer("Tenants", "tenants"), TenantList{Page: 1, Query: "x"}))
	if count(doc, `[data-testid="no-match"]`) != 1 {
		t.Error("empty search not shown as no match")
	}
}

func TestTenantPageActions(t *testing.T) {
	ready := TenantDetail{Tenant: TenantRow{Name: "store-1", Status: "ready"}, CloneError: "exists", DeleteError: "type the name"}
	doc := render(t, tenantPage(admin("store-1", "tenants"), ready, TenantHistory{}))
	for _, sel := range []string{
		`form[data-testid="clone-form"][action="/tenants/store-1/clone"] input[name="name"]`,
		`a[data-testid="export-link"][href="/tenants/store-1/export"]`,
		`form[data-testid="delete-form"][action="/tenants/store-1/delete"][data-confirm-name="store-1"] input[name="confirm"]`,
		`[data-testid="clone-form"] [data-testid="inline-error"]`,
		`[data-testid="delete-form"] [data-testid="inline-error"]`,
	} {
		if count(doc, sel) != 1 {
			t.Errorf("admin, ready: no %s", sel)
		}
	}
	assertPostFormsHaveCSRF(t, doc)

	doc = render(t, tenantPage(viewer("store-1", "tenants"), ready, TenantHistory{}))
	if count(doc, `[data-testid="export-link"]`) != 1 || count(doc, `[data-testid="clone-form"], [data-testid="delete-form"]`) != 0 {
		t.Error("viewer: wrong actions")
	}

	archived := TenantDetail{Tenant: TenantRow{Name: "store-1", Status: "archived", ArchivedAt: time.Now(), JobID: 7}}
	doc = render(t, tenantPage(admin("store-1", "tenants"), archived, TenantHistory{}))
	if count(doc, `form[action="/tenants/store-1/restore"] [data-testid="restore-button"]`) != 1 {
		t.Error("no restore button")
	}
	if count(doc, `[data-testid="export-link"], [data-testid="delete-form"]`) != 0 {
		t.Error("archived tenant offers ready actions")
	}
	if count(doc, `[data-testid="job-notice"] a[href="/jobs/7"]`) != 1 {
		t.Error("no link to the running job")
	}
	assertPostFormsHaveCSRF(t, doc)
}

func TestJobProgressPollsUntilFinished(t *testing.T) {
	running := JobRow{ID: 9, State: "running", Step: "Copying", Done: 2, Total: 5}
	doc := render(t, JobProgress(running))
	d := doc.Find(`#job-progress[data-testid="job-progress"]`)
	if v, _ := d.Attr("hx-get"); v != "/jobs/9/progress" {
		t.Errorf("hx-get %q", v)
	}
	if v, _ := d.Attr("hx-trigger"); v != "every 500ms" {
		t.Errorf("hx-trigger %q", v)
	}
	if v, _ := doc.Find("progress").Attr("value"); v != "40" {
		t.Errorf("progress %q", v)
	}

	done := JobRow{ID: 9, State: "succeeded", Link: "/tenants/store-1"}
	doc = render(t, JobProgress(done))
	if _, ok := doc.Find("#job-progress").Attr("hx-get"); ok {
		t.Error("finished job still polls")
	}
	if v, _ := doc.Find(`[data-testid="job-link"]`).Attr("href"); v != "/tenants/store-1" {
		t.Errorf("job link %q", v)
	}
	if got := doc.Find(`[data-testid="job-state"]`).Text(); got != "succeeded" {
		t.Errorf("job state %q", got)
	}

	failed := JobRow{ID: 9, State: "failed", Error: "boom"}
	doc = render(t, JobProgress(failed))
	if got := strings.TrimSpace(doc.Find(`[data-testid="job-error"]`).Text()); got != "boom" {
		t.Errorf("job error %q", got)
	}

	doc = render(t, JobPage(admin("", "jobs"), JobRow{ID: 3, Label: "Create store-3", State: "queued"}))
	if got := doc.Find("title").Text(); got != "Create store-3 · Tenantry" {
		t.Errorf("job page title %q", got)
	}
}

func TestLoginAndErrorPages(t *testing.T) {
	doc := render(t, LoginPage(Login{CSRF: "c", Next: "/tenants", Error: "Wrong e-mail or password."}))
	for _, sel := range []string{
		`form[method="post"][action="/login"] input[type="email"][name="email"]`,
		`input[type="password"][name="password"]`,
		`input[type="hidden"][name="csrf"][value="c"]`,
		`input[type="hidden"][name="next"][value="/tenants"]`,
		`button[data-testid="login-submit"]`,
		`[data-testid="login-error"]`,
	} {
		if count(doc, sel) != 1 {
			t.Errorf("login: no %s", sel)
		}
	}
	if count(doc, ".sidebar") != 0 {
		t.Error("login page has a sidebar")
	}

	ev := ErrorView{Status: 404, Title: "Not found", Message: "No such tenant."}
	doc = render(t, ErrorPage(layouts.Page{}, ev))
	if count(doc, ".sidebar") != 0 || !strings.Contains(doc.Text(), "No such tenant.") || count(doc, `a[href="/"]`) == 0 {
		t.Error("anonymous error page")
	}
	doc = render(t, ErrorPage(admin("", ""), ev))
	if count(doc, ".sidebar") != 1 || doc.Find(`[data-testid="page-title"]`).Text() != "Not found" {
		t.Error("logged-in error page")
	}
}

func TestAuditAndOverview(t *testing.T) {
	doc := render(t, AuditPage(admin("Audit", "audit"), Audit{Entries: []AuditRow{
		{Actor: "a@example.com", Action: "tenant.create", Tenant: "store-1", Outcome: "ok"},
		{Actor: "a@example.com", Action: "tenant.delete", Tenant: "store-2", Outcome: "error", Error: "nope"},
	}}))
	if count(doc, `[data-testid="audit-row"]`) != 2 || count(doc, `[data-testid="audit-row"] a[href="/tenants/store-1"]`) != 1 {
		t.Error("audit rows")
	}
	doc = render(t, overviewPage(admin("Overview", "overview"), Overview{}))
	if count(doc, `[data-testid="no-tenants"]`) != 1 || !strings.Contains(doc.Text(), "tenantry demo") {
		t.Error("overview empty state")
	}
	doc = render(t, overviewPage(admin("Overview", "overview"), Overview{TotalTenants: 1200, RecentJobs: []JobRow{{ID: 4, Label: "Create x", State: "running"}}}))
	if doc.Find(`[data-testid="total-tenants"]`).Text() != "1,200" || count(doc, `a[href="/jobs/4"]`) != 1 {
		t.Error("overview tiles or jobs")
	}
}
