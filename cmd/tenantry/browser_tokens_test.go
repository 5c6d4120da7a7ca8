package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserTokens: an admin opens API tokens, makes a token and sees its
// secret once; the token works on the API; back on the list only its
// prefix shows; the admin revokes it after confirming and the API refuses
// it. Then the API reference shows how to sign up a tenant.
func TestBrowserTokens(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.env["USER"] = "ops"
	c.ok("users", "add", adminEmail)
	c.ok("tenants", "create", "store-1")
	// Tokens made earlier from the shell, one of them already revoked.
	c.ok("tokens", "create", "nightly-report", "--role", "viewer", "--expires", "30d")
	c.ok("tokens", "create", "old-importer", "--role", "admin", "--expires", "never")
	c.ok("tokens", "revoke", "old-importer", "--yes")
	base := c.serve().URL

	login(ctx, t, base, adminEmail, testPassword)
	step(ctx, t, "go to API tokens", chromedp.Click(tid("nav-tokens")), chromedp.WaitVisible(tid("create-token-form")))
	if p := path(ctx, t); p != "/tokens" {
		t.Fatalf("nav-tokens went to %s", p)
	}
	shot(ctx, t, "tokens-01-list")

	step(ctx, t, "make a token",
		chromedp.SendKeys(chromedp.CSS(`#token-name`), "signup-service"),
		chromedp.SetValue(`#token-role`, "admin"),
		chromedp.Click(tid("create-token-button")),
		chromedp.WaitVisible(tid("token-secret")),
	)
	secret := text(ctx, t, tid("token-secret"))
	if !strings.HasPrefix(secret, "tnt_") {
		t.Fatalf("the secret shown is %q", secret)
	}
	if got := text(ctx, t, tid("token-warning")); !strings.Contains(got, "only time") {
		t.Errorf("the warning says %q", got)
	}
	if got := text(ctx, t, tid("token-curl")); !strings.Contains(got, "Bearer "+secret) || !strings.Contains(got, base+"/api/v1/tenants?wait=30s") {
		t.Errorf("the curl example: %q", got)
	}
	shot(ctx, t, "tokens-02-created")

	call := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := call(); got != http.StatusOK {
		t.Fatalf("the new token on the API: %d", got)
	}

	// Back on the list, the secret is gone for good.
	step(ctx, t, "back to the list", chromedp.Click(tid("nav-tokens")), chromedp.WaitVisible(tid("tokens-table")))
	if html := get(ctx, t, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, secret) {
		t.Fatal("the list shows the secret again")
	}
	mine := tid("token-row") + chromedp.CSS(`[data-name="signup-service"]`)
	if got := attr(ctx, t, mine, "data-status"); got != "live" {
		t.Errorf("the new token is %q", got)
	}
	if got := text(ctx, t, mine+" "+tid("token-prefix")); !strings.HasPrefix(secret, strings.TrimSuffix(got, "…")) {
		t.Errorf("prefix %q of %q", got, secret)
	}
	shot(ctx, t, "tokens-03-list-after-create")

	step(ctx, t, "revoke", chromedp.Click(mine+" "+tid("revoke-button")), chromedp.WaitVisible(tid("confirm-panel")))
	if got := text(ctx, t, tid("confirm-panel")); !strings.Contains(got, "Revoke token signup-service?") {
		t.Errorf("the confirmation asks %q", got)
	}
	if got := call(); got != http.StatusOK {
		t.Fatalf("asking to confirm revoked the token: %d", got)
	}
	shot(ctx, t, "tokens-04-confirm-revoke")
	step(ctx, t, "confirm", chromedp.Click(tid("confirm-button")), chromedp.WaitVisible(tid("flash")))
	if got := text(ctx, t, tid("flash")); !strings.Contains(got, "Revoked token signup-service") {
		t.Errorf("flash after revoking: %q", got)
	}
	if got := attr(ctx, t, mine, "data-status"); got != "revoked" {
		t.Errorf("after revoking the token is %q", got)
	}
	if got := call(); got != http.StatusUnauthorized {
		t.Fatalf("the revoked token on the API: %d, want 401", got)
	}
	shot(ctx, t, "tokens-05-revoked")

	// The reference: createTenant, reached from its table of contents.
	step(ctx, t, "open the API reference", chromedp.Click(tid("nav-api")), chromedp.WaitVisible(tid("api-doc")))
	step(ctx, t, "jump to createTenant", chromedp.Click(chromedp.CSS(`a[href="#op-createTenant"]`)))
	if got := path(ctx, t); got != "/api" {
		t.Fatalf("the reference is at %s", got)
	}
	op := tid("api-operation") + chromedp.CSS(`[data-operation-id="createTenant"]`)
	if got := text(ctx, t, op+" h3"); !strings.Contains(got, "POST") || !strings.Contains(got, "/api/v1/tenants") {
		t.Errorf("createTenant's heading: %q", got)
	}
	if got := text(ctx, t, op+" "+tid("api-params")); !strings.Contains(got, "Idempotency-Key") {
		t.Errorf("createTenant's parameters: %q", got)
	}
	shot(ctx, t, "api-01-reference")
}
