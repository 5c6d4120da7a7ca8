package pages

import (
	"fmt"
	"net/url"
	"time"

	"github.com/a-h/templ"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/components"
)

// Tokens is the API tokens page "/tokens" (admins only): every token and
// the form that makes one; after a token is made, its secret, once.
type Tokens struct {
	Rows []TokenRow
	Now  time.Time
	// The create form, refilled after a refusal.
	Name, Role, Expires string
	Expiries            []TokenExpiry
	CreateError         string
	// Created is the token just made, with its secret: set only on the
	// response to the POST that made it.
	Created *CreatedToken
	// Confirm, when set, asks before revoking the token of that name.
	Confirm     string
	RevokeError string
	// Origin is the console's scheme and host, for the curl example.
	Origin string
}

// TokenExpiry is a choice of lifetime in the create form.
type TokenExpiry struct{ Value, Label string }

// TokenRow is one token, as listed: never its secret.
type TokenRow struct {
	Name, Prefix, Role, CreatedBy string
	CreatedAt, ExpiresAt          time.Time // ExpiresAt zero: never
	LastUsedAt                    time.Time // zero: never used
	RevokedAt                     time.Time
	RevokedBy                     string
	Status                        string // "live", "revoked" or "expired"
}

// CreatedToken is a new token and its secret.
type CreatedToken struct {
	Name, Role, Secret string
	ExpiresAt          time.Time
}

// Live counts the live tokens.
func (vm Tokens) Live() int {
	n := 0
	for _, r := range vm.Rows {
		if r.Status == "live" {
			n++
		}
	}
	return n
}

// Curl is the signup call made with the new token, to copy and run.
func (vm Tokens) Curl() string {
	return fmt.Sprintf(`curl -X POST \
  -H "Authorization: Bearer %s" \
  -H "Idempotency-Key: $(uuidgen)" \
  -H "Content-Type: application/json" \
  -d '{"name":"acme"}' \
  "%s/api/v1/tenants?wait=30s"`, vm.Created.Secret, vm.Origin)
}

// tokenRevokeURL is the POST target that revokes a token.
func tokenRevokeURL(name string) templ.SafeURL {
	return templ.URL(paths.TokenRevoke(name))
}

// auditTokenURL lists what a token did over the API (its name is the
// actor) and what was done to it.
func auditTokenURL(name string) templ.SafeURL {
	return templ.URL(paths.WithQuery(paths.Audit, url.Values{"actor": {name}}))
}

// until says when a future time comes: "in 89 days", "in 5 h".
func until(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d <= 0:
		return "passed"
	case d < time.Hour:
		return fmt.Sprintf("in %d min", max(1, int(d/time.Minute)))
	case d < 48*time.Hour:
		return fmt.Sprintf("in %d h", int(d/time.Hour))
	}
	// Rounded, so that a 90-day token made a moment ago is "in 90 days".
	return fmt.Sprintf("in %d days", int((d+12*time.Hour)/(24*time.Hour)))
}

// tokenStatusTitle explains a token's status on hover.
func tokenStatusTitle(t TokenRow) string {
	switch t.Status {
	case "revoked":
		return "Revoked by " + t.RevokedBy + ", " + components.Time(t.RevokedAt) + " UTC"
	case "expired":
		return "Expired " + components.Time(t.ExpiresAt) + " UTC"
	}
	return "The API accepts it"
}
