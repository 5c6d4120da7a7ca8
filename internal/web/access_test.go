package web_test

import (
	"github.com/tenantry/tenantry/internal/central"
	"net/http"
	"strings"
	"testing"
)

// concrete fills a route's parameters with plausible values.
func concrete(path string) string {
	r := strings.NewReplacer(":name", "store-1", ":id", "1", "*", "app.css")
	return r.Replace(path)
}

var public = map[string]bool{"GET /healthz": true, "GET /login": true, "POST /login": true, "GET /static/*": true, "POST /logout": true}

// TestEveryRouteNeedsLogin walks Echo's route table: every route but the
// health check, the login form and static files refuses anonymous requests.
func TestEveryRouteNeedsLogin(t *testing.T) {
	e := newEnv(t)
	if _, err := e.life.Create(t.Context(), "test", "store-1"); err != nil {
		t.Fatal(err)
	}
	e.runJobs()
	c := e.anon()
	c.refreshCSRF("/login") // even with a valid CSRF token
	checked := 0
	for _, r := range e.srv.Routes() {
		key := r.Method + " " + r.Path
		if public[key] || r.Method == "echo_route_not_found" {
			continue
		}
		var res *http.Response
		switch r.Method {
		case http.MethodGet:
			res = c.get(concrete(r.Path))
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("anonymous %s: %d %s, want a redirect to /login", key, res.StatusCode, res.Header.Get("Location"))
			}
		case http.MethodPost:
			res = c.post(concrete(r.Path), nil)
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous %s: %d, want 401", key, res.StatusCode)
			}
		default:
			t.Errorf("route %s has no anonymous check in this test", key)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d routes checked", checked)
	}
	if got := e.anon().get("/healthz"); got.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", got.StatusCode)
	}
}

// TestEveryPostNeedsCSRF: a logged-in admin's state-changing request
// without the token, or with a wrong one, is refused.
func TestEveryPostNeedsCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	for _, r := range e.srv.Routes() {
		if r.Method != http.MethodPost {
			continue
		}
		for _, tok := range []string{"", "forged-token-forged-token-forged-token"} {
			saved := c.csrf
			c.csrf = ""
			res := c.post(concrete(r.Path), map[string][]string{"csrf": {tok}, "name": {"sneaky"}, "confirm": {"store-1"}})
			c.csrf = saved
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d, want 403", r.Path, tok, res.StatusCode)
			}
		}
	}
	if ts, _, _ := e.db.ListTenants(t.Context(), central.TenantFilter{}); len(ts) != 0 {
		t.Fatalf("a forged request created %v", ts)
	}
}

// TestViewerCannotChange: admin-only routes refuse viewers.
func TestViewerCannotChange(t *testing.T) {
	e := newEnv(t)
	if _, err := e.life.Create(t.Context(), "test", "store-1"); err != nil {
		t.Fatal(err)
	}
	e.runJobs()
	c := e.login("viewer@example.com")
	for _, path := range []string{"/tenants", "/tenants/rescan", "/tenants/store-1/clone", "/tenants/store-1/delete", "/tenants/store-1/restore"} {
		res := c.post(path, map[string][]string{"name": {"viewer-made"}, "confirm": {"store-1"}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, res.StatusCode)
		}
	}
	e.runJobs()
	if tn, err := e.db.Tenant(t.Context(), "store-1"); err != nil || tn.Status != "ready" {
		t.Fatalf("store-1 after viewer attempts: %+v %v", tn, err)
	}
	if _, err := e.db.Tenant(t.Context(), "viewer-made"); err == nil {
		t.Fatal("a viewer created a tenant")
	}
	// Viewers read.
	for _, path := range []string{"/", "/tenants", "/tenants/store-1", "/jobs", "/audit"} {
		if res := c.get(path); res.StatusCode != http.StatusOK {
			t.Errorf("viewer GET %s: %d", path, res.StatusCode)
		}
	}
	if res := c.get("/tenants/store-1/export"); res.StatusCode != http.StatusOK {
		t.Errorf("viewer export: %d", res.StatusCode)
	}
}
