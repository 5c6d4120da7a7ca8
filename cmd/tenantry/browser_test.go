package main

// Browser tests: a real Chromium, driven by chromedp, against the real
// "tenantry serve". They assert what a person at the console would notice.
//
// Chromium is looked up on $PATH; without it the tests skip, unless $CI is
// set, where a missing browser fails them. Set TENANTRY_SCREENSHOTS to a
// directory to get full-page PNGs of the key steps.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	browserTimeout = 90 * time.Second // the whole test, browser included
	stepTimeout    = 30 * time.Second // one step, so that a hang names its step
	adminEmail     = "admin@example.com"
	viewerEmail    = "v@example.com"
	testPassword   = "correct-horse-battery"
)

// chromiumPath finds a Chromium-family browser, skipping the test when
// there is none, except on CI, which must not silently skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on $PATH")
	}
	t.Fatal("CI is set but no chromium, chromium-browser or google-chrome is on $PATH")
	return ""
}

// newBrowser starts a headless Chromium with a profile of its own, bounded
// by browserTimeout, and closes it when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	tctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	// The first call starts the browser; it must be on ctx itself, not on
	// a step's shorter context, which would stop the browser with the step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs the actions of one step of a journey and fails the test with
// the step's name, the page's URL and its text if they do not succeed.
func step(ctx context.Context, t *testing.T, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(ctx, t, name, chromedp.Steps(actions...))
}

// get runs one action that returns a value, as step does.
func get[T any](ctx context.Context, t *testing.T, name string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, pageState(ctx))
	}
	return v
}

// pageState describes where the browser is, for failure messages.
func pageState(ctx context.Context) string {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(dctx, chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(page state unavailable: %v)", err)
	}
	body, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
	return fmt.Sprintf("page %s:\n%s", loc, body)
}

// tid selects the element with this data-testid.
func tid(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }

// path returns the path of the page's URL.
func path(ctx context.Context, t *testing.T) string {
	t.Helper()
	loc := get(ctx, t, "read location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u.Path
}

// text waits for an element and returns its trimmed textContent (not
// innerText, which would follow CSS text-transform).
func text(ctx context.Context, t *testing.T, sel chromedp.CSS) string {
	t.Helper()
	step(ctx, t, "wait for "+string(sel), chromedp.WaitVisible(sel))
	return strings.TrimSpace(get(ctx, t, "read text of "+string(sel), chromedp.TextContent(sel)))
}

// attr returns an attribute of the element, "" if it has none.
func attr(ctx context.Context, t *testing.T, sel chromedp.CSS, name string) string {
	t.Helper()
	return get(ctx, t, "read "+name+" of "+string(sel), chromedp.AttributeValue(sel, name)).Value
}

// exists reports whether the page has an element matching sel now.
func exists(ctx context.Context, t *testing.T, sel chromedp.CSS) bool {
	t.Helper()
	js := fmt.Sprintf(`document.querySelector(%q) !== null`, string(sel))
	return get(ctx, t, "look for "+string(sel), chromedp.Evaluate[bool](js))
}

// shot saves a full-page screenshot as <name>.png when TENANTRY_SCREENSHOTS
// names a directory.
func shot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("TENANTRY_SCREENSHOTS")
	if dir == "" {
		return
	}
	// Quality 100 makes a PNG; anything lower makes a JPEG.
	png := get(ctx, t, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// submitLogin fills in the login form on the page and submits it.
func submitLogin(ctx context.Context, t *testing.T, email, password string) {
	t.Helper()
	step(ctx, t, "fill in the login form as "+email,
		chromedp.WaitVisible(tid("login-form")),
		chromedp.SendKeys(chromedp.CSS(`#login-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), password),
		chromedp.Click(tid("login-submit")),
	)
}

// login logs in through the form and waits for the console's sidebar.
func login(ctx context.Context, t *testing.T, baseURL, email, password string) {
	t.Helper()
	step(ctx, t, "open the login page", chromedp.Navigate(baseURL+"/login"))
	submitLogin(ctx, t, email, password)
	if got := text(ctx, t, tid("user-email")); got != email {
		t.Fatalf("logged in as %s, the sidebar shows %q", email, got)
	}
}

var jobPath = regexp.MustCompile(`^/jobs/[0-9]+$`)

// waitJob waits on a job's page until its progress stops polling, and
// requires that the job succeeded.
func waitJob(ctx context.Context, t *testing.T, what string) {
	t.Helper()
	finished := tid("job-progress") + `:not([hx-get])` // the final copy stops polling
	step(ctx, t, what+": wait for the job to finish", chromedp.WaitVisible(finished))
	if p := path(ctx, t); !jobPath.MatchString(p) {
		t.Fatalf("%s: job progress shown at %s, want /jobs/{id}", what, p)
	}
	if state := attr(ctx, t, finished, "data-state"); state != "succeeded" {
		msg := ""
		if exists(ctx, t, tid("job-error")) {
			msg = text(ctx, t, tid("job-error"))
		}
		t.Fatalf("%s: the job ended %q: %s", what, state, msg)
	}
	step(ctx, t, what+": the job shows its success",
		chromedp.WaitVisible(tid("job-progress")+`[data-state=succeeded]`),
		chromedp.WaitVisible(tid("job-link")),
	)
	if got := text(ctx, t, tid("job-state")); got != "succeeded" {
		t.Fatalf("%s: the job-state badge says %q", what, got)
	}
	if got := text(ctx, t, tid("job-finished")); got == "—" || got == "" {
		t.Fatalf("%s: the details card shows no finish time (%q)", what, got)
	}
}

// followJob clicks the finished job's link and waits for the tenant's page.
func followJob(ctx context.Context, t *testing.T, tenant string) {
	t.Helper()
	step(ctx, t, "follow the job link to "+tenant,
		chromedp.Click(tid("job-link")),
		chromedp.WaitVisible(tid("tenant-details")),
	)
	if p := path(ctx, t); p != "/tenants/"+tenant {
		t.Fatalf("the job link went to %s, want /tenants/%s", p, tenant)
	}
}

// visitTenant navigates to a tenant's page.
func visitTenant(ctx context.Context, t *testing.T, baseURL, name string) {
	t.Helper()
	step(ctx, t, "open tenant "+name,
		chromedp.Navigate(baseURL+"/tenants/"+name),
		chromedp.WaitVisible(tid("tenant-details")),
	)
}

// tenantStatus is the status that the tenant's page shows in its details.
func tenantStatus(ctx context.Context, t *testing.T) string {
	t.Helper()
	return text(ctx, t, tid("tenant-details")+" "+tid("status"))
}

// row selects the tenants list's row for a tenant.
func row(name string) chromedp.CSS { return tid("tenant-row") + chromedp.CSS(`[data-name="`+name+`"]`) }

func TestBrowserRefusedWithoutLogin(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	srv := c.serve()

	for _, p := range []string{"/", "/tenants", "/tenants/x", "/jobs", "/audit"} {
		step(ctx, t, "visit "+p+" logged out",
			chromedp.Navigate(srv.URL+p),
			chromedp.WaitVisible(tid("login-form")),
		)
		loc := get(ctx, t, "read location", chromedp.Location())
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != "/login" || u.Query().Get("next") != p {
			t.Errorf("visiting %s logged out ends on %s, want /login?next=%s", p, loc, url.QueryEscape(p))
		}
		if exists(ctx, t, tid("user-email")) || exists(ctx, t, tid("logout")) {
			t.Errorf("visiting %s logged out shows a logged-in sidebar", p)
		}
	}
	shot(ctx, t, "refused-01-login")

	// On /login?next=/audit, a wrong password keeps the user on the form.
	submitLogin(ctx, t, adminEmail, "not-the-password")
	if msg := text(ctx, t, tid("login-error")); msg == "" {
		t.Error("the login error is empty")
	}
	if p := path(ctx, t); p != "/login" {
		t.Errorf("after a wrong password the browser is on %s, want /login", p)
	}
	if exists(ctx, t, tid("user-email")) {
		t.Error("a wrong password logged in")
	}
	if got := get(ctx, t, "read the e-mail field", chromedp.Value(chromedp.CSS(`#login-email`))); got != adminEmail {
		t.Errorf("after a wrong password the e-mail field holds %q, want %q", got, adminEmail)
	}
	shot(ctx, t, "refused-02-wrong-password")

	// The right password then goes where the user was headed.
	step(ctx, t, "retry with the right password",
		chromedp.SendKeys(chromedp.CSS(`#login-password`), testPassword),
		chromedp.Click(tid("login-submit")),
		chromedp.WaitVisible(tid("user-email")),
	)
	if p := path(ctx, t); p != "/audit" {
		t.Errorf("after logging in from /login?next=/audit the browser is on %s", p)
	}

	// /healthz needs no login.
	step(ctx, t, "log out", chromedp.Click(tid("logout")), chromedp.WaitVisible(tid("login-form")))
	step(ctx, t, "visit /healthz logged out", chromedp.Navigate(srv.URL+"/healthz"))
	if p := path(ctx, t); p != "/healthz" {
		t.Errorf("/healthz logged out ends on %s", p)
	}
	if body := strings.TrimSpace(get(ctx, t, "read /healthz", chromedp.TextContent(chromedp.CSS("body")))); body != "ok" {
		t.Errorf("/healthz says %q, want ok", body)
	}
}

func TestBrowserTenantLifecycle(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	base := c.serve().URL

	// Log in through the form and land on the overview.
	step(ctx, t, "open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("login-form")))
	shot(ctx, t, "lifecycle-01-login")
	submitLogin(ctx, t, adminEmail, testPassword)
	step(ctx, t, "land on the overview", chromedp.WaitVisible(tid("user-email")))
	if p := path(ctx, t); p != "/" {
		t.Fatalf("after logging in the browser is on %s, want /", p)
	}
	if got := text(ctx, t, tid("page-title")); got != "Overview" {
		t.Errorf("after logging in the page title is %q, want Overview", got)
	}
	if got := text(ctx, t, tid("user-role")); got != "admin" {
		t.Errorf("the sidebar shows the role %q, want admin", got)
	}
	shot(ctx, t, "lifecycle-02-overview")

	// Tenants: create store-1 and watch its job.
	step(ctx, t, "go to Tenants", chromedp.Click(tid("nav-tenants")), chromedp.WaitVisible(tid("create-form")))
	if p := path(ctx, t); p != "/tenants" {
		t.Fatalf("nav-tenants went to %s", p)
	}
	if got := strings.Join(strings.Fields(text(ctx, t, tid("tenant-count"))), " "); got != "0 tenants" {
		t.Errorf("the empty registry counts %q", got)
	}
	shot(ctx, t, "lifecycle-03-tenants-empty")
	nameInput := tid("create-form") + ` input[name="name"]`
	step(ctx, t, "create store-1",
		chromedp.SendKeys(nameInput, "store-1"),
		chromedp.Click(tid("create-button")),
	)
	waitJob(ctx, t, "create store-1")
	if got := text(ctx, t, tid("page-title")); !strings.Contains(got, "store-1") {
		t.Errorf("the job page's title %q does not name store-1", got)
	}
	shot(ctx, t, "lifecycle-04-job-create")
	followJob(ctx, t, "store-1")
	if got := tenantStatus(ctx, t); got != "ready" {
		t.Fatalf("the new tenant store-1 is %q, want ready", got)
	}
	shot(ctx, t, "lifecycle-05-tenant")

	// An invalid name is refused in place.
	step(ctx, t, "create Bad_Name",
		chromedp.Click(tid("nav-tenants")),
		chromedp.WaitVisible(tid("create-form")),
		chromedp.SendKeys(nameInput, "Bad_Name"),
		chromedp.Click(tid("create-button")),
	)
	if msg := text(ctx, t, tid("inline-error")); !strings.Contains(msg, "invalid") || !strings.Contains(msg, "Bad_Name") {
		t.Errorf("the inline error %q does not say that Bad_Name is invalid", msg)
	}
	if p := path(ctx, t); p != "/tenants" {
		t.Errorf("after an invalid name the browser is on %s, want /tenants", p)
	}
	if exists(ctx, t, row("Bad_Name")) || exists(ctx, t, row("bad_name")) {
		t.Error("the tenants list shows a row for Bad_Name")
	}
	if got := attr(ctx, t, row("store-1"), "data-status"); got != "ready" {
		t.Errorf("next to the error, store-1's row says %q, want ready", got)
	}
	if got := get(ctx, t, "read the create form's name", chromedp.Value(nameInput)); got != "Bad_Name" {
		t.Errorf("after the error the create form holds %q, want the typed Bad_Name", got)
	}
	shot(ctx, t, "lifecycle-06-tenants-invalid-name")

	// Branch store-1 as store-1-copy.
	visitTenant(ctx, t, base, "store-1")
	step(ctx, t, "branch store-1",
		chromedp.SendKeys(tid("clone-form")+` input[name="name"]`, "store-1-copy"),
		chromedp.Click(tid("clone-button")),
	)
	waitJob(ctx, t, "branch store-1 as store-1-copy")
	step(ctx, t, "the tenants list shows the branch",
		chromedp.Navigate(base+"/tenants"),
		chromedp.WaitVisible(row("store-1-copy")),
	)
	if got := attr(ctx, t, row("store-1-copy"), "data-status"); got != "ready" {
		t.Errorf("store-1-copy's row says %q, want ready", got)
	}
	if got := strings.Join(strings.Fields(text(ctx, t, tid("tenant-count"))), " "); got != "2 tenants" {
		t.Errorf("the tenant count is %q, want 2 tenants", got)
	}
	shot(ctx, t, "lifecycle-07-tenants-list")
	for _, w := range []int64{1366, 800} {
		step(ctx, t, fmt.Sprintf("view the tenants list %d px wide", w), chromedp.EmulateViewport(w, 900), chromedp.WaitVisible(row("store-1")))
		shot(ctx, t, fmt.Sprintf("lifecycle-07-tenants-list-%d", w))
	}
	step(ctx, t, "restore the window", chromedp.EmulateViewport(1280, 900))

	// The row's actions: SQL opens the console on that tenant, Branch
	// reaches the tenant's branch form.
	step(ctx, t, "open store-1 in the SQL console from its row",
		chromedp.Click(row("store-1")+` [data-testid="row-sql"]`),
		chromedp.WaitVisible(chromedp.CSS(`#sql-tenant`)),
	)
	if got := get(ctx, t, "the console's tenant", chromedp.Value(chromedp.CSS(`#sql-tenant`))); path(ctx, t) != "/sql" || got != "store-1" {
		t.Errorf("the row's SQL action opened %s with tenant %q, want /sql with store-1", path(ctx, t), got)
	}
	step(ctx, t, "branch store-1 from its row",
		chromedp.Navigate(base+"/tenants"),
		chromedp.Click(row("store-1")+` [data-testid="row-branch"]`),
		chromedp.WaitVisible(chromedp.CSS(`#branch`)+tid("clone-form")),
	)
	if p := path(ctx, t); p != "/tenants/store-1" {
		t.Errorf("the row's Branch action opened %s, want /tenants/store-1", p)
	}
	step(ctx, t, "back to the tenants list", chromedp.Navigate(base+"/tenants"), chromedp.WaitVisible(row("store-1-copy")))

	// Delete the branch: the button waits for its name.
	visitTenant(ctx, t, base, "store-1-copy")
	if got := text(ctx, t, tid("parent")); got != "store-1" {
		t.Errorf("store-1-copy says it is a branch of %q, want store-1", got)
	}
	confirm := tid("delete-form") + ` input[name="confirm"]`
	disabled := func(when string) bool {
		t.Helper()
		return get(ctx, t, "read whether delete-button is disabled "+when,
			chromedp.JavascriptAttribute[bool](tid("delete-button"), "disabled"))
	}
	step(ctx, t, "wait for app.js to bind the delete form", chromedp.WaitVisible(tid("delete-form")+`[data-confirm-bound]`))
	if !disabled("before typing") {
		t.Error("delete-button is enabled before the name is typed")
	}
	step(ctx, t, "type part of the name", chromedp.SendKeys(confirm, "store-1-cop"))
	if !disabled("with part of the name") {
		t.Error("delete-button is enabled with only part of the name typed")
	}
	step(ctx, t, "finish the name", chromedp.SendKeys(confirm, "y"))
	if disabled("after typing the name") {
		t.Fatal("delete-button is still disabled after typing the name")
	}
	step(ctx, t, "delete store-1-copy", chromedp.Click(tid("delete-button")))
	waitJob(ctx, t, "delete store-1-copy")
	shot(ctx, t, "lifecycle-08-job-delete")
	followJob(ctx, t, "store-1-copy")
	if got := tenantStatus(ctx, t); got != "archived" {
		t.Fatalf("the deleted store-1-copy is %q, want archived", got)
	}
	step(ctx, t, "the archived tenant offers a restore", chromedp.WaitVisible(tid("restore-button")))
	if exists(ctx, t, tid("delete-form")) || exists(ctx, t, tid("clone-form")) || exists(ctx, t, tid("export-link")) {
		t.Error("the archived tenant still offers delete, branch or export")
	}
	shot(ctx, t, "lifecycle-09-tenant-archived")

	// Restore it.
	step(ctx, t, "restore store-1-copy", chromedp.Click(tid("restore-button")))
	waitJob(ctx, t, "restore store-1-copy")
	followJob(ctx, t, "store-1-copy")
	if got := tenantStatus(ctx, t); got != "ready" {
		t.Fatalf("the restored store-1-copy is %q, want ready", got)
	}
	shot(ctx, t, "lifecycle-10-tenant-restored")

	// Export store-1 from its page, with the browser's session.
	visitTenant(ctx, t, base, "store-1")
	if href := attr(ctx, t, tid("export-link"), "href"); href != "/tenants/store-1/export" {
		t.Errorf("export-link's href is %q, want /tenants/store-1/export", href)
	}
	ex := fetchExport(ctx, t)
	if ex.Status != 200 || ex.Type != "application/vnd.sqlite3" || !strings.HasPrefix(ex.Head, "SQLite format 3") {
		t.Errorf("export: status %d, Content-Type %q, first bytes %q; want 200, application/vnd.sqlite3, SQLite format 3",
			ex.Status, ex.Type, ex.Head)
	}
	t.Logf("export: %d bytes, %s, %s", ex.Size, ex.Type, ex.Disposition)
	if !strings.Contains(ex.Disposition, `filename="store-1.db"`) {
		t.Errorf("export: Content-Disposition %q does not name store-1.db", ex.Disposition)
	}

	// Log out: the console is closed again.
	step(ctx, t, "log out", chromedp.Click(tid("logout")), chromedp.WaitVisible(tid("login-form")))
	if p := path(ctx, t); p != "/login" {
		t.Errorf("after logging out the browser is on %s, want /login", p)
	}
	step(ctx, t, "visit / after logging out", chromedp.Navigate(base+"/"), chromedp.WaitVisible(tid("login-form")))
	if p := path(ctx, t); p != "/login" {
		t.Errorf("after logging out / ends on %s, want /login", p)
	}
}

// exportResult is what fetching the export link from the page gave.
type exportResult struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Head        string `json:"head"` // the first 16 bytes
	Size        int    `json:"size"`
}

// fetchExport fetches the page's export link with the page's cookies, as
// following it would, without a download dialog.
func fetchExport(ctx context.Context, t *testing.T) exportResult {
	t.Helper()
	const js = `(async () => {
		const a = document.querySelector('[data-testid="export-link"]');
		const r = await fetch(a.href, {credentials: "same-origin"});
		const b = new Uint8Array(await r.arrayBuffer());
		return {
			status: r.status,
			type: r.headers.get("content-type") || "",
			disposition: r.headers.get("content-disposition") || "",
			head: String.fromCharCode(...b.slice(0, 16)),
			size: b.length,
		};
	})()`
	return get(ctx, t, "fetch the export", chromedp.Evaluate[exportResult](js, chromedp.EvalAwaitPromise))
}

func TestBrowserViewerSeesNoLifecycleActions(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", viewerEmail, "--role", "viewer")
	c.ok("tenants", "create", "store-1")
	srv := c.serve()

	login(ctx, t, srv.URL, viewerEmail, testPassword)
	if got := text(ctx, t, tid("user-role")); got != "viewer" {
		t.Errorf("the sidebar shows the role %q, want viewer", got)
	}

	step(ctx, t, "go to Tenants", chromedp.Click(tid("nav-tenants")), chromedp.WaitVisible(row("store-1")))
	if exists(ctx, t, tid("create-form")) || exists(ctx, t, tid("create-button")) {
		t.Error("a viewer sees the create form")
	}
	shot(ctx, t, "viewer-01-tenants")

	step(ctx, t, "open store-1 from the list",
		chromedp.Click(row("store-1")+` a.name-link`),
		chromedp.WaitVisible(tid("tenant-details")),
	)
	if got := tenantStatus(ctx, t); got != "ready" {
		t.Errorf("store-1 is %q, want ready", got)
	}
	for _, id := range []string{"clone-form", "clone-button", "delete-form", "delete-button", "restore-form"} {
		if exists(ctx, t, tid(id)) {
			t.Errorf("a viewer sees the %s", id)
		}
	}
	if href := attr(ctx, t, tid("export-link"), "href"); href != "/tenants/store-1/export" {
		t.Errorf("a viewer's export-link is %q, want /tenants/store-1/export", href)
	}
	shot(ctx, t, "viewer-02-tenant")
}

// TestBrowserCollectNow: an admin starts a collection from the
// Collections page, watches it finish, and reads its per-tenant results;
// a bad backfill range gets an inline error.
func TestBrowserCollectNow(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	c.ok("tenants", "create", "store-1")
	c.ok("tenants", "create", "store-2")
	srv := c.serve("--collect-every", "0")

	login(ctx, t, srv.URL, adminEmail, testPassword)
	step(ctx, t, "go to Collections", chromedp.Click(tid("nav-collections")), chromedp.WaitVisible(tid("collect-now")))
	if exists(ctx, t, tid("run-row")) {
		t.Fatal("a fresh console lists collection runs")
	}
	step(ctx, t, "collect now",
		chromedp.Click(tid("collect-now")),
		chromedp.WaitVisible(tid("run-progress")+`[data-state="succeeded"]`),
		chromedp.WaitVisible(tid("result-row")),
	)
	if p := path(ctx, t); !strings.HasPrefix(p, "/collections/") {
		t.Fatalf("collect now landed on %s", p)
	}
	if got := text(ctx, t, tid("run-ok")); !strings.Contains(got, "2") {
		t.Errorf("collected counter says %q, want 2", got)
	}
	if !exists(ctx, t, tid("no-failures")) {
		t.Error("a clean run does not say that no tenant failed")
	}
	shot(ctx, t, "collect-01-run")

	step(ctx, t, "back to the list", chromedp.Click(tid("nav-collections")), chromedp.WaitVisible(tid("run-row")))
	if got := attr(ctx, t, tid("run-row"), "data-state"); got != "succeeded" {
		t.Errorf("the run is listed as %q", got)
	}
	step(ctx, t, "a backfill that ends before it starts",
		chromedp.SetValue(`[data-testid="backfill-form"] input[name="from"]`, "2026-11-10"),
		chromedp.SetValue(`[data-testid="backfill-form"] input[name="to"]`, "2026-11-01"),
		chromedp.Click(tid("backfill-button")),
		chromedp.WaitVisible(tid("inline-error")),
	)
	if got := text(ctx, t, tid("inline-error")); !strings.Contains(got, "before it starts") {
		t.Errorf("backfill error = %q", got)
	}
	shot(ctx, t, "collect-02-list")
}

// TestBrowserForgetMissingTenant: a tenant whose database vanished is
// shown as missing with a way to forget it (confirmed by its name), not a
// delete that would archive nothing or a restore that can only fail.
func TestBrowserForgetMissingTenant(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	c.ok("tenants", "create", "store-1")
	c.ok("tenants", "create", "store-2")
	if err := os.Remove(filepath.Join(c.data, "tenants", "store-1.db")); err != nil {
		t.Fatal(err)
	}
	base := c.serve().URL // its first scan marks store-1 missing
	login(ctx, t, base, adminEmail, testPassword)
	visitTenant(ctx, t, base, "store-1")
	if got := tenantStatus(ctx, t); got != "missing" {
		t.Fatalf("store-1 is %q, want missing", got)
	}
	if exists(ctx, t, tid("delete-form")) || exists(ctx, t, tid("restore-button")) {
		t.Error("the missing tenant offers a delete or a restore")
	}
	step(ctx, t, "wait for app.js to bind the forget form", chromedp.WaitVisible(tid("forget-form")+`[data-confirm-bound]`))
	if !get(ctx, t, "read whether forget-button is disabled", chromedp.JavascriptAttribute[bool](tid("forget-button"), "disabled")) {
		t.Error("forget-button is enabled before the name is typed")
	}
	shot(ctx, t, "forget-01-missing-tenant")
	step(ctx, t, "forget store-1",
		chromedp.SendKeys(tid("forget-form")+` input[name="confirm"]`, "store-1"),
		chromedp.Click(tid("forget-button")),
	)
	waitJob(ctx, t, "forget store-1")
	step(ctx, t, "the tenants list no longer has store-1",
		chromedp.Navigate(base+"/tenants"),
		chromedp.WaitVisible(row("store-2")),
	)
	if exists(ctx, t, row("store-1")) {
		t.Error("store-1 is still listed after it was forgotten")
	}
}
