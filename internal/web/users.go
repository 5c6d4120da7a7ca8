package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/accounts"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/pages"
)

// User management, for admins only: the whole group sits behind
// requireAdmin, so a route added here later cannot forget it. Every change
// and every refused change is audited with the user it concerns; a
// demotion or a disable is asked for again before it is done.

func (s *Server) userRoutes(g *echo.Group) {
	u := g.Group(paths.Users, requireAdmin)
	u.GET("", s.handleUserList)
	u.POST("", s.handleUserCreate)
	u.GET(below(paths.Users, paths.UserRoute), s.handleUserShow)
	u.POST(below(paths.Users, paths.UserRoleRoute), s.handleUserRole)
	u.POST(below(paths.Users, paths.UserDisableRoute), s.handleUserDisable)
	u.POST(below(paths.Users, paths.UserEnableRoute), s.handleUserEnable)
	u.POST(below(paths.Users, paths.UserPasswordRoute), s.handleUserPassword)
}

// below is route as a route of the group at prefix: an admins' group
// (users, tokens) answers every path under it only to admins, even one no
// route serves.
func below(prefix, route string) string {
	rel, ok := strings.CutPrefix(route, prefix)
	if !ok {
		panic(route + " is not under " + prefix)
	}
	return rel
}

func userRow(u central.UserInfo) pages.UserRow {
	return pages.UserRow{ID: u.ID, Email: u.Email, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt,
		PasswordChangedAt: u.PasswordChangedAt, LastSeenAt: u.LastSeenAt, Sessions: u.Sessions}
}

func (s *Server) usersPage(c echo.Context, vm pages.Users) error {
	us, err := s.DB.Users(c.Request().Context())
	if err != nil {
		return err
	}
	vm.Rows = vm.Rows[:0]
	for _, u := range us {
		vm.Rows = append(vm.Rows, userRow(u))
	}
	vm.Me = userFrom(c).ID
	status := http.StatusOK
	if vm.AddError != "" {
		status = vm.AddStatus
	}
	return render(c, status, pages.UsersPage(s.page(c, "Users", "users"), vm))
}

func (s *Server) handleUserList(c echo.Context) error {
	if wantsJSON(c) {
		us, err := s.DB.Users(c.Request().Context())
		if err != nil {
			return err
		}
		if us == nil {
			us = []central.UserInfo{}
		}
		return c.JSON(http.StatusOK, us)
	}
	return s.usersPage(c, pages.Users{AddRole: fleet.RoleViewer})
}

func (s *Server) handleUserCreate(c echo.Context) error {
	email, role, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("role"), c.FormValue("password")
	u, err := s.Accounts.Add(c.Request().Context(), actor(c), email, password, role)
	if err != nil {
		if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
			return err
		}
		return s.usersPage(c, pages.Users{AddEmail: fleet.Truncate(email, 200), AddRole: role, AddError: fleet.ErrorMessage(err),
			AddStatus: fleet.HTTPStatus(fleet.ErrorCode(err))})
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusCreated, u)
	}
	s.setFlash(c, "success", fmt.Sprintf("Added %s as %s. Give them their password by a safe channel.", u.Email, article(u.Role)))
	return c.Redirect(http.StatusSeeOther, paths.Users)
}

// userParam reads the :id path parameter and its user.
func (s *Server) userParam(c echo.Context) (*central.UserInfo, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "No user %q.", fleet.Truncate(c.Param("id"), 30))
	}
	return s.DB.UserInfoByID(c.Request().Context(), id)
}

func (s *Server) userDetail(c echo.Context, status int, vm pages.UserDetail) error {
	vm.Self = vm.User.ID == userFrom(c).ID
	return render(c, status, pages.UserPage(s.page(c, vm.User.Email, "users"), vm))
}

func (s *Server) handleUserShow(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, u)
	}
	return s.userDetail(c, http.StatusOK, pages.UserDetail{User: userRow(*u)})
}

// userActionError answers a refused change: JSON clients get the error,
// browsers the user's page with the message next to the form it is about.
func (s *Server) userActionError(c echo.Context, u *central.UserInfo, err error, set func(*pages.UserDetail, string)) error {
	if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
		return err
	}
	vm := pages.UserDetail{User: userRow(*u)}
	if fresh, ferr := s.DB.UserInfoByID(c.Request().Context(), u.ID); ferr == nil {
		vm.User = userRow(*fresh)
	}
	set(&vm, fleet.ErrorMessage(err))
	return s.userDetail(c, fleet.HTTPStatus(fleet.ErrorCode(err)), vm)
}

// confirmed reports whether an impactful change was confirmed: the
// form's confirm field repeats the user's e-mail.
func confirmed(c echo.Context, u *central.UserInfo) bool {
	return strings.EqualFold(strings.TrimSpace(c.FormValue("confirm")), u.Email)
}

// ask answers a change that needs confirming: browsers get the user's
// page with the question, JSON clients a 400 saying what to send.
func (s *Server) ask(c echo.Context, u *central.UserInfo, ask pages.UserConfirm) error {
	if wantsJSON(c) {
		return fleet.Errorf(fleet.EINVALID, "%s Send confirm=%s to go ahead.", ask.Question, u.Email)
	}
	return s.userDetail(c, http.StatusOK, pages.UserDetail{User: userRow(*u), Confirm: &ask})
}

// done answers a change: JSON clients get the user as it now is, browsers
// go back to the user's page with msg.
func (s *Server) done(c echo.Context, id int64, msg string) error {
	if wantsJSON(c) {
		u, err := s.DB.UserInfoByID(c.Request().Context(), id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, u)
	}
	s.setFlash(c, "success", msg)
	return c.Redirect(http.StatusSeeOther, paths.User(id))
}

func (s *Server) handleUserRole(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	if role == u.Role {
		return s.done(c, u.ID, fmt.Sprintf("%s is already %s.", u.Email, article(role)))
	}
	_, err = s.Accounts.SetRole(c.Request().Context(), actor(c), u.ID, role, confirmed(c, u))
	switch {
	case errors.Is(err, accounts.ErrUnconfirmed):
		return s.ask(c, u, pages.UserConfirm{Action: "role", Target: paths.UserRole(u.ID), Role: role, Button: "Make " + article(role),
			Question: fmt.Sprintf("Make %s %s? From their next click they can no longer change tenants, run rollouts, write SQL or manage users.", u.Email, article(role))})
	case err != nil:
		return s.userActionError(c, u, err, func(vm *pages.UserDetail, m string) { vm.RoleError = m })
	}
	return s.done(c, u.ID, fmt.Sprintf("%s is now %s, from their next request.", u.Email, article(role)))
}

func (s *Server) handleUserDisable(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	was, ended, err := s.Accounts.Disable(c.Request().Context(), actor(c), u.ID, confirmed(c, u))
	switch {
	case errors.Is(err, accounts.ErrUnconfirmed):
		return s.ask(c, u, pages.UserConfirm{Action: "disable", Target: paths.UserDisable(u.ID), Button: "Disable " + u.Email,
			Question: fmt.Sprintf("Disable %s? They are logged out at once and cannot log in until an admin enables them again.", u.Email)})
	case err != nil:
		return s.userActionError(c, u, err, func(vm *pages.UserDetail, m string) { vm.AccessError = m })
	case was.Disabled:
		return s.done(c, u.ID, fmt.Sprintf("%s is already disabled.", u.Email))
	}
	return s.done(c, u.ID, fmt.Sprintf("Disabled %s: %s ended.", u.Email, plural(ended, "session")))
}

func (s *Server) handleUserEnable(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	if !u.Disabled {
		return s.done(c, u.ID, fmt.Sprintf("%s is already enabled.", u.Email))
	}
	if _, err := s.Accounts.Enable(c.Request().Context(), actor(c), u.ID); err != nil {
		return s.userActionError(c, u, err, func(vm *pages.UserDetail, m string) { vm.AccessError = m })
	}
	return s.done(c, u.ID, fmt.Sprintf("Enabled %s: they can log in again.", u.Email))
}

// handleUserPassword sets a new password and ends the user's sessions.
// An admin resetting their own keeps this browser logged in with a new
// session; their other sessions end like anyone's.
func (s *Server) handleUserPassword(c echo.Context) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	_, ended, err := s.Accounts.SetPassword(ctx, actor(c), u.ID, c.FormValue("password"))
	if err != nil {
		return s.userActionError(c, u, err, func(vm *pages.UserDetail, m string) { vm.PasswordError = m })
	}
	msg := fmt.Sprintf("Reset the password of %s: %s ended.", u.Email, plural(ended, "session"))
	if u.ID == userFrom(c).ID {
		tok, err := s.DB.CreateSession(ctx, u.ID, c.RealIP(), c.Request().UserAgent())
		if err != nil {
			return err
		}
		c.SetCookie(s.cookie(sessionCookie, tok, int(central.SessionMax.Seconds())))
		msg = fmt.Sprintf("Changed your password: %s ended; this one goes on.", plural(ended-1, "other session"))
	}
	return s.done(c, u.ID, msg)
}

// article is "an admin" or "a viewer".
func article(role string) string {
	if role == fleet.RoleAdmin {
		return "an admin"
	}
	return "a " + role
}
