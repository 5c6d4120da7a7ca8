package tursotest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/platform/turso/tursotest"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// call sends one API request and decodes the answer.
func call(t *testing.T, s *tursotest.Server, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+"/v1/organizations/"+s.Org+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func exec(t *testing.T, sq *sqldtest.Server, s *tursotest.Server, db, token, stmt string) error {
	t.Helper()
	conn, err := tenantdb.OpenRemote(tenantdb.Remote{URL: "libsql://" + s.Hostname(db), Token: token, Proxy: sq.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = conn.ExecContext(ctx, stmt)
	return err
}

func TestTokensAreEnforcedBySqld(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	s := tursotest.New(t, sq, tursotest.Options{})
	for _, n := range []string{"a", "b"} {
		if st := call(t, s, "POST", "/databases", `{"name":"`+n+`","group":"default"}`, nil); st != 200 {
			t.Fatalf("create %s: %d", n, st)
		}
	}
	var tok struct{ JWT string }
	mint := func(path string) string {
		t.Helper()
		tok.JWT = ""
		if st := call(t, s, "POST", path, "", &tok); st != 200 || tok.JWT == "" {
			t.Fatalf("%s: %d", path, st)
		}
		return tok.JWT
	}
	full := mint("/databases/a/auth/tokens?authorization=full-access&expiration=1d")
	ro := mint("/databases/a/auth/tokens?authorization=read-only")
	group := mint("/groups/default/auth/tokens")
	if err := exec(t, sq, s, "a", full, `CREATE TABLE t(x)`); err != nil {
		t.Fatalf("full-access database token: %v", err)
	}
	if err := exec(t, sq, s, "a", ro, `INSERT INTO t VALUES (1)`); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("read-only token wrote: %v", err)
	}
	if err := exec(t, sq, s, "a", ro, `SELECT * FROM t`); err != nil {
		t.Fatalf("read-only token read: %v", err)
	}
	if err := exec(t, sq, s, "b", full, `CREATE TABLE t(x)`); err == nil {
		t.Fatal("a token of database a reached database b")
	}
	if err := exec(t, sq, s, "b", group, `CREATE TABLE t(x)`); err != nil {
		t.Fatalf("group token: %v", err)
	}
	if err := exec(t, sq, s, "a", "", `SELECT 1`); err == nil {
		t.Fatal("no token let in")
	}
	if exp, _ := tenantdb.TokenExpiry(full); time.Until(exp) < 23*time.Hour {
		t.Fatalf("a 1d token expires at %v", exp)
	}
	if exp, _ := tenantdb.TokenExpiry(ro); !exp.IsZero() {
		t.Fatalf("a token without expiration expires at %v", exp)
	}
	var e struct{ Error string }
	if st := call(t, s, "POST", "/databases/a/auth/tokens?expiration=soon", "", &e); st != 400 || e.Error != "Invalid expiration format" {
		t.Fatalf("bad expiration: %d %q", st, e.Error)
	}
	if n := s.TokensMinted(); n != 3 {
		t.Fatalf("minted %d tokens, want 3", n)
	}
}

// The double answers in the spec's shapes and with TURSO_API.md's errors.
func TestAPIShapes(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	s := tursotest.New(t, sq, tursotest.Options{PageSize: 2})
	var e struct {
		Error string `json:"error"`
	}
	status := func(method, path, body string, want int, out any) {
		t.Helper()
		if out == nil {
			e.Error = ""
			out = &e
		}
		if got := call(t, s, method, path, body, out); got != want {
			t.Fatalf("%s %s: %d (%s), want %d", method, path, got, e.Error, want)
		}
	}

	// Auth and organization.
	req, _ := http.NewRequest("GET", s.URL+"/v1/organizations/"+s.Org+"/databases", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", s.URL+"/v1/organizations/someone-else/databases", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"error":"organization not found"`) {
		t.Fatalf("unknown org: %d %s", resp.StatusCode, b)
	}

	// Create: validation, group, duplicates, seeds.
	status("POST", "/databases", `{"name":"a","group":"default"}`, 200, nil)
	var created map[string]map[string]string
	status("POST", "/databases", `{"name":"b","group":"default","seed":{"type":"database","value":"a"}}`, 200, &created)
	if d := created["database"]; d["Name"] != "b" || d["DbId"] == "" || d["Hostname"] != s.Hostname("b") || len(d) != 3 {
		t.Fatalf("create answered %v", created)
	}
	status("POST", "/databases", `{"name":"a","group":"default"}`, 409, nil)
	if e.Error != "database with name a already exists" {
		t.Fatalf("duplicate: %q", e.Error)
	}
	status("POST", "/databases", `{"name":"c","group":"nope"}`, 400, nil)
	if e.Error != "group not found" {
		t.Fatalf("unknown group: %q", e.Error)
	}
	status("POST", "/databases", `{"name":"c"}`, 400, nil)
	status("POST", "/databases", `{"name":"Bad_Name","group":"default"}`, 400, nil)
	status("POST", "/databases", `{"name":"`+strings.Repeat("a", 63-len(s.Org))+`","group":"default"}`, 400, nil)
	status("POST", "/databases", `{"name":"`+strings.Repeat("a", 63-len(s.Org)-1)+`","group":"default"}`, 200, nil)
	status("POST", "/databases", `{"name":"c","group":"default","seed":{"type":"database","name":"ghost"}}`, 404, nil)
	status("POST", "/databases", `{"name":"c","group":"default","seed":{"type":"database","name":"a","timestamp":"yesterday"}}`, 400, nil)
	if !strings.Contains(e.Error, "yesterday") {
		t.Fatalf("bad timestamp: %q", e.Error)
	}
	status("POST", "/databases", `{"name":"c","group":"default","seed":{"type":"database","name":"a","timestamp":"2020-01-01T00:00:00Z"}}`, 400, nil)
	if !strings.Contains(e.Error, "retention") {
		t.Fatalf("no snapshot: %q", e.Error)
	}

	// The Database object, key for key.
	var got map[string]map[string]any
	status("GET", "/databases/b", "", 200, &got)
	d := got["database"]
	for _, k := range []string{"Name", "DbId", "Hostname", "block_reads", "block_writes", "regions", "primaryRegion", "group",
		"delete_protection", "parent", "is_schema", "schema", "archived", "sleeping", "allow_attach", "type", "version"} {
		if _, ok := d[k]; !ok {
			t.Errorf("Database has no %q: %v", k, d)
		}
	}
	if p, _ := d["parent"].(map[string]any); p["name"] != "a" || p["id"] == "" || p["branched_at"] == "" {
		t.Errorf("parent %v", d["parent"])
	}
	status("GET", "/databases/ghost", "", 404, nil)
	if e.Error != "could not find database with name ghost: record not found" {
		t.Fatalf("not found: %q", e.Error)
	}

	// List pages: 3 databases, 2 a page by default, then next is null.
	var page struct {
		Databases  []map[string]any `json:"databases"`
		Pagination struct {
			Next *string `json:"next"`
		} `json:"pagination"`
	}
	status("GET", "/databases", "", 200, &page)
	if len(page.Databases) != 2 || page.Pagination.Next == nil {
		t.Fatalf("first page %+v", page)
	}
	next := *page.Pagination.Next
	page.Pagination.Next = nil
	status("GET", "/databases?cursor="+next, "", 200, &page)
	if len(page.Databases) != 1 || page.Pagination.Next != nil {
		t.Fatalf("last page %+v", page)
	}
	status("GET", "/databases?group=other", "", 200, &page)
	if len(page.Databases) != 0 {
		t.Fatalf("other group %+v", page)
	}
	status("GET", "/databases?limit=zero", "", 400, nil)

	// Configuration and delete protection.
	var cfg map[string]any
	status("PATCH", "/databases/a/configuration", `{"delete_protection":true}`, 200, &cfg)
	if cfg["delete_protection"] != true || cfg["block_writes"] != false {
		t.Fatalf("config %v", cfg)
	}
	status("DELETE", "/databases/a", "", 403, nil)
	if !strings.Contains(e.Error, "delete-protected") {
		t.Fatalf("delete-protected: %q", e.Error)
	}
	status("PATCH", "/databases/a/configuration", `{"delete_protection":false}`, 200, &cfg)
	var deleted map[string]string
	status("DELETE", "/databases/a", "", 200, &deleted)
	if deleted["database"] != "a" {
		t.Fatalf("delete answered %v", deleted)
	}
	status("DELETE", "/databases/a", "", 404, nil)

	// Usage, stats, groups.
	status("GET", "/databases/b/usage?from=2023-12-12T00:00:00", "", 400, nil)
	if !strings.HasPrefix(e.Error, "invalid from parameter: ") {
		t.Fatalf("bad from: %q", e.Error)
	}
	var usage map[string]map[string]any
	status("GET", "/databases/b/usage?from=2023-12-12T00:00:00Z", "", 200, &usage)
	if u := usage["database"]; u["uuid"] == "" || u["total"] == nil || len(u["instances"].([]any)) != 1 {
		t.Fatalf("usage %v", usage)
	}
	var stats map[string]any
	status("GET", "/databases/b/stats", "", 200, &stats)
	if _, ok := stats["top_queries"]; !ok {
		t.Fatalf("stats %v", stats)
	}
	var groups map[string][]map[string]any
	status("GET", "/groups", "", 200, &groups)
	if len(groups["groups"]) != 1 || groups["groups"][0]["name"] != "default" {
		t.Fatalf("groups %v", groups)
	}
	status("POST", "/groups/nope/auth/tokens", "", 404, nil)
	if e.Error != "group not found" {
		t.Fatalf("unknown group token: %q", e.Error)
	}
}

func TestFaultsAndDuplicateAs400(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	s := tursotest.New(t, sq, tursotest.Options{DuplicateAs400: true})
	var e struct {
		Error string `json:"error"`
	}
	if st := call(t, s, "POST", "/databases", `{"name":"a","group":"default"}`, nil); st != 200 {
		t.Fatal(st)
	}
	if st := call(t, s, "POST", "/databases", `{"name":"a","group":"default"}`, &e); st != 400 || e.Error != "database with same name already exists" {
		t.Fatalf("duplicate: %d %q", st, e.Error)
	}
	s.Fail(tursotest.Fault{Method: "GET", Path: "/databases", Status: 429, RetryAfter: "3", Times: 2})
	for i := range 3 {
		want := 429
		if i == 2 {
			want = 200
		}
		if st := call(t, s, "GET", "/databases/a", "", nil); st != want {
			t.Fatalf("request %d: %d, want %d", i, st, want)
		}
	}
	// After: the work is done, the answer is the fault.
	s.Fail(tursotest.Fault{Method: "POST", Path: "/databases", Exact: true, Status: 502, After: true})
	if st := call(t, s, "POST", "/databases", `{"name":"b","group":"default"}`, nil); st != 502 || !s.Has("b") {
		t.Fatalf("after-fault: %d, made %v", st, s.Has("b"))
	}
	if n := s.Count("GET", "/databases/a"); n != 3 {
		t.Fatalf("counted %d", n)
	}
}
