package fleet

import (
	"strings"
)

// Scope picks the tenants a query over many runs on: all ready ones (the
// zero Scope), those whose names match a glob Pattern, or a List of names
// (separated by commas or spaces). The console resolves it; the fronts
// and the history pass it along as it is.
type Scope struct {
	Pattern string
	List    string
}

// The text form's words: "all tenants", "pattern shop-*", "list a, b".
const (
	scopeAll     = "all tenants"
	scopePattern = "pattern "
	scopeList    = "list "
)

// String describes the scope for people: "all tenants", "pattern
// shop-*" or "list a, b". It is also the scope's text form (see
// ParseScope), as the console's history keeps it.
func (sc Scope) String() string {
	switch {
	case strings.TrimSpace(sc.Pattern) != "":
		return scopePattern + strings.TrimSpace(sc.Pattern)
	case strings.TrimSpace(sc.List) != "":
		return scopeList + strings.Join(strings.Fields(strings.ReplaceAll(sc.List, ",", " ")), ", ")
	}
	return scopeAll
}

// ParseScope reads a scope's text form back (see String).
func ParseScope(s string) (Scope, error) {
	if p, ok := strings.CutPrefix(s, scopePattern); ok {
		return Scope{Pattern: p}, nil
	}
	if l, ok := strings.CutPrefix(s, scopeList); ok {
		return Scope{List: l}, nil
	}
	if s == scopeAll {
		return Scope{}, nil
	}
	return Scope{}, Errorf(EINVALID, "%q is not a scope: use %q, %q or %q.", Truncate(s, 40), scopeAll, scopePattern+"GLOB", scopeList+"NAMES")
}

// MarshalText is String, so the scope is its text form in JSON.
func (sc Scope) MarshalText() ([]byte, error) { return []byte(sc.String()), nil }

// UnmarshalText is ParseScope.
func (sc *Scope) UnmarshalText(b []byte) error {
	v, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*sc = v
	return nil
}
