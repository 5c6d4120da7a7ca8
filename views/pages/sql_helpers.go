package pages

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/a-h/templ"

	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/components"
)

// sqlScopes are the scope choices of the SQL console, in display order.
var sqlScopes = []struct {
	Value SQLScope
	Label string
}{
	{ScopeTenant, "One tenant"},
	{ScopeAll, "All tenants"},
	{ScopePattern, "Name pattern"},
	{ScopeList, "List"},
}

// scope is the chosen scope, ScopeTenant when none (or an unknown one) is
// set.
func (vm SQLConsole) scope() SQLScope { return SQLScopeOf(string(vm.Scope)) }

// writing reports whether the form is rendered in write mode: it then
// posts to /sql/write with its CSRF token enabled.
func (vm SQLConsole) writing() bool { return vm.CanWrite && vm.Write && vm.scope() == ScopeTenant }

// scopeClass is the class of a scope's input block: hidden unless it is the
// chosen scope (static/sql.js switches them as the radios change).
func (vm SQLConsole) scopeClass(base string, scope SQLScope) string {
	if vm.scope() != scope {
		return base + " hidden"
	}
	return base
}

// cancelURL is where the write confirmation's "Cancel" goes.
func (vm SQLConsole) cancelURL() templ.SafeURL {
	if vm.ShareURL != "" {
		return templ.URL(vm.ShareURL)
	}
	return sqlURL(vm.Tenant)
}

// limitsText is the line under the editor's buttons, after its mode.
func (vm SQLConsole) limitsText() string {
	var parts []string
	if vm.Timeout != "" {
		parts = append(parts, "time limit "+vm.Timeout)
	}
	if vm.MaxRows > 0 {
		parts = append(parts, "up to "+components.Int(int64(vm.MaxRows))+" rows")
	}
	if len(parts) == 0 {
		return ""
	}
	return " · " + strings.Join(parts, " · ")
}

// posts reports whether the form runs as a POST: a query over many
// tenants, which a GET (a link, perhaps from another site) never starts.
func (vm SQLConsole) posts() bool { return vm.scope() != "tenant" }

// truncatedMax is the row cap named in the "truncated" notice.
func (vm SQLConsole) truncatedMax() int {
	if vm.Result != nil && vm.Result.MaxRows > 0 {
		return vm.Result.MaxRows
	}
	return vm.MaxRows
}

// textareaValue is a textarea's content: HTML drops one newline right after
// <textarea>, so one is added to keep a value starting with a newline whole.
func textareaValue(s string) string { return "\n" + s }

// sqlLines is the number of lines of sql, at least 1.
func sqlLines(sql string) int { return strings.Count(sql, "\n") + 1 }

// lineNumbers is the editor gutter's text: "1\n2\n…" for each line of sql.
func lineNumbers(sql string) string {
	n := sqlLines(sql)
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// editorRows is the editor's height in lines: the SQL and a spare line,
// between 8 and 24.
func editorRows(sql string) string {
	return strconv.Itoa(min(max(sqlLines(sql)+1, 8), 24))
}

// paramID is the id of a parameter's input.
func paramID(name string) string { return "sql-param-" + name }

// cellClass is a result cell's class by the kind of its value.
func cellClass(kind string) string {
	switch kind {
	case "null":
		return "sql-null"
	case "int", "real":
		return "num"
	case "blob":
		return "sql-blob"
	}
	return "sql-text"
}

// cellTitle is a cell's hover text: the whole value when the cell may clip
// it, "" otherwise.
func cellTitle(c SQLCell) string {
	if c.Kind != "text" && c.Kind != "blob" && c.Kind != "" {
		return ""
	}
	if utf8.RuneCountInString(c.Text) > 32 || strings.ContainsAny(c.Text, "\n\r\t") {
		return c.Text
	}
	return ""
}

// rowsWord is "row" or "rows" after a count of n.
func rowsWord(n int) string {
	if n == 1 {
		return "row"
	}
	return "rows"
}

// oneLine is sql on one line for the history, shortened to about 90
// characters.
func oneLine(sql string) string {
	s := strings.Join(strings.Fields(sql), " ")
	if utf8.RuneCountInString(s) > 90 {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:89])) + "…"
	}
	return s
}

// historyStatus is a history row's badge.
func historyStatus(h SQLHistoryRow) string {
	if h.OK {
		return "ok"
	}
	return "failed"
}

// savedDeleteURL is where a saved query's "Delete" posts.
func savedDeleteURL(id int64) templ.SafeURL {
	return templ.URL(paths.SQLSavedDelete(id))
}

// progressMax is a <progress>'s max, which must be above zero.
func (f SQLFanOut) progressMax() string { return strconv.Itoa(max(f.Total, 1)) }

// progressText is "40 / 120 tenants · 2 failed · 3,400 tenants/s".
func (f SQLFanOut) progressText() string {
	s := components.Int(int64(f.Finished)) + " / " + components.Int(int64(f.Total)) + " tenants · " +
		components.Int(int64(f.Failed)) + " failed"
	if f.Rate != "" {
		s += " · " + f.Rate
	}
	return s
}

// summary is the line shown once a fan-out is done. A run stopped early
// names how many of its tenants it got to.
func (f SQLFanOut) summary() string {
	done := f.Total
	queried := "Queried " + components.Plural(int64(f.Total), "tenant", "tenants")
	if f.Stopped != "" && f.Finished < f.Total {
		done = f.Finished
		queried = "Queried " + components.Int(int64(f.Finished)) + " of " + components.Plural(int64(f.Total), "tenant", "tenants")
	}
	if f.Elapsed != "" {
		queried += " in " + f.Elapsed
	}
	return queried + ": " + components.Int(int64(max(done-f.Failed, 0))) + " succeeded, " +
		components.Int(int64(f.Failed)) + " failed"
}

// state is the fan-out's data-state, "running" or "done".
func (f SQLFanOut) state() string {
	if f.Done {
		return "done"
	}
	return "running"
}

// numericColumn reports whether column i holds numbers only (NULLs aside),
// so its header aligns right with its values.
func (r SQLResult) numericColumn(i int) bool {
	numbers := false
	for _, row := range r.Rows {
		if i >= len(row) {
			continue
		}
		switch row[i].Kind {
		case "int", "real":
			numbers = true
		case "null":
		default:
			return false
		}
	}
	return numbers
}

// savedMeta is a saved query's tenant and author, "store-7 · a@example.com".
func savedMeta(s SQLSavedRow) string {
	var parts []string
	for _, p := range []string{s.Tenant, s.CreatedBy} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}
