package layouts

import "strings"

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
	{Name: "overview", Label: "Overview", Href: "/"},
	{Name: "reports", Label: "Reports", Href: "/reports/top-stores"},
	{Name: "tenants", Label: "Tenants", Href: "/tenants"},
	{Name: "sql", Label: "SQL", Href: "/sql"},
	{Name: "migrations", Label: "Migrations", Href: "/migrations"},
	{Name: "collections", Label: "Collections", Href: "/collections"},
	{Name: "jobs", Label: "Jobs", Href: "/jobs"},
	{Name: "audit", Label: "Audit", Href: "/audit"},
	{Name: "api", Label: "API", Href: "/api"},
	{Name: "users", Label: "Users", Href: "/users", Admin: true},
	{Name: "tokens", Label: "API tokens", Href: "/tokens", Admin: true},
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
