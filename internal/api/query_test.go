package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
)

// tenants creates ready tenants through the API.
func (e *env) tenants(names ...string) {
	e.t.Helper()
	for _, n := range names {
		e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": n}).want(e.t, http.StatusCreated)
	}
}

// breakTenant makes a tenant's database file unreadable: its registry
// row still says ready.
func (e *env) breakTenant(name string) {
	e.t.Helper()
	base := filepath.Join(e.dir, "tenants", name+".db")
	for _, f := range []string{base + "-wal", base + "-shm"} {
		_ = os.Remove(f)
	}
	if err := os.WriteFile(base, bytes.Repeat([]byte("not a database "), 512), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// obj is a JSON object a test sends.
type obj = map[string]any

func TestQueryAPIOneTenant(t *testing.T) {
	e := newEnv(t, nil)
	e.tenants("acme")

	var w api.QueryResult
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenant": "acme", "write": true,
		"sql": "INSERT INTO orders(total_amount) VALUES (:a), (:b)", "params": map[string]string{"a": "10", "b": "25"}}).want(t, http.StatusOK).json(t, &w)
	if w.Changes != 2 || len(w.Columns) != 0 {
		t.Fatalf("write = %+v", w)
	}

	// A viewer reads, as on the HTML console, and may not write.
	var r api.QueryResult
	e.call(e.viewer, "POST", "/api/v1/query", obj{"tenant": "acme", "sql": "SELECT count(*) AS n, sum(total_amount) AS s FROM orders"}).
		want(t, http.StatusOK).json(t, &r)
	if !reflect.DeepEqual(r.Columns, []string{"n", "s"}) || len(r.Rows) != 1 || r.Rows[0][0] != 2.0 || r.Rows[0][1] != 35.0 || r.Truncated {
		t.Fatalf("read = %+v", r)
	}
	p := e.call(e.viewer, "POST", "/api/v1/query", obj{"tenant": "acme", "sql": "DELETE FROM orders", "write": true}).
		want(t, http.StatusForbidden).problem(t)
	if !strings.Contains(p.Detail, "viewer") {
		t.Fatalf("403 says %q", p.Detail)
	}
	// Without write the connection is read-only, whoever asks.
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenant": "acme", "sql": "DELETE FROM orders"}).want(t, http.StatusUnprocessableEntity).problem(t)
	e.call(e.viewer, "POST", "/api/v1/query", obj{"tenant": "acme", "sql": "SELECT count(*) FROM orders"}).want(t, http.StatusOK).json(t, &r)
	if r.Rows[0][0] != 2.0 {
		t.Fatalf("the refused delete changed the tenant: %+v", r)
	}

	// The console's row cap.
	e.call(e.viewer, "POST", "/api/v1/query", obj{"tenant": "acme",
		"sql": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 5000) SELECT i FROM n"}).want(t, http.StatusOK).json(t, &r)
	if len(r.Rows) != console.DefaultMaxRows || !r.Truncated {
		t.Fatalf("%d rows, truncated %v", len(r.Rows), r.Truncated)
	}

	for _, bad := range []any{
		`{"tenant": "acme"}`, // no sql
		`{"tenant": "acme", "sql": "SELECT 1", "limit": 5}`,
		`{"tenant": "acme", "tenants": {"all": true}, "sql": "SELECT 1"}`,
		`{"sql": "SELECT 1"}`,
		`{"tenants": {}, "sql": "SELECT 1"}`,
		`{"tenants": {"all": true, "pattern": "a*"}, "sql": "SELECT 1"}`,
		`{"tenants": {"list": []}, "sql": "SELECT 1"}`,
		`{"tenant": "Not A Name", "sql": "SELECT 1"}`,
		`{"tenant": "acme", "sql": "SELECT :missing"}`,
		`{"tenant": "acme", "sql": "SELEKT 1"}`,
		`[1]`,
	} {
		e.call(e.admin, "POST", "/api/v1/query", bad).want(t, http.StatusUnprocessableEntity).problem(t)
	}
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenant": "nope", "sql": "SELECT 1"}).want(t, http.StatusNotFound).problem(t)
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenants": obj{"list": []string{"acme", "nope"}}, "sql": "SELECT 1"}).
		want(t, http.StatusNotFound).problem(t)
	e.call("", "POST", "/api/v1/query", obj{"tenant": "acme", "sql": "SELECT 1"}).want(t, http.StatusUnauthorized).problem(t)
}

// TestQueryAPIFanOut runs a query over three tenants, one of whose
// database is broken: the others' rows come back, the broken one is
// reported, as one document and as NDJSON read line by line.
func TestQueryAPIFanOut(t *testing.T) {
	e := newEnv(t, nil)
	e.tenants("acme", "beta", "gamma")
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenant": "gamma", "write": true,
		"sql": "INSERT INTO orders(total_amount) VALUES (5), (7)"}).want(t, http.StatusOK)
	e.breakTenant("beta")
	sql := "SELECT count(*) AS n FROM orders"

	var doc api.FanOutResult
	e.call(e.viewer, "POST", "/api/v1/query", obj{"tenants": obj{"all": true}, "sql": sql}).want(t, http.StatusOK).json(t, &doc)
	if !reflect.DeepEqual(doc.Columns, []string{"tenant", "n"}) || !reflect.DeepEqual(doc.Rows, [][]any{{"acme", 0.0}, {"gamma", 2.0}}) ||
		doc.Tenants != 3 || doc.Failed != 1 || len(doc.Errors) != 1 || doc.Errors[0].Tenant != "beta" || doc.Errors[0].Error == "" || doc.Truncated {
		t.Fatalf("fan-out = %+v", doc)
	}

	r := e.call(e.viewer, "POST", "/api/v1/query", obj{"tenants": obj{"pattern": "*"}, "sql": sql}, "Accept", api.MIMENDJSON).
		want(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != api.MIMENDJSON {
		t.Fatalf("Content-Type %q", ct)
	}
	var kinds []string
	var rows [][]any
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var line struct {
			Columns []string `json:"columns"`
			Tenant  string   `json:"tenant"`
			Row     []any    `json:"row"`
			Error   string   `json:"error"`
			Done    bool     `json:"done"`
			Tenants int      `json:"tenants"`
			Failed  int      `json:"failed"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch {
		case line.Columns != nil:
			kinds = append(kinds, "columns")
			if !reflect.DeepEqual(line.Columns, []string{"tenant", "n"}) {
				t.Fatalf("columns line %s", sc.Text())
			}
		case line.Row != nil:
			kinds = append(kinds, "row "+line.Tenant)
			rows = append(rows, line.Row)
		case line.Error != "":
			kinds = append(kinds, "error "+line.Tenant)
		case line.Done:
			kinds = append(kinds, "done")
			if line.Tenants != 3 || line.Failed != 1 {
				t.Fatalf("done line %s", sc.Text())
			}
		default:
			t.Fatalf("unknown line %s", sc.Text())
		}
	}
	if want := []string{"columns", "row acme", "error beta", "row gamma", "done"}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("lines %v, want %v\n%s", kinds, want, r.body)
	}
	if !reflect.DeepEqual(rows, [][]any{{0.0}, {2.0}}) {
		t.Fatalf("rows %v", rows)
	}

	// A fan-out is read-only: a write over many tenants is refused, for
	// admins too; a scope matching nothing is an error, not an empty answer.
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenants": obj{"all": true}, "sql": "DELETE FROM orders", "write": true}).
		want(t, http.StatusUnprocessableEntity).problem(t)
	e.call(e.admin, "POST", "/api/v1/query", obj{"tenants": obj{"pattern": "zzz*"}, "sql": sql}, "Accept", api.MIMENDJSON).
		want(t, http.StatusUnprocessableEntity).problem(t)
}

// TestQueryAPIBusy fills the console's gates for the token's name: the
// next query or fan-out is 429 with Retry-After, and runs again once a
// slot is free.
func TestQueryAPIBusy(t *testing.T) {
	var cons *console.Service
	e := newEnv(t, func(o *api.Options) { cons = o.Console })
	e.tenants("acme")
	ctx := context.Background()
	all := obj{"tenants": obj{"all": true}, "sql": "SELECT 1"}

	var plans []console.Plan
	for range console.MaxFanOutsPerUser {
		p, err := cons.Plan(ctx, "backend", fleet.Scope{}, console.Request{SQL: "SELECT 1"})
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	r := e.call(e.admin, "POST", "/api/v1/query", all, "Accept", api.MIMENDJSON).want(t, http.StatusTooManyRequests)
	if p := r.problem(t); p.Code != "busy" || r.header.Get("Retry-After") == "" {
		t.Fatalf("busy fan-out: %+v, Retry-After %q", p, r.header.Get("Retry-After"))
	}
	// The gate is per actor: another token runs.
	e.call(e.viewer, "POST", "/api/v1/query", all).want(t, http.StatusOK)
	for _, p := range plans {
		p.Release()
	}
	e.call(e.admin, "POST", "/api/v1/query", all).want(t, http.StatusOK)

	// Queries on one tenant hold their own slots while they stream.
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, console.MaxQueriesPerUser)
	for range console.MaxQueriesPerUser {
		go func() {
			done <- cons.Export(ctx, "backend", "acme", console.Request{SQL: "SELECT 1"},
				func([]console.Column) error { started <- struct{}{}; <-release; return nil }, func([]any) error { return nil })
		}()
	}
	for range console.MaxQueriesPerUser {
		<-started
	}
	one := obj{"tenant": "acme", "sql": "SELECT 1"}
	r = e.call(e.admin, "POST", "/api/v1/query", one).want(t, http.StatusTooManyRequests)
	if r.problem(t).RetryAfter < 1 || r.header.Get("Retry-After") == "" {
		t.Fatalf("busy query: Retry-After %q", r.header.Get("Retry-After"))
	}
	close(release)
	for range console.MaxQueriesPerUser {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	e.call(e.admin, "POST", "/api/v1/query", one).want(t, http.StatusOK)
}
