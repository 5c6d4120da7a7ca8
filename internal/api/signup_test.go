package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/platformtest"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
)

// TestSignupSqld is a SaaS backend's signup against a real sqld that
// checks tokens: create the tenant (waiting for it), ask for its
// credentials, and the app connects with them to read and write its own
// tables, cannot reach another tenant's namespace, and with a read-only
// credential cannot write.
func TestSignupSqld(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	e := newEnvOn(t, func(dir string, db *central.DB) platform.Platform {
		p, err := sqld.New(sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, SigningKey: srv.Key, Catalog: db.Catalog("sqld"),
			PublicURL: "http://{namespace}.db.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, nil)
	for _, name := range []string{"acme", "globex"} {
		e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": name}, "Idempotency-Key", "signup-"+name).want(t, http.StatusCreated)
	}
	var rw, ro platform.Credential
	e.call(e.admin, "POST", "/api/v1/tenants/acme/credentials", map[string]string{"access": "read-write", "ttl": "1h"}).want(t, http.StatusOK).json(t, &rw)
	e.call(e.admin, "POST", "/api/v1/tenants/acme/credentials", map[string]string{"access": "read-only", "ttl": "15m"}).want(t, http.StatusOK).json(t, &ro)
	if rw.URL != "http://acme.db.example.com" || rw.Namespace != "acme" || rw.Token == "" || time.Until(rw.ExpiresAt) > time.Hour || time.Until(rw.ExpiresAt) < 50*time.Minute {
		t.Fatalf("read-write credential %+v", rw)
	}
	// The app dials the URL (its host name picks the namespace); the
	// proxy stands in for the DNS and TLS front of a real deployment.
	app := platformtest.Dial(t, rw, srv.URL)
	if _, err := app.Exec(`INSERT INTO products(name, price, description) VALUES('Widget', 1250, 'blue')`); err != nil {
		t.Fatalf("the app cannot write its tenant: %v", err)
	}
	var n int
	if err := app.QueryRow(`SELECT count(*) FROM products`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the app reads %d products (%v)", n, err)
	}
	// The same token for another tenant's namespace is refused.
	other := rw
	other.URL, other.Namespace = "http://globex.db.example.com", "globex"
	if _, err := platformtest.Dial(t, other, srv.URL).Exec(`INSERT INTO products(name, price, description) VALUES('Stolen', 1, '')`); err == nil {
		t.Fatal("acme's credential wrote to globex")
	}
	if err := platformtest.Dial(t, other, srv.URL).QueryRow(`SELECT count(*) FROM products`).Scan(&n); err == nil {
		t.Fatal("acme's credential read globex")
	}
	// Read-only reads and cannot write.
	view := platformtest.Dial(t, ro, srv.URL)
	if err := view.QueryRow(`SELECT count(*) FROM products`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("read-only reads %d (%v)", n, err)
	}
	if _, err := view.Exec(`DELETE FROM products`); err == nil {
		t.Fatal("a read-only credential deleted rows")
	}
	// Refusals: a viewer's token, a bad body, an unknown tenant.
	e.call(e.viewer, "POST", "/api/v1/tenants/acme/credentials", map[string]string{"access": "read-only"}).want(t, http.StatusForbidden)
	p := e.call(e.admin, "POST", "/api/v1/tenants/acme/credentials", map[string]string{"access": "admin"}).want(t, http.StatusUnprocessableEntity).problem(t)
	if !strings.Contains(p.Detail, "read-only") {
		t.Errorf("problem %+v", p)
	}
	e.call(e.admin, "POST", "/api/v1/tenants/acme/credentials", map[string]string{"access": "read-write", "ttl": "48h"}).want(t, http.StatusUnprocessableEntity)
	e.call(e.admin, "POST", "/api/v1/tenants/nope/credentials", map[string]string{"access": "read-write"}).want(t, http.StatusNotFound)
	// The token is in no audit entry.
	es, err := e.db.AuditLog(t.Context(), central.AuditFilter{Limit: central.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	sig := rw.Token[strings.LastIndexByte(rw.Token, '.')+1:]
	found := false
	for _, a := range es {
		if strings.Contains(a.Detail+a.Error, sig) {
			t.Fatalf("the token is in the audit log: %+v", a)
		}
		found = found || a.Action == "tenant.credentials" && a.Actor == "backend" && a.Outcome == "ok"
	}
	if !found {
		t.Fatal("credentials not audited with the token's name")
	}
}

// TestSignupLocalCredentials: on the local platform the credential is the
// tenant's file: URL, read-only when asked, and no token.
func TestSignupLocalCredentials(t *testing.T) {
	e := newEnv(t, nil)
	e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": "acme"}).want(t, http.StatusCreated)
	var c platform.Credential
	e.call(e.admin, "POST", "/api/v1/tenants/acme/credentials", map[string]string{"access": "read-only"}).want(t, http.StatusOK).json(t, &c)
	if !strings.HasPrefix(c.URL, "file:/") || !strings.HasSuffix(c.URL, "acme.db?mode=ro") || c.Token != "" {
		t.Fatalf("local credential %+v", c)
	}
	db := platformtest.Dial(t, c, "")
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM orders`).Scan(&n); err != nil {
		t.Fatalf("the app cannot read its tenant: %v", err)
	}
	if _, err := db.Exec(`DELETE FROM orders`); err == nil {
		t.Fatal("a read-only local credential wrote")
	}
}
