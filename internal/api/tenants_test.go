package api_test

import (
	"net/http"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
)

func TestCreateWaitGetList(t *testing.T) {
	e := newEnv(t, nil)
	var tn fleet.Tenant
	r := e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": "acme"}).want(t, http.StatusCreated)
	r.json(t, &tn)
	if tn.Name != "acme" || tn.Status != fleet.StatusReady || tn.SchemaVersion == 0 || r.header.Get("Location") != "/api/v1/tenants/acme" {
		t.Fatalf("created %+v, Location %q", tn, r.header.Get("Location"))
	}
	e.call(e.viewer, "GET", "/api/v1/tenants/acme", nil).want(t, http.StatusOK)
	e.call(e.viewer, "GET", "/api/v1/tenants?limit=10", nil).want(t, http.StatusOK)
	e.call(e.viewer, "GET", "/api/v1/tenants/nope", nil).want(t, http.StatusNotFound).problem(t)
	e.call("", "GET", "/api/v1/tenants", nil).want(t, http.StatusUnauthorized).problem(t)
}
