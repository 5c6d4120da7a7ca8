package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/layouts"
	"github.com/tenantry/tenantry/views/pages"
)

const (
	sessionCookie = "tenantry_session"
	csrfCookie    = "tenantry_csrf"
	flashCookie   = "tenantry_flash"
)

type userKey struct{}
type csrfKey struct{}

// userFrom returns the logged-in user, nil if none.
func userFrom(c echo.Context) *fleet.User {
	u, _ := c.Request().Context().Value(userKey{}).(*fleet.User)
	return u
}

// actor names the user for jobs and the audit log.
func actor(c echo.Context) string {
	if u := userFrom(c); u != nil {
		return u.Email
	}
	return "anonymous"
}

func withValue(c echo.Context, k, v any) {
	c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), k, v)))
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode}
}

// loadUser attaches the session's user, if any, to the request.
func (s *Server) loadUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPI(c) {
			return next(c) // a browser's session never works on the API
		}
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			u, err := s.DB.SessionUser(c.Request().Context(), ck.Value)
			if err == nil {
				withValue(c, userKey{}, u)
			} else if fleet.ErrorCode(err) == fleet.EUNAUTHORIZED {
				c.SetCookie(s.cookie(sessionCookie, "", -1))
			} else {
				return err
			}
		}
		err := next(c)
		if err != nil {
			s.auditRefused(c, err)
		}
		return err
	}
}

// requireUser refuses anonymous requests: pages redirect to the login
// form, anything else gets 401.
func (s *Server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if userFrom(c) != nil {
			return next(c)
		}
		r := c.Request()
		if r.Method == http.MethodGet && !wantsJSON(c) && r.Header.Get("HX-Request") == "" {
			return c.Redirect(http.StatusSeeOther, paths.WithQuery(paths.Login, url.Values{"next": {r.URL.RequestURI()}}))
		}
		return fleet.Errorf(fleet.EUNAUTHORIZED, "Please log in.")
	}
}

// errAdminOnly is requireAdmin's refusal; loadUser audits it.
var errAdminOnly = fleet.Errorf(fleet.EFORBIDDEN, "Only admins may do this.")

// requireAdmin refuses viewers.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !userFrom(c).IsAdmin() {
			return errAdminOnly
		}
		return next(c)
	}
}

// auditRefused records a viewer's attempt at an admin-only change: a
// console that refuses it should also say who tried. Reads are not
// recorded, so a viewer following an old link does not fill the log.
func (s *Server) auditRefused(c echo.Context, err error) {
	r := c.Request()
	if err != errAdminOnly || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return
	}
	e := fleet.AuditEntry{Actor: actor(c), Action: "access.denied", Detail: r.Method + " " + fleet.Truncate(r.URL.Path, 200),
		Outcome: "error", Error: fleet.ErrorMessage(err)}
	if name := c.Param("name"); name != "" && fleet.ValidateName(name) == nil {
		e.Tenant = name
	}
	if aerr := s.DB.Audit(r.Context(), e); aerr != nil {
		s.Log.Error("write audit entry", "action", e.Action, "err", aerr)
	}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrf protects every state-changing request with a token the request
// must repeat in the form field "csrf" or the X-CSRF-Token header (htmx).
// A logged-in user's token is derived from their session's secret, so it
// is bound to that session: a token an attacker obtained for their own
// session, or planted as a cookie from a sibling subdomain, is worthless
// with the victim's. Before login (the login form) it is a random value
// in an HttpOnly, SameSite=Lax cookie (double submit).
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPI(c) {
			return next(c) // bearer tokens only: a browser cannot send one by itself
		}
		tok := ""
		if ck, err := c.Cookie(sessionCookie); err == nil && userFrom(c) != nil {
			tok = sessionCSRF(ck.Value)
		} else if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
			tok = ck.Value
		} else {
			tok = randomToken()
			c.SetCookie(s.cookie(csrfCookie, tok, 0))
		}
		withValue(c, csrfKey{}, tok)
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		// The token comes in a header or the request body, never the URL,
		// where logs and browser history would keep it.
		sent := c.Request().Header.Get("X-CSRF-Token")
		if sent == "" {
			if err := parseBody(c.Request()); err != nil {
				return err
			}
			sent = c.Request().PostFormValue("csrf")
		}
		if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1 {
			return fleet.Errorf(fleet.EFORBIDDEN, "The form has expired or did not come from this console. Reload the page and try again.")
		}
		return next(c)
	}
}

// sessionCSRF derives a session's CSRF token from its secret. The token is
// shown in pages; the secret never is, and cannot be recovered from it.
func sessionCSRF(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("tenantry csrf token"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parseBody reads a urlencoded form body, telling a body over the size
// limit (413) from a malformed one (400) instead of leaving the form
// empty. Multipart bodies never get here (refuseMultipart).
func parseBody(r *http.Request) error {
	err := r.ParseForm()
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	// net/http refuses a urlencoded body over 10 MB with an unexported
	// "http: POST too large".
	case errors.Is(err, echo.ErrStatusRequestEntityTooLarge), errors.As(err, &tooBig), strings.Contains(err.Error(), "too large"):
		return echo.ErrStatusRequestEntityTooLarge
	default:
		return fleet.Errorf(fleet.EINVALID, "The request body could not be read as a form: %v", err)
	}
}

func csrfToken(c echo.Context) string {
	t, _ := c.Request().Context().Value(csrfKey{}).(string)
	return t
}

// setFlash leaves a one-shot message for the next page.
func (s *Server) setFlash(c echo.Context, kind, msg string) {
	b, _ := json.Marshal(layouts.Flash{Kind: kind, Message: msg})
	c.SetCookie(s.cookie(flashCookie, base64.RawURLEncoding.EncodeToString(b), 60))
}

// takeFlash reads and clears the flash.
func takeFlash(c echo.Context) *layouts.Flash {
	ck, err := c.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	var f layouts.Flash
	if json.Unmarshal(b, &f) != nil || f.Message == "" {
		return nil
	}
	switch f.Kind {
	case "success", "error", "info":
	default:
		f.Kind = "info"
	}
	return &f
}

func (s *Server) authRoutes(e *echo.Echo) {
	e.GET(paths.Login, s.handleLoginForm)
	e.POST(paths.Login, s.handleLogin)
	e.POST(paths.Logout, s.handleLogout)
}

// safeNext keeps post-login redirects on this site. It judges the value
// as a browser will read it, not as Go's URL parser does: browsers drop
// ASCII tab and newlines anywhere in a URL and read a backslash as a
// slash, so "/\t/evil.example" and "/\\evil.example" are "//evil.example",
// another host. Anything but a plain path on this host (optionally with a
// query and fragment) becomes "/".
func safeNext(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		// Control characters, space (a browser trims or drops some of
		// them) and backslashes: none belongs in a path we link to.
		if b := next[i]; b <= ' ' || b == 0x7f || b == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

func (s *Server) handleLoginForm(c echo.Context) error {
	if userFrom(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return render(c, http.StatusOK, pages.LoginPage(pages.Login{CSRF: csrfToken(c), Next: safeNext(c.QueryParam("next"))}))
}

func (s *Server) handleLogin(c echo.Context) error {
	ctx := c.Request().Context()
	email, password, next := strings.TrimSpace(c.FormValue("email")), c.FormValue("password"), safeNext(c.FormValue("next"))
	form := pages.Login{CSRF: csrfToken(c), Email: fleet.Truncate(email, 200), Next: next}
	u, err := s.DB.Login(ctx, email, password, c.RealIP())
	var throttled *central.ThrottledError
	if errors.As(err, &throttled) {
		// Not audited: a guesser would write a row per try. The failures
		// that led here are in the audit log already.
		s.Log.Warn("login throttled", "addr", c.RealIP(), "retry_after", throttled.RetryAfter)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.RetryAfter.Seconds()))))
		form.Error = throttled.Error()
		return render(c, http.StatusTooManyRequests, pages.LoginPage(form))
	}
	if err != nil {
		if fleet.ErrorCode(err) != fleet.EUNAUTHORIZED {
			return err
		}
		// The actor is the account tried when it exists; whatever else was
		// typed in the e-mail box (a password in the wrong field) is not
		// written anywhere.
		who := "anonymous"
		if u, uerr := s.DB.UserByEmail(ctx, email); uerr == nil {
			who = u.Email
		}
		_ = s.DB.Audit(ctx, fleet.AuditEntry{Actor: who, Action: "user.login", Outcome: "error", Error: fleet.ErrorMessage(err), Detail: c.RealIP()})
		form.Error = fleet.ErrorMessage(err)
		return render(c, http.StatusUnauthorized, pages.LoginPage(form))
	}
	tok, err := s.DB.CreateSession(ctx, u.ID, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	c.SetCookie(s.cookie(sessionCookie, tok, int(central.SessionMax.Seconds())))
	c.SetCookie(s.cookie(csrfCookie, randomToken(), 0)) // a new session gets a new token
	_ = s.DB.Audit(ctx, fleet.AuditEntry{Actor: u.Email, Action: "user.login", Detail: c.RealIP()})
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) handleLogout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := s.DB.DeleteSession(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	if u := userFrom(c); u != nil {
		_ = s.DB.Audit(c.Request().Context(), fleet.AuditEntry{Actor: u.Email, Action: "user.logout"})
	}
	c.SetCookie(s.cookie(sessionCookie, "", -1))
	return c.Redirect(http.StatusSeeOther, paths.Login)
}
