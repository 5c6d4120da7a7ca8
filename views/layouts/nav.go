package layouts

import (
	"strings"

	"github.com/tenantry/tenantry/internal/paths"
)

// navItem is one sidebar entry; Name matches Page.Nav.
type navItem struct {
	Name  string
	Label string
	Href  string
	Admin bool // shown to admins only
}

// navItems is the sidebar, top to bottom. Add an entry here (and an icon in
// navIcon) when a new section of the console gets a page.
var navItems = []navItem{
	{Name: "overview", Label: "Overview", Href: paths.Overview},
	{Name: "reports", Label: "Reports", Href: paths.TopStores},
	{Name: "tenants", Label: "Tenants", Href: paths.Tenants},
	{Name: "sql", Label: "SQL", Href: paths.SQL},
	{Name: "migrations", Label: "Migrations", Href: paths.Migrations},
	{Name: "collections", Label: "Collections", Href: paths.Collections},
	{Name: "backups", Label: "Backups", Href: paths.Backups},
	{Name: "jobs", Label: "Jobs", Href: paths.Jobs},
	{Name: "audit", Label: "Audit", Href: paths.Audit},
	{Name: "api", Label: "API", Href: paths.APIDoc},
	{Name: "users", Label: "Users", Href: paths.Users, Admin: true},
	{Name: "tokens", Label: "API tokens", Href: paths.Tokens, Admin: true},
}

func navClass(item navItem, active string) string {
	if item.Name == active {
		return "nav-link active"
	}
	return "nav-link"
}

// initial is the avatar letter for a user's e-mail.
func initial(email string) string {
	email = strings.TrimSpace(email)
	if email == "" {
		return "?"
	}
	return strings.ToUpper(string([]rune(email)[0]))
}

// fullTitle is the <title> text.
func fullTitle(title string) string {
	if title == "" {
		return "Tenantry"
	}
	return title + " · Tenantry"
}
