package console

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// SaveQuery saves sql under name for the whole team, on one tenant or
// (tenant "") on all of them, and audits it, refused or not.
func (s *Service) SaveQuery(ctx context.Context, actor, name, sql, tenant string) (central.SavedQuery, error) {
	name = strings.TrimSpace(name)
	var err error
	switch {
	case name == "" || utf8.RuneCountInString(name) > 100:
		err = fleet.Errorf(fleet.EINVALID, "Give the query a name of 1 to 100 characters.")
	case strings.TrimSpace(sql) == "":
		err = fleet.Errorf(fleet.EINVALID, "There is no SQL to save.")
	case len(sql) > MaxSQL:
		err = fleet.Errorf(fleet.EINVALID, "The SQL is too long to save.")
	}
	var q central.SavedQuery
	if err == nil {
		q, err = s.DB.SaveQuery(ctx, central.SavedQuery{Name: name, SQL: sql, Tenant: tenant, CreatedBy: actor})
	}
	s.audit(ctx, fleet.Audited(actor, "sql.saved.add", tenant, fleet.Truncate(name, 100)+": "+fleet.Truncate(sql, 500), err))
	return q, err
}

// DeleteSavedQuery deletes saved query id, which only its author or an
// admin (admin says actor is one) may, and audits it, refused or not.
func (s *Service) DeleteSavedQuery(ctx context.Context, actor string, admin bool, id int64) (central.SavedQuery, error) {
	q, err := s.DB.SavedQueryByID(ctx, id)
	if err != nil {
		return q, err
	}
	if !admin && actor != q.CreatedBy {
		err = fleet.Errorf(fleet.EFORBIDDEN, "Only its author or an admin may delete the saved query %q.", q.Name)
	} else {
		err = s.DB.DeleteSavedQuery(ctx, id)
	}
	s.audit(ctx, fleet.Audited(actor, "sql.saved.delete", q.Tenant, q.Name, err))
	return q, err
}

func (s *Service) audit(ctx context.Context, e fleet.AuditEntry) {
	if err := s.DB.Audit(ctx, e); err != nil {
		s.log().Error("write audit entry", "action", e.Action, "err", err)
	}
}
