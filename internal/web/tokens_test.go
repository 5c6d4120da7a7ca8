package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/web"
)

// newEnvAPI is a console with the JSON API mounted, as serve runs it.
func newEnvAPI(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, t.TempDir(), schema.Embedded(), func(o *web.Options) {
		o.API = api.New(api.Options{DB: o.DB, Lifecycle: o.Lifecycle, Jobs: o.Jobs, Collector: o.Collector, Console: o.Console,
			Rollouts: o.Rollouts, Log: o.Log})
	})
}

// apiGet calls the API with a bearer token.
func (e *env) apiGet(path, secret string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (c *client) docOf(body []byte) *goquery.Document {
	c.e.t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		c.e.t.Fatal(err)
	}
	return doc
}

// TestTokensViewerRefused: a viewer can neither see nor make tokens, and
// the sidebar offers them the API reference but not the tokens page.
func TestTokensViewerRefused(t *testing.T) {
	e := newEnv(t)
	v := e.login("viewer@example.com")
	if res := v.get("/tokens"); res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer GET /tokens: %d, want 403", res.StatusCode)
	}
	res := v.post("/tokens", url.Values{"name": {"sneaky"}, "role": {"admin"}, "expires": {"never"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /tokens: %d, want 403", res.StatusCode)
	}
	if res := v.post("/tokens/sneaky/revoke", url.Values{"confirm": {"sneaky"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /tokens/sneaky/revoke: %d, want 403", res.StatusCode)
	}
	if ts, err := e.db.APITokens(t.Context()); err != nil || len(ts) != 0 {
		t.Fatalf("a viewer made tokens: %+v %v", ts, err)
	}
	nav := v.doc(v.get("/"))
	if nav.Find(`[data-testid="nav-tokens"]`).Length() != 0 || nav.Find(`[data-testid="nav-api"]`).Length() != 1 {
		t.Error("a viewer's sidebar should link to API but not to API tokens")
	}
	a := e.login("admin@example.com")
	if a.doc(a.get("/")).Find(`[data-testid="nav-tokens"]`).Length() != 1 {
		t.Error("an admin's sidebar has no API tokens link")
	}
}

// TestTokenJourney: an admin makes a token and sees its secret once; the
// list then shows only its prefix; the token works on the API until it is
// revoked (after a confirmation), then gets 401 saying so. The audit log
// has both changes and never the secret.
func TestTokenJourney(t *testing.T) {
	e := newEnvAPI(t)
	a := e.login("admin@example.com")
	if doc := a.doc(a.get("/tokens")); doc.Find(`[data-testid="empty-state"]`).Length() != 1 {
		t.Error("no empty state before any token")
	}

	res := a.post("/tokens", url.Values{"name": {"signup-service"}, "role": {"admin"}, "expires": {"90d"}})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /tokens: %d, want 201", res.StatusCode)
	}
	if loc := res.Header.Get("Location"); loc != "" {
		t.Errorf("the create answer redirects to %q: the secret must be on this page", loc)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "tenantry_flash" {
			t.Errorf("the create answer sets a flash cookie %q", ck.Value)
		}
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the secret has Cache-Control %q, want no-store", cc)
	}
	doc := a.doc(res)
	secret := strings.TrimSpace(doc.Find(`[data-testid="token-secret"]`).Text())
	if !strings.HasPrefix(secret, central.TokenPrefix) || len(secret) < 40 {
		t.Fatalf("secret shown: %q", secret)
	}
	if w := doc.Find(`[data-testid="token-warning"]`).Text(); !strings.Contains(w, "only time") {
		t.Errorf("warning: %q", w)
	}
	curl := doc.Find(`[data-testid="token-curl"]`).Text()
	for _, want := range []string{"Bearer " + secret, "Idempotency-Key: ", "Content-Type: application/json", e.ts.URL + "/api/v1/tenants?wait=30s", `{"name":"acme"}`} {
		if !strings.Contains(curl, want) {
			t.Errorf("curl example lacks %q:\n%s", want, curl)
		}
	}

	// The list: prefix only, live, made by the admin.
	res = a.get("/tokens")
	body, _ := io.ReadAll(res.Body)
	if strings.Contains(string(body), secret) || strings.Contains(string(body), secret[len(secret)-12:]) {
		t.Fatal("the tokens page shows the secret again")
	}
	row := a.docOf(body).Find(`[data-testid="token-row"][data-name="signup-service"]`)
	if row.Length() != 1 || row.AttrOr("data-status", "") != "live" {
		t.Fatalf("token row: %d, status %q", row.Length(), row.AttrOr("data-status", ""))
	}
	if p := row.Find(`[data-testid="token-prefix"]`).Text(); !strings.HasPrefix(secret, strings.TrimSuffix(p, "…")) || len(p) > 16 {
		t.Errorf("prefix %q is not the start of the secret, or too long", p)
	}
	if !strings.Contains(row.Text(), "admin@example.com") || !strings.Contains(row.Text(), "in 90 days") {
		t.Errorf("row: %q", strings.Join(strings.Fields(row.Text()), " "))
	}

	if res := e.apiGet("/api/v1/tenants", secret); res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/tenants with the new token: %d", res.StatusCode)
	}

	// Revoke asks first.
	res = a.post("/tokens/signup-service/revoke", nil)
	doc = a.doc(res)
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="confirm-panel"]`).Length() != 1 {
		t.Fatalf("revoke without confirmation: %d, confirm panel %d", res.StatusCode, doc.Find(`[data-testid="confirm-panel"]`).Length())
	}
	if res := e.apiGet("/api/v1/tenants", secret); res.StatusCode != http.StatusOK {
		t.Fatalf("asking to confirm revoked the token: %d", res.StatusCode)
	}
	res = a.post("/tokens/signup-service/revoke", url.Values{"confirm": {"signup-service"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/tokens" {
		t.Fatalf("confirmed revoke: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	doc = a.doc(a.get("/tokens"))
	if f := doc.Find(`[data-testid="flash"]`).Text(); !strings.Contains(f, "Revoked token signup-service") {
		t.Errorf("flash after revoke: %q", f)
	}
	row = doc.Find(`[data-testid="token-row"][data-name="signup-service"]`)
	if row.AttrOr("data-status", "") != "revoked" || row.Find(`[data-testid="revoke-button"]`).Length() != 0 {
		t.Errorf("revoked row: status %q, revoke buttons %d", row.AttrOr("data-status", ""), row.Find(`[data-testid="revoke-button"]`).Length())
	}

	res = e.apiGet("/api/v1/tenants", secret)
	var p struct{ Detail, Code string }
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil || res.StatusCode != http.StatusUnauthorized || !strings.Contains(p.Detail, "revoked") {
		t.Fatalf("revoked token on the API: %d %+v %v", res.StatusCode, p, err)
	}

	// One entry each, by the admin, with name, role and expiry; the secret
	// is nowhere in the log.
	c := lastAudit(t, e, "api_token.create")
	if c.Actor != "admin@example.com" || c.Outcome != "ok" || !strings.HasPrefix(c.Detail, "signup-service: admin, expires 20") {
		t.Errorf("create audited as %+v", c)
	}
	r := lastAudit(t, e, "api_token.revoke")
	if r.Actor != "admin@example.com" || r.Outcome != "ok" || !strings.HasPrefix(r.Detail, "signup-service: admin") {
		t.Errorf("revoke audited as %+v", r)
	}
	all, err := e.db.AuditLog(t.Context(), central.AuditFilter{Limit: central.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, en := range all {
		counts[en.Action]++
		if b, _ := json.Marshal(en); strings.Contains(string(b), secret[len(central.TokenPrefix):len(central.TokenPrefix)+12]) {
			t.Errorf("audit entry holds the secret: %+v", en)
		}
	}
	if counts["api_token.create"] != 1 || counts["api_token.revoke"] != 1 {
		t.Errorf("audit entries: %v, want one create and one revoke", counts)
	}
}

// TestTokenCreateBadInput: a refused token re-renders the form with the
// reason and the input kept, makes nothing and is audited as an error.
func TestTokenCreateBadInput(t *testing.T) {
	e := newEnv(t)
	a := e.login("admin@example.com")
	if res := a.post("/tokens", url.Values{"name": {"taken"}, "role": {"viewer"}, "expires": {"30d"}}); res.StatusCode != http.StatusCreated {
		t.Fatalf("first token: %d", res.StatusCode)
	}
	for _, tc := range []struct {
		name, role, expires string
		status              int
		want                string
	}{
		{"", "viewer", "90d", http.StatusBadRequest, "Token name is required"},
		{"Bad Name", "viewer", "90d", http.StatusBadRequest, "is invalid"},
		{"ok-name", "root", "90d", http.StatusBadRequest, "root"},
		{"ok-name", "admin", "forever", http.StatusBadRequest, "not a duration"},
		{"ok-name", "admin", "9999d", http.StatusBadRequest, "too long"},
		{"taken", "admin", "90d", http.StatusConflict, "exists"},
	} {
		res := a.post("/tokens", url.Values{"name": {tc.name}, "role": {tc.role}, "expires": {tc.expires}})
		doc := a.doc(res)
		msg := doc.Find(`[data-testid="inline-error"]`).Text()
		if res.StatusCode != tc.status || !strings.Contains(msg, tc.want) {
			t.Errorf("%+v: %d %q", tc, res.StatusCode, msg)
		}
		if v := doc.Find(`#token-name`).AttrOr("value", "?"); v != tc.name {
			t.Errorf("%+v: name field holds %q", tc, v)
		}
		if doc.Find(`[data-testid="token-secret"]`).Length() != 0 {
			t.Errorf("%+v: a secret was shown", tc)
		}
		if en := lastAudit(t, e, "api_token.create"); en.Outcome != "error" || en.Error == "" {
			t.Errorf("%+v: audited as %+v", tc, en)
		}
	}
	// A role kept after a refusal stays selected.
	doc := a.doc(a.post("/tokens", url.Values{"name": {"Nope"}, "role": {"admin"}, "expires": {"365d"}}))
	if doc.Find(`#token-role option[selected]`).AttrOr("value", "") != "admin" || doc.Find(`#token-expires option[selected]`).AttrOr("value", "") != "365d" {
		t.Error("the form lost the role or expiry chosen")
	}
	if ts, _ := e.db.APITokens(t.Context()); len(ts) != 1 {
		t.Fatalf("%d tokens after refusals, want 1", len(ts))
	}
	// Revoking what does not exist says so.
	res := a.post("/tokens/nothing-here/revoke", url.Values{"confirm": {"nothing-here"}})
	if msg := a.doc(res).Find(`[data-testid="inline-error"]`).Text(); res.StatusCode != http.StatusNotFound || !strings.Contains(msg, "No live token") {
		t.Errorf("revoke unknown: %d %q", res.StatusCode, msg)
	}
	if en := lastAudit(t, e, "api_token.revoke"); en.Outcome != "error" {
		t.Errorf("refused revoke audited as %+v", en)
	}
}

// TestTokenJSON: the console's JSON clients get the secret as "token" once
// and a list without it.
func TestTokenJSON(t *testing.T) {
	e := newEnv(t)
	a := e.login("admin@example.com")
	form := url.Values{"name": {"ci"}, "role": {"viewer"}, "expires": {"never"}, "csrf": {a.csrf}}
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/tokens", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res := a.do(req)
	made := jsonBody[struct {
		fleet.APIToken
		Token, Status string
	}](t, res)
	if res.StatusCode != http.StatusCreated || !strings.HasPrefix(made.Token, central.TokenPrefix) || made.Name != "ci" || !made.ExpiresAt.IsZero() {
		t.Fatalf("JSON create: %d %+v", res.StatusCode, made)
	}
	res = a.get("/tokens", "Accept", "application/json")
	body, _ := io.ReadAll(res.Body)
	if strings.Contains(string(body), made.Token) || !strings.Contains(string(body), `"status":"live"`) {
		t.Fatalf("JSON list: %s", body)
	}
}
