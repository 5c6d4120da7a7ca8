package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TestTokens: no token, a malformed header, an unknown, a revoked and an
// expired token each get 401 with the reason; a browser's session cookie
// never works on the API.
func TestTokens(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	revoked := e.token("old-backend", fleet.RoleAdmin, 0)
	if _, err := e.db.RevokeAPIToken(ctx, "old-backend", "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Now().Add(-2 * time.Hour))
	expired := e.token("temp", fleet.RoleAdmin, time.Hour)
	e.clock.Set(time.Time{})

	u, err := e.db.AddUser(ctx, "admin@example.com", "correct horse battery staple", fleet.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	session, err := e.db.CreateSession(ctx, u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, auth, cookie, want string
	}{
		{"none", "", "", "needs a token"},
		{"basic", "Basic dXNlcjpwYXNz", "", "must be \"Bearer <token>\""},
		{"unknown", "Bearer tnt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "Unknown API token"},
		{"not ours", "Bearer ghp_abc", "", "not a Tenantry API token"},
		{"revoked", "Bearer " + revoked, "", "was revoked"},
		{"expired", "Bearer " + expired, "", "expired at"},
		{"session cookie", "", "tenantry_session=" + session, "needs a token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("", "GET", "/api/v1/tenants", nil, "Authorization", c.auth, "Cookie", c.cookie).want(t, http.StatusUnauthorized)
			if p := r.problem(t); p.Code != fleet.EUNAUTHORIZED || !strings.Contains(p.Detail, c.want) {
				t.Errorf("problem %+v, want detail with %q", p, c.want)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// The document needs no token.
	e.call("", "GET", "/api/v1/openapi.json", nil).want(t, http.StatusOK)
	// Tokens are kept as hashes only.
	var n int
	if err := e.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE token_hash = ? OR prefix = ?`, e.admin, e.admin).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("a token's secret is stored")
	}
}

// TestViewerRefusedOnChanges walks the route table: every route that is
// not a GET refuses a viewer's token with 403 and changes nothing, except
// read-only SQL, which viewers may run as on the console.
func TestViewerRefusedOnChanges(t *testing.T) {
	e := newEnv(t, nil)
	e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": "acme"}).want(t, http.StatusCreated)
	readOnly := map[string]bool{"POST " + api.Prefix + "/query": true}
	n := 0
	for _, r := range e.api.Routes() {
		if r.Method == "GET" || r.Method == "HEAD" || r.Method == echoNotFound || readOnly[r.Method+" "+r.Path] {
			continue
		}
		path := strings.NewReplacer(":name", "acme", ":id", "1").Replace(r.Path)
		before := auditCount(t, e)
		res := e.call(e.viewer, r.Method, path, map[string]string{"name": "x"})
		if res.status != http.StatusForbidden {
			t.Errorf("viewer %s %s: %d, want 403\n%s", r.Method, r.Path, res.status, res.body)
			continue
		}
		res.problem(t)
		n++
		// Nothing but the call's own audit entry was written.
		if got := auditCount(t, e); got != before+1 {
			t.Errorf("viewer %s %s: %d audit entries written, want 1 (the refused call)", r.Method, r.Path, got-before)
		}
	}
	if n < 4 {
		t.Fatalf("only %d changing routes found", n)
	}
	ts, _, err := e.db.ListTenants(context.Background(), central.TenantFilter{})
	if err != nil || len(ts) != 1 || ts[0].Status != fleet.StatusReady {
		t.Fatalf("tenants after the viewer's calls: %+v, %v", ts, err)
	}
}

const echoNotFound = "echo_route_not_found"

func auditCount(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEveryCallAudited: the actor is the token's name, with the call and
// its outcome.
func TestEveryCallAudited(t *testing.T) {
	e := newEnv(t, nil)
	e.call(e.viewer, "GET", "/api/v1/tenants", nil).want(t, http.StatusOK)
	e.call(e.viewer, "GET", "/api/v1/tenants/nope", nil).want(t, http.StatusNotFound)
	e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": "acme"}).want(t, http.StatusCreated)
	es, err := e.db.AuditLog(context.Background(), central.AuditFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range es {
		got = append(got, a.Actor+" "+a.Action+" "+a.Tenant+" "+a.Detail+" "+a.Outcome)
	}
	want := []string{
		"backend api.call  POST /api/v1/tenants 201 ok",
		"reporting api.call nope GET /api/v1/tenants/nope 404 error",
		"reporting api.call  GET /api/v1/tenants 200 ok",
	}
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("audit log lacks %q:\n%s", w, joined)
		}
	}
	if !strings.Contains(joined, "backend tenant.create acme") {
		t.Errorf("the create is not audited by its service with the token as actor:\n%s", joined)
	}
}

// TestRateLimit: past its calls a minute a token gets 429 with
// Retry-After; the count lives in the central database, so two replicas
// share it; another token is not affected.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(o *api.Options) { o.RateLimit = 5 })
	replica := api.New(api.Options{DB: e.db, Lifecycle: e.life, Jobs: e.runner, RateLimit: 5})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var status int
			if i%2 == 0 {
				status = e.call(e.admin, "GET", "/api/v1/tenants", nil).status
			} else {
				status = serve(t, replica, e.admin, "GET", "/api/v1/tenants")
			}
			mu.Lock()
			codes[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// The minute may turn during the burst, which gives a fresh count.
	if codes[http.StatusOK] < 5 || codes[http.StatusOK] > 10 || codes[http.StatusOK]+codes[http.StatusTooManyRequests] != 12 {
		t.Fatalf("answers %v, want 5 (or up to 10 across a minute's turn) 200 and the rest 429", codes)
	}
	r := e.call(e.admin, "GET", "/api/v1/tenants", nil)
	if r.status == http.StatusTooManyRequests {
		if p := r.problem(t); p.Code != "rate_limited" || r.header.Get("Retry-After") == "" || p.RetryAfter < 1 || p.RetryAfter > 60 {
			t.Fatalf("429 %+v, Retry-After %q", p, r.header.Get("Retry-After"))
		}
	}
	e.call(e.viewer, "GET", "/api/v1/tenants", nil).want(t, http.StatusOK)
}

// serve makes one call on an API handler directly (a replica without its
// own listener).
func serve(t *testing.T, h http.Handler, token, method, path string) int {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}
