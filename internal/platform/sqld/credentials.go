package sqld

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// NamespacePlaceholder is what PublicURL's host starts with, replaced by
// the tenant's name in each credential's URL.
const NamespacePlaceholder = "{namespace}"

// CheckPublicURL refuses a public URL template sqld could not take a
// namespace from. sqld reads the namespace from the Host header's first
// label (up to the first '.'), so the template's host must start with
// "{namespace}." (https://{namespace}.db.example.com); anywhere else the
// name would not select the namespace, and a credential would reach the
// default one or none.
func CheckPublicURL(tmpl string) error {
	const what = "--sqld-public-url (TENANTRY_SQLD_PUBLIC_URL)"
	if strings.Count(tmpl, NamespacePlaceholder) != 1 {
		return fmt.Errorf("%s %q must contain %s once, as the first label of its host name: e.g. https://{namespace}.db.example.com", what, tmpl, NamespacePlaceholder)
	}
	const probe = "tenant-x"
	u, err := url.Parse(strings.Replace(tmpl, NamespacePlaceholder, probe, 1))
	if err != nil {
		return fmt.Errorf("%s %q is not a URL: %v", what, tmpl, unwrapURL(err))
	}
	switch u.Scheme {
	case "http", "https", "libsql", "ws", "wss":
	default:
		return fmt.Errorf("%s %q: want an https://, http:// or libsql:// URL", what, tmpl)
	}
	if u.User != nil {
		return fmt.Errorf("%s must not hold credentials: each credential carries its own token", what)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(tmpl, "?") {
		// libSQL clients refuse URLs with query parameters they do not know.
		return fmt.Errorf("%s %q must have no query or fragment: libSQL clients refuse them", what, tmpl)
	}
	if !strings.HasPrefix(u.Hostname(), probe+".") {
		return fmt.Errorf("%s %q: %s must be the first label of the host name (https://{namespace}.db.example.com), because sqld picks the namespace from the Host header's first label", what, tmpl, NamespacePlaceholder)
	}
	return nil
}

// Credentials implements platform.Platform: a token signed with the
// platform's key that sqld honours for this one namespace only, and the
// public URL whose host name selects it.
//
// The scope is the "p" claim of libsql-server 0.24 (auth/authorized.rs):
// {"p": {"rw": {"ns": [name]}}} may read and write name, {"p": {"ro":
// {"ns": [name]}}} may only read it, and neither reaches any other
// namespace (nor ATTACHes one: that needs "roa"/"rwa"). The legacy claims
// "id" (the namespace) and "a" ("ro" or "rw") say the same, for a server
// older than "p": 0.24 ignores them when "p" is present, and a server
// that knew neither would otherwise read a token of no claims as full
// access. "exp" ends it; sqld allows 60 s of clock skew past it.
func (p *Platform) Credentials(ctx context.Context, name string, r platform.CredentialRequest) (platform.Credential, error) {
	if err := fleet.ValidateName(name); err != nil {
		return platform.Credential{}, err
	}
	if err := r.Check(); err != nil {
		return platform.Credential{}, err
	}
	if p.o.PublicURL == "" {
		return platform.Credential{}, fleet.Errorf(fleet.EUNAVAILABLE, "Credentials for sqld tenants need the URL applications reach sqld at: set TENANTRY_SQLD_PUBLIC_URL (or --sqld-public-url) to a template such as https://{namespace}.db.example.com, a host name per namespace (sqld picks the namespace from it; see the README).")
	}
	if p.o.SigningKey == nil {
		return platform.Credential{}, fleet.Errorf(fleet.EUNAVAILABLE, "Tenantry cannot scope a credential to one sqld namespace without a signing key, and will not hand out a broader one: start sqld with --auth-jwt-key-file and set TENANTRY_SQLD_JWT_KEY_FILE to the private half (see the README).")
	}
	if err := p.checkEnforced(ctx, name, "a credential for one namespace would reach every namespace"); err != nil {
		return platform.Credential{}, err
	}
	access := "rw"
	if r.ReadOnly {
		access = "ro"
	}
	now := p.o.Now()
	exp := now.Add(r.TTL).Truncate(time.Second) // exp is in whole seconds
	tok, err := tenantdb.SignJWT(p.o.SigningKey, map[string]any{
		"p":   map[string]any{access: map[string]any{"ns": []string{name}}},
		"id":  name,
		"a":   access,
		"iat": now.Unix(),
		"exp": exp.Unix(),
	})
	if err != nil {
		return platform.Credential{}, err
	}
	return platform.Credential{
		URL:       strings.Replace(p.o.PublicURL, NamespacePlaceholder, name, 1),
		Token:     tok,
		Namespace: name,
		ExpiresAt: exp.UTC(),
	}, nil
}
