package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/api"
)

// TestAPIDocPage: any logged-in user reads the API reference made from the
// OpenAPI document: every operation in it under its path, createTenant with
// its parameters, body and responses, an anchor for every problem code
// (problem documents' type points there), and the document's link.
func TestAPIDocPage(t *testing.T) {
	e := newEnv(t)
	v := e.login("viewer@example.com")
	res := v.get("/api")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("viewer GET /api: %d", res.StatusCode)
	}
	doc := v.doc(res)
	if doc.Find(`[data-testid="nav-api"][aria-current="page"]`).Length() != 1 {
		t.Error("the sidebar does not mark API as the current page")
	}
	if href := doc.Find(`[data-testid="openapi-link"]`).AttrOr("href", ""); href != "/api/v1/openapi.json" {
		t.Errorf("OpenAPI link %q", href)
	}
	if doc.Find(`[data-testid="tokens-link"]`).Length() != 0 {
		t.Error("a viewer is offered the API tokens page")
	}

	// Every operation in the document is on the page, under its path.
	var d struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(api.Document, &d); err != nil {
		t.Fatal(err)
	}
	want := 0
	for path, item := range d.Paths {
		for m, raw := range item {
			if m == "parameters" {
				continue
			}
			want++
			var op struct{ OperationID string }
			_ = json.Unmarshal(raw, &op)
			sel := `[data-testid="api-path"][data-path="` + path + `"] [data-testid="api-operation"][data-method="` + strings.ToUpper(m) + `"]`
			if got := doc.Find(sel); got.Length() != 1 || got.AttrOr("data-operation-id", "") != op.OperationID {
				t.Errorf("%s %s (%s): %d on the page", strings.ToUpper(m), path, op.OperationID, got.Length())
			}
		}
	}
	if got := doc.Find(`[data-testid="api-operation"]`).Length(); got != want {
		t.Errorf("%d operations on the page, %d in the document", got, want)
	}

	op := doc.Find(`[data-testid="api-operation"][data-operation-id="createTenant"]`)
	if op.AttrOr("id", "") != "op-createTenant" || !strings.Contains(op.Find("h3").Text(), "/api/v1/tenants") {
		t.Fatalf("createTenant: id %q, title %q", op.AttrOr("id", ""), op.Find("h3").Text())
	}
	params := op.Find(`[data-testid="api-params"]`).Text()
	for _, p := range []string{"Idempotency-Key", "header", "wait", "query"} {
		if !strings.Contains(params, p) {
			t.Errorf("createTenant's parameters lack %q: %s", p, strings.Join(strings.Fields(params), " "))
		}
	}
	if s := op.Find(`[data-testid="api-body-schema"]`); s.Text() != "CreateTenant" || s.AttrOr("href", "") != "#schema-CreateTenant" {
		t.Errorf("createTenant's body: %q → %q", s.Text(), s.AttrOr("href", ""))
	}
	for _, status := range []string{"201", "202", "401", "409", "422", "429"} {
		if op.Find(`[data-testid="api-responses"] tr[data-status="`+status+`"]`).Length() != 1 {
			t.Errorf("createTenant has no %s response listed", status)
		}
	}
	if !strings.Contains(op.Find(`tr[data-status="401"]`).Text(), "revoked") {
		t.Error("the 401 response's shared description ($ref) is not resolved")
	}
	// The body's schema, its fields in the document's order.
	var fields []string
	doc.Find(`#schema-CreateTenant [data-field]`).Each(func(_ int, f *goquery.Selection) { fields = append(fields, f.AttrOr("data-field", "")) })
	if strings.Join(fields, ",") != "name,from,at" {
		t.Errorf("CreateTenant's fields: %v", fields)
	}
	if !strings.Contains(doc.Find(`#schema-CreateTenant [data-field="name"]`).Text(), "required") {
		t.Error("CreateTenant's name is not marked required")
	}

	// Every problem code has its anchor, as problem documents' type says.
	for _, code := range []string{"invalid", "not_found", "conflict", "forbidden", "unauthorized", "unavailable", "rate_limited", "busy", "internal"} {
		row := doc.Find(`#error-` + code)
		if row.Length() != 1 || strings.TrimSpace(row.Find("td").Eq(2).Text()) == "" {
			t.Errorf("no explained #error-%s", code)
		}
	}
	for _, id := range []string{"authentication", "errors", "rate-limit", "schemas"} {
		if doc.Find("#"+id).Length() != 1 {
			t.Errorf("no #%s section", id)
		}
	}

	a := e.login("admin@example.com")
	if a.doc(a.get("/api")).Find(`[data-testid="tokens-link"]`).Length() != 1 {
		t.Error("an admin is not offered the API tokens page from /api")
	}
	if res := e.anon().get("/api"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous GET /api: %d, want a redirect to login", res.StatusCode)
	}
}

// TestAPIDocProblemTypesResolve: a problem the API answers with links to
// an entry of the reference.
func TestAPIDocProblemTypesResolve(t *testing.T) {
	e := newEnvAPI(t)
	res := e.apiGet("/api/v1/tenants", "tnt_unknown-token-unknown-token")
	var p struct{ Type string }
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil || !strings.HasPrefix(p.Type, "/api#") {
		t.Fatalf("problem type %q (%v)", p.Type, err)
	}
	a := e.login("admin@example.com")
	path, frag, _ := strings.Cut(p.Type, "#")
	if a.doc(a.get(path)).Find("#"+frag).Length() != 1 {
		t.Fatalf("problem type %s has no anchor on the page", p.Type)
	}
}
