package turso

import (
	"context"
	"fmt"
	"net/url"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Credentials implements platform.Platform: a database token Turso mints
// for this one database (read-only or full access, expiring after the
// TTL rounded up to a minute), and the database's libsql:// URL. Each
// call mints a fresh token, never the cached ones Tenantry itself uses.
func (p *Platform) Credentials(ctx context.Context, name string, r platform.CredentialRequest) (platform.Credential, error) {
	if err := p.checkName(name); err != nil {
		return platform.Credential{}, err
	}
	if err := r.Check(); err != nil {
		return platform.Credential{}, err
	}
	d, err := p.get(ctx, name)
	if err != nil {
		return platform.Credential{}, err
	}
	authz := "full-access"
	if r.ReadOnly {
		authz = "read-only"
	}
	c := call{
		method: "POST",
		path:   "/databases/" + url.PathEscape(name) + "/auth/tokens",
		query:  url.Values{"expiration": {expiration(r.TTL)}, "authorization": {authz}},
		what:   fmt.Sprintf("issue a %s token for %q", authz, name),
	}
	var resp struct {
		JWT string `json:"jwt"`
	}
	if _, err := p.api(ctx, c, &resp); err != nil {
		return platform.Credential{}, p.refused(err, name, c.what)
	}
	if resp.JWT == "" {
		return platform.Credential{}, fleet.Errorf(fleet.EUNAVAILABLE, "Turso did not %s: its answer held no token.", c.what)
	}
	// The token says when it ends. One that never does is not what was
	// asked for: it is not handed out.
	exp, err := tenantdb.TokenExpiry(resp.JWT)
	if err != nil || exp.IsZero() {
		return platform.Credential{}, fleet.Errorf(fleet.EUNAVAILABLE, "Turso did not %s that expires (asked for expiration=%s): the token was not handed out.", c.what, c.query.Get("expiration"))
	}
	return platform.Credential{URL: "libsql://" + d.Hostname, Token: resp.JWT, ExpiresAt: exp.UTC()}, nil
}
