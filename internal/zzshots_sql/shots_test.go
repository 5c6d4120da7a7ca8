package zzshots

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/chromedp/chromedp"

	"github.com/tenantry/tenantry/static"
	"github.com/tenantry/tenantry/views/layouts"
	"github.com/tenantry/tenantry/views/pages"
)

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

func page() layouts.Page {
	return layouts.Page{Title: "SQL console", Nav: "sql", User: "ada@example.com", Role: "admin", CSRF: "tok"}
}

func rich() pages.SQLConsole {
	var rows [][]pages.SQLCell
	notes := []string{"gift wrap please", "", "Leave the parcel with the neighbour at number 12 if nobody answers the door, thanks a lot!", "express", "call before delivery"}
	for i := 0; i < 15; i++ {
		note := pages.SQLCell{Text: notes[i%len(notes)], Kind: "text"}
		if note.Text == "" {
			note = pages.SQLCell{Kind: "null"}
		}
		rows = append(rows, []pages.SQLCell{
			{Text: fmt.Sprint(1040 + i), Kind: "int"},
			{Text: fmt.Sprintf("customer%02d@shop.example", i), Kind: "text"},
			{Text: fmt.Sprintf("%d.%02d", 20+i*7, i*13%100), Kind: "real"},
			{Text: []string{"paid", "pending", "refunded"}[i%3], Kind: "text"},
			note,
			{Text: fmt.Sprintf("2026-11-%02d 10:%02d:00", 1+i, i*3), Kind: "text"},
			{Text: "x'89504e47'", Kind: "blob"},
		})
	}
	return pages.SQLConsole{
		Scope:  "tenant",
		Tenant: "store-0042",
		SQL: "-- Big orders since a day\nSELECT id, email, total, status, note, created_at, thumb\nFROM orders\nWHERE total > :min_total\n  AND created_at >= @since\nORDER BY total DESC",
		Params:   []pages.SQLParam{{Name: "min_total", Value: "20"}, {Name: "since", Value: "2026-11-01"}},
		CanWrite: true,
		Timeout:  "5s",
		MaxRows:  1000,
		Result: &pages.SQLResult{
			Columns: []pages.SQLColumn{{"id", "INTEGER"}, {"email", "TEXT"}, {"total", "REAL"}, {"status", "TEXT"}, {"note", "TEXT"}, {"created_at", "DATETIME"}, {"thumb", "BLOB"}},
			Rows:    rows, Elapsed: "1.4 ms", Truncated: true, MaxRows: 15,
		},
		ShareURL: "/sql?tenant=store-0042&sql=SELECT&run=1",
		CSVURL:   "/sql/export.csv",
		JSONURL:  "/sql/export.json",
		History: []pages.SQLHistoryRow{
			{At: "2026-11-22 10:04 UTC", Target: "store-0042", SQL: "SELECT id, email, total, status, note, created_at FROM orders WHERE total > :min_total ORDER BY total DESC", OK: true, Rows: 15, Elapsed: "1.4 ms", URL: "/sql?h=1"},
			{At: "2026-11-22 10:01 UTC", Target: "all tenants", SQL: "SELECT count(*) FROM products", OK: true, Rows: 2400, Elapsed: "1.9 s", URL: "/sql?h=2"},
			{At: "2026-11-22 09:58 UTC", Target: "store-0042", SQL: "UPDATE orders SET status = 'paid' WHERE id = 1040", Write: true, OK: true, Rows: 1, Elapsed: "2 ms", URL: "/sql?h=3"},
			{At: "2026-11-22 09:50 UTC", Target: "store-*", SQL: "SELECT * FROM order", Error: "no such table: order", Elapsed: "0.3 ms", URL: "/sql?h=4"},
		},
		Saved: []pages.SQLSavedRow{
			{ID: 1, Name: "Top customers this month", SQL: "SELECT 1", Tenant: "store-0042", CreatedBy: "ada@example.com", URL: "/sql?saved=1", CanDelete: true},
			{ID: 2, Name: "Stuck carts", SQL: "SELECT 2", CreatedBy: "bob@example.com", URL: "/sql?saved=2"},
		},
		Schema: &pages.SQLSchema{Tenant: "store-0042", Tables: []pages.SQLTable{
			{Name: "orders", Kind: "table", QueryURL: "/sql?q=orders", Columns: []pages.SQLSchemaColumn{
				{Name: "id", Type: "INTEGER", PK: true, NotNull: true}, {Name: "email", Type: "TEXT", NotNull: true}, {Name: "total", Type: "REAL"}, {Name: "status", Type: "TEXT"}, {Name: "note", Type: "TEXT"}, {Name: "created_at", Type: "DATETIME", NotNull: true}},
				Indexes: []pages.SQLIndex{{Name: "orders_created", Columns: "created_at"}, {Name: "orders_email_id", Columns: "email, id", Unique: true}}},
			{Name: "products", Kind: "table", QueryURL: "/sql?q=products", Columns: []pages.SQLSchemaColumn{{Name: "sku", Type: "TEXT", PK: true}, {Name: "name", Type: "TEXT"}}},
			{Name: "recent_orders", Kind: "view", QueryURL: "/sql?q=recent", Columns: []pages.SQLSchemaColumn{{Name: "id", Type: "INTEGER"}}},
		}},
	}
}

func fanout(done bool, finished int) pages.SQLFanOut {
	f := pages.SQLFanOut{ID: "r1", PollURL: "/sql/runs/r1", Total: 1200, Finished: finished, Failed: 3, Rate: "3,400 tenants/s", Elapsed: "0.4 s"}
	if done {
		f.Done, f.Finished, f.Elapsed = true, 1200, "1.3 s"
		f.Result = &pages.SQLResult{Columns: []pages.SQLColumn{{"tenant", ""}, {"orders", "INTEGER"}, {"revenue", "REAL"}}}
		for i := 0; i < 6; i++ {
			f.Result.Rows = append(f.Result.Rows, []pages.SQLCell{{Text: fmt.Sprintf("store-%04d", i), Kind: "text"}, {Text: fmt.Sprint(100 + i*37), Kind: "int"}, {Text: fmt.Sprintf("%d.50", 1000+i*311), Kind: "real"}})
		}
		f.Errors = []pages.SQLTenantError{{"store-0099", "no such table: orders"}, {"store-0311", "database is locked"}, {"store-0777", "interrupted (timeout after 5s)"}}
		f.TruncatedTenants = []string{"store-0003", "store-0017"}
	}
	return f
}

func TestShots(t *testing.T) {
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", static.Handler(false, "")))
	serve := func(c templ.Component) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", csp)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			c.Render(r.Context(), w)
		}
	}
	mux.HandleFunc("/result", serve(pages.SQLPage(page(), rich())))
	empty := pages.SQLConsole{Timeout: "5s", MaxRows: 1000}
	mux.HandleFunc("/empty", serve(pages.SQLPage(page(), empty)))
	errVM := rich()
	errVM.Result, errVM.Error = nil, "near \"FORM\": syntax error\nSELECT * FORM orders\n         ^"
	mux.HandleFunc("/error", serve(pages.SQLPage(page(), errVM)))
	confirm := rich()
	confirm.SQL = "UPDATE orders SET status = 'refunded'\nWHERE id = :id"
	confirm.Params = []pages.SQLParam{{Name: "id", Value: "1040"}}
	confirm.Result, confirm.Write, confirm.Confirm, confirm.ConfirmError = nil, true, true, "That is not the tenant's name."
	confirm.ShareURL = ""
	mux.HandleFunc("/confirm", serve(pages.SQLPage(page(), confirm)))
	msg := rich()
	msg.Write = true
	msg.Result = &pages.SQLResult{Message: "3 rows changed", Elapsed: "2.0 ms"}
	mux.HandleFunc("/message", serve(pages.SQLPage(page(), msg)))
	run := rich()
	run.Scope, run.Pattern, run.Result, run.Schema, run.CanWrite = "pattern", "store-*", nil, nil, false
	run.SQL, run.Params = "SELECT count(*) AS orders, sum(total) AS revenue FROM orders", nil
	f := fanout(false, 420)
	run.FanOut = &f
	mux.HandleFunc("/running", serve(pages.SQLPage(page(), run)))
	done := run
	fd := fanout(true, 0)
	done.FanOut = &fd
	mux.HandleFunc("/done", serve(pages.SQLPage(page(), done)))
	mux.HandleFunc("/sql/runs/r1", func(w http.ResponseWriter, r *http.Request) {
		n := polls.Add(1)
		var c templ.Component
		if n >= 4 {
			c = pages.SQLFanOutPanel(fanout(true, 0))
		} else {
			c = pages.SQLFanOutPanel(fanout(false, 420+int(n)*250))
		}
		c.Render(r.Context(), w)
	})
	mux.HandleFunc("/sql/tenants", func(w http.ResponseWriter, r *http.Request) {
		pages.SQLTenantOptions([]string{"store-0001", "store-0002", "store-0042"}).Render(r.Context(), w)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir, _ := os.MkdirTemp("", "chr")
	defer os.RemoveAll(dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			t.Logf("CONSOLE %s", m.String())
		}
	}()
	C := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	os.MkdirAll("/tmp/sqlshots", 0o755)
	shot := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		if err := chromedp.Do(ctx, append(actions, chromedp.Sleep(300*time.Millisecond))...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		os.WriteFile("/tmp/sqlshots/"+name+".png", buf, 0o644)
	}
	eval := func(js string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	do := func(a ...chromedp.Action[chromedp.Void]) {
		if err := chromedp.Do(ctx, a...); err != nil {
			t.Fatal(err)
		}
	}
	shot("result", chromedp.Navigate(srv.URL+"/result"), chromedp.Click(C(`details[data-name="orders"] summary`)))
	shot("empty", chromedp.Navigate(srv.URL+"/empty"))
	shot("error", chromedp.Navigate(srv.URL+"/error"))
	shot("confirm", chromedp.Navigate(srv.URL+"/confirm"))
	shot("message", chromedp.Navigate(srv.URL+"/message"))
	shot("running", chromedp.Navigate(srv.URL+"/running"))
	shot("done", chromedp.Navigate(srv.URL+"/done"))

	// Behaviour: polling swaps in the result.
	polls.Store(0)
	do(chromedp.Navigate(srv.URL+"/running"), chromedp.WaitVisible(C(`[data-testid="fanout-summary"]`)))
	t.Logf("polled summary: %s (polls %d)", eval(`document.querySelector('[data-testid="fanout-summary"]').textContent`), polls.Load())

	// JS behaviours.
	do(chromedp.Navigate(srv.URL+"/result"))
	eval(`document.getElementById('sql-input').value = ''; ''`)
	do(chromedp.SendKeys(C(`#sql-input`), "SELECT *\nFROM t\nWHERE a = :alpha AND b = '@nope' -- :nope2\n AND c = $gamma"), chromedp.Sleep(400*time.Millisecond))
	t.Logf("gutter=%s", eval(`document.querySelector('.sql-gutter').textContent.split('\n').length + ' lines'`))
	t.Logf("params=%s", eval(`Array.from(document.querySelectorAll('[data-testid="param-input"]')).map(i => i.dataset.param + (i.disabled ? '(off)' : '') + (i.closest('.hidden') ? '(hidden)' : '')).join(',')`))
	do(chromedp.Click(C(`[data-testid="write-toggle"]`)))
	t.Logf("write: %s", eval(`[document.getElementById('sql-form').getAttribute('method'), document.getElementById('sql-form').getAttribute('action'), document.querySelector('[data-testid="run-button"]').textContent.trim(), 'csrfDisabled=' + document.querySelector('#sql-form input[name=csrf]').disabled, document.querySelector('[data-testid=limits]').textContent.trim()].join(' | ')`))
	shot("writemode")
	do(chromedp.Click(C(`[data-testid="scope-pattern"]`)))
	t.Logf("pattern: %s", eval(`['tenantDisabled=' + document.getElementById('sql-tenant').disabled, 'patternVisible=' + !document.querySelector('[data-scope=pattern]').classList.contains('hidden'), document.getElementById('sql-form').getAttribute('method'), 'write=' + document.querySelector('[data-testid="write-toggle"]').checked].join(' ')`))
	shot("pattern")
	do(chromedp.Navigate(srv.URL+"/empty"), chromedp.Focus(C(`#sql-tenant`)), chromedp.Sleep(600*time.Millisecond))
	t.Logf("datalist options after focus: %s", eval(`document.getElementById('tenant-options').children.length + ''`))
	// Ctrl+Enter submits.
	do(chromedp.SendKeys(C(`#sql-input`), "SELECT 1"), chromedp.Focus(C(`#sql-input`)),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.Sleep(500*time.Millisecond))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Logf("after ctrl+enter: %s", loc)
	do(chromedp.EmulateViewport(900, 900))
	shot("narrow", chromedp.Navigate(srv.URL+"/result"))
}
