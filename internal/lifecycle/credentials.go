package lifecycle

import (
	"context"
	"fmt"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
)

// ActionCredentials is the audit action of a credential asked for.
const ActionCredentials = "tenant.credentials"

// Credentials hands a tenant's application what it needs to reach that
// tenant's database and nothing more (see platform.Platform.Credentials):
// read-only or read-write, for r.TTL. The tenant must be registered and
// ready: a tenant being made, deleted or restored gets none. Every call,
// granted or refused, writes one audit entry saying who asked for which
// access and how long; the token is in no audit entry and no log line.
func (s *Service) Credentials(ctx context.Context, actor, name string, r platform.CredentialRequest) (platform.Credential, error) {
	detail := fmt.Sprintf("%s for %s", r.Access(), platform.FormatTTL(r.TTL))
	refuse := func(err error) (platform.Credential, error) {
		return platform.Credential{}, s.refused(ctx, actor, ActionCredentials, name, detail, err)
	}
	if err := fleet.ValidateName(name); err != nil {
		return refuse(err)
	}
	if err := r.Check(); err != nil {
		return refuse(err)
	}
	t, err := s.db.Tenant(ctx, name)
	if err != nil {
		return refuse(err)
	}
	if t.Status != fleet.StatusReady {
		return refuse(fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s; credentials are handed out for ready tenants only.", name, t.Status))
	}
	c, err := s.p.Credentials(ctx, name, r)
	if err != nil {
		return refuse(err)
	}
	if !c.ExpiresAt.IsZero() {
		detail += ", until " + c.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	if aerr := s.db.Audit(ctx, fleet.AuditEntry{Actor: actor, Action: ActionCredentials, Tenant: name, Detail: detail, Outcome: "ok"}); aerr != nil {
		s.log.Error("write audit entry", "err", aerr)
	}
	return c, nil
}
