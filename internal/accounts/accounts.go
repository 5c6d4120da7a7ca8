// Package accounts manages the console's users for any front (the web
// console, the API, the CLI): adding them, their roles, disabling them
// and resetting passwords, each change and each refused change audited as
// the actor's, with the user it concerns leading the detail.
package accounts

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Service manages users. Actors are named by e-mail, as the audit log
// names them; an actor is never allowed to demote or disable themself.
type Service struct {
	DB  *central.DB
	Log *slog.Logger
}

// ErrUnconfirmed is the answer to a demotion or a disable that was not
// confirmed: the front asks, and calls again with confirmed. It is not
// audited: nothing was refused yet.
var ErrUnconfirmed = errors.New("the change needs to be confirmed")

// Add adds a user with role and password.
func (s *Service) Add(ctx context.Context, actor, email, password, role string) (*central.UserInfo, error) {
	u, err := s.DB.AddUser(ctx, email, password, role)
	if err != nil {
		s.audit(ctx, actor, "user.add", fleet.Truncate(email, 100), "as "+fleet.Truncate(role, 20), err)
		return nil, err
	}
	s.audit(ctx, actor, "user.add", u.Email, "as "+u.Role, nil)
	return s.DB.UserInfoByID(ctx, u.ID)
}

// SetRole gives user id role. Demoting an admin needs confirmed (else
// ErrUnconfirmed), and never an actor's own: another admin can. A user
// who has the role already is left as they are, unaudited.
func (s *Service) SetRole(ctx context.Context, actor string, id int64, role string, confirmed bool) (*central.UserInfo, error) {
	u, err := s.DB.UserInfoByID(ctx, id)
	if err != nil {
		return nil, err
	}
	detail := u.Role + " → " + fleet.Truncate(role, 20)
	if err := fleet.ValidateRole(role); err != nil {
		s.audit(ctx, actor, "user.role", u.Email, detail, err)
		return u, err
	}
	if role == u.Role {
		return u, nil
	}
	if u.Role == fleet.RoleAdmin {
		if u.Email == actor {
			err := fleet.Errorf(fleet.EFORBIDDEN, "You cannot demote yourself: another admin can.")
			s.audit(ctx, actor, "user.role", u.Email, detail, err)
			return u, err
		}
		if !confirmed {
			return u, ErrUnconfirmed
		}
	}
	err = s.DB.SetRole(ctx, u.ID, role)
	s.audit(ctx, actor, "user.role", u.Email, detail, err)
	if err != nil {
		return u, err
	}
	return s.DB.UserInfoByID(ctx, id)
}

// Disable disables user id and ends their sessions, returning how many
// ended; it needs confirmed (else ErrUnconfirmed), and never disables the
// actor. A user disabled already is left as they are, unaudited.
func (s *Service) Disable(ctx context.Context, actor string, id int64, confirmed bool) (*central.UserInfo, int64, error) {
	u, err := s.DB.UserInfoByID(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if u.Email == actor {
		err := fleet.Errorf(fleet.EFORBIDDEN, "You cannot disable yourself: another admin can.")
		s.audit(ctx, actor, "user.disable", u.Email, "", err)
		return u, 0, err
	}
	if u.Disabled {
		return u, 0, nil
	}
	if !confirmed {
		return u, 0, ErrUnconfirmed
	}
	ended, err := s.DB.SetDisabled(ctx, u.ID, true)
	if err != nil {
		s.audit(ctx, actor, "user.disable", u.Email, "", err)
		return u, 0, err
	}
	s.audit(ctx, actor, "user.disable", u.Email, plural(ended, "session")+" ended", nil)
	return u, ended, nil
}

// Enable lets user id log in again. A user enabled already is left as
// they are, unaudited.
func (s *Service) Enable(ctx context.Context, actor string, id int64) (*central.UserInfo, error) {
	u, err := s.DB.UserInfoByID(ctx, id)
	if err != nil || !u.Disabled {
		return u, err
	}
	_, err = s.DB.SetDisabled(ctx, u.ID, false)
	s.audit(ctx, actor, "user.enable", u.Email, "", err)
	return u, err
}

// SetPassword sets user id's password and ends their sessions, returning
// how many ended. The password is never in the audit log.
func (s *Service) SetPassword(ctx context.Context, actor string, id int64, password string) (*central.UserInfo, int64, error) {
	u, err := s.DB.UserInfoByID(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	ended, err := s.DB.SetPassword(ctx, u.ID, password)
	if err != nil {
		s.audit(ctx, actor, "user.password", u.Email, "reset", err)
		return u, 0, err
	}
	s.audit(ctx, actor, "user.password", u.Email, "reset, "+plural(ended, "session")+" ended", nil)
	return u, ended, nil
}

// audit records a change to a user, failed or not; the user it concerns
// leads the detail.
func (s *Service) audit(ctx context.Context, actor, action, target, detail string, err error) {
	if detail != "" {
		target += ": " + detail
	}
	if aerr := s.DB.Audit(ctx, fleet.Audited(actor, action, "", target, err)); aerr != nil {
		s.log().Error("write audit entry", "action", action, "err", aerr)
	}
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatInt(n, 10) + " " + what + "s"
}
