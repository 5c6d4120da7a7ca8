// Package api is the console's JSON API under /api/v1: a second front,
// beside the HTML console, over the same services. Callers authenticate
// with bearer tokens only (no cookies, so no CSRF and no browser session
// reaches it); errors are RFC 9457 problem documents; every call is
// audited with the token's name as the actor; each token is rate-limited
// in the central database, so the limit holds across replicas.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"github.com/tenantry/tenantry/internal/backups"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/reports"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/telemetry"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Document is the API's OpenAPI 3.1 document, served at
// /api/v1/openapi.json; tests validate every call they make against it.
//
//go:embed openapi.json
var Document []byte

// Options are the services the API fronts and its limits.
type Options struct {
	DB        *central.DB
	Lifecycle *lifecycle.Service
	Jobs      *jobs.Runner
	Collector *collect.Collector
	Console   *console.Service
	Rollouts  *schema.Rollouts
	// Backups takes, lists and restores fleet snapshots; nil or disabled
	// on platforms without them.
	Backups *backups.Service
	// Reports computes the reports (default: a service over DB; pass
	// the HTML console's to share its cache).
	Reports *reports.Service
	Log     *slog.Logger
	// RateLimit is how many calls a token may make a minute (default
	// DefaultRateLimit; negative: no limit).
	RateLimit int
	// MaxImportBytes bounds an uploaded SQLite file (default 1 GiB).
	MaxImportBytes int64
	// TempDir receives uploads while they are checked (default: the
	// system's).
	TempDir string
}

// Limits.
const (
	DefaultRateLimit = 1200
	MaxWait          = 60 * time.Second
	maxBody          = 1 << 20 // a JSON request body
	DefaultPage      = 100
	MaxPage          = 1000
)

// Server is the API's handler.
type Server struct {
	Options
	e *echo.Echo
}

type tokenKey struct{}

// New builds the API and its routes.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Reports == nil {
		o.Reports = reports.New(o.DB)
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.MaxImportBytes <= 0 {
		o.MaxImportBytes = 1 << 30
	}
	s := &Server{Options: o, e: echo.New()}
	e := s.e
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	noRoute := func(c echo.Context) error {
		return fleet.Errorf(fleet.ENOTFOUND, "No API route %s %s: see %s/openapi.json.", c.Request().Method, fleet.Truncate(c.Request().URL.Path, 80), Prefix)
	}
	e.RouteNotFound("/*", noRoute)
	e.GET(Prefix+"/openapi.json", s.handleDocument)
	g := e.Group(Prefix, s.authenticate, s.limit, s.audit)
	g.RouteNotFound("/*", noRoute)
	s.tenantRoutes(g)
	s.jobRoutes(g)
	s.reportRoutes(g)
	s.queryRoutes(g)
	s.collectionRoutes(g)
	s.migrationRoutes(g)
	s.auditRoutes(g)
	s.snapshotRoutes(g)
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Routes lists the API's routes (tests walk them).
func (s *Server) Routes() []*echo.Route { return s.e.Routes() }

func (s *Server) handleDocument(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, Document)
}

// authenticate admits a request carrying a live token's secret as
// "Authorization: Bearer …" and nothing else: a browser's session cookie
// is ignored.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		scheme, secret, _ := strings.Cut(h, " ")
		if h == "" {
			return unauthorized("This API needs a token: send \"Authorization: Bearer <token>\" (an admin makes one on the API tokens page or with 'tenantry tokens create').")
		}
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return unauthorized("The Authorization header must be \"Bearer <token>\".")
		}
		t, err := s.DB.APITokenAuth(c.Request().Context(), strings.TrimSpace(secret))
		if err != nil {
			if fleet.ErrorCode(err) == fleet.EUNAUTHORIZED {
				return unauthorized(fleet.ErrorMessage(err))
			}
			return err
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), tokenKey{}, t)))
		return next(c)
	}
}

func unauthorized(msg string) error { return fleet.Errorf(fleet.EUNAUTHORIZED, "%s", msg) }

// tokenFrom is the request's token; authenticate set it.
func tokenFrom(c echo.Context) *fleet.APIToken {
	t, _ := c.Request().Context().Value(tokenKey{}).(*fleet.APIToken)
	return t
}

// actor is who the services record as doing what the request asks.
func actor(c echo.Context) string { return tokenFrom(c).Name }

// limit counts the call against its token's rate.
func (s *Server) limit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.RateLimit < 0 {
			return next(c)
		}
		ok, retry, err := s.DB.APIRateHit(c.Request().Context(), tokenFrom(c).ID, s.RateLimit)
		if err != nil {
			return err
		}
		if !ok {
			return &rateLimited{retry: retry, limit: s.RateLimit}
		}
		return next(c)
	}
}

type rateLimited struct {
	retry time.Duration
	limit int
}

func (r *rateLimited) Error() string {
	return "This token made more than " + strconv.Itoa(r.limit) + " calls this minute; retry after the time in Retry-After."
}

// audit records every call, with its outcome, under the token's name. The
// services record the changes themselves; this is the trail of who asked
// what over the API.
func (s *Server) audit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		status := c.Response().Status
		if err != nil {
			status = s.status(err)
		}
		e := fleet.AuditEntry{Actor: actor(c), Action: "api.call", Outcome: "ok",
			Detail: c.Request().Method + " " + fleet.Truncate(c.Request().URL.Path, 200) + " " + strconv.Itoa(status)}
		if n := c.Param("name"); n != "" && fleet.ValidateName(n) == nil {
			e.Tenant = n
		}
		if err != nil {
			e.Outcome, e.Error = "error", fleet.Truncate(fleet.ErrorMessage(err), 300)
		}
		if aerr := s.DB.Audit(context.WithoutCancel(c.Request().Context()), e); aerr != nil {
			s.logger(c).Error("write audit entry", "err", aerr)
		}
		return err
	}
}

// admin refuses a viewer's token on a route that changes something.
func admin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !tokenFrom(c).IsAdmin() {
			return fleet.Errorf(fleet.EFORBIDDEN, "Token %q is a viewer's: this call changes things and needs an admin token.", tokenFrom(c).Name)
		}
		return next(c)
	}
}

func (s *Server) logger(c echo.Context) *slog.Logger {
	return telemetry.Logger(c.Request().Context(), s.Log)
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Code is Tenantry's error code (invalid, not_found, conflict,
	// forbidden, unauthorized, unavailable, rate_limited, busy, internal).
	Code string `json:"code"`
	// RetryAfter is in seconds, as the Retry-After header says (429).
	RetryAfter int `json:"retry_after,omitempty"`
}

// unprocessable marks an error in a request's body: 422 rather than 400.
type unprocessable struct{ err error }

func (u unprocessable) Error() string { return u.err.Error() }
func (u unprocessable) Unwrap() error { return u.err }

func (s *Server) status(err error) int {
	var he *echo.HTTPError
	var rl *rateLimited
	var up unprocessable
	switch {
	case errors.As(err, &rl):
		return http.StatusTooManyRequests
	case errors.As(err, &he):
		return he.Code
	}
	if _, ok := console.AsBusy(err); ok {
		return http.StatusTooManyRequests
	}
	code := fleet.HTTPStatus(fleet.ErrorCode(err))
	if code == http.StatusBadRequest && errors.As(err, &up) {
		return http.StatusUnprocessableEntity
	}
	return code
}

// handleError is the API's one funnel from an error to a problem document;
// only internal errors are logged.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := s.status(err)
	p := Problem{Status: status, Title: http.StatusText(status), Code: fleet.ErrorCode(err), Detail: fleet.ErrorMessage(err)}
	var he *echo.HTTPError
	var rl *rateLimited
	h := c.Response().Header()
	switch {
	case errors.As(err, &rl):
		p.Code, p.Detail = "rate_limited", rl.Error()
		p.RetryAfter = max(1, int((rl.retry+time.Second-1)/time.Second))
	case errors.As(err, &he):
		p.Code = "invalid"
		if status == http.StatusNotFound {
			p.Code = fleet.ENOTFOUND
		}
		if m, ok := he.Message.(string); ok {
			p.Detail = m
		} else {
			p.Detail = http.StatusText(status)
		}
	}
	if b, ok := console.AsBusy(err); ok {
		p.Code, p.RetryAfter = "busy", b.RetrySeconds()
	}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		h.Set(echo.HeaderWWWAuthenticate, `Bearer realm="tenantry"`)
	}
	if status >= 500 {
		s.logger(c).Error("api request failed", "err", err, "method", c.Request().Method, "path", c.Request().URL.Path)
	}
	p.Type = "/api#error-" + p.Code
	h.Del(echo.HeaderContentDisposition)
	h.Del(echo.HeaderContentLength)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	b, _ := json.Marshal(p)
	_ = c.Blob(status, "application/problem+json", b)
}

// bind decodes a JSON body strictly: one object, no unknown fields, at
// most maxBody bytes. Its errors are 422s.
func bind(c echo.Context, v any) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), echo.MIMEApplicationJSON) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the body as application/json.")
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxBody {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The JSON body is over 1 MiB.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return unprocessable{fleet.Errorf(fleet.EINVALID, "The body is not the JSON this call takes: %s.", jsonProblem(err))}
	}
	if dec.More() {
		return unprocessable{fleet.Errorf(fleet.EINVALID, "The body holds more than one JSON value.")}
	}
	return nil
}

// jsonProblem says what is wrong with a JSON body, without echoing it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.As(err, &se):
		return "malformed JSON at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "field \"" + te.Field + "\" must be " + te.Type.String()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return fleet.Truncate(err.Error(), 100)
}

// waitParam reads ?wait= (a duration such as 30s, at most MaxWait).
func waitParam(c echo.Context) (time.Duration, error) {
	v := c.QueryParam("wait")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
	}
	switch {
	case err != nil || d < 0:
		return 0, fleet.Errorf(fleet.EINVALID, "wait=%q is not a duration such as 30s.", fleet.Truncate(v, 20))
	case d > MaxWait:
		return 0, fleet.Errorf(fleet.EINVALID, "wait=%s is over the most a call waits, %s: wait again after it returns.", fleet.Truncate(v, 20), MaxWait)
	}
	return d, nil
}
