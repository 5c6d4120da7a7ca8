// Package paths is the web console's URL space in one place: the routes
// the server registers, as Echo patterns, and the links its handlers
// redirect to and its views print, filled from those same patterns.
//
// A route without parameters is its own link (Tenants). A route with
// parameters is a pattern named ...Route, a ":name" segment for each
// parameter (TenantRoute, "/tenants/:name"), and a function of the same
// name without the suffix fills it (Tenant("acme"), "/tenants/acme").
// The JSON API has its own paths (api.Prefix).
package paths

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sign-in and the overview.
const (
	Overview = "/"
	Login    = "/login"
	Logout   = "/logout"
)

// The registry and each tenant.
const (
	Tenants            = "/tenants"
	TenantsRescan      = Tenants + "/rescan"
	TenantRoute        = Tenants + "/:name"
	TenantCloneRoute   = TenantRoute + "/clone"
	TenantDeleteRoute  = TenantRoute + "/delete"
	TenantRestoreRoute = TenantRoute + "/restore"
	TenantExportRoute  = TenantRoute + "/export"
	TenantUsageRoute   = TenantRoute + "/usage"
	TenantSchemaRoute  = TenantRoute + "/schema"
	// A tenant's snapshots: take one now, and roll back to one (the
	// confirmation page, and where it posts).
	TenantSnapshotsRoute = TenantRoute + "/snapshots"
	TenantRollbackRoute  = TenantRoute + "/rollback"
)

// TenantSnapshots is where a tenant's "Snapshot now" form posts.
func TenantSnapshots(name string) string { return fill(TenantSnapshotsRoute, name) }

// TenantRollback is the page confirming a rollback of a tenant to the
// snapshot taken at at, and where it posts.
func TenantRollback(name string, at time.Time) string {
	return fill(TenantRollbackRoute, name) + "?" + url.Values{"at": {at.UTC().Format(time.RFC3339Nano)}}.Encode()
}

// TenantBranchAt is a tenant's page with its branch form set to at.
func TenantBranchAt(name string, at time.Time) string {
	return fill(TenantRoute, name) + "?" + url.Values{"at": {at.UTC().Format(time.RFC3339Nano)}}.Encode() + "#branch"
}

// Fleet snapshots.
const (
	Backups          = "/backups"
	BackupsSnapshots = Backups + "/snapshots" // "Snapshot now" for the fleet
)

// Tenant is a tenant's page.
func Tenant(name string) string { return fill(TenantRoute, name) }

// TenantClone is where a tenant's branch (clone) form posts.
func TenantClone(name string) string { return fill(TenantCloneRoute, name) }

// TenantDelete is where a tenant's delete (or forget) form posts.
func TenantDelete(name string) string { return fill(TenantDeleteRoute, name) }

// TenantRestore is where an archived tenant's restore form posts.
func TenantRestore(name string) string { return fill(TenantRestoreRoute, name) }

// TenantExport downloads a tenant's database.
func TenantExport(name string) string { return fill(TenantExportRoute, name) }

// TenantUsage is the fragment with a tenant's usage.
func TenantUsage(name string) string { return fill(TenantUsageRoute, name) }

// TenantSchema is the fragment with a tenant's schema version.
func TenantSchema(name string) string { return fill(TenantSchemaRoute, name) }

// Background jobs.
const (
	Jobs             = "/jobs"
	JobRoute         = Jobs + "/:id"
	JobProgressRoute = JobRoute + "/progress"
)

// Job is a job's page.
func Job(id int64) string { return fill(JobRoute, itoa(id)) }

// JobProgress is the fragment htmx polls while a job runs.
func JobProgress(id int64) string { return fill(JobProgressRoute, itoa(id)) }

// Metrics collections.
const (
	Collections             = "/collections"
	CollectionRoute         = Collections + "/:id"
	CollectionProgressRoute = CollectionRoute + "/progress"
)

// Collection is a collection run's page.
func Collection(id int64) string { return fill(CollectionRoute, itoa(id)) }

// CollectionProgress is the fragment htmx polls while a run goes on.
func CollectionProgress(id int64) string { return fill(CollectionProgressRoute, itoa(id)) }

// Schema migrations and their rollouts.
const (
	Migrations           = "/migrations"
	RolloutRoute         = Migrations + "/runs/:id"
	RolloutProgressRoute = RolloutRoute + "/progress"
	RolloutStopRoute     = RolloutRoute + "/stop"
	RolloutRetryRoute    = RolloutRoute + "/retry"
)

// Rollout is a rollout's page.
func Rollout(id int64) string { return fill(RolloutRoute, itoa(id)) }

// RolloutProgress is the fragment htmx polls while a rollout goes on.
func RolloutProgress(id int64) string { return fill(RolloutProgressRoute, itoa(id)) }

// RolloutStop is where a rollout's stop form posts.
func RolloutStop(id int64) string { return fill(RolloutStopRoute, itoa(id)) }

// RolloutRetry is where a rollout's retry form posts.
func RolloutRetry(id int64) string { return fill(RolloutRetryRoute, itoa(id)) }

// The reports; each also answers CSV (see Export).
const (
	Reports        = "/reports" // redirects to the first report
	TopStores      = Reports + "/top-stores"
	DailyActivity  = Reports + "/daily-activity"
	AverageRevenue = Reports + "/average-revenue"
)

// The SQL console; it exports a query's result as CSV or JSON (see
// Export).
const (
	SQL                 = "/sql"
	SQLWrite            = SQL + "/write"
	SQLTenants          = SQL + "/tenants"
	SQLSchema           = SQL + "/schema"
	SQLRunRoute         = SQL + "/runs/:id"
	SQLSaved            = SQL + "/saved"
	SQLSavedDeleteRoute = SQLSaved + "/:id/delete"
)

// SQLRun is a background fan-out's progress, then its result.
func SQLRun(id string) string { return fill(SQLRunRoute, id) }

// SQLSavedDelete is where a saved query's delete form posts.
func SQLSavedDelete(id int64) string { return fill(SQLSavedDeleteRoute, itoa(id)) }

// The audit log and the API's reference.
const (
	Audit  = "/audit"
	APIDoc = "/api"
)

// API tokens (admins only).
const (
	Tokens           = "/tokens"
	TokenRevokeRoute = Tokens + "/:name/revoke"
)

// TokenRevoke is where a token's revoke form posts.
func TokenRevoke(name string) string { return fill(TokenRevokeRoute, name) }

// Users (admins only).
const (
	Users             = "/users"
	UserRoute         = Users + "/:id"
	UserRoleRoute     = UserRoute + "/role"
	UserDisableRoute  = UserRoute + "/disable"
	UserEnableRoute   = UserRoute + "/enable"
	UserPasswordRoute = UserRoute + "/password"
)

// User is a user's page.
func User(id int64) string { return fill(UserRoute, itoa(id)) }

// UserRole is where a user's role form posts.
func UserRole(id int64) string { return fill(UserRoleRoute, itoa(id)) }

// UserDisable is where a user's disable form posts.
func UserDisable(id int64) string { return fill(UserDisableRoute, itoa(id)) }

// UserEnable is where a user's enable form posts.
func UserEnable(id int64) string { return fill(UserEnableRoute, itoa(id)) }

// UserPassword is where a user's password form posts.
func UserPassword(id int64) string { return fill(UserPasswordRoute, itoa(id)) }

// Export is the path that answers what path shows as format, "csv" or
// "json": "/sql.csv".
func Export(path, format string) string { return path + "." + format }

// WithQuery is path with q as its query, path alone when q is empty.
func WithQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// fill puts params, path-escaped, in place of pattern's ":" segments, in
// order. The builders above pass exactly one per segment.
func fill(pattern string, params ...string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i], params = url.PathEscape(params[0]), params[1:]
		}
	}
	return strings.Join(segs, "/")
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
