package fleet

import (
	"net/mail"
	"strings"
	"time"
)

// Roles. Admins may do everything; viewers read.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// User is a person who can log in to the console.
type User struct {
	ID        int64
	Email     string
	Role      string
	Disabled  bool
	CreatedAt time.Time
}

// IsAdmin reports whether u may change things.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin && !u.Disabled }

// NormalizeEmail validates an address and returns it lowercased.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return "", Errorf(EINVALID, "%q is not a valid e-mail address.", Truncate(s, 60))
	}
	return strings.ToLower(s), nil
}

// ValidateRole checks a role name.
func ValidateRole(role string) error {
	if role != RoleAdmin && role != RoleViewer {
		return Errorf(EINVALID, "Role %q is invalid: use admin or viewer.", Truncate(role, 20))
	}
	return nil
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// ValidatePassword checks a new password.
func ValidatePassword(p string) error {
	if len(p) < MinPasswordLen {
		return Errorf(EINVALID, "Password is too short: at least %d characters.", MinPasswordLen)
	}
	if len(p) > 256 {
		return Errorf(EINVALID, "Password is too long: at most 256 characters.")
	}
	return nil
}
