package pages

import (
	"net/url"
	"time"

	"github.com/a-h/templ"
	"github.com/tenantry/tenantry/internal/paths"
)

// Users is the users page "/users": everyone who can log in, and the form
// that adds a user.
type Users struct {
	Rows []UserRow
	Me   int64 // the logged-in admin's id
	// The add form, refilled after a refusal (never with the password).
	AddEmail, AddRole, AddError string
	AddStatus                   int // the refusal's HTTP status
}

// UserRow is one user.
type UserRow struct {
	ID                int64
	Email             string
	Role              string // "admin" or "viewer"
	Disabled          bool
	CreatedAt         time.Time
	PasswordChangedAt time.Time
	LastSeenAt        time.Time // zero: never logged in
	Sessions          int       // live sessions
}

// Status is "active" or "disabled".
func (u UserRow) Status() string {
	if u.Disabled {
		return "disabled"
	}
	return "active"
}

// UserDetail is a user's page "/users/{id}": details and the forms that
// change the role, the password and whether the user may log in.
type UserDetail struct {
	User UserRow
	Self bool // the logged-in admin's own page
	// Each form's refusal, shown next to it.
	RoleError, PasswordError, AccessError string
	// Confirm, when set, asks before a demotion or a disable.
	Confirm *UserConfirm
}

// UserConfirm is the question asked before an impactful change.
type UserConfirm struct {
	Action   string // "role" or "disable": the form it repeats
	Target   string // where that form posts: paths.UserRole or paths.UserDisable
	Role     string // the new role, for "role"
	Question string
	Button   string
}

func userURL(id int64) templ.SafeURL { return templ.URL(paths.User(id)) }

// auditByURL lists what a user did.
func auditByURL(email string) templ.SafeURL {
	return templ.URL(paths.WithQuery(paths.Audit, url.Values{"actor": {email}}))
}
