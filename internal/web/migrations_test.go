package web_test

import (
	"database/sql"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/migrations"
)

// skuMigration is a second version of the store schema.
const skuMigration = "-- +goose Up\nALTER TABLE products ADD COLUMN sku TEXT;\nCREATE INDEX idx_products_sku ON products(sku);\n"

// skuSchema is the built-in store schema plus 00002_product_sku.sql: a
// fleet made with the built-in schema is one migration behind it.
func skuSchema(t testing.TB) *schema.Set {
	t.Helper()
	dir := t.TempDir()
	first, err := fs.ReadFile(migrations.Tenant(), "00001_store_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"00001_store_schema.sql": string(first), "00002_product_sku.sql": skuMigration} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := schema.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// newSkuEnv is a console rolling out skuSchema over ready tenants made
// with the built-in schema (version 1).
func newSkuEnv(t testing.TB, names ...string) *env {
	t.Helper()
	e := newEnvSchema(t, t.TempDir(), skuSchema(t))
	for _, n := range names {
		if _, err := e.life.Create(t.Context(), "test", n); err != nil {
			t.Fatal(err)
		}
	}
	e.runJobs()
	return e
}

// tenantExec runs SQL on a tenant's own database file, behind the
// console's back.
func (e *env) tenantExec(name, query string) {
	e.t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "tenants", name+".db"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) schemaVersion(name string) int64 {
	e.t.Helper()
	tn, err := e.db.Tenant(e.t.Context(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return tn.SchemaVersion
}

func (e *env) rolloutCount() int64 {
	e.t.Helper()
	_, n, err := e.db.MigrationRuns(e.t.Context(), 1, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// startRollout posts the start form and returns the new rollout's id.
func (c *client) startRollout(form url.Values) int64 {
	c.e.t.Helper()
	res := c.post("/migrations", form)
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/migrations/runs/%d", &id); err != nil || res.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("start rollout %v: %d %q: %s", form, res.StatusCode, res.Header.Get("Location"), c.doc(res).Find(`[data-testid="inline-error"]`).Text())
	}
	return id
}

func inlineError(doc *goquery.Document) string {
	return strings.TrimSpace(doc.Find(`[data-testid="inline-error"]`).Text())
}

func TestMigrationsStatusPage(t *testing.T) {
	e := newSkuEnv(t, "store-1", "store-2", "store-3")
	c := e.login("admin@example.com")
	res := c.get("/migrations")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /migrations: %d", res.StatusCode)
	}
	doc := c.doc(res)
	if !doc.Find(`[data-testid="nav-migrations"]`).HasClass("active") {
		t.Error("Migrations is not the active nav entry")
	}
	if got := doc.Find(`[data-testid="latest-name"]`).Text(); got != "00002_product_sku.sql" {
		t.Errorf("latest file %q", got)
	}
	for testid, want := range map[string]string{"count-ready": "3", "count-latest": "0", "count-behind": "3", "count-failed": "0"} {
		if got := doc.Find(`[data-testid="` + testid + `"]`).Text(); got != want {
			t.Errorf("%s = %q, want %q", testid, got, want)
		}
	}
	// One bar per version, the latest one too though no tenant is there yet.
	var bars []string
	doc.Find(`[data-testid="version-bar"]`).Each(func(_ int, s *goquery.Selection) {
		bars = append(bars, s.AttrOr("data-version", "")+":"+s.AttrOr("data-tenants", ""))
	})
	if strings.Join(bars, " ") != "1:3 2:0" {
		t.Errorf("version bars %v", bars)
	}
	if w := doc.Find(`[data-version="1"] rect.vchart-fill`).AttrOr("width", ""); w != "100.0%" {
		t.Errorf("v1 bar width %q", w)
	}
	if doc.Find(`[data-testid="behind-tenant"] a[href="/tenants/store-2"]`).Length() != 1 {
		t.Error("store-2 is not listed behind with a link")
	}
	files := doc.Find(`[data-testid="migration-file"]`)
	if files.Length() != 1 || !strings.Contains(files.Find(`details pre`).Text(), "ALTER TABLE products ADD COLUMN sku") {
		t.Errorf("pending files: %d, SQL %q", files.Length(), files.Find("pre").Text())
	}
	form := doc.Find(`form[data-testid="rollout-form"][method="post"][action="/migrations"]`)
	if form.Length() != 1 || form.AttrOr("data-confirm-name", "") != "migrate" {
		t.Fatal("no start form bound to the confirm word")
	}
	if form.Find(`input[name="mode"][value="dry-run"][checked]`).Length() != 1 || form.Find(`input[name="parallel"]`).AttrOr("value", "") != "4" {
		t.Error("the form does not default to a dry run with parallelism 4")
	}
	if doc.Find(`[data-testid="no-rollouts"]`).Length() != 1 {
		t.Error("no empty state for rollouts")
	}

	res = c.get("/migrations", "Accept", "application/json")
	st := jsonBody[struct {
		Latest     int64  `json:"latest"`
		LatestName string `json:"latest_name"`
		Ready      int64  `json:"ready"`
		Behind     int64  `json:"behind"`
		BehindList []struct {
			Name string `json:"name"`
		} `json:"behind_list"`
		Pending []struct {
			Version int64  `json:"version"`
			Name    string `json:"name"`
		} `json:"pending"`
		Runs []central.MigrationRun `json:"runs"`
	}](t, res)
	if st.Latest != 2 || st.Ready != 3 || st.Behind != 3 || len(st.BehindList) != 3 || len(st.Pending) != 1 || st.Pending[0].Name != "00002_product_sku.sql" {
		t.Errorf("JSON status %+v", st)
	}

	// Viewers see the status, not the form, and cannot start anything.
	v := e.login("viewer@example.com")
	doc = v.doc(v.get("/migrations"))
	if doc.Find(`[data-testid="rollout-form"]`).Length() != 0 || doc.Find(`[data-testid="count-behind"]`).Text() != "3" {
		t.Error("viewer's migrations page")
	}
	for _, path := range []string{"/migrations", "/migrations/runs/1/stop", "/migrations/runs/1/retry"} {
		if res := v.post(path, url.Values{"mode": {"dry-run"}, "confirm": {"migrate"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, res.StatusCode)
		}
	}
	if n := e.rolloutCount(); n != 0 {
		t.Fatalf("%d rollouts after the viewer's attempts", n)
	}
}

func TestRolloutDryRunThenFull(t *testing.T) {
	e := newSkuEnv(t, "store-1", "store-2", "store-3")
	c := e.login("admin@example.com")

	// A dry run needs no confirmation.
	id := c.startRollout(url.Values{"mode": {"dry-run"}, "parallel": {"2"}, "on_error": {"continue"}})
	doc := c.doc(c.get(fmt.Sprintf("/migrations/runs/%d", id)))
	p := doc.Find(`[data-testid="rollout-progress"]`)
	if p.AttrOr("hx-get", "") != fmt.Sprintf("/migrations/runs/%d/progress", id) || p.AttrOr("hx-trigger", "") != "every 1s" {
		t.Errorf("a queued rollout's page does not poll: %q %q", p.AttrOr("hx-get", ""), p.AttrOr("hx-trigger", ""))
	}
	if got := p.Find(`[data-testid="rollout-done"]`).Text(); got != "[0/3]" {
		t.Errorf("queued progress %q", got)
	}
	if doc.Find(`[data-testid="stop-button"]`).Length() != 1 {
		t.Error("no Stop button while queued")
	}
	// The status page shows it in progress.
	doc = c.doc(c.get("/migrations"))
	if a := doc.Find(`[data-testid="active-rollout"] [data-testid="rollout-progress"]`); a.AttrOr("hx-get", "") != fmt.Sprintf("/migrations/runs/%d/progress?compact=1", id) {
		t.Errorf("status page's live panel polls %q", a.AttrOr("hx-get", ""))
	}
	e.runJobs()

	doc = c.doc(c.get(fmt.Sprintf("/migrations/runs/%d/progress", id)))
	p = doc.Find(`[data-testid="rollout-progress"]`)
	if p.AttrOr("data-state", "") != "succeeded" || p.AttrOr("hx-get", "") != "" {
		t.Fatalf("finished dry run's fragment: state %q, polls %q", p.AttrOr("data-state", ""), p.AttrOr("hx-get", ""))
	}
	if doc.Find(`#rollout-results[hx-swap-oob]`).Length() != 1 || doc.Find(`#rollout-actions[hx-swap-oob] [data-testid="continue-form"]`).Length() != 1 {
		t.Error("the last fragment does not bring the results and actions")
	}
	doc = c.doc(c.get(fmt.Sprintf("/migrations/runs/%d/progress?compact=1", id)))
	if doc.Find(`#rollout-results`).Length() != 0 || doc.Find(`[data-testid="rollout-link"]`).AttrOr("href", "") != fmt.Sprintf("/migrations/runs/%d", id) {
		t.Error("compact fragment")
	}

	doc = c.doc(c.get(fmt.Sprintf("/migrations/runs/%d", id)))
	if got := doc.Find(`[data-testid="rollout-migrated"]`).Text(); got != "3" {
		t.Errorf("would migrate %q", got)
	}
	rows := doc.Find(`[data-testid="result-row"][data-outcome="pending"]`)
	if rows.Length() != 3 || !strings.Contains(rows.First().Text(), "00002_product_sku.sql") {
		t.Errorf("%d pending rows: %q", rows.Length(), rows.First().Text())
	}
	if e.schemaVersion("store-1") != 1 {
		t.Fatal("a dry run migrated a tenant")
	}
	cont := doc.Find(`form[data-testid="continue-form"][action="/migrations"]`)
	if cont.Find(`input[name="mode"][value="full"]`).Length() != 1 || cont.Find(`input[name="parallel"]`).AttrOr("value", "") != "2" ||
		cont.Find(`input[name="on_error"]`).AttrOr("value", "") != "continue" || cont.AttrOr("data-confirm-name", "") != "migrate" {
		t.Error("no continue form carrying the dry run's choices and the confirm word")
	}
	if doc.Find(`[data-testid="retry-form"], [data-testid="stop-form"]`).Length() != 0 {
		t.Error("a finished dry run offers a stop or retry")
	}
	// JSON: the run and its results.
	res := c.get(fmt.Sprintf("/migrations/runs/%d", id), "Accept", "application/json")
	body := jsonBody[struct {
		Run     central.MigrationRun      `json:"run"`
		Results []central.MigrationResult `json:"results"`
	}](t, res)
	if body.Run.Mode != "dry-run" || body.Run.Migrated != 3 || len(body.Results) != 3 || body.Results[0].Outcome != "pending" {
		t.Errorf("JSON run %+v, %d results", body.Run, len(body.Results))
	}

	// The job behind it links to it.
	doc = c.doc(c.get(fmt.Sprintf("/jobs/%d", body.Run.JobID)))
	if doc.Find(`title`).Text() != fmt.Sprintf("Schema rollout #%d · Tenantry", id) || doc.Find(`[data-testid="job-link"]`).AttrOr("href", "") != fmt.Sprintf("/migrations/runs/%d", id) {
		t.Errorf("rollout job page: %q, link %q", doc.Find(`title`).Text(), doc.Find(`[data-testid="job-link"]`).AttrOr("href", ""))
	}

	// A real rollout without the confirm word: refused, nothing queued.
	before := e.rolloutCount()
	res = c.post("/migrations", url.Values{"mode": {"full"}, "parallel": {"4"}})
	doc = c.doc(res)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(inlineError(doc), "Type migrate to confirm") {
		t.Fatalf("full rollout without confirm: %d %q", res.StatusCode, inlineError(doc))
	}
	if doc.Find(`input[name="mode"][value="full"][checked]`).Length() != 1 {
		t.Error("the refused form lost its mode")
	}
	res = c.post("/migrations", url.Values{"mode": {"full"}, "confirm": {"Migrate!"}})
	if res.StatusCode != http.StatusBadRequest || e.rolloutCount() != before {
		t.Fatalf("full rollout with a wrong word: %d, %d rollouts", res.StatusCode, e.rolloutCount())
	}

	full := c.startRollout(url.Values{"mode": {"full"}, "confirm": {"migrate"}, "parallel": {"4"}, "on_error": {"stop"}})
	// A second rollout while one is queued: a clear conflict, nothing queued.
	res = c.post("/migrations", url.Values{"mode": {"dry-run"}})
	doc = c.doc(res)
	if msg := inlineError(doc); res.StatusCode != http.StatusConflict || !strings.Contains(msg, fmt.Sprintf("Rollout %d", full)) || !strings.Contains(msg, "queued") {
		t.Errorf("second rollout: %d %q", res.StatusCode, msg)
	}
	if n := e.rolloutCount(); n != before+1 {
		t.Fatalf("%d rollouts, want %d", n, before+1)
	}
	e.runJobs()
	for _, n := range []string{"store-1", "store-2", "store-3"} {
		if v := e.schemaVersion(n); v != 2 {
			t.Errorf("%s at version %d after the full rollout", n, v)
		}
	}
	doc = c.doc(c.get("/migrations"))
	if doc.Find(`[data-testid="count-latest"]`).Text() != "3" || doc.Find(`[data-testid="no-pending"]`).Length() != 1 || doc.Find(`[data-testid="active-rollout"]`).Length() != 0 {
		t.Error("status after the full rollout")
	}
	if doc.Find(fmt.Sprintf(`[data-testid="rollout-row"][data-id="%d"][data-state="succeeded"] a[href="/migrations/runs/%d"]`, full, full)).Length() != 1 {
		t.Error("the full rollout is not in the recent rollouts")
	}
	// A JSON client gets 202 and the run.
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/migrations", strings.NewReader(url.Values{"mode": {"dry-run"}, "csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res = c.do(req)
	if run := jsonBody[central.MigrationRun](t, res); res.StatusCode != http.StatusAccepted || run.ID == 0 || run.Mode != "dry-run" || run.State != "queued" {
		t.Fatalf("JSON dry run: %d %+v", res.StatusCode, run)
	}
}

func TestRolloutStopAtFailureAndRetry(t *testing.T) {
	e := newSkuEnv(t, "store-1", "store-2", "store-3")
	// store-2 already has the column: the migration fails there.
	e.tenantExec("store-2", "ALTER TABLE products ADD COLUMN sku TEXT")
	c := e.login("admin@example.com")
	id := c.startRollout(url.Values{"mode": {"full"}, "confirm": {"migrate"}, "parallel": {"1"}, "on_error": {"stop"}})
	e.runJobs()

	doc := c.doc(c.get(fmt.Sprintf("/migrations/runs/%d", id)))
	if st := doc.Find(`[data-testid="rollout-progress"]`).AttrOr("data-state", ""); st != "stopped" {
		t.Fatalf("state %q, want stopped at the first failure", st)
	}
	for testid, want := range map[string]string{"rollout-migrated": "1", "rollout-failed": "1", "rollout-not-visited": "1", "rollout-done": "[2/3]"} {
		if got := doc.Find(`[data-testid="` + testid + `"]`).Text(); got != want {
			t.Errorf("%s = %q, want %q", testid, got, want)
		}
	}
	failed := doc.Find(`[data-testid="failed-row"][data-tenant="store-2"] [data-testid="failed-error"]`)
	if !strings.Contains(failed.Text(), "duplicate column") {
		t.Errorf("store-2's error %q", failed.Text())
	}
	if got := strings.TrimSpace(doc.Find(`[data-testid="retry-button"]`).Text()); got != "Retry failed (1)" {
		t.Errorf("retry button %q", got)
	}
	if doc.Find(`[data-testid="continue-form"]`).Length() != 0 {
		t.Error("a failed rollout offers to continue")
	}
	// Filter by outcome.
	doc = c.doc(c.get(fmt.Sprintf("/migrations/runs/%d?outcome=migrated", id)))
	if rows := doc.Find(`[data-testid="result-row"]`); rows.Length() != 1 || rows.AttrOr("data-tenant", "") != "store-1" {
		t.Errorf("migrated filter: %d rows", rows.Length())
	}
	if res := c.get(fmt.Sprintf("/migrations/runs/%d?outcome=exploded", id)); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown outcome: %d", res.StatusCode)
	}

	// The status page lists store-2's failure.
	doc = c.doc(c.get("/migrations"))
	if f := doc.Find(`[data-testid="failed-tenant"][data-tenant="store-2"]`); !strings.Contains(f.Text(), "duplicate column") {
		t.Errorf("status page's failed tenants %q", f.Text())
	}
	// The tenant page's schema card too.
	doc = c.doc(c.get("/tenants/store-2/schema"))
	if !strings.Contains(doc.Find(`[data-testid="migration-error"]`).Text(), "duplicate column") {
		t.Error("the schema card does not show the last migration error")
	}
	if doc.Find(fmt.Sprintf(`[data-testid="tenant-rollout"][data-run="%d"][data-outcome="failed"] a[href="/migrations/runs/%d"]`, id, id)).Length() != 1 {
		t.Error("the schema card does not list the failed rollout")
	}

	// Retry needs the confirm word.
	before := e.rolloutCount()
	res := c.post(fmt.Sprintf("/migrations/runs/%d/retry", id), nil)
	if doc := c.doc(res); res.StatusCode != http.StatusBadRequest || !strings.Contains(inlineError(doc), "Type migrate") {
		t.Fatalf("retry without confirm: %d %q", res.StatusCode, inlineError(doc))
	}
	if e.rolloutCount() != before {
		t.Fatal("a refused retry queued a rollout")
	}
	// Fix the cause and retry.
	e.tenantExec("store-2", "ALTER TABLE products DROP COLUMN sku")
	res = c.post(fmt.Sprintf("/migrations/runs/%d/retry", id), url.Values{"confirm": {"migrate"}})
	var retry int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/migrations/runs/%d", &retry); err != nil || res.StatusCode != http.StatusSeeOther || retry == id {
		t.Fatalf("retry: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	e.runJobs()
	doc = c.doc(c.get(fmt.Sprintf("/migrations/runs/%d", retry)))
	if st := doc.Find(`[data-testid="rollout-progress"]`).AttrOr("data-state", ""); st != "succeeded" {
		t.Fatalf("retry state %q", st)
	}
	if doc.Find(fmt.Sprintf(`[data-testid="detail-retry-of"][href="/migrations/runs/%d"]`, id)).Length() != 1 ||
		doc.Find(`[data-testid="detail-tenants"] a[href="/tenants/store-2"]`).Length() != 1 {
		t.Error("retry details do not name the run retried and its tenant")
	}
	if got := doc.Find(`[data-testid="detail-parallel"]`).Text(); got != "1" {
		t.Errorf("retry parallelism %q, want the first run's", got)
	}
	if e.schemaVersion("store-2") != 2 || e.schemaVersion("store-3") != 1 {
		t.Errorf("after the retry: store-2 v%d, store-3 v%d", e.schemaVersion("store-2"), e.schemaVersion("store-3"))
	}
}

func TestRolloutStop(t *testing.T) {
	e := newSkuEnv(t, "store-1", "store-2")
	c := e.login("admin@example.com")
	id := c.startRollout(url.Values{"mode": {"canary"}, "canary": {"1"}, "confirm": {"migrate"}})
	res := c.post(fmt.Sprintf("/migrations/runs/%d/stop", id), nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/migrations/runs/%d", id) {
		t.Fatalf("stop: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	doc := c.doc(c.get(fmt.Sprintf("/migrations/runs/%d", id)))
	if doc.Find(`[data-testid="stop-pending"]`).Length() != 1 || doc.Find(`[data-testid="stop-form"]`).Length() != 0 {
		t.Error("the page does not say the stop was requested")
	}
	if !strings.Contains(doc.Find(`[data-testid="flash"]`).Text(), "Stop requested") {
		t.Error("no flash after the stop")
	}
	if r, err := e.db.MigrationRunByID(t.Context(), id); err != nil || !r.StopRequested {
		t.Fatalf("stop not recorded: %+v %v", r, err)
	}
	e.runJobs()
	// Stopping a finished rollout: a clear refusal.
	res = c.post(fmt.Sprintf("/migrations/runs/%d/stop", id), nil)
	if doc := c.doc(res); res.StatusCode != http.StatusConflict || !strings.Contains(inlineError(doc), "already finished") {
		t.Errorf("stop after the end: %d %q", res.StatusCode, inlineError(doc))
	}
	if e.audited(t, "schema.rollout.stop") != 2 {
		t.Error("the stop and the refused stop are not both in the audit log")
	}
}

func (e *env) audited(t *testing.T, action string) int {
	t.Helper()
	entries, err := e.db.AuditLog(t.Context(), central.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestRolloutFormRefusals(t *testing.T) {
	e := newSkuEnv(t, "store-1", "store-2")
	if _, err := e.life.Delete(t.Context(), "test", "store-2"); err != nil {
		t.Fatal(err)
	}
	e.runJobs()
	c := e.login("admin@example.com")
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{}, "Choose what to run"},
		{url.Values{"mode": {"everything"}}, "Unknown mode"},
		{url.Values{"mode": {"dry-run"}, "parallel": {"0"}}, "Parallelism must be"},
		{url.Values{"mode": {"dry-run"}, "parallel": {"65"}}, "from 1 to 64"},
		{url.Values{"mode": {"dry-run"}, "parallel": {"four"}}, "Parallelism must be"},
		{url.Values{"mode": {"dry-run"}, "on_error": {"panic"}}, "On error must be"},
		{url.Values{"mode": {"canary"}, "canary": {"0"}, "confirm": {"migrate"}}, "A canary is"},
		{url.Values{"mode": {"canary"}, "canary": {"lots"}, "confirm": {"migrate"}}, "A canary is"},
		{url.Values{"mode": {"named"}, "tenants": {" , "}, "confirm": {"migrate"}}, "Name at least one tenant"},
		{url.Values{"mode": {"named"}, "tenants": {"store-1, nobody"}, "confirm": {"migrate"}}, "nobody (unknown)"},
		{url.Values{"mode": {"named"}, "tenants": {"store-2"}, "confirm": {"migrate"}}, "store-2 (archived)"},
		{url.Values{"mode": {"named"}, "tenants": {"Store_1"}, "confirm": {"migrate"}}, "Store_1"},
		{url.Values{"mode": {"canary"}, "canary": {"1"}}, "Type migrate to confirm"},
	} {
		res := c.post("/migrations", tc.form)
		doc := c.doc(res)
		if msg := inlineError(doc); res.StatusCode != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
			t.Errorf("POST %v: %d %q, want 400 saying %q", tc.form, res.StatusCode, msg, tc.want)
		}
		if doc.Find(`[data-testid="rollout-form"]`).Length() != 1 {
			t.Errorf("POST %v: the form is not shown again", tc.form)
		}
	}
	// The form keeps what was typed.
	doc := c.doc(c.post("/migrations", url.Values{"mode": {"named"}, "tenants": {"store-1, nobody"}, "parallel": {"8"}, "on_error": {"continue"}, "confirm": {"migrate"}}))
	if doc.Find(`textarea[name="tenants"]`).Text() != "store-1, nobody" || doc.Find(`input[name="parallel"]`).AttrOr("value", "") != "8" ||
		doc.Find(`option[value="continue"][selected]`).Length() != 1 || doc.Find(`input[name="mode"][value="named"][checked]`).Length() != 1 {
		t.Error("the refused form lost its values")
	}
	if n := e.rolloutCount(); n != 0 {
		t.Fatalf("refused forms queued %d rollouts", n)
	}
	// JSON clients get the error as JSON.
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/migrations", strings.NewReader(url.Values{"mode": {"full"}, "csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res := c.do(req)
	if body := jsonBody[map[string]string](t, res); res.StatusCode != http.StatusBadRequest || body["code"] != "invalid" {
		t.Errorf("JSON refusal: %d %v", res.StatusCode, body)
	}
	// A named canary of the ready tenant goes.
	id := c.startRollout(url.Values{"mode": {"named"}, "tenants": {"store-1"}, "confirm": {"migrate"}})
	e.runJobs()
	doc = c.doc(c.get(fmt.Sprintf("/migrations/runs/%d", id)))
	if doc.Find(`[data-testid="detail-tenants"] a[href="/tenants/store-1"]`).Length() != 1 || doc.Find(`[data-testid="continue-form"]`).Length() != 1 {
		t.Error("a good named canary's page: its tenant, and the way on")
	}
}

func TestRolloutBadIDs(t *testing.T) {
	e := newSkuEnv(t, "store-1")
	c := e.login("admin@example.com")
	for _, path := range []string{"/migrations/runs/abc", "/migrations/runs/0", "/migrations/runs/999", "/migrations/runs/-1/progress",
		"/migrations/runs/999/progress", "/migrations/runs/99999999999999999999999", "/tenants/nobody/schema", "/tenants/Not_A_Name/schema"} {
		if res := c.get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
	for _, path := range []string{"/migrations/runs/999/stop", "/migrations/runs/abc/stop", "/migrations/runs/999/retry"} {
		if res := c.post(path, url.Values{"confirm": {"migrate"}}); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, res.StatusCode)
		}
	}
	// Retrying a dry run is refused in words.
	id := c.startRollout(url.Values{"mode": {"dry-run"}})
	e.runJobs()
	res := c.post(fmt.Sprintf("/migrations/runs/%d/retry", id), url.Values{"confirm": {"migrate"}})
	if doc := c.doc(res); res.StatusCode != http.StatusBadRequest || !strings.Contains(inlineError(doc), "dry run") {
		t.Errorf("retry of a dry run: %d %q", res.StatusCode, inlineError(doc))
	}
}

func TestTenantSchemaFragment(t *testing.T) {
	e := newSkuEnv(t, "store-1", "store-2")
	c := e.login("viewer@example.com")

	// The tenant page loads the card apart, and says where it stands.
	doc := c.doc(c.get("/tenants/store-1"))
	load := doc.Find(`[data-testid="tenant-schema-loading"]`)
	if load.AttrOr("hx-get", "") != "/tenants/store-1/schema" || load.AttrOr("hx-trigger", "") != "load" {
		t.Errorf("schema card placeholder: hx-get %q hx-trigger %q", load.AttrOr("hx-get", ""), load.AttrOr("hx-trigger", ""))
	}
	if got := doc.Find(`[data-testid="schema-state"]`).Text(); got != "latest 2, 1 pending" {
		t.Errorf("details schema state %q", got)
	}

	res := c.get("/tenants/store-1/schema")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("schema fragment: %d", res.StatusCode)
	}
	doc = c.doc(res)
	if got := doc.Find(`[data-testid="schema-summary"]`).Text(); got != "v1; latest v2, 1 pending" {
		t.Errorf("summary %q", got)
	}
	if a := doc.Find(`[data-testid="applied-row"][data-version="1"]`); !strings.Contains(a.Text(), "00001_store_schema.sql") {
		t.Errorf("applied %q", a.Text())
	}
	if doc.Find(`[data-testid="migration-file"][data-version="2"]`).Length() != 1 {
		t.Error("the pending migration is not listed")
	}
	if doc.Find(`[data-testid="nav-overview"], title`).Length() != 0 {
		t.Error("the fragment holds the page shell")
	}

	// A file that is not a database breaks the card, not the page.
	if err := os.WriteFile(filepath.Join(e.dir, "tenants", "store-2.db"), []byte(strings.Repeat("not a database ", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	res = c.get("/tenants/store-2/schema")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("schema fragment of a garbage file: %d", res.StatusCode)
	}
	doc = c.doc(res)
	if msg := strings.Join(strings.Fields(doc.Find(`[data-testid="schema-error"]`).Text()), " "); !strings.Contains(msg, "could not be read") || !strings.Contains(msg, "not a database") {
		t.Errorf("garbage file's card says %q", msg)
	}
	if res := c.get("/tenants/store-2"); res.StatusCode != http.StatusOK {
		t.Errorf("tenant page of a garbage file: %d", res.StatusCode)
	}

	// After a rollout, the card and the details say so.
	a := e.login("admin@example.com")
	id := a.startRollout(url.Values{"mode": {"named"}, "tenants": {"store-1"}, "confirm": {"migrate"}})
	e.runJobs()
	doc = c.doc(c.get("/tenants/store-1/schema"))
	if got := doc.Find(`[data-testid="schema-summary"]`).Text(); got != "v2, up to date" {
		t.Errorf("summary after the rollout %q", got)
	}
	if doc.Find(`[data-testid="applied-row"]`).First().AttrOr("data-version", "") != "2" {
		t.Error("applied migrations are not newest first")
	}
	if doc.Find(fmt.Sprintf(`[data-testid="tenant-rollout"][data-outcome="migrated"] a[href="/migrations/runs/%d"]`, id)).Length() != 1 {
		t.Error("the rollout is not in the tenant's history")
	}
	if got := c.doc(c.get("/tenants/store-1")).Find(`[data-testid="schema-state"]`).Text(); got != "up to date" {
		t.Errorf("details schema state after the rollout %q", got)
	}
	// JSON.
	ts := jsonBody[schema.TenantSchema](t, c.get("/tenants/store-1/schema", "Accept", "application/json"))
	if ts.Version != 2 || ts.Latest != 2 || len(ts.Applied) != 2 || len(ts.Rollouts) != 1 {
		t.Errorf("JSON tenant schema %+v", ts)
	}
}
