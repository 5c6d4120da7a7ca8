package paths_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tenantry/tenantry/internal/paths"
)

// TestLinksReachTheirRoutes: each link a builder makes is routed, by an
// Echo router holding every pattern, to the pattern it fills, with the
// parameters it was given.
func TestLinksReachTheirRoutes(t *testing.T) {
	e := echo.New()
	for _, route := range []string{
		paths.Overview, paths.Login, paths.Logout,
		paths.Tenants, paths.TenantsRescan, paths.TenantRoute, paths.TenantCloneRoute, paths.TenantDeleteRoute,
		paths.TenantRestoreRoute, paths.TenantExportRoute, paths.TenantUsageRoute, paths.TenantSchemaRoute,
		paths.Jobs, paths.JobRoute, paths.JobProgressRoute,
		paths.Collections, paths.CollectionRoute, paths.CollectionProgressRoute,
		paths.Migrations, paths.RolloutRoute, paths.RolloutProgressRoute, paths.RolloutStopRoute, paths.RolloutRetryRoute,
		paths.Reports, paths.TopStores, paths.DailyActivity, paths.AverageRevenue,
		paths.SQL, paths.SQLWrite, paths.SQLTenants, paths.SQLSchema, paths.SQLRunRoute, paths.SQLSaved, paths.SQLSavedDeleteRoute,
		paths.Audit, paths.APIDoc,
		paths.Tokens, paths.TokenRevokeRoute,
		paths.Users, paths.UserRoute, paths.UserRoleRoute, paths.UserDisableRoute, paths.UserEnableRoute, paths.UserPasswordRoute,
	} {
		e.GET(route, func(echo.Context) error { return nil })
	}
	for _, tc := range []struct {
		link, route, param, value string
	}{
		{paths.Tenant("store-1"), paths.TenantRoute, "name", "store-1"},
		{paths.TenantClone("store-1"), paths.TenantCloneRoute, "name", "store-1"},
		{paths.TenantDelete("store-1"), paths.TenantDeleteRoute, "name", "store-1"},
		{paths.TenantRestore("store-1"), paths.TenantRestoreRoute, "name", "store-1"},
		{paths.TenantExport("store-1"), paths.TenantExportRoute, "name", "store-1"},
		{paths.TenantUsage("store-1"), paths.TenantUsageRoute, "name", "store-1"},
		{paths.TenantSchema("store-1"), paths.TenantSchemaRoute, "name", "store-1"},
		{paths.Job(7), paths.JobRoute, "id", "7"},
		{paths.JobProgress(7), paths.JobProgressRoute, "id", "7"},
		{paths.Collection(7), paths.CollectionRoute, "id", "7"},
		{paths.CollectionProgress(7), paths.CollectionProgressRoute, "id", "7"},
		{paths.Rollout(7), paths.RolloutRoute, "id", "7"},
		{paths.RolloutProgress(7), paths.RolloutProgressRoute, "id", "7"},
		{paths.RolloutStop(7), paths.RolloutStopRoute, "id", "7"},
		{paths.RolloutRetry(7), paths.RolloutRetryRoute, "id", "7"},
		{paths.SQLRun("9f86d081"), paths.SQLRunRoute, "id", "9f86d081"},
		{paths.SQLSavedDelete(7), paths.SQLSavedDeleteRoute, "id", "7"},
		{paths.TokenRevoke("signup-service"), paths.TokenRevokeRoute, "name", "signup-service"},
		{paths.User(7), paths.UserRoute, "id", "7"},
		{paths.UserRole(7), paths.UserRoleRoute, "id", "7"},
		{paths.UserDisable(7), paths.UserDisableRoute, "id", "7"},
		{paths.UserEnable(7), paths.UserEnableRoute, "id", "7"},
		{paths.UserPassword(7), paths.UserPasswordRoute, "id", "7"},
	} {
		c := e.NewContext(nil, nil)
		e.Router().Find(http.MethodGet, tc.link, c)
		if c.Path() != tc.route || c.Param(tc.param) != tc.value {
			t.Errorf("%s is routed to %q with %s=%q, want %q with %q", tc.link, c.Path(), tc.param, c.Param(tc.param), tc.route, tc.value)
		}
	}
}

// TestLinksEscape: a parameter stays one path segment, whatever it holds.
func TestLinksEscape(t *testing.T) {
	if got := paths.TokenRevoke("a b/c?d"); got != "/tokens/a%20b%2Fc%3Fd/revoke" {
		t.Errorf("TokenRevoke = %q", got)
	}
	if got := paths.WithQuery(paths.Audit, url.Values{"tenant": {"a&b"}}); got != "/audit?tenant=a%26b" {
		t.Errorf("WithQuery = %q", got)
	}
	if got := paths.WithQuery(paths.Audit, nil); got != paths.Audit {
		t.Errorf("WithQuery without a query = %q", got)
	}
	if got := paths.Export(paths.SQL, "csv"); got != "/sql.csv" {
		t.Errorf("Export = %q", got)
	}
}
