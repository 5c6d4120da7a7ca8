package fleet

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIToken is a bearer token of the JSON API, as listed: the secret
// itself is shown once, when it is made, and only its hash is kept.
type APIToken struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Prefix     string    `json:"prefix"` // the secret's first characters, to tell tokens apart
	Role       string    `json:"role"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"` // zero: never
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
}

// IsAdmin reports whether the token may change things.
func (t *APIToken) IsAdmin() bool { return t != nil && t.Role == RoleAdmin }

// Live reports whether the token is neither revoked nor expired at now.
func (t *APIToken) Live(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// MaxTokenNameLen bounds a token's name.
const MaxTokenNameLen = 60

var tokenNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)

// ValidateTokenName checks a token's name. Names are what the audit log
// shows as the actor of every call the token makes, so they cannot look
// like an e-mail address ("@") or the CLI ("cli:").
func ValidateTokenName(name string) error {
	switch {
	case name == "":
		return Errorf(EINVALID, "Token name is required.")
	case len(name) > MaxTokenNameLen:
		return Errorf(EINVALID, "Token name %q is too long: %d characters, at most %d.", Truncate(name, 20), len(name), MaxTokenNameLen)
	case !tokenNameRE.MatchString(name):
		return Errorf(EINVALID, "Token name %q is invalid: use lowercase letters a-z, digits, '.', '_' and '-', starting and ending with a letter or digit.", Truncate(name, 60))
	}
	return nil
}

// MaxTokenLifetime bounds a token's expiry; a token may also never expire.
const MaxTokenLifetime = 5 * 365 * 24 * time.Hour

// ParseLifetime reads a token's lifetime: "90d", "12h", "30m", or ""/"never"
// for a token that does not expire (0).
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "never" {
		return 0, nil
	}
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	switch {
	case err != nil:
		return 0, Errorf(EINVALID, "Expiry %q is not a duration such as 90d, 12h or 30m (or never).", Truncate(s, 20))
	case d < time.Minute:
		return 0, Errorf(EINVALID, "Expiry %q is too short: at least 1m.", Truncate(s, 20))
	case d > MaxTokenLifetime:
		return 0, Errorf(EINVALID, "Expiry %q is too long: at most %dd (or never).", Truncate(s, 20), int(MaxTokenLifetime.Hours()/24))
	}
	return d, nil
}
