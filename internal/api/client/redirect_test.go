package client_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenantry/tenantry/internal/api/client"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TestAPIClientFollowsNoRedirect: a --server that redirects (a hostile or
// misconfigured proxy) gets an error naming the redirect, and the token
// never reaches the other host.
func TestAPIClientFollowsNoRedirect(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tenants":[],"next_cursor":null}`))
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	c, err := client.New(redirector.URL, "tnt_secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTenants(t.Context(), client.TenantQuery{})
	if err == nil || !strings.Contains(err.Error(), "redirected") || fleet.ErrorCode(err) != fleet.EUNAVAILABLE {
		t.Fatalf("a redirect gave %v", err)
	}
	if v, _ := leaked.Load().(string); v != "" {
		t.Fatalf("the token reached the other host: %q", v)
	}
}
