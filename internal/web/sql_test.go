package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
)

// sqlFleet makes ready tenants store-1..n, store-i holding i*100 orders.
func sqlFleet(t *testing.T, e *env, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("store-%d", i)
		if _, err := e.life.Create(ctx, "test", name); err != nil {
			t.Fatal(err)
		}
	}
	e.runJobs()
	for i := 1; i <= n; i++ {
		db, err := e.life.Platform().Open(ctx, fmt.Sprintf("store-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ?1)
			INSERT INTO orders(total_amount, status) SELECT x, 'paid' FROM c`, i*100); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

func sqlURL(v url.Values) string { return "/sql?" + v.Encode() }

func orders(t *testing.T, e *env, name string) int {
	t.Helper()
	db, err := e.life.Platform().Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM orders`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSQLConsoleReadOnly(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 2)
	c := e.login("viewer@example.com")

	run := url.Values{"tenant": {"store-2"}, "run": {"1"},
		"sql": {"SELECT id, total_amount, NULL AS nothing_here FROM orders WHERE total_amount >= :min ORDER BY id"}, "p_min": {"150"}}
	res := c.get(sqlURL(run))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("run: %d", res.StatusCode)
	}
	doc := c.doc(res)
	if n := doc.Find(`[data-testid="result-row"]`).Length(); n != 51 {
		t.Fatalf("%d result rows, want 51", n)
	}
	if got := doc.Find(`[data-testid="column-type"]`).First().Text(); !strings.Contains(got, "INTEGER") {
		t.Errorf("first column type %q", got)
	}
	if v, _ := doc.Find(`[data-testid="param-input"][data-param="min"]`).Attr("value"); v != "150" {
		t.Errorf("parameter field value %q", v)
	}
	share, _ := doc.Find(`[data-testid="share-link"]`).Attr("href")
	if !strings.Contains(share, "run=1") || !strings.Contains(share, "p_min=150") {
		t.Errorf("share link %q", share)
	}
	if doc.Find(`[data-testid="schema-table"][data-name="orders"]`).Length() != 1 {
		t.Error("schema browser lacks the orders table")
	}

	// JSON, the CLI's shape.
	body := jsonBody[struct {
		Columns   []string `json:"columns"`
		Rows      [][]any  `json:"rows"`
		Truncated bool     `json:"truncated"`
	}](t, c.get(sqlURL(run), "Accept", "application/json"))
	if len(body.Rows) != 51 || body.Columns[2] != "nothing_here" || body.Rows[0][2] != nil || body.Truncated {
		t.Fatalf("JSON: %d rows, columns %v, first %v", len(body.Rows), body.Columns, body.Rows[0])
	}

	// The row cap, with its notice; the CSV export holds every row.
	all := url.Values{"tenant": {"store-2"}, "run": {"1"}, "sql": {"SELECT a.id, b.id FROM orders a, orders b WHERE b.id <= 6"}}
	doc = c.doc(c.get(sqlURL(all)))
	if doc.Find(`[data-testid="result-row"]`).Length() != 1000 || doc.Find(`[data-testid="truncated"]`).Length() != 1 {
		t.Fatalf("capped run: %d rows, truncation notice %d", doc.Find(`[data-testid="result-row"]`).Length(), doc.Find(`[data-testid="truncated"]`).Length())
	}
	csvRes := c.get("/sql.csv?" + all.Encode())
	if csvRes.StatusCode != http.StatusOK || !strings.HasPrefix(csvRes.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV export: %d %s", csvRes.StatusCode, csvRes.Header.Get("Content-Type"))
	}
	records, err := csv.NewReader(csvRes.Body).ReadAll()
	if err != nil || len(records) != 1+1200 {
		t.Fatalf("CSV export: %d records, %v", len(records), err)
	}

	// Every kind of write is refused by the connection, with SQLite's
	// message, and changes nothing.
	for _, q := range []string{`DELETE FROM orders`, `DROP TABLE orders`, `UPDATE orders SET status = 'x'`, `PRAGMA user_version = 9`,
		`ATTACH '/tmp/evil.db' AS evil`, `VACUUM INTO '/tmp/copy.db'`, `SELECT 1; DELETE FROM orders`, `PRAGMA temp_store_directory = '/tmp'`} {
		res := c.get(sqlURL(url.Values{"tenant": {"store-2"}, "run": {"1"}, "sql": {q}}))
		doc := c.doc(res)
		if res.StatusCode != http.StatusBadRequest || doc.Find(`[data-testid="sql-error"]`).Length() != 1 {
			t.Errorf("%q: %d, error shown %d", q, res.StatusCode, doc.Find(`[data-testid="sql-error"]`).Length())
		}
	}
	if n := orders(t, e, "store-2"); n != 200 {
		t.Fatalf("store-2 has %d orders after refused writes", n)
	}
	for _, f := range []string{"/tmp/evil.db", "/tmp/copy.db"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s was written", f)
		}
	}

	// Bad input: clear messages, right codes.
	for _, tc := range []struct {
		v      url.Values
		status int
		says   string
	}{
		{url.Values{"tenant": {"store-1"}, "run": {"1"}, "sql": {"SELEC 1"}}, 400, `syntax error`},
		{url.Values{"tenant": {"store-1"}, "run": {"1"}, "sql": {"SELECT * FROM nowhere"}}, 400, `no such table: nowhere`},
		{url.Values{"tenant": {"store-1"}, "run": {"1"}, "sql": {"SELECT :x"}}, 400, `Give a value for :x`},
		{url.Values{"tenant": {"nosuch"}, "run": {"1"}, "sql": {"SELECT 1"}}, 404, `nosuch`},
		{url.Values{"tenant": {"Bad Name"}, "run": {"1"}, "sql": {"SELECT 1"}}, 400, `name`},
		{url.Values{"run": {"1"}, "sql": {"SELECT 1"}}, 400, `Choose a tenant`},
		{url.Values{"scope": {"pattern"}, "pattern": {"["}, "run": {"1"}, "sql": {"SELECT 1"}}, 400, `pattern`},
		{url.Values{"scope": {"list"}, "list": {"store-1 nosuch"}, "run": {"1"}, "sql": {"SELECT 1"}}, 404, `nosuch`},
	} {
		res := c.get(sqlURL(tc.v))
		if tc.v.Get("scope") != "" { // a fan-out: a POST
			res = c.post("/sql", tc.v)
		}
		msg := c.doc(res).Find(`[data-testid="sql-error"]`).Text()
		if res.StatusCode != tc.status || !strings.Contains(msg, tc.says) {
			t.Errorf("%v: %d %q, want %d saying %q", tc.v, res.StatusCode, msg, tc.status, tc.says)
		}
	}

	// The type-ahead.
	doc = c.doc(c.get("/sql/tenants?tenant=store-"))
	if doc.Find("option").Length() != 2 {
		t.Errorf("type-ahead: %d options", doc.Find("option").Length())
	}

	// The history holds the runs, newest first.
	doc = c.doc(c.get("/sql"))
	if n := doc.Find(`[data-testid="history-item"]`).Length(); n < 10 {
		t.Errorf("history shows %d runs", n)
	}
}

func TestSQLConsoleWrite(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 1)
	write := url.Values{"tenant": {"store-1"}, "sql": {"DELETE FROM orders WHERE id > :keep"}, "p_keep": {"10"}, "write": {"1"}}

	viewer := e.login("viewer@example.com")
	if res := viewer.post("/sql/write", write); res.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer write: %d", res.StatusCode)
	}
	write.Del("csrf") // post adds its client's token to the form
	admin := e.login("admin@example.com")
	res := admin.post("/sql/write", write)
	if doc := admin.doc(res); res.StatusCode != http.StatusOK || doc.Find(`[data-testid="write-confirm"]`).Length() != 1 {
		t.Fatalf("write without confirmation: %d, confirmation shown %d", res.StatusCode, doc.Find(`[data-testid="write-confirm"]`).Length())
	}
	write.Set("confirm", "store-2")
	if res := admin.post("/sql/write", write); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong confirmation: %d", res.StatusCode)
	}
	if n := orders(t, e, "store-1"); n != 100 {
		t.Fatalf("%d orders before the confirmed write", n)
	}
	write.Set("confirm", "store-1")
	res = admin.post("/sql/write", write)
	doc := admin.doc(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(doc.Find(`[data-testid="sql-message"]`).Text(), "90 rows changed") {
		t.Fatalf("confirmed write: %d %q %q", res.StatusCode, doc.Find(`[data-testid="sql-message"]`).Text(), doc.Find(`[data-testid="sql-error"]`).Text())
	}
	if n := orders(t, e, "store-1"); n != 10 {
		t.Fatalf("%d orders after the write, want 10", n)
	}
	// Even in write mode no other file is reachable.
	write.Set("sql", "ATTACH '"+filepath.Join(t.TempDir(), "x.db")+"' AS x")
	if res := admin.post("/sql/write", write); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("ATTACH in write mode: %d", res.StatusCode)
	}
	// Audited: who, tenant, SQL, outcome.
	entries, err := e.db.AuditLog(context.Background(), central.AuditFilter{Action: "sql.write"})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit: %v, %v", entries, err)
	}
	ok, failed := entries[1], entries[0]
	if ok.Actor != "admin@example.com" || ok.Tenant != "store-1" || !strings.Contains(ok.Detail, "DELETE FROM orders") || ok.Outcome != "ok" || failed.Outcome != "failed" {
		t.Fatalf("audit entries: %+v", entries)
	}
}

func TestSQLFanOut(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 4)
	// A dead tenant database: the fan-out records it and goes on.
	dir := filepath.Dir(strings.TrimPrefix(strings.SplitN(tenantURL(t, e, "store-3"), "?", 2)[0], "file:"))
	if err := os.WriteFile(filepath.Join(dir, "store-3.db"), []byte("not a database, not at all, no"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := e.login("viewer@example.com")
	q := url.Values{"scope": {"all"}, "run": {"1"}, "sql": {"SELECT count(*) AS n FROM orders"}}
	doc := c.doc(c.post("/sql", q))
	poll, ok := doc.Find(`[data-testid="fanout"]`).Attr("hx-get")
	if !ok {
		// It may already be done; then the page has no poll.
		t.Log("fan-out finished before the page rendered")
	}
	deadline := time.Now().Add(20 * time.Second)
	for ok && time.Now().Before(deadline) {
		doc = c.doc(c.get(poll))
		_, ok = doc.Find(`[data-testid="fanout"]`).Attr("hx-get")
		if ok {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if ok {
		t.Fatal("fan-out did not finish")
	}
	rows := doc.Find(`[data-testid="result-row"]`)
	if rows.Length() != 3 || doc.Find(`[data-testid="fanout-error"]`).Length() != 1 {
		t.Fatalf("fan-out: %d rows, %d errors; %s", rows.Length(), doc.Find(`[data-testid="fanout-error"]`).Length(), doc.Find(`[data-testid="fanout-summary"]`).Text())
	}
	if !strings.Contains(rows.First().Text(), "store-1") || !strings.Contains(doc.Find(`[data-testid="fanout-error"]`).Text(), "store-3") {
		t.Errorf("first row %q, error %q", rows.First().Text(), doc.Find(`[data-testid="fanout-error"]`).Text())
	}
	// Another user cannot read the run.
	if res := e.login("admin@example.com").get(poll); poll != "" && res.StatusCode != http.StatusNotFound {
		t.Errorf("another user's run: %d", res.StatusCode)
	}

	// JSON at once, with the failures; a pattern picks tenants.
	body := jsonBody[struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
		Errors  []struct {
			Tenant string `json:"tenant"`
			Error  string `json:"error"`
		} `json:"errors"`
	}](t, c.postJSON("/sql", url.Values{"scope": {"pattern"}, "pattern": {"store-[12]"}, "run": {"1"}, "sql": {"SELECT count(*) AS n FROM orders"}}))
	if fmt.Sprint(body.Columns) != "[tenant n]" || fmt.Sprint(body.Rows) != "[[store-1 100] [store-2 200]]" || len(body.Errors) != 0 {
		t.Fatalf("pattern fan-out JSON: %+v", body)
	}
	// The history links each fan-out back to its scope.
	c.postJSON("/sql", url.Values{"scope": {"list"}, "list": {"store-2,store-1"}, "run": {"1"}, "sql": {"SELECT 2"}})
	doc = c.doc(c.get("/sql"))
	for i, want := range []struct{ target, scope, key, value string }{
		{"list store-2, store-1", "list", "list", "store-2, store-1"},
		{"pattern store-[12]", "pattern", "pattern", "store-[12]"},
	} {
		row := doc.Find(`[data-testid="history-row"]`).Eq(i)
		href, _ := row.Find(`[data-testid="history-item"]`).Attr("href")
		u, err := url.Parse(href)
		if err != nil || row.Find(".sql-history-target").Text() != want.target ||
			u.Query().Get("scope") != want.scope || u.Query().Get(want.key) != want.value {
			t.Errorf("history row %d: %q links to %q, want %+v", i, row.Find(".sql-history-target").Text(), href, want)
		}
	}
	// A streamed JSON export of all of them.
	res := c.post("/sql.json", url.Values{"scope": {"all"}, "sql": {"SELECT count(*) AS n FROM orders"}})
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `["store-4",400]`) || !strings.Contains(string(b), `"tenant":"store-3"`) {
		t.Fatalf("fan-out export: %d %s", res.StatusCode, b)
	}
}

func tenantURL(t *testing.T, e *env, name string) string {
	t.Helper()
	tn, err := e.db.Tenant(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tn.URL
}

func TestSQLSavedQueries(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 1)
	admin := e.login("admin@example.com")
	res := admin.post("/sql/saved", url.Values{"name": {"Big orders"}, "sql": {"SELECT * FROM orders WHERE total_amount > :min"}, "tenant": {"store-1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	if res := admin.post("/sql/saved", url.Values{"name": {"Big orders"}, "sql": {"SELECT 1"}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("save under a taken name: %d", res.StatusCode)
	}
	if res := admin.post("/sql/saved", url.Values{"name": {""}, "sql": {"SELECT 1"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("save without a name: %d", res.StatusCode)
	}
	viewer := e.login("viewer@example.com")
	doc := viewer.doc(viewer.get("/sql"))
	saved := doc.Find(`[data-testid="saved-query"]`)
	if saved.Length() != 1 || !strings.Contains(saved.Text(), "Big orders") {
		t.Fatalf("viewer sees %d saved queries", saved.Length())
	}
	qs, _ := admin.e.db.SavedQueries(context.Background())
	del := fmt.Sprintf("/sql/saved/%d/delete", qs[0].ID)
	if res := viewer.post(del, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer deletes an admin's query: %d", res.StatusCode)
	}
	if res := admin.post(del, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin deletes: %d", res.StatusCode)
	}
	if res := admin.post(del, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("delete twice: %d", res.StatusCode)
	}
	_ = fleet.ENOTFOUND
}

// endless never ends on its own: only the time limit or a cancel stops it.
const endless = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c`

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// TestSQLFanOutStartsOnlyFromPOST: a GET, a shared link or another site's,
// fills the form and starts nothing (issue 15: GET /sql?scope=all&run=1
// started a fan-out over the whole fleet); the form's POST with its CSRF
// token starts it.
func TestSQLFanOutStartsOnlyFromPOST(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 2)
	c := e.login("viewer@example.com")
	q := url.Values{"scope": {"all"}, "run": {"1"}, "sql": {"SELECT count(*) AS n FROM orders"}}

	res := c.get(sqlURL(q))
	doc := c.doc(res)
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="fanout"]`).Length() != 0 {
		t.Fatalf("GET of a fan-out link: %d, fan-out panels %d", res.StatusCode, doc.Find(`[data-testid="fanout"]`).Length())
	}
	if !strings.Contains(doc.Find(`[data-testid="sql-notice"]`).Text(), "press Run") {
		t.Errorf("notice %q, want it to ask to press Run", doc.Find(`[data-testid="sql-notice"]`).Text())
	}
	if m, _ := doc.Find(`#sql-form`).Attr("method"); m != "post" {
		t.Errorf("the fan-out form's method is %q, want post", m)
	}
	if _, disabled := doc.Find(`#sql-form input[data-sql-csrf]`).Attr("disabled"); disabled {
		t.Error("the fan-out form's CSRF token is disabled")
	}
	if got := doc.Find(`textarea[name="sql"]`).Text(); !strings.Contains(got, "SELECT count(*)") {
		t.Errorf("the form holds %q", got)
	}
	res = c.get(sqlURL(q), "Accept", "application/json")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(jsonBody[struct{ Error string }](t, res).Error, "POST") {
		t.Errorf("JSON GET of a fan-out: %d", res.StatusCode)
	}
	for _, format := range []string{"csv", "json"} {
		if res := c.get("/sql." + format + "?" + q.Encode()); res.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /sql.%s of a fan-out: %d", format, res.StatusCode)
		}
	}
	if hist, err := e.db.QueryHistory(context.Background(), "viewer@example.com", 10); err != nil || len(hist) != 0 {
		t.Fatalf("GETs ran %d queries (%v)", len(hist), err)
	}

	// A POST without the token (another site's form) is refused.
	if res := c.post("/sql", url.Values{"csrf": {"forged"}, "scope": {"all"}, "run": {"1"}, "sql": {"SELECT 1"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d", res.StatusCode)
	}
	// The form's POST runs it.
	doc = c.doc(c.post("/sql", q))
	if doc.Find(`[data-testid="fanout"]`).Length() != 1 {
		t.Fatal("POST did not start the fan-out")
	}
	// A one-tenant run is still a link.
	res = c.get(sqlURL(url.Values{"tenant": {"store-1"}, "run": {"1"}, "sql": {"SELECT 1"}}))
	if res.StatusCode != http.StatusOK || c.doc(res).Find(`[data-testid="result-row"]`).Length() != 1 {
		t.Errorf("one-tenant GET run: %d", res.StatusCode)
	}
}

// TestSQLConsoleBoundsQueriesAtOnce: past its per-user count a run is
// answered 429 with Retry-After, a clear message on the page and the
// error JSON to JSON (issue 15: four viewers' queries at once took 2.3 GB).
func TestSQLConsoleBoundsQueriesAtOnce(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 1)
	e.srv.Console.Limits.Timeout = 10 * time.Minute // the runs end when their clients go
	c := e.login("viewer@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 8)
	t.Cleanup(func() {
		cancel()
		waitFor(t, "the runs to stop", func() bool { _, _, q, _ := e.srv.Console.Running(""); return q == 0 })
	})
	long := sqlURL(url.Values{"tenant": {"store-1"}, "run": {"1"}, "sql": {endless}})
	for range console.MaxQueriesPerUser {
		go func() {
			defer func() { done <- struct{}{} }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+long, nil)
			if res, err := c.http.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	waitFor(t, "the runs to start", func() bool {
		q, _, _, _ := e.srv.Console.Running("viewer@example.com")
		return q == console.MaxQueriesPerUser
	})

	// Past the limit the answer is at once; were the run let through, it
	// would never end, so a minute is the most these wait.
	over := func(path string, header ...string) *http.Response {
		octx, ocancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(ocancel)
		req, _ := http.NewRequestWithContext(octx, http.MethodGet, e.ts.URL+path, nil)
		if len(header) == 2 {
			req.Header.Set(header[0], header[1])
		}
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatalf("a run past the limit was let through: %v", err)
		}
		return res
	}
	res := over(long)
	msg := c.doc(res).Find(`[data-testid="sql-error"]`).Text()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(msg, "at once") {
		t.Fatalf("a run past the limit: %d, Retry-After %q, %q", res.StatusCode, res.Header.Get("Retry-After"), msg)
	}
	res = over(long, "Accept", "application/json")
	body := jsonBody[struct{ Error, Code string }](t, res)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(body.Error, "at once") {
		t.Fatalf("JSON run past the limit: %d %+v", res.StatusCode, body)
	}
	if res := c.get("/sql.csv?" + url.Values{"tenant": {"store-1"}, "sql": {"SELECT 1"}}.Encode()); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("an export past the limit: %d", res.StatusCode)
	}
	// Someone else still may.
	if res := e.login("admin@example.com").get(sqlURL(url.Values{"tenant": {"store-1"}, "run": {"1"}, "sql": {"SELECT 1"}})); res.StatusCode != http.StatusOK {
		t.Errorf("another user's run: %d", res.StatusCode)
	}
	// The clients going away stops their runs and frees the slots.
	cancel()
	for range console.MaxQueriesPerUser {
		<-done
	}
	waitFor(t, "the slots to free", func() bool { q, _, _, _ := e.srv.Console.Running("viewer@example.com"); return q == 0 })
	if res := c.get(sqlURL(url.Values{"tenant": {"store-1"}, "run": {"1"}, "sql": {"SELECT 1"}})); res.StatusCode != http.StatusOK {
		t.Errorf("a run after the others stopped: %d", res.StatusCode)
	}
}

// TestSQLFanOutsBoundedAndCancelledOnShutdown: fan-outs are bounded per
// user and for the server (429 past them), and the end of Serve's context
// stops those running (issue 15: six fan-outs from one viewer made the
// tenant list 60 times slower, and they outlived their clients).
func TestSQLFanOutsBoundedAndCancelledOnShutdown(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 2)
	e.srv.Console.Limits.Timeout = 10 * time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, "127.0.0.1:0", nil) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	if _, err := e.db.AddUser(context.Background(), "ops@example.com", password, fleet.RoleViewer); err != nil {
		t.Fatal(err)
	}
	start := func(c *client) *http.Response {
		return c.post("/sql", url.Values{"scope": {"all"}, "run": {"1"}, "sql": {endless}})
	}
	var polls []string
	users := []*client{e.login("viewer@example.com"), e.login("admin@example.com")}
	for _, c := range users {
		for range console.MaxFanOutsPerUser {
			doc := c.doc(start(c))
			poll, ok := doc.Find(`[data-testid="fanout"]`).Attr("hx-get")
			if !ok {
				t.Fatalf("fan-out did not start: %s", doc.Find(`[data-testid="sql-error"]`).Text())
			}
			polls = append(polls, poll)
		}
	}
	res := start(users[0])
	if msg := users[0].doc(res).Find(`[data-testid="sql-error"]`).Text(); res.StatusCode != http.StatusTooManyRequests ||
		res.Header.Get("Retry-After") == "" || !strings.Contains(msg, "for one person") {
		t.Errorf("a fan-out past the user's limit: %d %q", res.StatusCode, msg)
	}
	ops := e.login("ops@example.com")
	res = start(ops)
	if msg := ops.doc(res).Find(`[data-testid="sql-error"]`).Text(); res.StatusCode != http.StatusTooManyRequests || !strings.Contains(msg, "its most at once") {
		t.Errorf("a fan-out past the server's limit: %d %q", res.StatusCode, msg)
	}
	res = ops.postJSON("/sql", url.Values{"scope": {"all"}, "run": {"1"}, "sql": {"SELECT 1"}})
	if body := jsonBody[struct{ Error string }](t, res); res.StatusCode != http.StatusTooManyRequests || body.Error == "" {
		t.Errorf("a JSON fan-out past the server's limit: %d %+v", res.StatusCode, body)
	}

	// Shutdown: Serve returns once the fan-outs have stopped.
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	served <- nil
	if _, f, _, all := e.srv.Console.Running(""); f != 0 || all != 0 {
		t.Fatalf("%d fan-outs still running after Serve returned", all)
	}
	body := jsonBody[struct {
		Done    bool
		Stopped string
	}](t, users[0].get(polls[0], "Accept", "application/json"))
	if !body.Done || !strings.Contains(body.Stopped, "shutting down") {
		t.Fatalf("a fan-out after shutdown: %+v", body)
	}
}

// TestSQLCSVNeutralisesFormulas: tenant text that a spreadsheet would run
// as a formula is neutralised in the CSV download, numbers stay numbers,
// and raw=1 gives the values as they are (issue 15).
func TestSQLCSVNeutralisesFormulas(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 1)
	db, err := e.life.Platform().Open(context.Background(), "store-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE orders SET status = '=HYPERLINK("http://evil.example","Invoice")' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c := e.login("viewer@example.com")
	q := url.Values{"tenant": {"store-1"}, "sql": {"SELECT status, -5 AS change, '-12.5' AS pct FROM orders WHERE id = 1"}}
	for raw, want := range map[string]string{
		"":  `'=HYPERLINK("http://evil.example","Invoice") -5 -12.5`,
		"1": `=HYPERLINK("http://evil.example","Invoice") -5 -12.5`,
	} {
		v := url.Values{"raw": {raw}}
		for k, x := range q {
			v[k] = x
		}
		records, err := csv.NewReader(c.get("/sql.csv?" + v.Encode()).Body).ReadAll()
		if err != nil || len(records) != 2 || strings.Join(records[1], " ") != want {
			t.Errorf("raw=%q: %q (%v), want %q", raw, records, err, want)
		}
	}
}
