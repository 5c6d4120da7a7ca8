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
