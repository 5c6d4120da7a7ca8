package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/platform"
)

// CredentialRequest is the body of POST /tenants/{name}/credentials.
type CredentialRequest struct {
	Access string `json:"access"` // read-only or read-write
	TTL    string `json:"ttl,omitempty"`
}

// handleCredentials hands an application what it needs to reach one
// tenant's database and nothing more. The service audits it (without
// the token); the credential is never logged.
func (s *Server) handleCredentials(c echo.Context) error {
	name, err := tenantName(c)
	if err != nil {
		return err
	}
	var req CredentialRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	r, err := platform.ParseCredentialRequest(req.Access, req.TTL)
	if err != nil {
		return unprocessable{err}
	}
	cred, err := s.Lifecycle.Credentials(c.Request().Context(), actor(c), name, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cred)
}
