package main

// The schema rollout journey: an admin reads the fleet's schema on
// Migrations, rehearses with a dry run, migrates a canary, rolls out to the
// rest with one drifted tenant failing, fixes it and retries; the tenant's
// page then tells its schema's story, and a viewer sees the status but no
// way to start a rollout.

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var rolloutPath = regexp.MustCompile(`^/migrations/runs/[0-9]+$`)

// waitRollout waits on a rollout's page until its progress stops polling
// (the final copy has no hx-get, and brings the results with it) and
// requires that it ended in want.
func waitRollout(ctx context.Context, t *testing.T, what string, want string) {
	t.Helper()
	finished := tid("rollout-progress") + `:not([hx-get])`
	step(ctx, t, what+": wait for the rollout to finish", chromedp.WaitVisible(finished))
	if p := path(ctx, t); !rolloutPath.MatchString(p) {
		t.Fatalf("%s: the rollout's progress is shown at %s, want /migrations/runs/{id}", what, p)
	}
	if state := attr(ctx, t, finished, "data-state"); state != want {
		msg := strings.Join(texts(ctx, t, tid("failed-row")), "; ")
		if exists(ctx, t, tid("rollout-error")) {
			msg = text(ctx, t, tid("rollout-error")) + "; " + msg
		}
		t.Fatalf("%s: the rollout ended %q, want %q: %s", what, state, want, msg)
	}
	if got := text(ctx, t, tid("page-state")); got != want {
		t.Errorf("%s: the badge by the title says %q, want %s", what, got, want)
	}
	if got := text(ctx, t, tid("rollout-finished")); strings.Contains(got, "not yet") {
		t.Errorf("%s: the details card's finish time says %q", what, got)
	}
}

// submit clicks a form's submit button and waits for the page it leads
// to, which must load fine: the page it leaves may look like the next one
// (a finished rollout's page, before a retry's).
func submit(ctx context.Context, t *testing.T, what string, button chromedp.CSS) {
	t.Helper()
	before := get(ctx, t, what+": read location", chromedp.Location())
	if status := load(ctx, t, what, chromedp.Click(button)); status != 200 {
		t.Fatalf("%s: HTTP %d\n%s", what, status, pageState(ctx))
	}
	if after := get(ctx, t, what+": read location", chromedp.Location()); after == before {
		t.Fatalf("%s: the browser stayed on %s\n%s", what, after, pageState(ctx))
	}
}

// rolloutCounts reads the finished rollout's counters.
func rolloutCounts(ctx context.Context, t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("migrated %s, failed %s, skipped %s, not visited %s, done %s",
		text(ctx, t, tid("rollout-migrated")), text(ctx, t, tid("rollout-failed")),
		text(ctx, t, tid("rollout-skipped")), text(ctx, t, tid("rollout-not-visited")), text(ctx, t, tid("rollout-done")))
}

// outcomes is each listed tenant's outcome in the results table.
func outcomes(ctx context.Context, t *testing.T) map[string]string {
	t.Helper()
	names := attrs(ctx, t, tid("result-row"), "data-tenant")
	outs := attrs(ctx, t, tid("result-row"), "data-outcome")
	m := map[string]string{}
	for i, n := range names {
		m[n] = outs[i]
	}
	return m
}

// gooseVersion is the schema version a tenant's own database records.
func gooseVersion(t *testing.T, c *cli, name string) int64 {
	t.Helper()
	db := openTenant(t, c, name)
	defer db.Close()
	var v int64
	if err := db.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		t.Fatalf("%s: goose version: %v", name, err)
	}
	return v
}

// execTenant runs a statement on a tenant's database behind the console's
// back, as a person with sqlite3 would.
func execTenant(t *testing.T, c *cli, name, stmt string) {
	t.Helper()
	db := openTenant(t, c, name)
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %s: %v", name, stmt, err)
	}
}

func TestBrowserMigrations(t *testing.T) {
	start := time.Now()
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	c.ok("users", "add", viewerEmail, "--role", "viewer")
	var stores []string
	for n := 1; n <= 6; n++ {
		stores = append(stores, fmt.Sprintf("store-%d", n))
		c.ok("tenants", "create", stores[n-1])
	}
	// store-4 drifted: someone added the column by hand, so the migration
	// that adds it fails there. It is not among the canary's first two.
	const drifted = "store-4"
	execTenant(t, c, drifted, `ALTER TABLE products ADD COLUMN sku TEXT`)
	c.env["TENANTRY_TENANT_MIGRATIONS"] = skuDir(t)
	base := c.serve("--collect-every", "0").URL

	login(ctx, t, base, adminEmail, testPassword)
	pendingFile := tid("pending") + " " + tid("migration-file")
	startButton := tid("rollout-start")
	confirm := tid("rollout-form") + " " + tid("confirm-input")
	isDisabled := func(t *testing.T, sel chromedp.CSS, when string) bool {
		t.Helper()
		return get(ctx, t, "read whether "+string(sel)+" is disabled "+when, chromedp.JavascriptAttribute[bool](sel, "disabled"))
	}
	var dryPath, fullPath, retryPath string // the rollouts' pages

	stage(t, "Migrations shows every tenant behind version 2", func(t *testing.T) {
		step(ctx, t, "go to Migrations", chromedp.Click(tid("nav-migrations")), chromedp.WaitVisible(tid("rollout-form")))
		if p := path(ctx, t); p != "/migrations" {
			t.Fatalf("nav-migrations went to %s, want /migrations", p)
		}
		if got := text(ctx, t, tid("page-title")); got != "Schema migrations" {
			t.Errorf("the page title is %q, want Schema migrations", got)
		}
		if got := strings.Fields(text(ctx, t, tid("latest"))); len(got) != 2 || got[0] != "v2" || got[1] != "00002_product_sku.sql" {
			t.Errorf("the latest version reads %q, want v2 00002_product_sku.sql", got)
		}
		for id, want := range map[string]string{"count-ready": "6", "count-latest": "0", "count-behind": "6", "count-failed": "0"} {
			if got := text(ctx, t, tid(id)); got != want {
				t.Errorf("%s says %q, want %s", id, got, want)
			}
		}
		if got := attrs(ctx, t, tid("behind-tenant"), "data-tenant"); !slices.Equal(got, stores) {
			t.Errorf("the tenants behind are %v, want %v", got, stores)
		}
		if got := attrs(ctx, t, tid("version-bar"), "data-version"); !slices.Equal(got, []string{"1", "2"}) {
			t.Errorf("the chart has bars for versions %v, want 1 and 2", got)
		}
		if got := attrs(ctx, t, tid("version-bar"), "data-tenants"); !slices.Equal(got, []string{"6", "0"}) {
			t.Errorf("the chart's bars count %v tenants, want 6 and 0", got)
		}
		if exists(ctx, t, tid("failed-tenants")) || exists(ctx, t, tid("active-rollout")) {
			t.Error("a fresh fleet shows failed tenants or a rollout in progress")
		}
		if !exists(ctx, t, tid("no-rollouts")) {
			t.Error("a fresh console does not say that there are no rollouts yet")
		}
		if got := attrs(ctx, t, pendingFile, "data-version"); !slices.Equal(got, []string{"2"}) {
			t.Fatalf("the pending files are versions %v, want only 2", got)
		}
		if got := text(ctx, t, pendingFile+" summary"); !strings.Contains(got, "00002_product_sku.sql") {
			t.Errorf("the pending file is %q, want 00002_product_sku.sql", got)
		}
		pendingSQL := pendingFile + " " + tid("migration-sql")
		if get(ctx, t, "is the pending SQL visible before opening it", chromedp.Evaluate[bool](
			fmt.Sprintf(`document.querySelector(%q).checkVisibility()`, string(pendingSQL)))) {
			t.Error("the pending file's SQL shows before its <details> is opened")
		}
		step(ctx, t, "open the pending file", chromedp.Click(pendingFile+" summary"), chromedp.WaitVisible(pendingSQL))
		if got := text(ctx, t, pendingSQL); !strings.Contains(got, "ADD COLUMN sku") || !strings.Contains(got, "-- +goose Down") {
			t.Errorf("the pending file's SQL reads %q", got)
		}
		shot(ctx, t, "migrations-01-status")
	})

	// A dry run needs no confirmation.
	stage(t, "a dry run, the form's default, migrates nothing", func(t *testing.T) {
		step(ctx, t, "wait for app.js to bind the rollout form", chromedp.WaitVisible(tid("rollout-form")+`[data-confirm-bound]`))
		if !get(ctx, t, "read whether the dry run is chosen", chromedp.JavascriptAttribute[bool](tid("mode-dry-run"), "checked")) {
			t.Error("the form does not choose a dry run by default")
		}
		if isDisabled(t, startButton, "for a dry run") {
			t.Fatal("Start is disabled for a dry run, which needs no confirmation")
		}
		submit(ctx, t, "start a dry run", startButton)
		waitRollout(ctx, t, "dry run", "succeeded")
		dryPath = path(ctx, t)
		if got := text(ctx, t, tid("page-title")); got != "Rollout #1" {
			t.Errorf("the dry run's page title is %q, want Rollout #1", got)
		}
		if got := rolloutCounts(ctx, t); got != "migrated 6, failed 0, skipped 0, not visited 0, done [6/6]" {
			t.Errorf("the dry run's counters: %s", got)
		}
		if got := text(ctx, t, tid("rollout-progress")+" dt"); got != "Would migrate" {
			t.Errorf("the dry run's first counter is labelled %q, want Would migrate", got)
		}
		if got := text(ctx, t, tid("detail-mode")); got != "Dry run" {
			t.Errorf("the dry run's mode reads %q", got)
		}
		if got := outcomes(ctx, t); len(got) != 6 || got["store-1"] != "pending" || got[drifted] != "pending" {
			t.Errorf("the dry run's results: %v, want 6 tenants that would migrate", got)
		}
		if got := texts(ctx, t, tid("result-row")+" "+tid("outcome")); len(got) == 0 || got[0] != "would migrate" {
			t.Errorf("the dry run's outcome badges read %v, want would migrate", got)
		}
		if !exists(ctx, t, tid("no-failures")) || exists(ctx, t, tid("retry-form")) {
			t.Error("a clean dry run does not say that no tenant failed, or offers a retry")
		}
		if !exists(ctx, t, tid("continue-form")) {
			t.Error("a clean dry run does not offer to continue with the full rollout")
		}
		for _, n := range stores {
			if v := gooseVersion(t, c, n); v != 1 {
				t.Fatalf("after the dry run %s's database is at version %d, want 1", n, v)
			}
		}
		shot(ctx, t, "migrations-02-dry-run")
	})

	// A canary of 2: it changes databases, so Start waits for the word.
	stage(t, "a canary of 2 waits for the confirm word, then migrates two", func(t *testing.T) {
		step(ctx, t, "back to Migrations", chromedp.Click(tid("nav-migrations")), chromedp.WaitVisible(tid("rollout-form")+`[data-confirm-bound]`))
		if got := attr(ctx, t, tid("rollout-row"), "data-mode"); got != "dry-run" {
			t.Errorf("the recent rollouts list a %q, want the dry run", got)
		}
		canaryN := chromedp.CSS(`#rollout-canary`)
		step(ctx, t, "choose a canary of 2",
			chromedp.Click(tid("mode-canary")),
			chromedp.WaitVisible(canaryN),
			emptyField(canaryN),
			chromedp.SendKeys(canaryN, "2"),
		)
		if !isDisabled(t, startButton, "for a canary before typing the word") {
			t.Error("Start is enabled for a canary before the confirm word is typed")
		}
		step(ctx, t, "type part of the word", chromedp.SendKeys(confirm, "migrat"))
		if !isDisabled(t, startButton, "with part of the word") {
			t.Error("Start is enabled with only part of the confirm word")
		}
		step(ctx, t, "finish the word", chromedp.SendKeys(confirm, "e"))
		if isDisabled(t, startButton, "after typing the word") {
			t.Fatal("Start is still disabled after typing the confirm word")
		}
		shot(ctx, t, "migrations-03-canary-form")
		submit(ctx, t, "start the canary", startButton)
		waitRollout(ctx, t, "canary", "succeeded")
		if got := rolloutCounts(ctx, t); got != "migrated 2, failed 0, skipped 0, not visited 0, done [2/2]" {
			t.Errorf("the canary's counters: %s", got)
		}
		if got := strings.Join(strings.Fields(text(ctx, t, tid("detail-tenants"))), " "); got != "store-1, store-2" {
			t.Errorf("the canary's tenants are %q, want store-1, store-2", got)
		}
		if got := outcomes(ctx, t); len(got) != 2 || got["store-1"] != "migrated" || got["store-2"] != "migrated" {
			t.Errorf("the canary's results: %v", got)
		}
		if v1, v3 := gooseVersion(t, c, "store-1"), gooseVersion(t, c, "store-3"); v1 != 2 || v3 != 1 {
			t.Errorf("after the canary store-1 is at %d (want 2), store-3 at %d (want 1)", v1, v3)
		}
		shot(ctx, t, "migrations-04-canary")
	})

	stage(t, "the full rollout goes on past the drifted tenant, which fails", func(t *testing.T) {
		step(ctx, t, "back to Migrations", chromedp.Click(tid("nav-migrations")), chromedp.WaitVisible(tid("rollout-form")+`[data-confirm-bound]`))
		if got := text(ctx, t, tid("count-behind")); got != "4" {
			t.Errorf("after the canary %q tenants are behind, want 4", got)
		}
		step(ctx, t, "choose the full rollout, continuing on error",
			chromedp.Click(tid("mode-full")),
			chromedp.SetValue(`#rollout-on-error`, "continue"),
		)
		if !isDisabled(t, startButton, "for a full rollout before typing the word") {
			t.Error("Start is enabled for a full rollout before the confirm word is typed")
		}
		step(ctx, t, "confirm the full rollout", chromedp.SendKeys(confirm, "migrate"))
		submit(ctx, t, "start the full rollout", startButton)
		waitRollout(ctx, t, "full rollout", "failed")
		fullPath = path(ctx, t)
		if got := rolloutCounts(ctx, t); got != "migrated 3, failed 1, skipped 2, not visited 0, done [6/6]" {
			t.Errorf("the full rollout's counters: %s", got)
		}
		if got := text(ctx, t, tid("detail-on-error")); got != "continue and report failures" {
			t.Errorf("the full rollout's on-error reads %q", got)
		}
		if got := attrs(ctx, t, tid("failed-row"), "data-tenant"); !slices.Equal(got, []string{drifted}) {
			t.Fatalf("the failed tenants are %v, want %s", got, drifted)
		}
		if got := text(ctx, t, tid("failed-error")); !strings.Contains(got, "duplicate column name: sku") {
			t.Errorf("%s's error reads %q, want the duplicate column", drifted, got)
		}
		want := map[string]string{"store-1": "skipped", "store-2": "skipped", "store-3": "migrated", "store-5": "migrated", "store-6": "migrated"}
		if got := outcomes(ctx, t); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the full rollout's other results: %v, want %v", got, want)
		}
		if exists(ctx, t, tid("continue-form")) {
			t.Error("a failed full rollout offers to continue with the full rollout")
		}
		if v := gooseVersion(t, c, drifted); v != 1 {
			t.Errorf("the failed %s is at version %d, want 1", drifted, v)
		}
		shot(ctx, t, "migrations-05-full-failed")
	})

	stage(t, "Migrations names the failed tenant and its error", func(t *testing.T) {
		step(ctx, t, "Migrations after the failure", chromedp.Click(tid("nav-migrations")), chromedp.WaitVisible(tid("failed-tenants")))
		if got := attrs(ctx, t, tid("failed-tenant"), "data-tenant"); !slices.Equal(got, []string{drifted}) {
			t.Errorf("/migrations lists the failed tenants %v, want %s", got, drifted)
		}
		if got := text(ctx, t, tid("failed-tenant")); !strings.Contains(got, "duplicate column name: sku") {
			t.Errorf("/migrations shows %s's failure as %q", drifted, got)
		}
		if got := text(ctx, t, tid("count-behind")) + "/" + text(ctx, t, tid("count-failed")); got != "1/1" {
			t.Errorf("/migrations counts behind/failed %s, want 1/1", got)
		}
		shot(ctx, t, "migrations-06-status-failed")
	})

	// Fix the drift by hand and retry the failed tenant.
	stage(t, "retrying the fixed tenant migrates it", func(t *testing.T) {
		execTenant(t, c, drifted, `ALTER TABLE products DROP COLUMN sku`)
		step(ctx, t, "back to the full rollout", chromedp.Navigate(base+fullPath), chromedp.WaitVisible(tid("retry-form")+`[data-confirm-bound]`))
		// Someone who watched the rollout finish got its actions from the last
		// poll, out of band: replay that poll, and the fresh retry form must be
		// bound like one that came with the page.
		step(ctx, t, "replay the last poll",
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="retry-form"]').dataset.stale = "1";
				htmx.ajax("GET", location.pathname + "/progress", {target: "#rollout-progress", swap: "outerHTML"}); undefined`),
			chromedp.WaitVisible(tid("retry-form")+`[data-confirm-bound]:not([data-stale])`),
			chromedp.WaitVisible(tid("rollout-progress")+`:not([hx-get])`),
		)
		retry := tid("retry-button")
		if got := text(ctx, t, retry); got != "Retry failed (1)" {
			t.Errorf("the retry button reads %q", got)
		}
		if !isDisabled(t, retry, "before typing the word") {
			t.Error("Retry failed is enabled before the confirm word is typed")
		}
		step(ctx, t, "confirm the retry", chromedp.SendKeys(tid("retry-form")+" "+tid("confirm-input"), "migrate"))
		if isDisabled(t, retry, "after typing the word") {
			t.Fatal("Retry failed is still disabled after typing the confirm word")
		}
		submit(ctx, t, "retry the failed tenant", retry)
		waitRollout(ctx, t, "retry", "succeeded")
		retryPath = path(ctx, t)
		if got := rolloutCounts(ctx, t); got != "migrated 1, failed 0, skipped 0, not visited 0, done [1/1]" {
			t.Errorf("the retry's counters: %s", got)
		}
		if got := attr(ctx, t, tid("detail-retry-of"), "href"); got != fullPath {
			t.Errorf("the retry says it retries %s, want %s", got, fullPath)
		}
		if got := outcomes(ctx, t); len(got) != 1 || got[drifted] != "migrated" {
			t.Errorf("the retry's results: %v", got)
		}
		shot(ctx, t, "migrations-07-retry")
	})

	stage(t, "the whole fleet is at the latest version", func(t *testing.T) {
		step(ctx, t, "Migrations after the retry", chromedp.Click(tid("nav-migrations")), chromedp.WaitVisible(tid("no-pending")))
		for id, want := range map[string]string{"count-ready": "6", "count-latest": "6", "count-behind": "0", "count-failed": "0"} {
			if got := text(ctx, t, tid(id)); got != want {
				t.Errorf("after the retry %s says %q, want %s", id, got, want)
			}
		}
		if exists(ctx, t, tid("behind-tenants")) || exists(ctx, t, tid("failed-tenants")) || exists(ctx, t, pendingFile) {
			t.Error("after the retry /migrations still lists tenants behind, failed tenants or pending files")
		}
		if got := attrs(ctx, t, tid("rollout-row"), "data-state"); !slices.Equal(got, []string{"succeeded", "failed", "succeeded", "succeeded"}) {
			t.Errorf("the recent rollouts are %v, newest first", got)
		}
		for _, n := range stores {
			if v := gooseVersion(t, c, n); v != 2 {
				t.Errorf("after the retry %s's database is at version %d, want 2", n, v)
			}
		}
		shot(ctx, t, "migrations-08-all-latest")
	})

	stage(t, "the drifted tenant's page tells its schema's story", func(t *testing.T) {
		visitTenant(ctx, t, base, drifted)
		step(ctx, t, "wait for the schema card", chromedp.WaitVisible(tid("tenant-schema")))
		if got := text(ctx, t, tid("schema-summary")); got != "v2, up to date" {
			t.Errorf("%s's schema card says %q, want v2, up to date", drifted, got)
		}
		if got := strings.Join(strings.Fields(text(ctx, t, tid("schema"))), " "); got != "v2 up to date" {
			t.Errorf("%s's details say its schema is %q, want v2 up to date", drifted, got)
		}
		if got := attrs(ctx, t, tid("applied-row"), "data-version"); !slices.Contains(got, "2") {
			t.Errorf("%s's applied migrations are versions %v, want 2 among them", drifted, got)
		}
		if got := text(ctx, t, tid("applied-row")+`[data-version="2"]`); !strings.Contains(got, "00002_product_sku.sql") {
			t.Errorf("%s's applied version 2 reads %q", drifted, got)
		}
		if exists(ctx, t, tid("migration-error")) {
			t.Errorf("%s's schema card still shows its last migration as failed: %s", drifted, text(ctx, t, tid("migration-error")))
		}
		// Newest first; dry runs changed nothing and are left out.
		wantRuns := []string{"4", "3"}
		if got := attrs(ctx, t, tid("tenant-rollout"), "data-run"); !slices.Equal(got, wantRuns) {
			t.Errorf("%s's rollouts are %v, want %v (the retry, the full rollout)", drifted, got, wantRuns)
		}
		if got := attrs(ctx, t, tid("tenant-rollout"), "data-outcome"); !slices.Equal(got, []string{"migrated", "failed"}) {
			t.Errorf("%s's rollout outcomes are %v", drifted, got)
		}
		if got := text(ctx, t, tid("tenant-rollout")+`[data-run="3"]`); !strings.Contains(got, "duplicate column name: sku") {
			t.Errorf("%s's failed rollout reads %q", drifted, got)
		}
		shot(ctx, t, "migrations-09-tenant")
	})

	stage(t, "a viewer sees the schema and the rollouts, not how to start one", func(t *testing.T) {
		step(ctx, t, "log out", chromedp.Click(tid("logout")), chromedp.WaitVisible(tid("login-form")))
		login(ctx, t, base, viewerEmail, testPassword)
		step(ctx, t, "viewer: go to Migrations", chromedp.Click(tid("nav-migrations")), chromedp.WaitVisible(tid("schema-status")))
		if got := text(ctx, t, tid("count-latest")); got != "6" {
			t.Errorf("the viewer sees %q tenants at the latest, want 6", got)
		}
		if n := len(attrs(ctx, t, tid("rollout-row"), "data-id")); n != 4 {
			t.Errorf("the viewer sees %d rollouts, want 4", n)
		}
		if exists(ctx, t, tid("rollout-form")) || exists(ctx, t, startButton) || exists(ctx, t, tid("confirm-input")) {
			t.Error("a viewer sees the rollout form")
		}
		shot(ctx, t, "migrations-10-viewer")
		for _, p := range []string{fullPath, dryPath, retryPath} {
			step(ctx, t, "viewer: open "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(tid("rollout-progress")))
			for _, id := range []string{"retry-form", "continue-form", "stop-form", "confirm-input"} {
				if exists(ctx, t, tid(id)) {
					t.Errorf("a viewer sees the %s on %s", id, p)
				}
			}
		}
	})
	t.Logf("the journey took %s", time.Since(start).Round(time.Millisecond))
}
