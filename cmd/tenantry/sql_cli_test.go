package main

import (
	"strings"
	"testing"
)

// TestCLISQL runs the console from the command line: one tenant in every
// format, a fan-out, the read-only guard, and a confirmed write.
func TestCLISQL(t *testing.T) {
	c := newCLI(t)
	c.ok("tenants", "create", "store-1")
	c.ok("tenants", "create", "store-2")
	db := openTenant(t, c, "store-2")
	if _, err := db.Exec(`INSERT INTO orders(total_amount) VALUES (100), (250)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	type result struct {
		Columns   []string `json:"columns"`
		Rows      [][]any  `json:"rows"`
		Truncated bool     `json:"truncated"`
		Errors    []struct {
			Tenant string `json:"tenant"`
		} `json:"errors"`
	}
	r := decode[result](t, c.ok("sql", "store-2", "SELECT total_amount FROM orders WHERE total_amount > :min ORDER BY 1", "--param", "min=150", "--format", "json"))
	if strings.Join(r.Columns, ",") != "total_amount" || len(r.Rows) != 1 || r.Rows[0][0] != float64(250) || r.Truncated {
		t.Fatalf("json: %+v", r)
	}
	r = decode[result](t, c.ok("sql", "store-2", "SELECT id FROM orders", "--max-rows", "1", "--format", "json"))
	if len(r.Rows) != 1 || !r.Truncated {
		t.Fatalf("capped json: %+v", r)
	}
	if out := c.ok("sql", "store-2", "SELECT count(*) AS n, 'x,y' AS s FROM orders", "--format", "csv"); out != "n,s\n2,\"x,y\"\n" {
		t.Fatalf("csv: %q", out)
	}
	if out := c.ok("sql", "store-2", "SELECT count(*) AS n FROM orders"); !strings.Contains(out, "n\n2\n(1 rows)") {
		t.Fatalf("table: %q", out)
	}

	r = decode[result](t, c.ok("sql", "--all", "SELECT count(*) AS n FROM orders", "--format", "json"))
	if strings.Join(r.Columns, ",") != "tenant,n" || len(r.Rows) != 2 || r.Rows[0][0] != "store-1" || r.Rows[1][1] != float64(2) {
		t.Fatalf("--all json: %+v", r)
	}
	if out := c.ok("sql", "--pattern", "store-2", "SELECT count(*) AS n FROM orders", "--format", "csv"); out != "tenant,n\nstore-2,2\n" {
		t.Fatalf("--pattern csv: %q", out)
	}
	// The CLI's CSV is raw, for pipes and scripts: a formula-like value
	// stays as it is (the web's downloads neutralise it).
	if out := c.ok("sql", "store-2", "SELECT '=1+2' AS f, -5 AS n", "--format", "csv"); out != "f,n\n=1+2,-5\n" {
		t.Fatalf("raw csv: %q", out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sql", "store-2", "DELETE FROM orders"}, 1, "read-only"},
		{[]string{"sql", "store-2", "SELEC 1"}, 1, "syntax error"},
		{[]string{"sql", "nosuch", "SELECT 1"}, 1, "nosuch"},
		{[]string{"sql", "store-2", "SELECT :x"}, 1, ":x"},
		{[]string{"sql", "store-2", "DELETE FROM orders", "--write"}, 2, "--yes"},
		{[]string{"sql", "--all", "DELETE FROM orders", "--write"}, 2, "one tenant"},
		{[]string{"sql", "store-2", "SELECT 1", "--format", "xml"}, 2, "table, csv or json"},
		{[]string{"sql", "store-2"}, 2, "expected 2"},
	} {
		code, _, errs := c.run("", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d saying %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	if n := countOrders(t, c, "store-2"); n != 2 {
		t.Fatalf("%d orders after refused writes", n)
	}
	if out := c.ok("sql", "store-2", "DELETE FROM orders WHERE total_amount > 200", "--write", "--yes"); !strings.Contains(out, "1 rows changed") {
		t.Fatalf("write: %q", out)
	}
	if n := countOrders(t, c, "store-2"); n != 1 {
		t.Fatalf("%d orders after the write", n)
	}
}
