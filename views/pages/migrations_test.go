package pages

import (
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func sampleRollout(state string) RolloutRow {
	now := time.Now()
	r := RolloutRow{ID: 7, Mode: "full", Target: 2, Parallel: 4, OnError: "stop", Trigger: "web", StartedBy: "a@example.com",
		State: state, Total: 10, Migrated: 3, Failed: 1, Skipped: 2, CreatedAt: now.Add(-time.Minute), StartedAt: now.Add(-time.Minute),
		Duration: 1500 * time.Millisecond, JobID: 31, Step: "Migrating to version 2: 4/s, 1 failed, last store-6 migrated 1→2"}
	if state != "running" && state != "queued" {
		r.FinishedAt, r.Step = now, ""
	}
	return r
}

func sampleMigrations() Migrations {
	active := sampleRollout("running")
	return Migrations{
		Latest: 2, LatestName: "00002_product_sku.sql", Source: "/srv/migrations", Ready: 120, AtLatest: 20, Behind: 100, Failed: 2,
		Versions:    []VersionBar{{Version: 1, Tenants: 100}, {Version: 2, Tenants: 20, Latest: true}},
		BehindList:  []SchemaTenant{{Name: "store-1", Version: 1}, {Name: "store-2", Version: 1}},
		FailedList:  []SchemaTenant{{Name: "store-9", Version: 1, Error: "duplicate column name: sku"}},
		Pending:     []MigrationFile{{Version: 2, Name: "00002_product_sku.sql", SQL: "-- +goose Up\nALTER TABLE products ADD COLUMN sku TEXT;\n"}},
		Active:      &active,
		Runs:        []RolloutRow{active, sampleRollout("succeeded")},
		Form:        RolloutForm{Mode: "canary", Canary: "5", Parallel: "4", OnError: "continue", Error: "Type migrate to confirm."},
		MaxParallel: 64,
	}
}

func assertNoInlineStyle(t *testing.T, doc *goquery.Document) {
	t.Helper()
	if n := count(doc, `script:not([src]), style, [style]`); n != 0 {
		t.Errorf("%d inline scripts or styles would break the CSP", n)
	}
}

func TestMigrationsPage(t *testing.T) {
	vm := sampleMigrations()
	doc := render(t, MigrationsPage(admin("Schema migrations", "migrations"), vm))
	assertNoInlineStyle(t, doc)
	assertPostFormsHaveCSRF(t, doc)
	if !doc.Find(`[data-testid="nav-migrations"]`).HasClass("active") || attr(doc, `[data-testid="nav-migrations"]`, "href") != "/migrations" {
		t.Error("Migrations nav entry")
	}
	if got := strings.Join(strings.Fields(text(doc, `[data-testid="latest"]`)), " "); got != "v2 00002_product_sku.sql" {
		t.Errorf("latest %q", got)
	}
	for testid, want := range map[string]string{"count-ready": "120", "count-latest": "20", "count-behind": "100", "count-failed": "2", "source": "/srv/migrations"} {
		if got := text(doc, `[data-testid="`+testid+`"]`); got != want {
			t.Errorf("%s = %q, want %q", testid, got, want)
		}
	}
	// The chart: one SVG bar per version, sized by attributes.
	if w := attr(doc, `[data-testid="version-bar"][data-version="1"] rect.vchart-fill`, "width"); w != "100.0%" {
		t.Errorf("v1 bar %q", w)
	}
	if w := attr(doc, `[data-testid="version-bar"][data-version="2"] rect.vchart-fill`, "width"); w != "20.0%" {
		t.Errorf("v2 bar %q", w)
	}
	if !doc.Find(`[data-testid="version-bar"][data-version="2"]`).HasClass("vchart-latest") {
		t.Error("latest bar not marked")
	}
	// Behind and failed, with "and N more".
	if count(doc, `[data-testid="behind-tenant"] a[href="/tenants/store-1"]`) != 1 || text(doc, `[data-testid="behind-more"]`) != "and 98 more" {
		t.Errorf("behind list, more %q", text(doc, `[data-testid="behind-more"]`))
	}
	if f := doc.Find(`[data-testid="failed-tenant"][data-tenant="store-9"]`); !strings.Contains(f.Text(), "duplicate column") || text(doc, `[data-testid="failed-more"]`) != "and 1 more" {
		t.Error("failed list")
	}
	// Pending files folded over their SQL.
	if got := doc.Find(`[data-testid="migration-file"] details pre`).Text(); got != vm.Pending[0].SQL {
		t.Errorf("SQL %q", got)
	}
	// The live panel polls the compact progress every second.
	p := doc.Find(`[data-testid="active-rollout"] [data-testid="rollout-progress"]`)
	if p.AttrOr("hx-get", "") != "/migrations/runs/7/progress?compact=1" || p.AttrOr("hx-trigger", "") != "every 1s" {
		t.Errorf("live panel polls %q %q", p.AttrOr("hx-get", ""), p.AttrOr("hx-trigger", ""))
	}
	if got := p.Find(`[data-testid="rollout-done"]`).Text(); got != "[6/10]" {
		t.Errorf("progress %q", got)
	}
	if !strings.Contains(p.Find(`[data-testid="rollout-step"]`).Text(), "4/s, 1 failed, last store-6") {
		t.Error("no rate, failures and last tenant")
	}
	// Recent rollouts.
	row := doc.Find(`[data-testid="rollout-row"][data-id="7"]`).First()
	if row.Find(`a[href="/migrations/runs/7"]`).Length() != 1 || strings.Join(strings.Fields(row.Find(`[data-testid="rollout-counts"]`).Text()), "") != "3/1/2" {
		t.Errorf("rollout row %q", row.Text())
	}
	// The form: modes, options, confirm word; it keeps a refused submission.
	f := doc.Find(`form[data-testid="rollout-form"]`)
	if f.AttrOr("data-confirm-name", "") != "migrate" || f.AttrOr("data-confirm-unless", "") != `input[name="mode"][value="dry-run"]:checked` {
		t.Error("form not bound to app.js' confirm check")
	}
	var modes []string
	f.Find(`input[type="radio"][name="mode"]`).Each(func(_ int, s *goquery.Selection) { modes = append(modes, s.AttrOr("value", "")) })
	if strings.Join(modes, " ") != "dry-run canary named full" {
		t.Errorf("modes %v", modes)
	}
	if count(doc, `input[name="mode"][value="canary"][checked]`) != 1 || attr(doc, `input[name="canary"]`, "value") != "5" ||
		count(doc, `option[value="continue"][selected]`) != 1 || attr(doc, `input[name="parallel"]`, "max") != "64" {
		t.Error("form state")
	}
	if count(doc, `form[data-testid="rollout-form"] input[name="confirm"]`) != 1 || text(doc, `[data-testid="inline-error"]`) != "Type migrate to confirm." {
		t.Error("confirm input or error")
	}

	// Viewers: the status without the form.
	doc = render(t, MigrationsPage(viewer("Schema migrations", "migrations"), vm))
	if count(doc, `form`) != 1 || count(doc, `[data-testid="schema-status"]`) != 1 { // the logout form only
		t.Errorf("viewer sees %d forms", count(doc, `form`))
	}
}

func TestMigrationsPageEmpty(t *testing.T) {
	doc := render(t, MigrationsPage(admin("Schema migrations", "migrations"), Migrations{Latest: 1, LatestName: "00001_store_schema.sql", MaxParallel: 64}))
	assertNoInlineStyle(t, doc)
	for _, sel := range []string{`[data-testid="no-versions"]`, `[data-testid="no-pending"]`, `[data-testid="no-rollouts"]`, `input[name="mode"][value="dry-run"][checked]`} {
		if count(doc, sel) != 1 {
			t.Errorf("empty page: no %s", sel)
		}
	}
	for _, sel := range []string{`[data-testid="active-rollout"]`, `[data-testid="behind-tenants"]`, `[data-testid="failed-tenants"]`} {
		if count(doc, sel) != 0 {
			t.Errorf("empty page shows %s", sel)
		}
	}
}

func sampleRolloutRun(state string) RolloutRun {
	r := sampleRollout(state)
	return RolloutRun{Run: r,
		Failed: []RolloutResult{{RunID: 7, Tenant: "store-3", Outcome: "failed", From: 1, To: 1, Error: "00002_product_sku.sql: duplicate column name: sku"}},
		Results: []RolloutResult{
			{RunID: 7, Tenant: "store-1", Outcome: "migrated", From: 1, To: 2, Detail: "applied 00002_product_sku.sql", Duration: 12 * time.Millisecond},
			{RunID: 7, Tenant: "store-2", Outcome: "skipped", From: 2, To: 2, Detail: "already at version 2"},
		},
	}
}

func TestRolloutRunPage(t *testing.T) {
	vm := sampleRolloutRun("running")
	doc := render(t, RolloutRunPage(admin("Rollout #7", "migrations"), vm))
	assertNoInlineStyle(t, doc)
	assertPostFormsHaveCSRF(t, doc)
	p := doc.Find(`#rollout-progress`)
	if p.AttrOr("hx-get", "") != "/migrations/runs/7/progress" || p.AttrOr("hx-trigger", "") != "every 1s" || p.AttrOr("hx-swap", "") != "outerHTML" {
		t.Error("a running rollout's page does not poll")
	}
	if count(doc, `form[action="/migrations/runs/7/stop"] [data-testid="stop-button"]`) != 1 {
		t.Error("no stop button while running")
	}
	if count(doc, `[data-testid="retry-form"], [data-testid="continue-form"]`) != 0 {
		t.Error("retry or continue offered while running")
	}
	for testid, want := range map[string]string{"detail-mode": "Full rollout", "detail-parallel": "4", "detail-on-error": "stop at the first failure", "detail-tenants": "every ready tenant (10)"} {
		if got := strings.TrimSpace(text(doc, `[data-testid="`+testid+`"]`)); got != want {
			t.Errorf("%s = %q, want %q", testid, got, want)
		}
	}
	if got := text(doc, `[data-testid="failed-row"][data-tenant="store-3"] [data-testid="failed-error"]`); !strings.Contains(got, "duplicate column") {
		t.Errorf("failed error %q", got)
	}
	if got := text(doc, `[data-testid="result-row"][data-tenant="store-1"] td.num.nowrap`); got != "v1 → v2" {
		t.Errorf("version change %q", got)
	}
	if count(doc, `a.tab.active[data-testid="outcome-all"]`) != 1 || attr(doc, `[data-testid="outcome-skipped"]`, "href") != "/migrations/runs/7?outcome=skipped" {
		t.Error("outcome tabs")
	}

	// Viewers see no buttons.
	doc = render(t, RolloutRunPage(viewer("Rollout #7", "migrations"), vm))
	if count(doc, `[data-testid="rollout-actions"] form`) != 0 {
		t.Error("viewer sees actions")
	}

	// Stopped at the first failure: not visited, retry with the confirm word.
	vm = sampleRolloutRun("stopped")
	doc = render(t, RolloutRunPage(admin("Rollout #7", "migrations"), vm))
	if _, ok := doc.Find(`#rollout-progress`).Attr("hx-get"); ok {
		t.Error("a stopped rollout still polls")
	}
	if text(doc, `[data-testid="rollout-not-visited"]`) != "4" || !strings.Contains(text(doc, `[data-testid="stopped-note"]`), "first failure; 4 tenants were not visited") {
		t.Errorf("not visited %q, note %q", text(doc, `[data-testid="rollout-not-visited"]`), text(doc, `[data-testid="stopped-note"]`))
	}
	retry := doc.Find(`form[data-testid="retry-form"][action="/migrations/runs/7/retry"]`)
	if retry.AttrOr("data-confirm-name", "") != "migrate" || retry.Find(`input[name="confirm"]`).Length() != 1 ||
		strings.TrimSpace(retry.Find(`[data-testid="retry-button"]`).Text()) != "Retry failed (1)" {
		t.Error("retry form")
	}
	if count(doc, `[data-testid="stop-form"], [data-testid="continue-form"]`) != 0 {
		t.Error("stop or continue offered after a failure")
	}

	// A good canary: continue with the full rollout, same choices.
	vm = sampleRolloutRun("succeeded")
	vm.Run.Mode, vm.Run.Tenants, vm.Run.Failed, vm.Failed = "canary", []string{"store-1", "store-2"}, 0, nil
	vm.Run.OnError, vm.Run.Parallel = "continue", 8
	doc = render(t, RolloutRunPage(admin("Rollout #7", "migrations"), vm))
	c := doc.Find(`form[data-testid="continue-form"][action="/migrations"][data-confirm-name="migrate"]`)
	for name, want := range map[string]string{"mode": "full", "parallel": "8", "on_error": "continue"} {
		if got := c.Find(`input[type="hidden"][name="`+name+`"]`).AttrOr("value", ""); got != want {
			t.Errorf("continue form %s = %q, want %q", name, got, want)
		}
	}
	if count(doc, `[data-testid="detail-tenants"] a[href="/tenants/store-2"]`) != 1 || count(doc, `[data-testid="no-failures"]`) != 1 {
		t.Error("canary details or no-failures note")
	}
	if got := text(doc, `[data-testid="detail-mode"]`); got != "Canary (2 tenants)" {
		t.Errorf("mode %q", got)
	}
	if count(doc, `[data-testid="retry-form"]`) != 0 {
		t.Error("retry offered without failures")
	}

	// A dry run: "would migrate", no retry even with failures.
	vm = sampleRolloutRun("failed")
	vm.Run.Mode = "dry-run"
	doc = render(t, RolloutRunPage(admin("Rollout #7", "migrations"), vm))
	if !strings.Contains(doc.Find(`[data-testid="rollout-migrated"]`).Parent().Text(), "Would migrate") || count(doc, `[data-testid="retry-form"], [data-testid="continue-form"]`) != 0 {
		t.Error("dry run with failures")
	}
	if count(doc, `[data-testid="outcome-pending"]`) != 1 || count(doc, `[data-testid="outcome-migrated"]`) != 0 {
		t.Error("dry run tabs")
	}
	vm.Results[0].Outcome = "pending"
	doc = render(t, RolloutRunPage(admin("Rollout #7", "migrations"), vm))
	if b := doc.Find(`[data-testid="result-row"][data-tenant="store-1"] [data-testid="outcome"]`); b.Text() != "would migrate" || !b.HasClass("badge-pending") {
		t.Errorf("pending outcome reads %q", b.Text())
	}
}

func TestRolloutProgressFragment(t *testing.T) {
	doc := render(t, RolloutProgressFragment(admin("", "migrations"), sampleRolloutRun("running")))
	if count(doc, `#rollout-progress[hx-get]`) != 1 || count(doc, `#rollout-finished[hx-swap-oob]`) != 1 || count(doc, `[hx-swap-oob] #rollout-results, #rollout-results`) != 0 {
		t.Error("running fragment: progress, finish time, no results")
	}
	if got := text(doc, `[data-testid="rollout-remaining"]`); got != "4" || count(doc, `[data-testid="rollout-not-visited"]`) != 0 {
		t.Errorf("running: remaining %q", got)
	}
	doc = render(t, RolloutProgressFragment(admin("", "migrations"), sampleRolloutRun("succeeded")))
	if count(doc, `#rollout-progress[hx-get]`) != 0 || count(doc, `#rollout-results[hx-swap-oob]`) != 1 || count(doc, `#rollout-actions[hx-swap-oob]`) != 1 {
		t.Error("finished fragment: stops polling, brings results and actions")
	}
	if got := text(doc, `#rollout-page-state[hx-swap-oob] [data-testid="page-state"]`); got != "succeeded" {
		t.Errorf("the title's state badge is not updated: %q", got)
	}
	if got := text(doc, `[data-testid="rollout-done"]`); got != "[6/10]" {
		t.Errorf("done %q", got)
	}
	if v := attr(doc, `progress`, "value"); v != "100" {
		t.Errorf("succeeded progress %q", v)
	}
}

func TestTenantSchemaCard(t *testing.T) {
	vm := TenantSchema{Name: "store-1", Status: "ready", Version: 1, Latest: 2,
		Applied:        []AppliedMigration{{Version: 1, Name: "00001_store_schema.sql", At: "2026-11-20 10:00:00"}},
		Pending:        []MigrationFile{{Version: 2, Name: "00002_product_sku.sql", SQL: "ALTER TABLE products ADD COLUMN sku TEXT;"}},
		Rollouts:       []RolloutResult{{RunID: 7, Tenant: "store-1", Outcome: "failed", From: 1, To: 1, Error: "duplicate column name: sku", At: time.Now()}},
		MigrationError: "duplicate column name: sku"}
	doc := render(t, TenantSchemaCard(vm))
	assertNoInlineStyle(t, doc)
	if got := text(doc, `[data-testid="schema-summary"]`); got != "v1; latest v2, 1 pending" {
		t.Errorf("summary %q", got)
	}
	if !strings.Contains(text(doc, `[data-testid="applied-row"][data-version="1"]`), "2026-11-20 10:00:00") {
		t.Error("applied time")
	}
	if count(doc, `[data-testid="tenant-rollout"][data-outcome="failed"] a[href="/migrations/runs/7"]`) != 1 || !strings.Contains(text(doc, `[data-testid="migration-error"]`), "duplicate column") {
		t.Error("rollouts or last error")
	}
	if count(doc, `[data-testid="schema-error"]`) != 0 {
		t.Error("a readable database shows an error")
	}

	vm = TenantSchema{Name: "store-2", Status: "ready", Version: 1, Latest: 2, Error: "file is not a database (26)"}
	doc = render(t, TenantSchemaCard(vm))
	if !strings.Contains(text(doc, `[data-testid="schema-error"]`), "file is not a database") || count(doc, `[data-testid="applied-table"], [data-testid="no-applied"]`) != 0 {
		t.Error("unreadable database")
	}

	vm = TenantSchema{Name: "store-3", Status: "archived", Version: 1, Latest: 2, Error: "The tenant is archived."}
	doc = render(t, TenantSchemaCard(vm))
	if count(doc, `[data-testid="schema-not-ready"]`) != 1 || count(doc, `[data-testid="schema-error"]`) != 0 {
		t.Error("archived tenant")
	}

	// The tenant page loads the card with htmx, and its details say where
	// the schema stands.
	doc = render(t, tenantPage(admin("store-1", "tenants"), TenantDetail{Tenant: TenantRow{Name: "store-1", Status: "ready", SchemaVersion: 1, LatestVersion: 3, Pending: 2}}, TenantHistory{}))
	l := doc.Find(`[data-testid="tenant-schema-loading"]`)
	if l.AttrOr("hx-get", "") != "/tenants/store-1/schema" || l.AttrOr("hx-trigger", "") != "load" || l.AttrOr("data-load-error", "") == "" {
		t.Error("schema card placeholder")
	}
	if text(doc, `[data-testid="schema-state"]`) != "latest 3, 2 pending" || count(doc, `[data-testid="schema-behind"]`) != 1 {
		t.Errorf("schema state %q", text(doc, `[data-testid="schema-state"]`))
	}
	doc = render(t, tenantPage(admin("store-1", "tenants"), TenantDetail{Tenant: TenantRow{Name: "store-1", Status: "ready", SchemaVersion: 3, LatestVersion: 3}}, TenantHistory{}))
	if text(doc, `[data-testid="schema-state"]`) != "up to date" {
		t.Errorf("schema state %q", text(doc, `[data-testid="schema-state"]`))
	}
}

func TestVersionChange(t *testing.T) {
	for _, tc := range []struct {
		from, to int64
		want     string
	}{{1, 2, "v1 → v2"}, {2, 2, "v2"}, {1, -1, "v1 → ?"}, {-1, -1, "? → ?"}, {0, 2, "v0 → v2"}} {
		if got := versionChange(RolloutResult{From: tc.from, To: tc.to}); got != tc.want {
			t.Errorf("%d→%d: %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}
