package web_test

import (
	"github.com/tenantry/tenantry/internal/paths"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
)

// concrete fills a route's parameters with plausible values.
func concrete(path string) string {
	r := strings.NewReplacer(":name", "store-1", ":id", "1", "*", "app.css")
	return r.Replace(path)
}

// public are the routes anyone may request. GET /readyz and GET /metrics
// are not among them: they answer a logged-in user or a token, never an
// anonymous request.
var public = map[string]bool{"GET /healthz": true, "GET /login": true, "POST /login": true, "GET /static/*": true, "POST /logout": true}

// viewerPosts are the only POST routes a viewer may use: running
// read-only SQL (a fan-out starts only from a POST, so a link cannot start
// one), their own saved queries (deleting someone else's is refused in the
// handler) and logging out. Every other POST is admin-only.
var viewerPosts = map[string]bool{"POST /sql": true, "POST /sql.csv": true, "POST /sql.json": true,
	"POST /sql/saved": true, "POST /sql/saved/:id/delete": true, "POST /logout": true}

// viewerMay reports whether a viewer may use a route: every read but user
// and API token management, and viewerPosts.
func viewerMay(method, path string) bool {
	if public[method+" "+path] || viewerPosts[method+" "+path] {
		return true
	}
	if path == paths.TenantRollbackRoute {
		return false // the rollback's confirmation is an admin's step
	}
	for _, admin := range []string{"/users", "/tokens"} {
		if path == admin || strings.HasPrefix(path, admin+"/") {
			return false
		}
	}
	return method == http.MethodGet
}

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
			// A page sends the browser to the login form; a machine
			// endpoint may answer 401 instead.
			toLogin := res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login")
			if !toLogin && res.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous %s: %d %s, want a redirect to /login or 401", key, res.StatusCode, res.Header.Get("Location"))
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
			res := c.post(concrete(r.Path), map[string][]string{"csrf": {tok}, "name": {"sneaky"}, "confirm": {"store-1"},
				"email": {"sneaky@example.com"}, "role": {"admin"}, "password": {"sneaky-password"}})
			c.csrf = saved
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d, want 403", r.Path, tok, res.StatusCode)
			}
		}
	}
	if ts, _, _ := e.db.ListTenants(t.Context(), central.TenantFilter{}); len(ts) != 0 {
		t.Fatalf("a forged request created %v", ts)
	}
	if _, err := e.db.UserByEmail(t.Context(), "sneaky@example.com"); err == nil {
		t.Fatal("a forged request added a user")
	}
}

// TestViewerRefusedAdminRoutes walks the route table as a viewer: every
// route a viewer may not use answers 403, so an admin route added without
// requireAdmin fails here; the routes a viewer may use are not refused.
func TestViewerRefusedAdminRoutes(t *testing.T) {
	e := newEnv(t)
	if _, err := e.life.Create(t.Context(), "test", "store-1"); err != nil {
		t.Fatal(err)
	}
	e.runJobs()
	c := e.login("viewer@example.com")
	form := url.Values{"name": {"viewer-made"}, "confirm": {"store-1"}, "email": {"viewer-made@example.com"}, "role": {"admin"},
		"password": {"viewer-made-password"}, "tenant": {"store-1"}, "sql": {"DELETE FROM orders"}, "mode": {"full"}}
	refused, allowed := 0, 0
	for _, r := range e.srv.Routes() {
		key := r.Method + " " + r.Path
		if r.Method == "echo_route_not_found" || public[key] && !viewerPosts[key] {
			continue
		}
		var res *http.Response
		switch r.Method {
		case http.MethodGet:
			res = c.get(concrete(r.Path))
		case http.MethodPost:
			if key == "POST /logout" {
				res = e.login("viewer@example.com").post(concrete(r.Path), nil) // not this client's session
			} else {
				res = c.post(concrete(r.Path), form)
			}
		default:
			t.Errorf("route %s has no viewer check in this test", key)
			continue
		}
		if viewerMay(r.Method, r.Path) {
			allowed++
			if res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusUnauthorized || res.StatusCode >= 500 {
				t.Errorf("viewer %s: %d, want it allowed", key, res.StatusCode)
			}
		} else {
			refused++
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("viewer %s: %d, want 403", key, res.StatusCode)
			}
		}
	}
	if refused < 10 || allowed < 10 {
		t.Fatalf("only %d refused and %d allowed routes checked", refused, allowed)
	}
	e.runJobs()
	if _, err := e.db.Tenant(t.Context(), "viewer-made"); err == nil {
		t.Fatal("a viewer created a tenant")
	}
	if tn, err := e.db.Tenant(t.Context(), "store-1"); err != nil || tn.Status != "ready" {
		t.Fatalf("store-1 after a viewer's attempts: %+v %v", tn, err)
	}
	if _, err := e.db.UserByEmail(t.Context(), "viewer-made@example.com"); err == nil {
		t.Fatal("a viewer added a user")
	}
	if u := userInfo(t, e, "viewer@example.com"); u.Role != "viewer" {
		t.Fatalf("the viewer made themselves %s", u.Role)
	}
	// Each refused change is in the audit log under the viewer's name.
	if a := lastAudit(t, e, "access.denied"); a.Actor != "viewer@example.com" || a.Outcome != "error" || !strings.HasPrefix(a.Detail, "POST /") {
		t.Errorf("a refused change audited as %+v", a)
	}
	// The sidebar offers viewers no user management.
	if c.doc(c.get("/")).Find(`[data-testid="nav-users"]`).Length() != 0 {
		t.Error("a viewer's sidebar links to Users")
	}
	a := e.login("admin@example.com")
	if a.doc(a.get("/")).Find(`[data-testid="nav-users"]`).Length() != 1 {
		t.Error("an admin's sidebar has no Users link")
	}
}

// TestViewerWriteSQLRefused: a viewer's write through the console is
// refused both as the admin's write form and as a read-only run.
func TestViewerWriteSQLRefused(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 1)
	c := e.login("viewer@example.com")
	res := c.post("/sql/write", url.Values{"tenant": {"store-1"}, "sql": {"DELETE FROM orders"}, "confirm": {"store-1"}, "write": {"1"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST /sql/write: %d, want 403", res.StatusCode)
	}
	res = c.get(sqlURL(url.Values{"tenant": {"store-1"}, "run": {"1"}, "write": {"1"}, "sql": {"DELETE FROM orders"}}))
	if doc := c.doc(res); res.StatusCode != http.StatusBadRequest || doc.Find(`[data-testid="sql-error"]`).Length() != 1 {
		t.Errorf("viewer's DELETE as a run: %d", res.StatusCode)
	}
	if n := orders(t, e, "store-1"); n != 100 {
		t.Fatalf("store-1 has %d orders after a viewer's writes, want 100", n)
	}
}

// TestSecurityHeaders: every kind of response carries a CSP without
// inline script, refuses framing and sniffing, and limits the referrer.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	a := e.login("admin@example.com")
	anon := e.anon()
	for _, tc := range []struct {
		c    *client
		path string
	}{{anon, "/login"}, {anon, "/tenants"}, {a, "/"}, {a, "/tenants"}, {a, "/tenants/nope"}, {a, "/audit"}, {a, "/users"},
		{a, "/sql"}, {a, "/reports/top-stores"}, {a, "/healthz"}} {
		res := tc.c.get(tc.path)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		script := ""
		for _, d := range strings.Split(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && (f[0] == "script-src" || f[0] == "default-src" && script == "") {
				script = strings.TrimSpace(d)
			}
		}
		if !strings.HasPrefix(script, "script-src") || strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") {
			t.Errorf("%s: script policy %q in CSP %q", tc.path, script, csp)
		}
		if !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q allows framing", tc.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", tc.path, h.Get("X-Content-Type-Options"))
		}
		if rp := h.Get("Referrer-Policy"); rp == "" || rp == "unsafe-url" || rp == "no-referrer-when-downgrade" {
			t.Errorf("%s: Referrer-Policy %q", tc.path, rp)
		}
	}
}

var (
	// inlineScript is a <script> element with a body or without a src.
	inlineScript = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	// eventHandler is an on*= attribute (onclick, onload…) or htmx's
	// hx-on, which evaluates its value as script.
	eventHandler = regexp.MustCompile(`(?i)<[a-z][^>]*\s(on[a-z]+\s*=|hx-on[:-])`)
)

// TestTemplatesHaveNoInlineScript: the CSP forbids inline script, so no
// template may hold any; it would silently not run.
func TestTemplatesHaveNoInlineScript(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../../views", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".templ") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		src := string(b)
		for _, m := range inlineScript.FindAllStringSubmatch(src, -1) {
			if strings.TrimSpace(m[2]) != "" || !strings.Contains(m[1], "src=") {
				t.Errorf("%s: inline script %.80q", path, m[0])
			}
		}
		if m := eventHandler.FindString(src); m != "" {
			t.Errorf("%s: inline event handler in %.80q", path, m)
		}
		if strings.Contains(strings.ToLower(src), "javascript:") {
			t.Errorf("%s: a javascript: URL", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d templates found", n)
	}
}

// TestCSRFTokenNotFromURL: a token in the query string, where logs and
// history keep it, does not count; a form body over the limit is 413.
func TestCSRFTokenNotFromURL(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	saved := c.csrf
	c.csrf = ""
	res := c.post("/logout?csrf="+url.QueryEscape(saved), nil)
	c.csrf = saved
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /logout with the token in the URL: %d, want 403", res.StatusCode)
	}
	if res := c.get("/"); res.StatusCode != http.StatusOK {
		t.Fatalf("the session ended anyway: %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/tenants", io.MultiReader(strings.NewReader("name=a&csrf="+url.QueryEscape(saved)+"&pad="), neverEnding('x')))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := c.do(req); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a form body over the limit: %d, want 413", res.StatusCode)
	}
}

// neverEnding is an endless body of one byte.
type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
