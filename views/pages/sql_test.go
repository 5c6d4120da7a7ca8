package pages

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func sqlVM() SQLConsole {
	return SQLConsole{
		Scope:   "tenant",
		Tenant:  "store-7",
		SQL:     "SELECT id, note, total, paid_at FROM orders WHERE id > :min",
		Params:  []SQLParam{{Name: "min", Value: "10"}},
		Timeout: "5s",
		MaxRows: 1000,
		Result: &SQLResult{
			Columns: []SQLColumn{{"id", "INTEGER"}, {"note", "TEXT"}, {"total", "REAL"}, {"paid_at", ""}},
			Rows: [][]SQLCell{
				{{"11", "int"}, {strings.Repeat("long text ", 10), "text"}, {"9.5", "real"}, {"", "null"}},
				{{"12", "int"}, {"short", "text"}, {"1.25", "real"}, {"2026-11-01", "text"}},
			},
			Elapsed: "1.2 ms",
		},
		ShareURL: "/sql?tenant=store-7&sql=SELECT&run=1",
		CSVURL:   "/sql/export.csv?tenant=store-7",
		JSONURL:  "/sql/export.json?tenant=store-7",
	}
}

func sqlPage(t *testing.T, vm SQLConsole) *goquery.Document {
	t.Helper()
	doc := render(t, SQLPage(admin("SQL", "sql"), vm))
	if count(doc, `script:not([src])`) != 0 || count(doc, `[style]`) != 0 {
		t.Error("inline script or style would break the CSP")
	}
	if count(doc, `script[defer][src^="/static/sql.js?v="]`) != 1 {
		t.Error("sql.js not loaded")
	}
	assertPostFormsHaveCSRF(t, doc)
	return doc
}

func TestSQLForm(t *testing.T) {
	doc := sqlPage(t, sqlVM())
	if !doc.Find(`[data-testid="nav-sql"]`).HasClass("active") {
		t.Error("SQL nav entry not active")
	}
	form := `form[data-testid="sql-form"]`
	if attr(doc, form, "method") != "get" || attr(doc, form, "action") != "/sql" {
		t.Errorf("form %s %s", attr(doc, form, "method"), attr(doc, form, "action"))
	}
	var scopes []string
	doc.Find(form + ` input[type="radio"][name="scope"]`).Each(func(_ int, s *goquery.Selection) {
		scopes = append(scopes, s.AttrOr("value", ""))
	})
	if strings.Join(scopes, ",") != "tenant,all,pattern,list" {
		t.Errorf("scopes %v", scopes)
	}
	if attr(doc, form+` input[name="scope"][checked]`, "value") != "tenant" {
		t.Error("tenant scope not checked")
	}
	tenant := form + ` input[name="tenant"][data-testid="tenant-input"]`
	if attr(doc, tenant, "value") != "store-7" || attr(doc, tenant, "list") != "tenant-options" ||
		attr(doc, tenant, "hx-get") != "/sql/tenants" || attr(doc, tenant, "hx-target") != "#tenant-options" ||
		attr(doc, tenant, "hx-swap") != "innerHTML" || !strings.Contains(attr(doc, tenant, "hx-trigger"), "input changed delay:150ms") {
		t.Error("tenant type-ahead input wrong")
	}
	if count(doc, `datalist#tenant-options`) != 1 {
		t.Error("no datalist")
	}
	if attr(doc, form+` input[name="pattern"][data-testid="pattern-input"]`, "placeholder") != "store-*" ||
		count(doc, form+` textarea[name="list"][data-testid="list-input"]`) != 1 {
		t.Error("pattern or list input missing")
	}
	// Only the chosen scope's input shows.
	if doc.Find(`[data-scope="tenant"]`).First().HasClass("hidden") || !doc.Find(`[data-scope="pattern"]`).HasClass("hidden") || !doc.Find(`[data-scope="list"]`).HasClass("hidden") {
		t.Error("wrong scope inputs visible")
	}
	sql := doc.Find(form + ` .sql-editor textarea[name="sql"][data-testid="sql-input"]`)
	if sql.Text() != sqlVM().SQL || sql.AttrOr("spellcheck", "") != "false" {
		t.Errorf("sql textarea %q", sql.Text())
	}
	if count(doc, `.sql-editor .sql-gutter`) != 1 {
		t.Error("no gutter")
	}
	if attr(doc, form+` input[type="hidden"][name="run"]`, "value") != "1" {
		t.Error("no run=1")
	}
	// The CSRF token stays out of GET URLs.
	if _, disabled := doc.Find(form + ` input[name="csrf"]`).Attr("disabled"); !disabled {
		t.Error("csrf enabled on a GET form")
	}
	if got := doc.Find(`[data-testid="run-button"]`).Text(); strings.TrimSpace(got) != "Run" {
		t.Errorf("run button %q", got)
	}
	if got := strings.Join(strings.Fields(doc.Find(`[data-testid="limits"]`).Text()), " "); got != "Read-only · time limit 5s · up to 1,000 rows" {
		t.Errorf("limits %q", got)
	}
	// Parameters.
	p := doc.Find(`.sql-params [data-testid="param-input"]`)
	if p.Length() != 1 || p.AttrOr("name", "") != "p_min" || p.AttrOr("value", "") != "10" || p.AttrOr("data-param", "") != "min" {
		t.Error("param field wrong")
	}
	if doc.Find(`.sql-params`).HasClass("hidden") || !strings.Contains(doc.Find(`.sql-params`).Text(), "Parameters") {
		t.Error("params block hidden or untitled")
	}
	if count(doc, `[for="sql-param-min"]`) != 1 {
		t.Error("param without label")
	}
	// A viewer gets no write switch.
	if count(doc, `[data-testid="write-toggle"]`) != 0 {
		t.Error("write toggle without CanWrite")
	}

	vm := sqlVM()
	vm.Params = nil
	vm.Scope = "pattern"
	vm.Pattern = "store-*"
	doc = sqlPage(t, vm)
	if !doc.Find(`.sql-params`).HasClass("hidden") {
		t.Error("empty params block shown")
	}
	if attr(doc, `input[name="scope"][checked]`, "value") != "pattern" || doc.Find(`[data-scope="pattern"]`).HasClass("hidden") ||
		!doc.Find(`[data-scope="tenant"]`).First().HasClass("hidden") {
		t.Error("pattern scope not shown")
	}
	if attr(doc, `[data-testid="pattern-input"]`, "value") != "store-*" {
		t.Error("pattern value")
	}

	doc = sqlPage(t, SQLConsole{Scope: "bogus", List: "a\nb"})
	if attr(doc, `input[name="scope"][checked]`, "value") != "tenant" {
		t.Error("unknown scope does not default to tenant")
	}
	if doc.Find(`[data-testid="list-input"]`).Text() != "a\nb" {
		t.Errorf("list %q", doc.Find(`[data-testid="list-input"]`).Text())
	}
	if count(doc, `[data-testid="result"]`) != 0 || count(doc, `[data-testid="sql-error"]`) != 0 || count(doc, `[data-testid="fanout"]`) != 0 || count(doc, `[data-testid="write-confirm"]`) != 0 {
		t.Error("empty console shows a run")
	}
	if count(doc, `[data-testid="save-form"]`) != 0 {
		t.Error("save form without SQL")
	}
}

func TestSQLWriteMode(t *testing.T) {
	vm := sqlVM()
	vm.CanWrite = true
	doc := sqlPage(t, vm)
	w := doc.Find(`form[data-testid="sql-form"] input[type="checkbox"][name="write"][data-testid="write-toggle"]`)
	if w.Length() != 1 || w.AttrOr("value", "") != "1" {
		t.Fatal("no write toggle")
	}
	if _, ok := w.Attr("checked"); ok {
		t.Error("write toggle checked")
	}

	vm.Write = true
	doc = sqlPage(t, vm)
	form := `form[data-testid="sql-form"]`
	if attr(doc, form, "method") != "post" || attr(doc, form, "action") != "/sql/write" {
		t.Error("write mode form does not post to /sql/write")
	}
	if _, disabled := doc.Find(form + ` input[name="csrf"]`).Attr("disabled"); disabled {
		t.Error("csrf disabled in write mode")
	}
	if _, ok := doc.Find(`[data-testid="write-toggle"]`).Attr("checked"); !ok {
		t.Error("write toggle not checked")
	}
	run := doc.Find(`[data-testid="run-button"]`)
	if !run.HasClass("btn-danger") || !strings.Contains(run.Text(), "Run with write access") {
		t.Errorf("run button in write mode %q", run.Text())
	}
}

func TestSQLConfirm(t *testing.T) {
	vm := sqlVM()
	vm.SQL = "DELETE FROM orders WHERE id = :id"
	vm.Params = []SQLParam{{Name: "id", Value: "3"}}
	vm.CanWrite, vm.Write, vm.Confirm, vm.ConfirmError = true, true, true, "The name does not match."
	vm.Result, vm.ShareURL, vm.CSVURL, vm.JSONURL = nil, "", "", ""
	doc := sqlPage(t, vm)
	c := doc.Find(`[data-testid="write-confirm"]`)
	if c.Length() != 1 || !c.HasClass("card-danger") {
		t.Fatal("no confirm card")
	}
	if got := strings.Join(strings.Fields(c.Find(`.sql-confirm-question`).Text()), " "); got != "Run this SQL with write access on tenant store-7? This cannot be undone." {
		t.Errorf("question %q", got)
	}
	if c.Find(`pre`).Text() != vm.SQL {
		t.Error("SQL not shown")
	}
	f := c.Find(`form[method="post"][action="/sql/write"]`)
	if f.AttrOr("data-confirm-name", "") != "store-7" {
		t.Error("confirm form not bound to app.js' name check")
	}
	for name, want := range map[string]string{"tenant": "store-7", "scope": "tenant", "sql": vm.SQL, "write": "1", "p_id": "3", "csrf": "tok"} {
		if v, _ := f.Find(`input[type="hidden"][name="` + name + `"]`).Attr("value"); v != want {
			t.Errorf("hidden %s = %q", name, v)
		}
	}
	if f.Find(`input[name="confirm"][data-testid="confirm-input"]`).Length() != 1 || f.Find(`label[for="sql-confirm"]`).Text() != "Type the tenant's name to confirm" {
		t.Error("confirm input or label")
	}
	if got := f.Find(`[data-testid="inline-error"]`).Text(); got != vm.ConfirmError {
		t.Errorf("confirm error %q", got)
	}
	if b := f.Find(`[data-testid="confirm-button"]`); !b.HasClass("btn-danger") || b.Text() != "Run with write access" {
		t.Error("confirm button")
	}
	if href := attr(doc, `[data-testid="confirm-cancel"]`, "href"); href != "/sql?tenant=store-7" {
		t.Errorf("cancel %q", href)
	}
}

func TestSQLErrorAndResult(t *testing.T) {
	vm := sqlVM()
	vm.Error = "no such table: order"
	doc := sqlPage(t, vm)
	if got := doc.Find(`.notice[data-testid="sql-error"] pre`).Text(); got != vm.Error {
		t.Errorf("error %q", got)
	}

	vm = sqlVM()
	doc = sqlPage(t, vm)
	if got := doc.Find(`[data-testid="row-count"]`).Text(); got != "2 rows" {
		t.Errorf("row count %q", got)
	}
	if got := doc.Find(`[data-testid="elapsed"]`).Text(); got != "1.2 ms" {
		t.Errorf("elapsed %q", got)
	}
	for id, want := range map[string]string{"export-csv": vm.CSVURL, "export-json": vm.JSONURL, "share-link": vm.ShareURL} {
		if got := attr(doc, `[data-testid="`+id+`"]`, "href"); got != want {
			t.Errorf("%s %q", id, got)
		}
	}
	tbl := doc.Find(`table.table.sql-result[data-testid="sql-result"]`)
	var types []string
	tbl.Find(`th [data-testid="column-type"]`).Each(func(_ int, s *goquery.Selection) { types = append(types, s.Text()) })
	if strings.Join(types, ",") != "INTEGER,TEXT,REAL," {
		t.Errorf("types %v", types)
	}
	if got := tbl.Find(`th [data-testid="column-name"]`).First().Text(); got != "id" {
		t.Errorf("first column %q", got)
	}
	if ths := tbl.Find("th"); !ths.Eq(0).HasClass("num") || ths.Eq(1).HasClass("num") || !ths.Eq(2).HasClass("num") || ths.Eq(3).HasClass("num") {
		t.Error("numeric column headers not right-aligned")
	}
	rows := tbl.Find(`tr[data-testid="result-row"]`)
	if rows.Length() != 2 {
		t.Fatalf("%d rows", rows.Length())
	}
	cells := rows.First().Find("td")
	if !cells.Eq(0).HasClass("num") || !cells.Eq(2).HasClass("num") || cells.Eq(0).Text() != "11" {
		t.Error("numbers not right-aligned")
	}
	if !cells.Eq(1).HasClass("sql-text") || cells.Eq(1).AttrOr("title", "") != strings.Repeat("long text ", 10) {
		t.Error("long text has no title")
	}
	if _, ok := rows.Eq(1).Find("td").Eq(1).Attr("title"); ok {
		t.Error("short text has a title")
	}
	if !cells.Eq(3).HasClass("sql-null") || cells.Eq(3).Text() != "NULL" {
		t.Error("NULL cell")
	}
	if count(doc, `[data-testid="truncated"]`) != 0 {
		t.Error("truncation notice without truncation")
	}
	// Saving needs a name and carries the SQL.
	save := doc.Find(`form[method="post"][action="/sql/saved"][data-testid="save-form"]`)
	if save.Find(`input[name="sql"]`).AttrOr("value", "") != vm.SQL || save.Find(`input[name="tenant"]`).AttrOr("value", "") != "store-7" {
		t.Error("save form hidden fields")
	}
	if n := save.Find(`input[name="name"][data-testid="save-name"][required]`); n.AttrOr("maxlength", "") != "100" {
		t.Error("save name input")
	}
	if save.Find(`[data-testid="save-button"]`).Length() != 1 {
		t.Error("no save button")
	}

	vm.Result.Truncated, vm.Result.MaxRows = true, 1000
	doc = sqlPage(t, vm)
	if got := doc.Find(`[data-testid="truncated"]`).Text(); !strings.Contains(got, "Showing the first 1,000 rows; the query returned more.") || !strings.Contains(got, "Export CSV or JSON for all of them.") {
		t.Errorf("truncated %q", got)
	}

	// A statement without rows shows its message.
	doc = render(t, SQLResultTable(SQLResult{Message: "3 rows changed"}))
	if got := doc.Find(`[data-testid="sql-message"]`).Text(); strings.TrimSpace(got) != "3 rows changed" || count(doc, `table`) != 0 {
		t.Errorf("message %q", got)
	}
	doc = render(t, SQLResultTable(SQLResult{Columns: []SQLColumn{{"a", ""}}}))
	if count(doc, `[data-testid="sql-no-rows"]`) != 1 || count(doc, `[data-testid="result-row"]`) != 0 {
		t.Error("empty result")
	}
}

func TestSQLFanOut(t *testing.T) {
	running := SQLFanOut{ID: "r1", PollURL: "/sql/runs/r1", Total: 120, Finished: 40, Failed: 2, Rate: "3,400 tenants/s"}
	doc := render(t, SQLFanOutPanel(running))
	f := doc.Find(`#fanout[data-testid="fanout"]`)
	if f.AttrOr("hx-get", "") != "/sql/runs/r1" || f.AttrOr("hx-trigger", "") != "every 500ms" || f.AttrOr("hx-swap", "") != "outerHTML" {
		t.Error("running fan-out does not poll")
	}
	if p := f.Find(`progress`); p.AttrOr("max", "") != "120" || p.AttrOr("value", "") != "40" {
		t.Error("progress bar")
	}
	pr := f.Find(`[data-testid="fanout-progress"]`)
	if pr.Text() != "40 / 120 tenants · 2 failed · 3,400 tenants/s" || pr.AttrOr("aria-live", "") != "polite" {
		t.Errorf("progress %q", pr.Text())
	}
	if count(doc, `[data-testid="fanout-summary"]`) != 0 || count(doc, `[data-testid="sql-result"]`) != 0 {
		t.Error("running fan-out shows results")
	}

	done := running
	done.Done, done.Finished, done.Elapsed = true, 120, "2.1 s"
	done.Result = &SQLResult{
		Columns: []SQLColumn{{"tenant", ""}, {"n", "INTEGER"}},
		Rows:    [][]SQLCell{{{"store-1", "text"}, {"5", "int"}}},
	}
	done.Errors = []SQLTenantError{{"store-9", "no such table: orders"}, {"store-10", "database is locked"}}
	done.TruncatedTenants = []string{"store-3"}
	doc = render(t, SQLFanOutPanel(done))
	f = doc.Find(`#fanout[data-testid="fanout"]`)
	if _, ok := f.Attr("hx-get"); ok || count(doc, `[hx-get]`) != 0 {
		t.Error("finished fan-out still polls")
	}
	if got := f.Find(`[data-testid="fanout-summary"]`).Text(); got != "Queried 120 tenants in 2.1 s: 118 succeeded, 2 failed" {
		t.Errorf("summary %q", got)
	}
	if f.Find(`[data-testid="result-row"]`).Length() != 1 {
		t.Error("merged result missing")
	}
	if got := f.Find(`[data-testid="fanout-truncated"]`).Text(); !strings.Contains(got, "store-3") || !strings.Contains(got, "had more rows than the cap") {
		t.Errorf("truncated tenants %q", got)
	}
	errs := f.Find(`table[data-testid="fanout-errors"] tr[data-testid="fanout-error"]`)
	if errs.Length() != 2 || errs.First().Find(`a`).AttrOr("href", "") != "/tenants/store-9" || !strings.Contains(errs.First().Text(), "no such table: orders") {
		t.Error("errors table")
	}
	if count(doc, `[data-testid="fanout-stopped"]`) != 0 {
		t.Error("stopped notice on a finished run")
	}

	done.Stopped, done.Finished, done.Errors, done.Failed = "canceled by the user", 60, nil, 0
	doc = render(t, SQLFanOutPanel(done))
	if got := doc.Find(`[data-testid="fanout-summary"]`).Text(); got != "Queried 60 of 120 tenants in 2.1 s: 60 succeeded, 0 failed" {
		t.Errorf("stopped summary %q", got)
	}
	if !strings.Contains(doc.Find(`[data-testid="fanout-stopped"]`).Text(), "canceled by the user") || count(doc, `[data-testid="fanout-errors"]`) != 0 {
		t.Error("stopped run")
	}

	// On the page.
	vm := sqlVM()
	vm.Result, vm.Scope, vm.FanOut = nil, "all", &running
	doc = sqlPage(t, vm)
	if count(doc, `#fanout[hx-get]`) != 1 {
		t.Error("page without its fan-out")
	}
}

func TestSQLSidebar(t *testing.T) {
	vm := sqlVM()
	vm.Schema = &SQLSchema{Tenant: "store-7", Tables: []SQLTable{
		{Name: "orders", Kind: "table", QueryURL: "/sql?tenant=store-7&sql=SELECT+%2A+FROM+orders+LIMIT+100",
			Columns: []SQLSchemaColumn{{Name: "id", Type: "INTEGER", PK: true, NotNull: true}, {Name: "note", Type: "TEXT"}},
			Indexes: []SQLIndex{{Name: "orders_paid", Columns: "paid_at, id", Unique: true}}},
		{Name: "recent", Kind: "view"},
	}}
	vm.Saved = []SQLSavedRow{
		{ID: 4, Name: "Big orders", SQL: "SELECT 1", Tenant: "store-7", CreatedBy: "a@example.com", URL: "/sql?saved=4", CanDelete: true},
		{ID: 5, Name: "Theirs", SQL: "SELECT 2", CreatedBy: "b@example.com", URL: "/sql?saved=5"},
	}
	vm.History = []SQLHistoryRow{
		{At: "2026-11-22 10:04 UTC", Target: "store-7", SQL: "SELECT *\n  FROM orders", OK: true, Rows: 1200, Elapsed: "3 ms", URL: "/sql?h=1"},
		{At: "2026-11-22 10:03 UTC", Target: "store-7", SQL: "DELETE FROM x", Write: true, Error: "no such table: x", URL: "/sql?h=2"},
	}
	doc := sqlPage(t, vm)

	s := doc.Find(`[data-testid="schema"]`)
	if !strings.Contains(s.Find("h2").Text(), "Schema of store-7") {
		t.Errorf("schema title %q", s.Find("h2").Text())
	}
	orders := s.Find(`details[data-testid="schema-table"][data-name="orders"]`)
	if orders.Find("summary").Length() != 1 || !strings.Contains(orders.Find(`[data-testid="schema-kind"]`).Text(), "table") {
		t.Error("orders table")
	}
	if orders.Find(`[data-testid="schema-column"]`).Length() != 2 || orders.Find(`[data-testid="pk"]`).Length() != 1 || orders.Find(`[data-testid="not-null"]`).Length() != 1 {
		t.Error("columns and marks")
	}
	ix := orders.Find(`[data-testid="schema-index"]`)
	if !strings.Contains(ix.Text(), "orders_paid") || !strings.Contains(ix.Text(), "paid_at, id") || ix.Find(`[data-testid="unique"]`).Length() != 1 {
		t.Errorf("index %q", ix.Text())
	}
	if orders.Find(`[data-testid="schema-query"]`).AttrOr("href", "") != vm.Schema.Tables[0].QueryURL {
		t.Error("query link")
	}
	if s.Find(`[data-name="recent"] [data-testid="schema-kind"]`).Text() != "view" {
		t.Error("view kind")
	}

	saved := doc.Find(`[data-testid="saved-queries"]`)
	links := saved.Find(`a[data-testid="saved-query"]`)
	if links.Length() != 2 || links.First().Text() != "Big orders" || links.First().AttrOr("href", "") != "/sql?saved=4" {
		t.Error("saved links")
	}
	del := saved.Find(`form[method="post"][action="/sql/saved/4/delete"]`)
	if del.Length() != 1 || del.AttrOr("data-confirm", "") != "Delete saved query Big orders?" || del.Find(`[data-testid="delete-saved"]`).Length() != 1 {
		t.Error("delete form")
	}
	if saved.Find(`[data-testid="delete-saved"]`).Length() != 1 {
		t.Error("delete offered without CanDelete")
	}
	if got := saved.Find(`[data-testid="saved-meta"]`).First().Text(); got != "store-7 · a@example.com" {
		t.Errorf("saved meta %q", got)
	}

	h := doc.Find(`[data-testid="history"] [data-testid="history-item"]`)
	if h.Length() != 2 || h.First().Text() != "SELECT * FROM orders" || h.First().AttrOr("title", "") != "SELECT *\n  FROM orders" || h.First().AttrOr("href", "") != "/sql?h=1" {
		t.Errorf("history item %q", h.First().Text())
	}
	var states []string
	doc.Find(`[data-testid="history-status"]`).Each(func(_ int, s *goquery.Selection) { states = append(states, s.Text()) })
	if strings.Join(states, ",") != "ok,failed" {
		t.Errorf("history states %v", states)
	}
	if count(doc, `[data-testid="history-write"]`) != 1 || doc.Find(`[data-testid="history-rows"]`).Text() != "1,200 rows" {
		t.Error("history write marker or rows")
	}

	// Nothing yet.
	doc = sqlPage(t, SQLConsole{})
	if count(doc, `[data-testid="schema-hint"]`) != 1 || count(doc, `[data-testid="schema-table"]`) != 0 {
		t.Error("schema hint")
	}
	if !strings.Contains(doc.Find(`[data-testid="history"]`).Text(), "Your queries will show up here.") {
		t.Error("history empty state")
	}
	vm.Schema = &SQLSchema{Tenant: "store-7", Error: "database is locked"}
	doc = sqlPage(t, vm)
	if doc.Find(`[data-testid="schema-error"]`).Text() != "database is locked" {
		t.Error("schema error")
	}

	// A long statement is shortened in the history.
	if got := oneLine(strings.Repeat("x ", 100)); len([]rune(got)) != 90 || !strings.HasSuffix(got, "…") {
		t.Errorf("oneLine %q", got)
	}
}

func TestSQLTenantOptions(t *testing.T) {
	doc := render(t, SQLTenantOptions([]string{"store-1", "store-2"}))
	var vals []string
	doc.Find("option").Each(func(_ int, s *goquery.Selection) { vals = append(vals, s.AttrOr("value", "")) })
	if strings.Join(vals, ",") != "store-1,store-2" {
		t.Errorf("options %v", vals)
	}
	if got := lineNumbers("a\nb\nc"); got != "1\n2\n3" {
		t.Errorf("lineNumbers %q", got)
	}
}
