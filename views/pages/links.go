package pages

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
)

// The pages' links are those of package paths, as templ.SafeURL where an
// attribute takes a URL.

// tenantURL is a tenant's page.
func tenantURL(name string) templ.SafeURL { return templ.URL(paths.Tenant(name)) }

// jobURL is a job's page.
func jobURL(id int64) templ.SafeURL { return templ.URL(paths.Job(id)) }

// auditTenantURL filters the audit log by tenant.
func auditTenantURL(name string) templ.SafeURL {
	return templ.URL(paths.WithQuery(paths.Audit, url.Values{"tenant": {name}}))
}

// tenantsQuery builds "/tenants?q=…&status=…&sort=…&desc=1|0&page=…",
// parameters in that order. Empty values and page 1 are left out so URLs
// stay short.
func tenantsQuery(q, status, sort string, desc bool, page int) string {
	var params []string
	add := func(k, v string) { params = append(params, k+"="+url.QueryEscape(v)) }
	if q != "" {
		add("q", q)
	}
	if status != "" {
		add("status", status)
	}
	if sort != "" {
		add("sort", sort)
		add("desc", boolParam(desc))
	}
	if page > 1 {
		add("page", strconv.Itoa(page))
	}
	if len(params) == 0 {
		return paths.Tenants
	}
	return paths.Tenants + "?" + strings.Join(params, "&")
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// defaultSort is the column the registry is sorted by when none is asked.
const defaultSort = "name"

func (l TenantList) activeSort() string {
	if l.Sort == "" {
		return defaultSort
	}
	return l.Sort
}

// sortURL is where a column header links: the first click sorts ascending,
// clicking the active column again flips the direction. Paging restarts.
func (l TenantList) sortURL(col string) templ.SafeURL {
	desc := false
	if l.activeSort() == col {
		desc = !l.Desc
	}
	return templ.URL(tenantsQuery(l.Query, l.Status, col, desc, 1))
}

// sortArrow is the arrow shown on the active column, "" on the others.
func (l TenantList) sortArrow(col string) string {
	if l.activeSort() != col {
		return ""
	}
	if l.Desc {
		return "▼"
	}
	return "▲"
}

// ariaSort is the th's aria-sort value, "" when not sorted by it.
func (l TenantList) ariaSort(col string) string {
	if l.activeSort() != col {
		return ""
	}
	if l.Desc {
		return "descending"
	}
	return "ascending"
}

// pageURL is the registry at another page, keeping filter and sort.
func (l TenantList) pageURL(page int) string {
	return tenantsQuery(l.Query, l.Status, l.Sort, l.Desc, page)
}

// filtered reports whether a filter narrows the list.
func (l TenantList) filtered() bool { return l.Query != "" || l.Status != "" }

// behind reports whether a ready tenant lags the latest schema.
func (r TenantRow) behind() bool {
	return r.Status == fleet.StatusReady && r.SchemaVersion < r.LatestVersion
}

// sqlURL is the SQL console with a tenant chosen.
func sqlURL(name string) templ.SafeURL {
	return templ.URL(paths.WithQuery(paths.SQL, url.Values{"tenant": {name}}))
}

// branchURL is the branch (clone) form on a tenant's page.
func branchURL(name string) templ.SafeURL {
	return templ.URL(paths.Tenant(name) + "#branch")
}
