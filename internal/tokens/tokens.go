// Package tokens is how the console and the CLI make, list and revoke the
// JSON API's bearer tokens: one place where the input is checked and every
// change, done or refused, is audited once. A token's secret goes back to
// the caller, once, and nowhere else: not to the audit log, not to a log
// line (the central database keeps only its hash).
package tokens

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Audit actions.
const (
	ActionCreate = "api_token.create"
	ActionRevoke = "api_token.revoke"
)

// Token statuses, as Status reports them.
const (
	StatusLive    = "live"
	StatusRevoked = "revoked"
	StatusExpired = "expired"
)

// DefaultExpiry is a new token's lifetime unless another is asked for.
const DefaultExpiry = "90d"

// Expiry is a lifetime the console offers.
type Expiry struct {
	Value string // as ParseLifetime reads it
	Label string
}

// Expiries are the console's choices, DefaultExpiry among them.
var Expiries = []Expiry{{"30d", "30 days"}, {DefaultExpiry, "90 days"}, {"365d", "1 year"}, {"never", "never"}}

// Service makes, lists and revokes tokens.
type Service struct {
	DB *central.DB
}

// New returns the service over db.
func New(db *central.DB) *Service { return &Service{DB: db} }

// Create makes a token named name with role for expires ("90d", "12h",
// "never"; "" is DefaultExpiry) and returns its secret, which cannot be
// read again. actor is who asked, for the audit log.
func (s *Service) Create(ctx context.Context, actor, name, role, expires string) (string, *fleet.APIToken, error) {
	if strings.TrimSpace(expires) == "" {
		expires = DefaultExpiry
	}
	entry := fleet.AuditEntry{Actor: actor, Action: ActionCreate,
		Detail: redact(fleet.Truncate(name, 60)) + ": " + redact(fleet.Truncate(role, 20)) + ", expires " + redact(fleet.Truncate(expires, 20))}
	secret, t, err := s.create(ctx, actor, name, role, expires)
	if err == nil {
		entry.Detail = Describe(t)
	}
	s.audit(ctx, entry, err)
	return secret, t, err
}

func (s *Service) create(ctx context.Context, actor, name, role, expires string) (string, *fleet.APIToken, error) {
	// Check everything before anything is made, so that a bad expiry
	// does not leave a token behind.
	if err := fleet.ValidateTokenName(name); err != nil {
		return "", nil, err
	}
	if err := fleet.ValidateRole(role); err != nil {
		return "", nil, err
	}
	lifetime, err := fleet.ParseLifetime(expires)
	if err != nil {
		return "", nil, err
	}
	return s.DB.CreateAPIToken(ctx, name, role, actor, lifetime)
}

// List returns every token, live ones first, newest first. Reads are not
// audited.
func (s *Service) List(ctx context.Context) ([]fleet.APIToken, error) {
	return s.DB.APITokens(ctx)
}

// Revoke revokes the live token named name: its next call is refused.
func (s *Service) Revoke(ctx context.Context, actor, name string) (*fleet.APIToken, error) {
	t, err := s.DB.RevokeAPIToken(ctx, name, actor)
	entry := fleet.AuditEntry{Actor: actor, Action: ActionRevoke, Detail: redact(fleet.Truncate(name, 60))}
	if err == nil {
		entry.Detail = Describe(t)
	}
	s.audit(ctx, entry, err)
	return t, err
}

// audit writes the entry; an error writing it never fails the change.
func (s *Service) audit(ctx context.Context, e fleet.AuditEntry, err error) {
	e.Outcome = "ok"
	if err != nil {
		e.Outcome, e.Error = "error", redact(fleet.ErrorMessage(err))
	}
	_ = s.DB.Audit(ctx, e)
}

// Describe is a token as the audit log shows it: name, role and expiry.
func Describe(t *fleet.APIToken) string {
	exp := "never expires"
	if !t.ExpiresAt.IsZero() {
		exp = "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return t.Name + ": " + t.Role + ", " + exp
}

// Status is "live", "revoked" or "expired" at now.
func Status(t fleet.APIToken, now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return StatusRevoked
	case !t.Live(now):
		return StatusExpired
	}
	return StatusLive
}

// Status is the token's status now.
func (s *Service) Status(t fleet.APIToken) string { return Status(t, s.DB.Now()) }

// secretRE matches what looks like a token's secret, even cut short.
var secretRE = regexp.MustCompile(regexp.QuoteMeta(central.TokenPrefix) + `[A-Za-z0-9_-]{16,}`)

// redact hides anything that looks like a token's secret (someone pasting
// one into the name field) before it is written down.
func redact(s string) string {
	return secretRE.ReplaceAllString(s, central.TokenPrefix+"…(redacted)")
}
