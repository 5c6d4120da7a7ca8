// Package layouts holds the page shell every console page renders inside.
package layouts

// Page is what the shell needs to know about the current request.
type Page struct {
	Title string // page title, shown in <title> and as the heading
	Nav   string // active sidebar entry: "overview", "reports", "tenants", "sql", "migrations", "collections", "jobs", "audit", "api", "users", "tokens"
	User  string // logged-in user's e-mail; "" on the login page
	Role  string // "admin" or "viewer"
	CSRF  string // token for forms (hidden input "csrf") and htmx (X-CSRF-Token)
	Flash *Flash // one-shot message after a redirect, nil if none
	// Currency is the ISO 4217 code money is shown in (amounts are stored
	// in minor units); "USD" by default.
	Currency string
}

// Flash is a one-shot message shown at the top of a page.
type Flash struct {
	Kind    string // "success", "error" or "info"
	Message string
}

// IsAdmin reports whether the page is rendered for an admin.
func (p Page) IsAdmin() bool { return p.Role == "admin" }
