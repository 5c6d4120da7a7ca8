package main

// The SQL console journey: an admin picks a tenant with the type-ahead,
// runs a query with a parameter, shares it, sees errors inline, makes a
// confirmed write, fans a query out over every tenant and saves it; a
// viewer then finds the saved query but no write mode.

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// load runs actions that load a page (a form submitted, a link followed),
// waits until it has loaded and returns its HTTP status, failing the test
// as step does.
func load(ctx context.Context, t *testing.T, name string, actions ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(sctx, actions...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, pageState(ctx))
	}
	if resp == nil {
		return 0
	}
	return resp.Status
}

// emptyField empties an input or a textarea. (chromedp's Clear needs a
// textarea with text; SetValue fails to set "" in chromedp v0.23.)
func emptyField(sel chromedp.CSS) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, string(sel)))
}

// typeSQL replaces what the SQL editor holds by typing sql into it.
func typeSQL(sql string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(emptyField(tid("sql-input")), chromedp.SendKeys(tid("sql-input"), sql))
}

// tenantOptions waits until the tenant type-ahead offers want.
func tenantOptions(ctx context.Context, t *testing.T, want ...string) {
	t.Helper()
	js := fmt.Sprintf(`Array.from(document.querySelectorAll("#tenant-options option"), o => o.value).join(",") === %q`,
		strings.Join(want, ","))
	get(ctx, t, "wait for the type-ahead to offer "+strings.Join(want, ", "),
		chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
}

// resultColumn is the texts of the n-th cell (from 1) of every result row.
func resultColumn(ctx context.Context, t *testing.T, n int) []string {
	t.Helper()
	return texts(ctx, t, tid("result-row")+chromedp.CSS(" td:nth-child("+strconv.Itoa(n)+")"))
}

// numbers is from, from+1, … to as text.
func numbers(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func TestBrowserSQLConsole(t *testing.T) {
	start := time.Now()
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	c.ok("users", "add", viewerEmail, "--role", "viewer")
	// store-N has N*10 orders, of $1.00, $2.00 and so on.
	for n := 1; n <= 3; n++ {
		name := fmt.Sprintf("store-%d", n)
		c.ok("tenants", "create", name)
		db := openTenant(t, c, name)
		for i := 1; i <= n*10; i++ {
			if _, err := db.Exec(`INSERT INTO orders(total_amount) VALUES (?)`, i*100); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
	}
	base := c.serve().URL

	login(ctx, t, base, adminEmail, testPassword)
	const (
		bigOrders = "SELECT id, total_amount FROM orders WHERE total_amount >= :min ORDER BY id"
		deleteOne = "DELETE FROM orders WHERE id = 1"
		perStore  = "SELECT count(*) AS n FROM orders"
	)
	minField := tid("param-input") + `[data-param="min"]`
	// checkBigOrders checks the page shows bigOrders run on store-2 with
	// :min at 1500.
	checkBigOrders := func(t *testing.T, what string) {
		t.Helper()
		step(ctx, t, what+": wait for the result", chromedp.WaitVisible(tid("result")))
		if exists(ctx, t, tid("sql-error")) {
			t.Fatalf("%s: the query failed: %s", what, text(ctx, t, tid("sql-error")))
		}
		// store-2's orders of $15.00 to $20.00.
		if got, want := resultColumn(ctx, t, 1), numbers(15, 20); !slices.Equal(got, want) {
			t.Errorf("%s: the result's ids are %q, want %q", what, got, want)
		}
		if got := resultColumn(ctx, t, 2); len(got) != 6 || got[0] != "1500" || got[5] != "2000" {
			t.Errorf("%s: the result's totals are %q, want 1500 to 2000", what, got)
		}
		if got := strings.Join(strings.Fields(text(ctx, t, tid("row-count"))), " "); got != "6 rows" {
			t.Errorf("%s: the row count says %q, want 6 rows", what, got)
		}
		if got := texts(ctx, t, tid("column-name")); !slices.Equal(got, []string{"id", "total_amount"}) {
			t.Errorf("%s: the columns are %q, want id, total_amount", what, got)
		}
		if got := texts(ctx, t, tid("column-type")); !slices.Equal(got, []string{"INTEGER", "INTEGER"}) {
			t.Errorf("%s: the column types are %q, want INTEGER, INTEGER", what, got)
		}
		if got := get(ctx, t, "read the tenant input", chromedp.Value(tid("tenant-input"))); got != "store-2" {
			t.Errorf("%s: the tenant input holds %q, want store-2", what, got)
		}
		if got := get(ctx, t, "read the :min field", chromedp.Value(minField)); got != "1500" {
			t.Errorf("%s: the :min field holds %q, want 1500", what, got)
		}
	}

	stage(t, "the console opens on empty history and saved queries", func(t *testing.T) {
		step(ctx, t, "go to the SQL console", chromedp.Click(tid("nav-sql")), chromedp.WaitVisible(tid("sql-form")))
		if p := path(ctx, t); p != "/sql" {
			t.Fatalf("nav-sql went to %s, want /sql", p)
		}
		if got := text(ctx, t, tid("page-title")); got != "SQL console" {
			t.Errorf("the page title is %q, want SQL console", got)
		}
		if !exists(ctx, t, tid("history-empty")) || !exists(ctx, t, tid("saved-empty")) {
			t.Error("a fresh console does not say that history and saved queries are empty")
		}
	})

	// The type-ahead offers the stores, then only the one typed.
	stage(t, "the tenant type-ahead narrows as one types", func(t *testing.T) {
		step(ctx, t, "type store- into the tenant input", chromedp.SendKeys(tid("tenant-input"), "store-"))
		tenantOptions(ctx, t, "store-1", "store-2", "store-3")
		step(ctx, t, "finish typing store-2", chromedp.SendKeys(tid("tenant-input"), "2"))
		tenantOptions(ctx, t, "store-2")
		shot(ctx, t, "sql-01-typeahead")
	})

	// A query with a parameter, which gets a field as it is typed.
	stage(t, "a query with a parameter runs on one tenant, at a shareable URL", func(t *testing.T) {
		step(ctx, t, "type a query with :min",
			typeSQL(bigOrders),
			chromedp.WaitVisible(minField),
			chromedp.SendKeys(minField, "1500"),
		)
		if status := load(ctx, t, "run the query", chromedp.Click(tid("run-button"))); status != 200 {
			t.Errorf("running the query answered %d, want 200", status)
		}
		checkBigOrders(t, "the query")
		q := query(ctx, t)
		if q.Get("run") != "1" || q.Get("tenant") != "store-2" || q.Get("sql") != bigOrders || q.Get("p_min") != "1500" {
			t.Errorf("the query ran at ?%s, want a shareable run=1&tenant=store-2&sql=…&p_min=1500", q.Encode())
		}
		shot(ctx, t, "sql-02-result")
	})

	stage(t, "the share link shows the same result", func(t *testing.T) {
		share := attr(ctx, t, tid("share-link"), "href")
		if !strings.HasPrefix(share, "/sql?") || !strings.Contains(share, "run=1") {
			t.Errorf("the share link is %q, want /sql?…run=1", share)
		}
		step(ctx, t, "open the share link", chromedp.Navigate(base+share))
		checkBigOrders(t, "the share link")
	})

	stage(t, "errors show inline and change nothing", func(t *testing.T) {
		if status := load(ctx, t, "run SELEC 1", typeSQL("SELEC 1"), chromedp.Click(tid("run-button"))); status != 400 {
			t.Errorf("SELEC 1 answered %d, want 400", status)
		}
		if got := text(ctx, t, tid("sql-error")); !strings.Contains(got, "syntax error") {
			t.Errorf("SELEC 1's error says %q, want a syntax error", got)
		}
		if exists(ctx, t, tid("result")) {
			t.Error("SELEC 1 shows a result")
		}
		shot(ctx, t, "sql-03-syntax-error")
		load(ctx, t, "run a DELETE read-only", typeSQL("DELETE FROM orders"), chromedp.Click(tid("run-button")))
		if got := text(ctx, t, tid("sql-error")); !strings.Contains(got, "read-only") {
			t.Errorf("a read-only DELETE's error says %q, want that the run is read-only", got)
		}
		if n := countOrders(t, c, "store-2"); n != 20 {
			t.Fatalf("after a read-only DELETE store-2 has %d orders, want 20", n)
		}
		shot(ctx, t, "sql-04-readonly")
	})

	stage(t, "a write waits for the tenant's name", func(t *testing.T) {
		step(ctx, t, "turn on write mode",
			chromedp.Click(chromedp.CSS(`.sql-write .switch-track`)),
			chromedp.WaitVisible(chromedp.CSS(`#sql-form.sql-writing`)),
		)
		if !get(ctx, t, "read the write toggle", chromedp.JavascriptAttribute[bool](tid("write-toggle"), "checked")) {
			t.Error("the write toggle is off after clicking it")
		}
		if got := text(ctx, t, tid("run-button")); got != "Run with write access…" {
			t.Errorf("in write mode the run button says %q", got)
		}
		load(ctx, t, "run a DELETE in write mode", typeSQL(deleteOne), chromedp.Click(tid("run-button")))
		step(ctx, t, "wait for app.js to bind the confirmation",
			chromedp.WaitVisible(tid("write-confirm")),
			chromedp.WaitVisible(tid("confirm-form")+`[data-confirm-bound]`),
		)
		if got := text(ctx, t, tid("confirm-tenant")); got != "store-2" {
			t.Errorf("the confirmation names the tenant %q, want store-2", got)
		}
		if got := text(ctx, t, tid("confirm-sql")); got != deleteOne {
			t.Errorf("the confirmation shows the SQL %q, want %q", got, deleteOne)
		}
		if n := countOrders(t, c, "store-2"); n != 20 {
			t.Fatalf("before the confirmation store-2 has %d orders, want 20", n)
		}
		shot(ctx, t, "sql-05-confirm")
		confirmDisabled := func(when string) bool {
			t.Helper()
			return get(ctx, t, "read whether confirm-button is disabled "+when,
				chromedp.JavascriptAttribute[bool](tid("confirm-button"), "disabled"))
		}
		if !confirmDisabled("before typing") {
			t.Error("confirm-button is enabled before the name is typed")
		}
		step(ctx, t, "type a wrong name", chromedp.SendKeys(tid("confirm-input"), "store-3"))
		if !confirmDisabled("with a wrong name") {
			t.Error("confirm-button is enabled with a wrong name typed")
		}
		// A browser without app.js submits the wrong name: the server refuses it.
		if status := load(ctx, t, "submit the wrong name",
			chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="confirm-form"]').submit()`)); status != 400 {
			t.Errorf("a wrong name answered %d, want 400", status)
		}
		if got := text(ctx, t, tid("write-confirm")+" "+tid("inline-error")); !strings.Contains(got, "not the tenant's name") {
			t.Errorf("after a wrong name the confirmation says %q", got)
		}
		if n := countOrders(t, c, "store-2"); n != 20 {
			t.Fatalf("after a wrong name store-2 has %d orders, want 20", n)
		}
		shot(ctx, t, "sql-06-confirm-wrong-name")
		step(ctx, t, "type the right name",
			chromedp.WaitVisible(tid("confirm-form")+`[data-confirm-bound]`),
			emptyField(tid("confirm-input")),
			chromedp.SendKeys(tid("confirm-input"), "store-2"),
		)
		if confirmDisabled("with the right name") {
			t.Fatal("confirm-button is still disabled with the right name typed")
		}
		load(ctx, t, "confirm the write", chromedp.Click(tid("confirm-button")))
		if got := text(ctx, t, tid("sql-message")); !strings.Contains(got, "1 row changed") {
			t.Errorf("after the write the message says %q, want 1 row changed", got)
		}
		if exists(ctx, t, tid("write-confirm")) {
			t.Error("the confirmation is still shown after the write")
		}
		if n := countOrders(t, c, "store-2"); n != 19 {
			t.Fatalf("after deleting one order store-2 has %d, want 19", n)
		}
		shot(ctx, t, "sql-07-written")
	})

	stage(t, "a fan-out over every tenant is polled until done", func(t *testing.T) {
		step(ctx, t, "choose all tenants",
			chromedp.Click(tid("scope-all")+chromedp.CSS(" + span")),
			chromedp.WaitNotVisible(tid("tenant-input")),
		)
		if get(ctx, t, "read the write toggle", chromedp.JavascriptAttribute[bool](tid("write-toggle"), "checked")) {
			t.Error("write mode stays on for all tenants")
		}
		load(ctx, t, "run the fan-out", typeSQL(perStore), chromedp.Click(tid("run-button")))
		step(ctx, t, "wait for the fan-out to finish", chromedp.WaitVisible(tid("fanout")+" "+tid("fanout-summary")))
		if got := attr(ctx, t, tid("fanout"), "hx-get"); got != "" {
			t.Errorf("the finished fan-out still polls %s", got)
		}
		if got := text(ctx, t, tid("fanout-state")); got != "succeeded" {
			t.Errorf("the fan-out is %q, want succeeded", got)
		}
		if got := text(ctx, t, tid("fanout-summary")); !strings.Contains(got, "3 tenants") {
			t.Errorf("the fan-out's summary says %q, want 3 tenants", got)
		}
		if got := texts(ctx, t, tid("fanout")+" "+tid("column-name")); !slices.Equal(got, []string{"tenant", "n"}) {
			t.Errorf("the fan-out's columns are %q, want tenant, n", got)
		}
		if got := resultColumn(ctx, t, 1); !slices.Equal(got, []string{"store-1", "store-2", "store-3"}) {
			t.Errorf("the fan-out's tenants are %q", got)
		}
		if got := resultColumn(ctx, t, 2); !slices.Equal(got, []string{"10", "19", "30"}) {
			t.Errorf("the fan-out's counts are %q, want 10, 19, 30", got)
		}
		// A fan-out starts only from the form's POST, never from a URL.
		if q := query(ctx, t); q.Get("run") != "" {
			t.Errorf("the fan-out ran at ?%s, want a POST", q.Encode())
		}
		if got := attr(ctx, t, tid("sql-form"), "method"); got != "post" {
			t.Errorf("the fan-out's form method is %q, want post", got)
		}
		shot(ctx, t, "sql-08-fanout")
	})

	// Save it; the history holds the runs.
	stage(t, "a saved query, and the history of the runs", func(t *testing.T) {
		load(ctx, t, "save the query",
			chromedp.SendKeys(tid("save-name"), "Orders per store"),
			chromedp.Click(tid("save-button")),
		)
		if got := text(ctx, t, tid("flash")); !strings.Contains(got, "Orders per store") {
			t.Errorf("after saving the flash says %q", got)
		}
		if got := texts(ctx, t, tid("saved-query")); !slices.Equal(got, []string{"Orders per store"}) {
			t.Errorf("the saved queries are %q, want Orders per store", got)
		}
		savedHref := attr(ctx, t, tid("saved-query"), "href")
		if !strings.Contains(savedHref, "scope=all") {
			t.Errorf("the saved query links to %q, want scope=all", savedHref)
		}
		history := texts(ctx, t, tid("history-item"))
		wantHistory := []string{perStore, deleteOne, "DELETE FROM orders", "SELEC 1", bigOrders, bigOrders}
		if !slices.Equal(history, wantHistory) {
			t.Errorf("the history lists %q, want %q", history, wantHistory)
		}
		if n := len(texts(ctx, t, tid("history-write"))); n != 1 {
			t.Errorf("the history marks %d writes, want 1", n)
		}
		shot(ctx, t, "sql-09-saved")
	})

	stage(t, "a viewer sees the saved query, not the write mode", func(t *testing.T) {
		step(ctx, t, "log out", chromedp.Click(tid("logout")), chromedp.WaitVisible(tid("login-form")))
		login(ctx, t, base, viewerEmail, testPassword)
		step(ctx, t, "viewer: go to the SQL console", chromedp.Click(tid("nav-sql")), chromedp.WaitVisible(tid("sql-form")))
		if exists(ctx, t, tid("write-toggle")) {
			t.Error("a viewer sees the write toggle")
		}
		if got := texts(ctx, t, tid("saved-query")); !slices.Equal(got, []string{"Orders per store"}) {
			t.Errorf("a viewer sees the saved queries %q, want Orders per store", got)
		}
		if got := text(ctx, t, tid("saved-row")); !strings.Contains(got, adminEmail) {
			t.Errorf("the saved query reads %q, which does not name its author %s", got, adminEmail)
		}
		if exists(ctx, t, tid("history-item")) {
			t.Error("a viewer sees the admin's history")
		}
		shot(ctx, t, "sql-10-viewer")
		load(ctx, t, "viewer: open the saved query", chromedp.Click(tid("saved-query")))
		if got := get(ctx, t, "read the editor", chromedp.Value(tid("sql-input"))); got != perStore {
			t.Errorf("the saved query opens with the SQL %q, want %q", got, perStore)
		}
		if !get(ctx, t, "read the all tenants radio", chromedp.JavascriptAttribute[bool](tid("scope-all"), "checked")) {
			t.Error("the saved query does not open on all tenants")
		}
		load(ctx, t, "viewer: run the saved query", chromedp.Click(tid("run-button")))
		step(ctx, t, "viewer: wait for the fan-out", chromedp.WaitVisible(tid("fanout-summary")))
		if got := resultColumn(ctx, t, 2); !slices.Equal(got, []string{"10", "19", "30"}) {
			t.Errorf("the viewer's fan-out counts are %q, want 10, 19, 30", got)
		}
	})

	// The link may be shared, or come from another site.
	stage(t, "a link to a fan-out fills the form and starts nothing until Run", func(t *testing.T) {
		link := "/sql?" + url.Values{"scope": {"all"}, "run": {"1"}, "sql": {perStore}}.Encode()
		step(ctx, t, "viewer: open a fan-out link", chromedp.Navigate(base+link), chromedp.WaitVisible(tid("sql-notice")))
		if exists(ctx, t, tid("fanout")) {
			t.Error("a fan-out link started the fan-out")
		}
		shot(ctx, t, "sql-11-fanout-link")
		load(ctx, t, "viewer: run the linked fan-out", chromedp.Click(tid("run-button")))
		step(ctx, t, "viewer: wait for the linked fan-out", chromedp.WaitVisible(tid("fanout-summary")))
	})
	t.Logf("the SQL console journey took %s", time.Since(start).Round(time.Millisecond))
}
