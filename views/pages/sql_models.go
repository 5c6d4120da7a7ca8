package pages

// SQLScope is what a console query runs on, as the form's scope field
// and the console's links say it.
type SQLScope string

// The console's scopes.
const (
	ScopeTenant  SQLScope = "tenant"  // one tenant: SQLConsole.Tenant
	ScopeAll     SQLScope = "all"     // every ready tenant
	ScopePattern SQLScope = "pattern" // the names matching SQLConsole.Pattern
	ScopeList    SQLScope = "list"    // the names in SQLConsole.List
)

// SQLScopeOf is s as a scope: ScopeTenant unless s names another.
func SQLScopeOf(s string) SQLScope {
	for _, sc := range sqlScopes {
		if string(sc.Value) == s {
			return sc.Value
		}
	}
	return ScopeTenant
}

// SQLConsole is the SQL console page "/sql".
type SQLConsole struct {
	// Scope is what the query runs on: one tenant (Tenant), all ready
	// tenants, a glob over names (Pattern) or a list of them (List).
	Scope   SQLScope
	Tenant  string
	Pattern string
	List    string
	SQL     string
	// Params are the SQL's named parameters (:name), each a form field
	// named "p_"+Name.
	Params []SQLParam
	// CanWrite: the user is an admin and Scope is ScopeTenant, so the write
	// switch is offered.
	CanWrite bool
	// Write: the write switch is on (the form posts to /sql/write).
	Write bool
	// Confirm asks the admin to type the tenant's name before a write
	// runs; ConfirmError says why the last confirmation was refused.
	Confirm      bool
	ConfirmError string
	// Limits shown under the editor.
	Timeout string // "5s"
	MaxRows int
	// Result of a single-tenant run; nil if nothing ran.
	Result *SQLResult
	// Error is SQLite's (or our) message about the run, shown inline.
	Error string
	// Notice is shown above the editor without running anything: a shared
	// link to a query over many tenants fills the form, and the user
	// presses Run (a POST) to start it.
	Notice string
	// FanOut is a fan-out started or finished; nil if none.
	FanOut *SQLFanOut
	// ShareURL reruns this query (read-only) from a link; CSVURL and
	// JSONURL export its whole result, streamed. "" when nothing ran.
	ShareURL string
	CSVURL   string
	JSONURL  string
	History  []SQLHistoryRow
	Saved    []SQLSavedRow
	// Schema of the chosen tenant, for the browser beside the editor;
	// nil without a tenant.
	Schema *SQLSchema
}

// SQLParam is a named parameter and its value.
type SQLParam struct {
	Name  string
	Value string
}

// SQLResult is a result table.
type SQLResult struct {
	Columns []SQLColumn
	Rows    [][]SQLCell
	// Truncated: more rows than MaxRows existed; only MaxRows are shown.
	Truncated bool
	MaxRows   int
	// CutAtBytes ("16 MiB") says the rows were cut at the console's byte
	// cap rather than MaxRows.
	CutAtBytes string
	Elapsed    string // "1.2 ms"
	// Message replaces the table for statements without rows ("3 rows
	// changed" after a write, "Statement ran" otherwise).
	Message string
}

// SQLColumn is a result column and its type ("INTEGER", "TEXT", … or "").
type SQLColumn struct {
	Name string
	Type string
}

// SQLCell is one value, formatted.
type SQLCell struct {
	Text string
	// Kind is "null", "int", "real", "text" or "blob"; numbers align right.
	Kind string
}

// SQLFanOut is a query over many tenants: its progress while it runs
// (the page polls PollURL), then the merged result.
type SQLFanOut struct {
	ID       string
	PollURL  string // "/sql/runs/{id}": the partial with the progress or the result
	Done     bool
	Total    int
	Finished int // tenants done, succeeded or failed
	Failed   int
	Rate     string // "3,400 tenants/s"
	Elapsed  string
	// Result is the merged rows so far (shown when Done), with a leading
	// "tenant" column; capped at MaxRows rows in all.
	Result *SQLResult
	// Errors lists each failed tenant and why.
	Errors []SQLTenantError
	// TruncatedTenants had more rows than the cap for each tenant.
	TruncatedTenants []string
	// Stopped says why a run ended early ("" when it finished).
	Stopped string
}

// SQLTenantError is a tenant a fan-out failed on.
type SQLTenantError struct {
	Tenant string
	Error  string
}

// SQLHistoryRow is one of the user's recent runs.
type SQLHistoryRow struct {
	At      string // "2026-11-22 10:04 UTC"
	Target  string // the tenant, or the fan-out's scope ("all tenants", "store-*")
	SQL     string
	Write   bool
	OK      bool
	Error   string
	Rows    int64
	Elapsed string
	URL     string // opens the console with this query (not run)
}

// SQLSavedRow is a saved query shared with the team.
type SQLSavedRow struct {
	ID        int64
	Name      string
	SQL       string
	Tenant    string
	CreatedBy string
	URL       string // opens the console with this query
	CanDelete bool   // admins and its author
}

// SQLSchema is a tenant's tables and views with their columns and indexes.
type SQLSchema struct {
	Tenant string
	Tables []SQLTable
	Error  string // the schema could not be read
}

// SQLTable is a table or a view.
type SQLTable struct {
	Name    string
	Kind    string // "table" or "view"
	Columns []SQLSchemaColumn
	Indexes []SQLIndex
	// QueryURL opens the console with SELECT * FROM it LIMIT 100.
	QueryURL string
}

// SQLSchemaColumn is a table's column.
type SQLSchemaColumn struct {
	Name    string
	Type    string
	NotNull bool
	PK      bool
}

// SQLIndex is an index of a table.
type SQLIndex struct {
	Name    string
	Columns string // "database_name, date"
	Unique  bool
}
