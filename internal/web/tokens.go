package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/internal/tokens"
	"github.com/tenantry/tenantry/views/pages"
)

// API tokens, for admins only (the whole group sits behind requireAdmin).
// The tokens service checks and audits; these handlers parse and render.
// A new token's secret is rendered straight into the response to the POST
// that made it: never a flash cookie, a URL or a redirect, so nothing but
// that one page ever holds it.

func (s *Server) tokenRoutes(g *echo.Group) {
	t := g.Group(paths.Tokens, requireAdmin)
	t.GET("", s.handleTokenList)
	t.POST("", s.handleTokenCreate)
	t.POST(below(paths.Tokens, paths.TokenRevokeRoute), s.handleTokenRevoke)
}

func (s *Server) tokens() *tokens.Service { return tokens.New(s.DB) }

// tokensPage renders "/tokens" with vm's form state and message.
func (s *Server) tokensPage(c echo.Context, status int, vm pages.Tokens) error {
	svc := s.tokens()
	ts, err := svc.List(c.Request().Context())
	if err != nil {
		return err
	}
	vm.Now = s.DB.Now()
	for _, t := range ts {
		vm.Rows = append(vm.Rows, pages.TokenRow{Name: t.Name, Prefix: t.Prefix, Role: t.Role, CreatedBy: t.CreatedBy,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt, RevokedBy: t.RevokedBy,
			Status: tokens.Status(t, vm.Now)})
	}
	for _, x := range tokens.Expiries {
		vm.Expiries = append(vm.Expiries, pages.TokenExpiry{Value: x.Value, Label: x.Label})
	}
	if vm.Role == "" {
		vm.Role = fleet.RoleViewer
	}
	if vm.Expires == "" {
		vm.Expires = tokens.DefaultExpiry
	}
	vm.Origin = c.Scheme() + "://" + c.Request().Host
	return render(c, status, pages.TokensPage(s.page(c, "API tokens", "tokens"), vm))
}

// tokenJSON is a token as JSON clients of the console see it.
type tokenJSON struct {
	fleet.APIToken
	Status string `json:"status"`
}

func (s *Server) handleTokenList(c echo.Context) error {
	if wantsJSON(c) {
		svc := s.tokens()
		ts, err := svc.List(c.Request().Context())
		if err != nil {
			return err
		}
		out := make([]tokenJSON, 0, len(ts))
		for _, t := range ts {
			out = append(out, tokenJSON{t, svc.Status(t)})
		}
		return c.JSON(http.StatusOK, out)
	}
	return s.tokensPage(c, http.StatusOK, pages.Tokens{})
}

// handleTokenCreate makes a token and answers with its secret: the page,
// or for JSON clients the token with "token" (as 'tokens create --json').
func (s *Server) handleTokenCreate(c echo.Context) error {
	name, role, expires := strings.TrimSpace(c.FormValue("name")), c.FormValue("role"), c.FormValue("expires")
	secret, t, err := s.tokens().Create(c.Request().Context(), actor(c), name, role, expires)
	if err != nil {
		if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
			return err
		}
		return s.tokensPage(c, fleet.HTTPStatus(fleet.ErrorCode(err)), pages.Tokens{Name: fleet.Truncate(name, 100), Role: role,
			Expires: expires, CreateError: fleet.ErrorMessage(err)})
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusCreated, struct {
			tokenJSON
			Token string `json:"token"`
		}{tokenJSON{*t, tokens.StatusLive}, secret})
	}
	return s.tokensPage(c, http.StatusCreated, pages.Tokens{Created: &pages.CreatedToken{Name: t.Name, Role: t.Role,
		Secret: secret, ExpiresAt: t.ExpiresAt}})
}

// handleTokenRevoke revokes a token once confirmed (the form's confirm
// field repeats its name); until then it asks.
func (s *Server) handleTokenRevoke(c echo.Context) error {
	name := c.Param("name")
	if err := fleet.ValidateTokenName(name); err != nil {
		return fleet.Errorf(fleet.ENOTFOUND, "No token %q.", fleet.Truncate(name, 60))
	}
	if c.FormValue("confirm") != name {
		if wantsJSON(c) {
			return fleet.Errorf(fleet.EINVALID, "Revoking token %q refuses its calls for good. Send confirm=%s to go ahead.", name, name)
		}
		return s.tokensPage(c, http.StatusOK, pages.Tokens{Confirm: name})
	}
	t, err := s.tokens().Revoke(c.Request().Context(), actor(c), name)
	if err != nil {
		if wantsJSON(c) || fleet.ErrorCode(err) == fleet.EINTERNAL {
			return err
		}
		return s.tokensPage(c, fleet.HTTPStatus(fleet.ErrorCode(err)), pages.Tokens{RevokeError: fleet.ErrorMessage(err)})
	}
	if wantsJSON(c) {
		return c.JSON(http.StatusOK, tokenJSON{*t, tokens.StatusRevoked})
	}
	s.setFlash(c, "success", fmt.Sprintf("Revoked token %s: its calls are refused from now on.", t.Name))
	return c.Redirect(http.StatusSeeOther, paths.Tokens)
}
