package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSqldTenant: on a real sqld, an admin creates a tenant, opens
// its page and reads what sqld counted of it in the Usage card, sees
// before trying why a branch cannot be made at a point in time, and
// branches it without one.
func TestBrowserSqldTenant(t *testing.T) {
	ctx := newBrowser(t)
	c, _ := sqldCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	base := c.serve("--collect-every", "0").URL

	login(ctx, t, base, adminEmail, testPassword)
	step(ctx, t, "go to Tenants", chromedp.Click(tid("nav-tenants")), chromedp.WaitVisible(tid("create-form")))
	step(ctx, t, "create store-1",
		chromedp.SendKeys(tid("create-form")+` input[name="name"]`, "store-1"),
		chromedp.Click(tid("create-button")),
	)
	waitJob(ctx, t, "create store-1")
	// The shop's application writes, as it would between two visits.
	c.ok("sql", "store-1", "INSERT INTO orders(total_amount, created_at) VALUES (1000, '2026-11-20 10:00:00'), (2500, '2026-11-20 11:00:00')", "--write", "--yes")
	followJob(ctx, t, "store-1")
	if got := text(ctx, t, tid("platform")); got != "sqld" {
		t.Errorf("the details say the platform is %q, want sqld", got)
	}

	// The Usage card loads after the page, with sqld's numbers.
	step(ctx, t, "wait for the Usage card", chromedp.WaitVisible(tid("usage-totals")))
	written, err := strconv.ParseInt(strings.ReplaceAll(text(ctx, t, tid("usage-rows-written")), ",", ""), 10, 64)
	if err != nil || written < 2 {
		t.Errorf("the Usage card shows %d rows written (%v), want the orders at least", written, err)
	}
	if got := text(ctx, t, tid("usage-storage")); !strings.HasSuffix(got, "B") {
		t.Errorf("storage shows %q", got)
	}
	if got := text(ctx, t, tid("usage-period")); !strings.HasPrefix(got, "Since the database was made") {
		t.Errorf("the usage period says %q", got)
	}
	if !exists(ctx, t, tid("top-query")) {
		t.Error("the Usage card lists no statement")
	}
	top := get(ctx, t, "read the top queries", chromedp.Evaluate[string](
		`[...document.querySelectorAll('[data-testid="top-query-sql"]')].map(e => e.title || e.textContent).join("\n")`))
	if !strings.Contains(top, "INSERT INTO orders") {
		t.Errorf("the heaviest statements lack the application's INSERT:\n%s", top)
	}

	// As of: a branch at a time comes from the fleet's snapshots.
	if get(ctx, t, "read whether As of is disabled", chromedp.JavascriptAttribute[bool](tid("clone-at"), "disabled")) {
		t.Error("As of is disabled on sqld with snapshots on")
	}
	if got := text(ctx, t, tid("clone-at-hint")); !strings.Contains(got, "newest snapshot") {
		t.Errorf("the As of hint says %q, not that the branch comes from a snapshot", got)
	}
	if got := text(ctx, t, tid("delete-consequence")); !strings.Contains(got, "archived") {
		t.Errorf("the danger zone says %q; sqld here archives", got)
	}
	shot(ctx, t, "sqld-01-tenant")

	// Branch without a time.
	step(ctx, t, "branch store-1",
		chromedp.SendKeys(tid("clone-form")+` input[name="name"]`, "store-1-copy"),
		chromedp.Click(tid("clone-button")),
	)
	waitJob(ctx, t, "branch store-1 as store-1-copy")
	followJob(ctx, t, "store-1-copy")
	if got := text(ctx, t, tid("parent")); got != "store-1" {
		t.Errorf("store-1-copy says it is a branch of %q, want store-1", got)
	}
	if got := tenantStatus(ctx, t); got != "ready" {
		t.Errorf("the branch is %q, want ready", got)
	}
	step(ctx, t, "wait for the branch's Usage card", chromedp.WaitVisible(tid("usage-totals")))
	shot(ctx, t, "sqld-02-branch")
	step(ctx, t, "the tenants list shows the branch",
		chromedp.Navigate(base+"/tenants"),
		chromedp.WaitVisible(row("store-1-copy")),
	)
	if got := attr(ctx, t, row("store-1-copy"), "data-status"); got != "ready" {
		t.Errorf("store-1-copy's row says %q, want ready", got)
	}
}
