// Package web is the console's HTTP server: Echo routes, one file per
// resource, rendering templ views from typed view models.
package web

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"github.com/tenantry/tenantry/internal/backups"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/tenantry/tenantry/internal/accounts"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/reports"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/telemetry"
	"github.com/tenantry/tenantry/static"
	"github.com/tenantry/tenantry/views/layouts"
	"github.com/tenantry/tenantry/views/pages"
)

// Options configure the server.
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
	// Reports computes the dashboard and the reports (default: a service
	// reading DB, on its clock).
	Reports *reports.Service
	// Accounts manages users (default: over DB).
	Accounts *accounts.Service
	// CollectEvery is the collection schedule (0 = off), for display.
	CollectEvery time.Duration
	Log          *slog.Logger
	// Dev serves static files from StaticDir on disk instead of the binary.
	Dev       bool
	StaticDir string
	// SecureCookies marks cookies Secure (set behind a TLS proxy).
	SecureCookies bool
	// Currency is the ISO 4217 code money is shown in (default USD).
	Currency string
	// Metrics are served at /metrics and fed by every request (default:
	// a fresh set reading DB).
	Metrics *telemetry.Metrics
	// MetricsToken, if set, lets a request with "Authorization: Bearer
	// <token>" read /readyz and /metrics without logging in.
	MetricsToken string
	// ShutdownTimeout is how long in-flight requests may take to finish
	// once Serve's context ends (default 30 s).
	ShutdownTimeout time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (--trusted-proxies). None by default: the client's address is the
	// connection's peer.
	TrustedProxies []*net.IPNet
	// API, if set, serves /api/v1: it authenticates its own callers (bearer
	// tokens), so the session, CSRF and body-limit middleware skip it.
	API http.Handler
	// APIRateLimit is the API's calls a minute per token, for its
	// reference page (0: the default; negative: none).
	APIRateLimit int
}

// apiPrefix is where Options.API is mounted.
const apiPrefix = "/api/v1"

// isAPI reports whether a request is for the JSON API.
func isAPI(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == apiPrefix || strings.HasPrefix(p, apiPrefix+"/")
}

// Server holds the handlers' dependencies.
type Server struct {
	Options
	e *echo.Echo
	// fragments holds rendered parts of pages by metrics generation.
	fragments reports.Cache
	spliced   map[string]bool // routes whose pages hold fragments
	shellMu   sync.Mutex
	shells    map[shellKey]shellHalves
	runs      *console.Runs   // the SQL console's background fan-outs
	routes    map[string]bool // registered route templates, for the metrics' route label
}

// New builds the server and its routes.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Reports == nil {
		o.Reports = reports.New(o.DB)
	}
	if o.Currency == "" {
		o.Currency = "USD"
	}
	if o.Metrics == nil {
		var kinds []string
		if o.Jobs != nil {
			kinds = o.Jobs.Kinds()
		}
		o.Metrics = telemetry.New(telemetry.Options{DB: o.DB, JobKinds: kinds, Log: o.Log})
	}
	if o.Accounts == nil {
		o.Accounts = &accounts.Service{DB: o.DB, Log: o.Log}
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	s := &Server{Options: o, e: echo.New(), spliced: map[string]bool{}, runs: console.NewRuns(o.Console)}
	e := s.e
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIP(o.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe) // request ID and logger, metrics, panics: first, so it sees everything
	e.Use(refuseMultipart)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "same-origin",
		ContentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
	}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "64M", Skipper: isAPI}))
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{Level: gzip.BestSpeed, MinLength: 1024, Skipper: s.skipGzip}))
	e.Use(s.loadUser)
	e.Use(noStore)
	e.Use(s.csrf)

	s.opsRoutes(e)
	if o.API != nil {
		h := echo.WrapHandler(o.API)
		e.Any(apiPrefix, h)
		e.Any(apiPrefix+"/*", h)
	}
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", static.Handler(o.Dev, o.StaticDir))))
	s.authRoutes(e)

	g := e.Group("", s.requireUser)
	s.overviewRoutes(g)
	s.tenantRoutes(g)
	s.jobRoutes(g)
	s.collectionRoutes(g)
	s.backupRoutes(g)
	s.migrationRoutes(g)
	s.reportRoutes(g)
	s.sqlRoutes(g)
	s.auditRoutes(g)
	s.userRoutes(g)
	s.tokenRoutes(g)
	s.apiDocRoutes(g)

	s.routes = map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method != echo.RouteNotFound {
			s.routes[r.Path] = true
		}
	}
	return s
}

// clientIP is how the console tells a client's address, which the login
// throttle counts and the audit log records: a client must not choose it
// by writing X-Forwarded-For. The header is read only when the peer is
// one of the configured proxies, and then only the hops those proxies
// appended (the rightmost address that is not a trusted proxy).
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// refuseMultipart answers 415 to a multipart body before anything reads
// it. No route takes one, and parsing one spools its file parts to temp
// files: an anonymous client could fill the disk with them.
func refuseMultipart(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ct := c.Request().Header.Get(echo.HeaderContentType)
		if mt, _, err := mime.ParseMediaType(ct); err == nil && strings.HasPrefix(mt, "multipart/") ||
			strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/") {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Multipart bodies are not accepted: send a form as application/x-www-form-urlencoded.")
		}
		return next(c)
	}
}

// noStore keeps a logged-in user's pages out of browser and proxy caches
// (a shared computer's back button, a caching proxy). Static files, which
// are content-hashed and hold no data, stay cacheable.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if userFrom(c) != nil && !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		}
		return next(c)
	}
}

// TuneGC sets the collector's pace for a busy console unless GOGC says
// otherwise: a page allocates a few hundred kilobytes and the live heap is
// small, so at the default pace the collector runs many times a second
// and its assists land on requests (p99 under load 26 ms at GOGC=100, 15
// ms at 400, in BenchmarkReports10kx365). The memory limit keeps the
// larger pace from growing the heap past a sane size.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.e }

// Routes lists the registered routes (tests walk them).
func (s *Server) Routes() []*echo.Route { return s.e.Routes() }

// Serve serves the console on addr until ctx ends, then stops accepting
// and lets in-flight requests finish for up to ShutdownTimeout. ready, if
// not nil, receives the bound address.
func (s *Server) Serve(ctx context.Context, addr string, ready func(addr string)) error {
	// The SQL console's fan-outs run in the background: ctx's end
	// cancels them, and Serve returns once they have stopped.
	defer s.runs.CancelAll()
	stop := context.AfterFunc(ctx, s.runs.CancelAll)
	defer stop()
	return s.serve(ctx, addr, s.e, ready)
}

// ServeOps serves OpsHandler on addr until ctx ends, like Serve.
func (s *Server) ServeOps(ctx context.Context, addr string, ready func(addr string)) error {
	return s.serve(ctx, addr, s.OpsHandler(), ready)
}

func (s *Server) serve(ctx context.Context, addr string, h http.Handler, ready func(addr string)) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // imports may be large
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		<-errc
		return fmt.Errorf("requests on %s still running after %s (--shutdown-timeout) were cut off", ln.Addr(), s.ShutdownTimeout)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// page builds the shell's view of the current request.
func (s *Server) page(c echo.Context, title, nav string) layouts.Page {
	p := layouts.Page{Title: title, Nav: nav, CSRF: csrfToken(c), Flash: takeFlash(c), Currency: s.Currency}
	if u := userFrom(c); u != nil {
		p.User, p.Role = u.Email, u.Role
	}
	return p
}

// wantsJSON reports whether the client asked for JSON.
func wantsJSON(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "application/json")
}

// handleError is the one funnel from an error to a response: domain codes
// become statuses, JSON clients get JSON, browsers get the error page, and
// only internal errors are logged.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, fleet.ErrorMessage(err)
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	default:
		code = fleet.HTTPStatus(fleet.ErrorCode(err))
	}
	if b, ok := console.AsBusy(err); ok {
		// Refused for being busy, not unavailable: come back soon.
		setRetryAfter(c, b)
		code = http.StatusTooManyRequests
	}
	if code >= 500 {
		s.logger(c).Error("request failed", "err", err, "method", c.Request().Method, "path", c.Request().URL.Path)
	}
	// A handler that failed after preparing a download must not have its
	// error page saved as the file: the error sets its own type.
	h := c.Response().Header()
	h.Del(echo.HeaderContentDisposition)
	h.Del(echo.HeaderContentType)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if wantsJSON(c) || c.Request().Header.Get("HX-Request") == "true" && code == http.StatusUnauthorized {
		_ = c.JSON(code, map[string]string{"error": msg, "code": fleet.ErrorCode(err)})
		return
	}
	title := http.StatusText(code)
	if title == "" {
		title = "Error"
	}
	p := s.page(c, title, "")
	if rerr := render(c, code, pages.ErrorPage(p, pages.ErrorView{Status: code, Title: title, Message: msg})); rerr != nil {
		if c.Request().Context().Err() != nil {
			return // the client went away: nobody to show the page to
		}
		s.logger(c).Error("render error page", "err", rerr)
		_ = c.String(code, msg)
	}
}
