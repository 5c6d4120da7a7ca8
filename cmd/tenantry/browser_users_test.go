package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserUsers: an admin adds a viewer on /users; the viewer logs in,
// sees no admin actions and is refused /users; the admin, in another
// browser, disables the viewer after confirming, and the viewer's session
// ends at once.
func TestBrowserUsers(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	c.ok("tenants", "create", "store-1")
	base := c.serve().URL

	// The admin adds a viewer.
	login(ctx, t, base, adminEmail, testPassword)
	step(ctx, t, "go to Users", chromedp.Click(tid("nav-users")), chromedp.WaitVisible(tid("add-user-form")))
	if p := path(ctx, t); p != "/users" {
		t.Fatalf("nav-users went to %s", p)
	}
	shot(ctx, t, "users-01-list")
	step(ctx, t, "add the viewer",
		chromedp.SendKeys(chromedp.CSS(`#add-email`), viewerEmail),
		chromedp.SetValue(chromedp.CSS(`#add-role`), "viewer"),
		chromedp.SendKeys(chromedp.CSS(`#add-password`), testPassword),
		chromedp.Click(tid("add-user-button")),
		chromedp.WaitVisible(tid("flash")),
	)
	viewerRow := tid("user-row") + chromedp.CSS(`[data-email="`+viewerEmail+`"]`)
	if got := attr(ctx, t, viewerRow, "data-role"); got != "viewer" {
		t.Fatalf("the added user's row says role %q", got)
	}
	if got := text(ctx, t, tid("flash")); !strings.Contains(got, "Added "+viewerEmail+" as a viewer") {
		t.Errorf("flash after adding: %q", got)
	}
	shot(ctx, t, "users-02-added")
	step(ctx, t, "log out", chromedp.Click(tid("logout")), chromedp.WaitVisible(tid("login-form")))

	// The viewer logs in: no admin actions, and /users is refused.
	login(ctx, t, base, viewerEmail, testPassword)
	if exists(ctx, t, tid("nav-users")) {
		t.Error("a viewer's sidebar links to Users")
	}
	step(ctx, t, "viewer opens Tenants", chromedp.Click(tid("nav-tenants")), chromedp.WaitVisible(tid("tenant-row")))
	if exists(ctx, t, tid("create-form")) {
		t.Error("a viewer sees the create form")
	}
	step(ctx, t, "viewer opens /users", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(tid("error")))
	if got := attr(ctx, t, tid("error"), "data-status"); got != "403" {
		t.Errorf("a viewer's /users answers %s, want 403", got)
	}
	if exists(ctx, t, tid("add-user-form")) || exists(ctx, t, tid("users-table")) {
		t.Error("a viewer sees user management")
	}
	shot(ctx, t, "users-03-viewer-refused")

	// Meanwhile the admin, in a browser of their own, disables the viewer.
	actx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(actx); err != nil {
		t.Fatal(err)
	}
	login(actx, t, base, adminEmail, testPassword)
	step(actx, t, "open the viewer's page",
		chromedp.Navigate(base+"/users"),
		chromedp.Click(viewerRow+` `+tid("user-link")),
		chromedp.WaitVisible(tid("user-details")),
	)
	if got := text(actx, t, tid("user-detail-sessions")); got != "1" {
		t.Errorf("the viewer's page counts %q live sessions, want 1", got)
	}
	step(actx, t, "disable", chromedp.Click(tid("disable-button")), chromedp.WaitVisible(tid("confirm-panel")))
	if got := text(actx, t, tid("confirm-panel")); !strings.Contains(got, "Disable "+viewerEmail+"?") {
		t.Errorf("the confirmation asks %q", got)
	}
	if got := text(actx, t, tid("user-detail-status")); got != "active" {
		t.Errorf("before confirming the viewer is %q", got)
	}
	shot(actx, t, "users-04-confirm-disable")
	step(actx, t, "confirm", chromedp.Click(tid("confirm-button")), chromedp.WaitVisible(tid("flash")))
	if got := text(actx, t, tid("flash")); !strings.Contains(got, "1 session ended") {
		t.Errorf("flash after disabling: %q", got)
	}
	if got := text(actx, t, tid("user-detail-status")); got != "disabled" {
		t.Errorf("after confirming the viewer is %q", got)
	}
	shot(actx, t, "users-05-disabled")

	// On their own page an admin is offered neither a demotion nor a
	// disable.
	step(actx, t, "open one's own page",
		chromedp.Navigate(base+"/users"),
		chromedp.Click(tid("user-row")+chromedp.CSS(`[data-email="`+adminEmail+`"] `)+tid("user-link")),
		chromedp.WaitVisible(tid("user-details")),
	)
	if exists(actx, t, tid("role-form")) || exists(actx, t, tid("disable-form")) || !exists(actx, t, tid("self-note")) {
		t.Error("an admin's own page offers to demote or disable them")
	}
	shot(actx, t, "users-06-self")

	// The viewer's next click lands on the login form, and they cannot
	// log back in.
	step(ctx, t, "viewer clicks on", chromedp.Navigate(base+"/tenants"), chromedp.WaitVisible(tid("login-form")))
	submitLogin(ctx, t, viewerEmail, testPassword)
	if got := text(ctx, t, tid("login-error")); !strings.Contains(got, "disabled") {
		t.Errorf("a disabled viewer's login says %q", got)
	}

	// The audit log tells the story.
	step(actx, t, "open the audit log", chromedp.Click(tid("nav-audit")), chromedp.WaitVisible(tid("audit-table")))
	for _, action := range []string{"user.add", "user.disable", "user.login"} {
		if !exists(actx, t, tid("audit-row")+chromedp.CSS(`[data-action="`+action+`"]`)) {
			t.Errorf("the audit log has no %s", action)
		}
	}
	shot(actx, t, "users-07-audit")

	// A date range that ends before it starts is refused in place.
	step(actx, t, "filter the audit log backwards",
		chromedp.SetValue(chromedp.CSS(`#audit-from`), "2026-11-12"),
		chromedp.SetValue(chromedp.CSS(`#audit-to`), "2026-11-10"),
		chromedp.Click(tid("audit-filter")+` button[type="submit"]`),
		chromedp.WaitVisible(tid("inline-error")),
	)
	if got := text(actx, t, tid("inline-error")); !strings.Contains(got, "wrong way round") {
		t.Errorf("a backwards range says %q", got)
	}
	if got := get(actx, t, "read the from field", chromedp.Value(chromedp.CSS(`#audit-from`))); got != "2026-11-12" {
		t.Errorf("after the refusal the from field holds %q", got)
	}
	shot(actx, t, "users-08-audit-backwards")
}
